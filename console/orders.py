"""Orders: search by number, email or date; an order's timeline (events, steps and retries, dead letters,
changes in FreshBooks and people's actions) and, side by side, what X-Cart says and what FreshBooks holds."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from flask import Blueprint, abort, render_template, request
from sqlalchemy import or_, select

from console.auth import svc
from mappings import jsonio, money, payments
from mappings.errors import PayloadInvalid
from mappings.orders import InvoicePlan
from mappings.xcart.entities import Order
from mappings.xcart.schemas import OrderSchema, PaymentTransactionSchema, load
from runtime.rule_versions import plan_or_reasons
from store import binder, ledger, snapshots
from store.models import DeadLetter, OrderSnapshot, as_utc

bp = Blueprint("orders", __name__)
LIMIT = 100


@bp.route("/orders")
def index():
    query, day = request.args.get("q", "").strip(), request.args.get("date", "").strip()
    error, found = None, []
    try:
        found = search(query, date.fromisoformat(day) if day else None)
    except ValueError:
        error = f"date: {day!r} is not a date (YYYY-MM-DD)"
    return render_template("orders.html", orders=found, q=query, date=day, error=error)


def search(query: str, day: date | None) -> list[Order]:
    statement = select(OrderSnapshot.payload).order_by(OrderSnapshot.update_date.desc())
    if query and "@" not in query:
        conditions = [OrderSnapshot.order_number.istartswith(query, autoescape=True)]
        if query.isdigit():
            conditions.append(OrderSnapshot.order_id == int(query))
        statement = statement.where(or_(*conditions))
    elif query:
        # narrowed, then exact; in any case (PostgreSQL's LIKE minds it, SQLite's does not)
        statement = statement.where(OrderSnapshot.payload.icontains(query.split("@")[0], autoescape=True))
    if day:
        start = datetime.combine(day, time.min, tzinfo=UTC)
        statement = statement.where(OrderSnapshot.update_date >= start,
                                    OrderSnapshot.update_date < start + timedelta(days=1))
    with svc().sessions() as session:
        payloads = list(session.scalars(statement.limit(LIMIT * 5)))
    orders = [order for order in map(_readable_order, payloads) if order is not None]
    if "@" in query:
        orders = [order for order in orders if order.email.strip().lower() == query.lower()]
    return orders[:LIMIT]


def _readable_order(payload: str | None) -> Order | None:
    if payload is None:
        return None
    try:
        return load(OrderSchema, jsonio.loads(payload))
    except (PayloadInvalid, ValueError):
        return None


@bp.route("/orders/<reference>")
def show(reference: str):
    services = svc()
    events = ledger.events_for_order(services.sessions, reference)
    order_id = next((e.order_id for e in events if e.order_id is not None), None)
    if order_id is None and reference.isdigit():
        order_id = int(reference)
    order = _readable_order(snapshots.order_payload(services.sessions, order_id)) if order_id is not None else None
    if not events and order is None:
        abort(404, description=f"no order {reference} (give the order number or the X-Cart order id)")
    binding = binder.lookup(services.sessions, "invoice", str(order_id))
    invoice, invoice_error = None, None
    if binding is not None and binding.freshbooks_id is not None:
        try:
            invoice = services.freshbooks.get_invoice(binding.freshbooks_id)
        except Exception as exc:  # noqa: BLE001 - any failure to read is shown, the page still renders
            invoice_error = f"FreshBooks did not answer: {type(exc).__name__}: {exc}"
    plan = plan_or_reasons(services, order, services.rules) if order else None
    return render_template("order.html", reference=reference, order=order, events=events, binding=binding,
                           invoice=invoice, invoice_error=invoice_error, plan=plan, held=isinstance(plan, list),
                           timeline=timeline(events, order_id),
                           side=side_by_side(order, invoice, _xcart_paid(order, plan, order_id)))


def timeline(events, order_id: int | None) -> list[dict]:
    """Everything that happened to the order, oldest first."""
    entries = []
    for event in events:
        entries.append({"at": as_utc(event.received_at), "what": "event received",
                        "detail": f"{event.type} {event.id}", "css": "event"})
        if event.finished_at:
            took = (as_utc(event.finished_at) - as_utc(event.received_at)).total_seconds()
            retries = f", {event.attempts - 1} retried" if event.attempts > 1 else ""
            entries.append({"at": as_utc(event.finished_at), "what": f"event {event.status}",
                            "detail": f"{event.id} after {event.attempts} attempt(s){retries}, {took:.2f}s"
                                      + (f": {event.last_error}" if event.last_error else ""),
                            "css": event.status})
    ids = [event.id for event in events]
    if ids:
        with svc().sessions() as session:
            letters = list(session.scalars(select(DeadLetter).where(DeadLetter.event_id.in_(ids))))
        for letter in letters:
            entries.append({"at": as_utc(letter.created_at), "what": f"dead letter {letter.id} ({letter.kind})",
                            "detail": letter.reason, "css": "dead", "letter": letter.id})
    if order_id is not None:
        for entry in ledger.audit_for_order(svc().sessions, order_id):
            who = f" by {entry.actor}" if entry.actor else ""
            entries.append({"at": as_utc(entry.at), "what": f"{entry.action} {entry.object}{who}",
                            "detail": (f"FreshBooks {entry.object} {entry.freshbooks_id}: " if entry.freshbooks_id
                                       else "") + entry.detail, "css": "person" if entry.actor else "audit"})
    return sorted(entries, key=lambda e: e["at"])


def _xcart_paid(order: Order | None, plan, order_id: int | None) -> Decimal | None:
    """What X-Cart collected, less refunds, as the payment step reads it; None when it cannot be said in the
    order's currency (held for review, or converted into another currency)."""
    if order is None or not isinstance(plan, InvoicePlan) or plan.conversion:
        return None
    try:
        transactions = [load(PaymentTransactionSchema, jsonio.loads(p))
                        for p in snapshots.payment_payloads(svc().sessions, order_id)]
    except (PayloadInvalid, ValueError):
        return None
    money = payments.collected_and_refunded(order, plan, transactions)
    return money.collected - money.refunded


def side_by_side(order: Order | None, invoice: dict | None, paid: Decimal | None = None) -> list[dict]:
    """X-Cart's figures next to FreshBooks' invoice, each row marked when they differ."""
    if order is None:
        return []
    rows = [("total", order.total, _amount(invoice, "amount")),
            ("currency", order.currency, (invoice or {}).get("currency_code")),
            ("paid", paid, _amount(invoice, "paid")),
            ("outstanding", None if paid is None else max(order.total - paid, Decimal(0)),
             _amount(invoice, "outstanding")),
            ("invoice number", order.order_number, (invoice or {}).get("invoice_number"))]
    rows = [(name, *(money.shown(v, order.currency) if isinstance(v, Decimal) else v for v in values))
            for name, *values in rows]
    return [{"name": name, "xcart": xcart, "freshbooks": freshbooks,
             "differs": invoice is not None and xcart is not None and freshbooks is not None
             and _differ(xcart, freshbooks)} for name, xcart, freshbooks in rows]


def _differ(xcart, freshbooks) -> bool:
    if isinstance(xcart, Decimal):
        return xcart != freshbooks
    return str(xcart) != str(freshbooks)


def _amount(invoice: dict | None, key: str) -> Decimal | None:
    if not invoice or not isinstance(invoice.get(key), dict):
        return None
    return Decimal(str(invoice[key]["amount"]))
