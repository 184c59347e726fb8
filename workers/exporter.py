"""Find or create, never twice: the one way the workers create anything in FreshBooks."""

from __future__ import annotations

from collections.abc import Callable

from store import binder, ledger
from workers.ports import StepPorts


def ensure(svc: StepPorts, kind: str, external_id: str, find: Callable[[], dict | None],
           create: Callable[[], dict], *, event_id: str | None = None, order_id: int | None = None
           ) -> tuple[int, str]:
    """The FreshBooks id bound to an X-Cart object, and how it was got: "bound" (known already),
    "adopt" (found in FreshBooks) or "create". The object is created only when FreshBooks has none.

    The intent row is committed before the create, and FreshBooks is searched before every create, so a
    create whose answer was lost (timeout, 5xx, crash) is found and adopted on the next attempt; a lock per
    X-Cart object makes concurrent workers wait for the first one's binding instead of creating again. Unlike
    an invoice's, the first look-up is kept: the merchant's books may hold the client, item or tax already, and
    it costs one call per binding, not per order."""
    known = binder.bound_id(svc.sessions, kind, external_id)
    if known is not None:
        return known, "bound"
    with svc.locks.binding(kind, external_id):  # another order may be creating the same client or item
        known = binder.bound_id(svc.sessions, kind, external_id)
        if known is not None:
            return known, "bound"
        binder.record_intent(svc.sessions, kind, external_id)  # none yet, or an earlier attempt's: kept
        found = find()
        if found is not None:
            action, obj = "adopt", found
        else:
            action, obj = "create", create()
        binder.bind(svc.sessions, kind, external_id, int(obj["id"]))
    ledger.audit(svc.sessions, action, kind, int(obj["id"]), f"{kind} {external_id}", event_id, order_id)
    return int(obj["id"]), action
