"""Find or create, never twice: the one way the workers create anything in FreshBooks."""

from __future__ import annotations

from collections.abc import Callable

from store import binder, ledger
from workers.ports import StepPorts


def ensure(svc: StepPorts, kind: str, external_id: str, find: Callable[[], dict | None],
           create: Callable[[], dict], *, event_id: str | None = None, order_id: int | None = None,
           look_up_first: bool = True) -> tuple[int, str]:
    """The FreshBooks id bound to an X-Cart object, and how it was got: "bound" (known already),
    "adopt" (found in FreshBooks) or "create". The object is created only when FreshBooks has none.

    The intent row is committed before the create, and FreshBooks is searched before every create, so a
    create whose answer was lost (timeout, 5xx, crash) is found and adopted on the next attempt; a lock per
    X-Cart object makes concurrent workers wait for the first one's binding instead of creating again. Unlike
    an invoice's, the first look-up is kept: the merchant's books may hold the client, item or tax already, and
    it costs one call per binding, not per order. `look_up_first=False`: a first attempt (the intent written now)
    creates without it, for an object only the service can have made (an order's credit notes, workers/orders.py);
    an intent already there is an earlier attempt's, which may have reached FreshBooks, and is always looked up."""
    known = binder.bound_id(svc.sessions, kind, external_id)
    if known is not None:
        return known, "bound"
    with svc.locks.binding(kind, external_id):  # another order may be creating the same client or item
        known = binder.bound_id(svc.sessions, kind, external_id)
        if known is not None:
            return known, "bound"
        first_attempt = binder.record_intent(svc.sessions, kind, external_id)  # else an earlier attempt's: kept
        found = find() if look_up_first or not first_attempt else None
        if found is not None:
            action, obj = "adopt", found
        else:
            action, obj = "create", create()
        binder.bind(svc.sessions, kind, external_id, int(obj["id"]))
    ledger.audit(svc.sessions, action, kind, int(obj["id"]), f"{kind} {external_id}", event_id, order_id)
    return int(obj["id"]), action
