"""The order as the chain's steps read it: the newest snapshot (store/snapshots.py), parsed once per process, with
its version (what an invoice is synced from) and the version the order's checks last passed (workers/checks.py)."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence

from mappings import anomalies, jsonio
from mappings.rules import Rules
from mappings.xcart.entities import Order, PaymentTransaction
from mappings.xcart.schemas import OrderSchema, PaymentTransactionSchema, load
from store import snapshots
from workers.failures import OrderNeverReceived, OrderNotYetSeen
from workers.ports import StepPorts


def load_order(svc: StepPorts, order_id: int, event_id: str | None) -> Order:
    return load_versioned_order(svc, order_id, event_id)[0]


def load_versioned_order(svc: StepPorts, order_id: int, event_id: str | None) -> tuple[Order, str]:
    """The order's newest snapshot and its version, from one read of it (a step reads the snapshot once)."""
    return load_checked_order(svc, order_id, event_id)[:2]


def load_checked_order(svc: StepPorts, order_id: int, event_id: str | None) -> tuple[Order, str, str | None]:
    """The order's newest snapshot, its version, and the version the order's checks last passed (one read)."""
    stored = snapshots.order_payload_and_check(svc.sessions, order_id)
    if stored is None and event_id is None:  # run by hand: no event is on its way to bring the order
        raise OrderNeverReceived(f"order {order_id} has never been received: no X-Cart event or catch-up sync "
                                 "brought it (check the id: it is X-Cart's order id, not the order number)")
    if stored is None:
        raise OrderNotYetSeen(f"order {order_id} has not been received yet")
    payload, checked = stored
    order = read_order(payload)
    return order, version_of(order, payload), checked


class _Parsed:
    """The entities parsed from snapshot texts, the last `size`, per worker process: the steps of one order version
    read the same texts (the order's, its payments') and parse each once, and `process_event` hands on the order it
    has just parsed from the event (`remember_order`), so that the chain does not parse it again. Entities are
    frozen, and no step writes to one: safe to share between threads."""

    def __init__(self, schema, size: int):
        self._schema, self._size, self._parsed, self._lock = schema, size, OrderedDict(), threading.Lock()

    def __call__(self, payload: str):
        with self._lock:
            parsed = self._parsed.get(payload)
            if parsed is not None:
                self._parsed.move_to_end(payload)
                return parsed
        parsed = load(self._schema, jsonio.loads(payload))
        self.remember(payload, parsed)
        return parsed

    def remember(self, payload: str, parsed) -> None:
        with self._lock:
            self._parsed[payload] = parsed
            self._parsed.move_to_end(payload)
            while len(self._parsed) > self._size:
                self._parsed.popitem(last=False)


read_order = _Parsed(OrderSchema, 64)  # the order a snapshot text parses to
_read_transaction = _Parsed(PaymentTransactionSchema, 256)  # a payment transaction's, likewise


def remember_order(payload: str, order: Order) -> None:
    """`order` is what `payload` (the text kept as the order's snapshot) parses to: the steps need not parse it."""
    read_order.remember(payload, order)


def order_version(svc: StepPorts, order: Order) -> str:
    """What the invoice was synced from: X-Cart's update_date, and the content, because an edit does not
    always move update_date (absent, or within the same second)."""
    return version_of(order, snapshots.order_payload(svc.sessions, order.id) or "")


def version_of(order: Order, payload: str) -> str:
    return f"{order.update_date.isoformat()}#{hashlib.sha256(payload.encode()).hexdigest()[:16]}"


def checks_on(rules: Rules) -> bool:
    """Whether the order checks run (workers/checks.py): then an order is booked only as a version they passed."""
    return rules.validation.enabled or rules.anomalies.enabled


def check_key(rules: Rules, version: str, order: Order, transactions: Sequence[PaymentTransaction]) -> str:
    """What the checks' answer depends on, besides the store's history: the order's version, the checks' rules
    (a promotion that holds more, a check switched on, judges the order again) and, for the anomaly check, whether
    the order is refunded (a refund transaction comes in without a new version of the order)."""
    refunded = rules.anomalies.enabled and anomalies.is_refund(order, transactions)
    return f"{version}|{_checks_rules(rules)}" + ("|refunded" if refunded else "")


# ids of what the checks read -> (those objects, kept so that no id is reused; their digest)
_rules_digests: dict[tuple[int, ...], tuple[tuple, str]] = {}


def _checks_rules(rules: Rules) -> str:
    """A digest of the rules the checks follow. Kept by the identity of the parts read, not of the rules: the rules
    are re-read every few seconds (a few versions live), and a task's copy with the day's exchange rates
    (runtime/exchange_rates.with_rates) shares its parts with the version it copies."""
    # the rate table left out: rates move daily, and the check asks only that one exists
    read = (rules.validation, rules.anomalies, rules.currency_policy, rules.account_currency)
    key = tuple(map(id, read))
    known = _rules_digests.get(key)
    if known is None or any(kept is not part for kept, part in zip(known[0], read, strict=True)):
        digest = hashlib.sha256(repr(read).encode()).hexdigest()[:12]
        if len(_rules_digests) > 16:
            _rules_digests.clear()
        known = _rules_digests[key] = (read, digest)
    return known[1]


def may_book(rules: Rules, checked: str | None, version: str) -> bool:
    """Whether this version of the order may be booked: the checks are off, or they passed it under these rules
    (refunded or not: the payment step asks that)."""
    if not checks_on(rules):
        return True
    return checked is not None and checked.removesuffix("|refunded") == f"{version}|{_checks_rules(rules)}"


def transactions_of(svc: StepPorts, order_id: int) -> list[PaymentTransaction]:
    return _transactions(snapshots.payment_payloads(svc.sessions, order_id))


def transactions_and_check(svc: StepPorts, order_id: int) -> tuple[list[PaymentTransaction], str | None]:
    """The order's payment transactions and what its checks last passed, read together."""
    payloads, checked = snapshots.payments_and_check(svc.sessions, order_id)
    return _transactions(payloads), checked


def _transactions(payloads: list[str]) -> list[PaymentTransaction]:
    return [_read_transaction(p) for p in payloads]
