"""Catch-up sync: poll the X-Cart REST API for what changed since the checkpoint (with an overlap) and
enqueue, as events, whatever FreshBooks does not have yet. It recovers webhooks that were never sent,
were lost in Redis, or died with a worker.

Each recovered change gets a deterministic event id (entity, id, version), so polling the same change
twice records it once.

Cheap when nothing changed: one list request per collection (orders, profiles, products) per poll. An order's
payment transactions are fetched once per version of the order (the version checked is kept as the
checkpoint `xcart:payments:<order id>`), so the orders the overlap lists again cost no request. This relies on
X-Cart moving an order's lastRenewDate whenever the order is saved, its payment status included (what
lastRenewDate polling such as ShipStation's relies on): a transaction that changes nothing on its order (a
declined attempt) is not looked for again, and books nothing anyway."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from mappings import jsonio
from mappings.xcart.aliases import field
from mappings.xcart.fields import FlexibleDateTime
from store import ledger, snapshots
from store.ledger import TERMINAL
from store.models import as_utc, utcnow
from workers.ports import CatchUpPorts

Send = Callable[[str, list], None]


@dataclass
class CatchUpReport:
    listed: int = 0  # orders X-Cart listed as changed (the overlap included), enqueued or not
    orders: int = 0
    payments: int = 0
    customers: int = 0
    products: int = 0

    def __str__(self) -> str:
        return (f"enqueued {self.orders} orders, {self.payments} payments, {self.customers} customers, "
                f"{self.products} products")


def catch_up(svc: CatchUpPorts, send: Send, now: datetime | None = None) -> CatchUpReport:
    now = now or utcnow()
    xcart = svc.xcart
    report = CatchUpReport()
    for collection, fetch, recover in (("orders", xcart.orders_changed_since, _recover_order),
                                       ("profiles", xcart.profiles_changed_since, _recover_customer),
                                       ("products", xcart.products_changed_since, _recover_product)):
        name = f"xcart:{collection}"
        start = snapshots.checkpoint(svc.sessions, name) or now - timedelta(seconds=svc.settings.catch_up_start)
        reached = start
        for entity in fetch(start - timedelta(seconds=svc.settings.catch_up_overlap)):
            recover(svc, entity, send, report, now)
            reached = max(reached, _renewed(entity) or reached)
        snapshots.advance_checkpoint(svc.sessions, name, reached)
    return report


def _recover_order(svc: CatchUpPorts, order: dict, send: Send, report: CatchUpReport, now: datetime) -> None:
    report.listed += 1
    order_id = int(field(order, "order", "order_id"))
    version = _renewed(order)
    # A version already received is the webhook path's (and the stuck-event sweep's) to finish.
    seen = snapshots.order_version(svc.sessions, order_id)
    received = seen is not None and version is not None and seen >= version
    if not received and _send(svc, send, f"catch-up:order:{order_id}:{_stamp(version)}", "order.updated", order,
                             now):
        report.orders += 1
    checked = f"xcart:payments:{order_id}"
    payments_checked = snapshots.checkpoint(svc.sessions, checked)
    if version is not None and payments_checked is not None and payments_checked >= version:
        return
    for transaction in svc.xcart.payment_transactions(order_id):
        transaction_id = field(transaction, "payment", "transaction_id")
        if not snapshots.has_payment(svc.sessions, int(transaction_id)) and _send(
                svc, send, f"catch-up:payment:{transaction_id}", "payment.created", transaction, now):
            report.payments += 1
    if version is not None:
        snapshots.advance_checkpoint(svc.sessions, checked, version)


def _recover_customer(svc: CatchUpPorts, profile: dict, send: Send, report: CatchUpReport, now: datetime) -> None:
    key = f"customer:{profile.get('profile_id', profile.get('id'))}"
    if not _synced_since(svc, key, _renewed(profile)) and _send(
            svc, send, f"catch-up:{key}:{_stamp(_renewed(profile))}", "customer.updated", profile, now):
        report.customers += 1


def _recover_product(svc: CatchUpPorts, product: dict, send: Send, report: CatchUpReport, now: datetime) -> None:
    key = f"product:{product.get('product_id', product.get('id'))}"
    if not _synced_since(svc, key, _renewed(product)) and _send(
            svc, send, f"catch-up:{key}:{_stamp(_renewed(product))}", "product.updated", product, now):
        report.products += 1


def _send(svc: CatchUpPorts, send: Send, event_id: str, event_type: str, data: dict, now: datetime) -> bool:
    known = ledger.get_event(svc.sessions, event_id)
    if known is not None and known.status in TERMINAL:
        return False
    send("xcfb.process_event", [jsonio.dumps({"id": event_id, "type": event_type, "created_at": now.isoformat(),
                                              "store": svc.settings.store_id, "data": data})])
    return True


def _synced_since(svc: CatchUpPorts, entity_key: str, version: datetime | None) -> bool:
    """True when an event for this entity was synced after X-Cart's last change to it."""
    finished = ledger.last_synced(svc.sessions, entity_key)
    return finished is not None and version is not None and as_utc(finished) >= version


def _renewed(entity: dict) -> datetime | None:
    for key in ("update_date", "lastRenewDate", "updated", "updateDate"):
        if entity.get(key) is not None:
            return FlexibleDateTime().deserialize(entity[key])
    return None


def _stamp(moment: datetime | None) -> str:
    return str(int(moment.timestamp())) if moment else "0"
