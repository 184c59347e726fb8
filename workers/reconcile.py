"""A reconciliation run: every X-Cart order placed in the window (read over the REST API, paged) against every
FreshBooks invoice dated in it and the credit notes since; mappings/reconciliation.py classifies. `repair` sends
the orders the service can book again through the normal chain (the same events catch-up sync sends), after
forgetting the bindings of objects someone deleted in FreshBooks."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from core.errors import Fatal
from mappings import jsonio
from mappings.errors import PayloadInvalid
from mappings.reconciliation import BookedInvoice, Line, Report, classify, store_order, unexplained
from mappings.xcart.aliases import field as aliased
from mappings.xcart.schemas import OrderSchema, PaymentTransactionSchema, load
from runtime.alerts import clear_alert, raise_alert
from store import binder, ledger, reconcile_runs, snapshots
from store.models import utcnow
from workers.ports import ReconcilePorts

Send = Callable[[str, list], None]


class XCartNotConnected(Fatal):
    """Reconciliation reads X-Cart's orders over its REST API: without it there is nothing to compare."""


@dataclass
class Reconciliation:
    report: Report
    active_invoices: set[int] = field(default_factory=set)  # FreshBooks ids seen active: bindings to others are stale
    active_credit_notes: set[int] = field(default_factory=set)


def reconcile(svc: ReconcilePorts, since: date, until: date) -> Reconciliation:
    if svc.xcart is None:
        raise XCartNotConnected("reconciliation reads X-Cart's orders: connect the store first (xcfb connect xcart, "
                                "or XCART_API_URL and XCART_API_TOKEN)")
    fb, rules = svc.freshbooks, svc.rules
    window = {"search[date_min]": since.isoformat(), "search[date_max]": until.isoformat()}
    # Dates checked here too: an invoice outside the window that a filter let through is no stray of this window.
    in_window = (lambda i: since.isoformat() <= i.create_date <= until.isoformat())  # noqa: E731
    invoices = _by_number(filter(in_window, (_booked(i) for i in fb.list_invoices(window))))
    deleted = _by_number(filter(in_window, (_booked(i) for i in fb.list_invoices({**window, "search[vis_state]": 1}))))
    credit_notes = fb.list_credit_notes({"search[date_min]": since.isoformat()})  # refunds come after the order
    credited: dict[str, Decimal] = {}
    for note in credit_notes:
        order_number = str(note.get("credit_number", "")).rsplit("-", 1)[0]
        credited[order_number] = credited.get(order_number, Decimal(0)) + Decimal(note["amount"]["amount"])
    deleted_clients = {int(c["id"]) for c in fb.list_clients({"search[vis_state]": 1})}
    result = Reconciliation(Report(since, until), {i.invoice_id for found in invoices.values() for i in found},
                            {int(c["id"]) for c in credit_notes})
    zone = rules.store_timezone
    after = datetime.combine(since, time.min, zone)
    before = datetime.combine(until + timedelta(days=1), time.min, zone) - timedelta(microseconds=1)
    for raw in svc.xcart.orders_placed_between(after, before):
        result.report.lines.append(_order_line(svc, raw, invoices, deleted, credited, deleted_clients))
    for number, stray in sorted(invoices.items()):
        result.report.lines += [unexplained(invoice, credited.get(number, Decimal(0))) for invoice in stray]
    return result


def _order_line(svc: ReconcilePorts, raw: dict, invoices: dict[str, list[BookedInvoice]],
                deleted: dict[str, list[BookedInvoice]], credited: dict[str, Decimal], deleted_clients: set[int]
                ) -> Line:
    try:
        order = load(OrderSchema, raw)
        transactions = [load(PaymentTransactionSchema, t) for t in svc.xcart.payment_transactions(order.id)]
    except PayloadInvalid as exc:
        number = str(raw.get("order_number") or raw.get("orderNumber") or raw.get("id"))
        invoices.pop(number, None)
        return Line(number, None, "held", "", detail=f"X-Cart's order cannot be read: {exc}")
    mine = invoices.pop(order.order_number, [])
    expected = store_order(order, transactions, svc.rules, mine[0].paid if len(mine) == 1 else None)
    if not mine and not expected.held:  # held before its invoice (an anomaly, a possible duplicate client)
        held = ledger.open_review_reason(svc.sessions, order.id)
        expected = dataclasses.replace(expected, held=held) if held else expected
    return classify(expected, mine, credited.get(order.order_number, Decimal(0)), deleted_clients,
                    [i.invoice_id for i in deleted.get(order.order_number, [])])


def _booked(invoice: dict) -> BookedInvoice:
    return BookedInvoice(int(invoice["id"]), str(invoice.get("invoice_number") or ""),
                         str(invoice.get("currency_code") or invoice["amount"]["code"]),
                         Decimal(invoice["amount"]["amount"]), Decimal(invoice["paid"]["amount"]),
                         int(invoice.get("customerid") or 0), str(invoice.get("create_date") or ""))


def _by_number(invoices) -> dict[str, list[BookedInvoice]]:
    grouped: dict[str, list[BookedInvoice]] = {}
    for invoice in invoices:
        grouped.setdefault(invoice.number, []).append(invoice)
    return grouped


def repair(svc: ReconcilePorts, run: Reconciliation, send: Send, store_id: str) -> list[str]:
    """Sends each repairable order through the chain again; returns the event ids sent (wait for them to finish,
    then reconcile again). Bindings to invoices and credit notes no longer active in FreshBooks are forgotten
    first, so that the chain books them again instead of trusting a binding to a deleted object."""
    stamp = utcnow()
    sent = []
    for line in run.report.lines:
        if not line.repairable or line.order_id is None:
            continue
        _forget_deleted(svc, line.order_id, run)
        order = svc.xcart.order(line.order_id)
        event_id = f"repair:order:{line.order_id}:{int(stamp.timestamp())}"
        send("xcfb.process_event", [_event(event_id, "order.updated", order, stamp, store_id)])
        sent.append(event_id)
        for transaction in svc.xcart.payment_transactions(line.order_id):
            transaction_id = int(aliased(transaction, "payment", "transaction_id"))
            if not snapshots.has_payment(svc.sessions, transaction_id):  # what webhooks and catch-up never brought
                payment_event = f"repair:payment:{transaction_id}"
                send("xcfb.process_event", [_event(payment_event, "payment.created", transaction, stamp, store_id)])
                sent.append(payment_event)
    return sent


def _forget_deleted(svc: ReconcilePorts, order_id: int, run: Reconciliation) -> None:
    invoice = binder.lookup(svc.sessions, "invoice", str(order_id))
    if invoice is not None and invoice.freshbooks_id is not None and invoice.freshbooks_id not in run.active_invoices:
        binder.unbind(svc.sessions, "invoice", str(order_id))
    for credit in binder.bindings_under(svc.sessions, "credit_note", f"{order_id}:"):
        if credit.freshbooks_id is not None and credit.freshbooks_id not in run.active_credit_notes \
                and credit.version != "0":  # one the chain withdrew itself stays withdrawn
            binder.unbind(svc.sessions, "credit_note", credit.external_id)


ALERT = "reconcile"


def record(svc, report: Report, trigger: str) -> int:
    """Keeps the report (`xcfb reconcile history`, /metrics) and raises the `reconcile` alert while the books
    differ from the store; the first run that matches clears it. `svc`: the composition root's Services."""
    run_id = reconcile_runs.save(svc.sessions, report.as_dict(), trigger)
    if report.matched:
        clear_alert(svc, ALERT, f"reconciliation {run_id} ({report.since} .. {report.until}): every order matches")
    else:
        counts = ", ".join(f"{k} {n}" for k, n in report.counts.items() if n and k != "matched")
        raise_alert(svc, ALERT, f"reconciliation {run_id} ({report.since} .. {report.until}): {counts}; "
                                "see xcfb reconcile history")
    return run_id


def beat_window(now: datetime, interval_seconds: float, overlap_seconds: float) -> tuple[date, date]:
    """Beat's window: the whole days that ended in the last interval, plus the overlap before them (today's
    orders may still be on their way: tomorrow's run has them)."""
    until = now.date() - timedelta(days=1)
    since = (now - timedelta(seconds=interval_seconds + overlap_seconds)).date()
    return min(since, until), until


def _event(event_id: str, event_type: str, data: dict, now: datetime, store_id: str) -> str:
    return jsonio.dumps({"id": event_id, "type": event_type, "created_at": now.isoformat(), "store": store_id,
                         "data": data})
