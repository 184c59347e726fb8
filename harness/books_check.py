"""Did the FreshBooks sandbox end up with exactly the books the simulated store calls for?

Used by the demo, the end-to-end tests and the benchmarks: every bookable order has one invoice with
X-Cart's total, X-Cart's tax and the payments X-Cart collected; what X-Cart gave back (refunds, a cancellation
after payment) as credit notes, each number once; nothing else; one client per email, one item per SKU. The
expectations come from X-Cart's own figures and the status rules, never from our mapper: an order the mapper
wrongly holds for review shows here as lost."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from mappings import jsonio
from mappings.money import currency_places, quantize
from mappings.rules import Rules
from mappings.statuses import invoice_action
from mappings.xcart.entities import SALE_TYPES
from mappings.xcart.schemas import OrderSchema, load
from sandboxes.freshbooks.app import Sandbox
from sandboxes.xcart.store import SimulatedStore
from store.models import DeadLetter, Event


@dataclass(frozen=True)
class Expected:
    total: Decimal
    collected: Decimal
    refunded: bool
    tax: Decimal | None = None  # None when converted: FreshBooks then taxes the converted lines
    credited: Decimal = Decimal(0)  # what the order's credit notes must add up to


@dataclass
class BooksReport:
    orders: int = 0  # orders that must be in FreshBooks
    booked: int = 0
    lost: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    wrong_totals: list[str] = field(default_factory=list)
    wrong_payments: list[str] = field(default_factory=list)
    wrong_taxes: list[str] = field(default_factory=list)
    duplicate_clients: list[str] = field(default_factory=list)
    duplicate_items: list[str] = field(default_factory=list)
    refunds_for_review: int = 0  # orders with a refund (booked as credit notes unless the rules hold them)
    credit_notes: int = 0
    orders_credited: int = 0  # orders whose money went back (refunded, or cancelled after payment)
    duplicate_credit_notes: list[str] = field(default_factory=list)
    lost_refunds: list[str] = field(default_factory=list)  # credited less than X-Cart gave back
    wrong_credits: list[str] = field(default_factory=list)  # credited more, or for no order
    held_as_duplicates: list[str] = field(default_factory=list)  # orders a person must match to a client
    wrong_clients: list[str] = field(default_factory=list)  # booked to a client of another person

    @property
    def correct(self) -> bool:
        return not (self.lost or self.duplicates or self.unexpected or self.wrong_totals or self.wrong_payments
                    or self.wrong_taxes or self.duplicate_clients or self.duplicate_items or self.duplicate_credit_notes
                    or self.lost_refunds or self.wrong_credits or self.wrong_clients)


def expected_books(store: SimulatedStore, rules: Rules, held: Collection[int] = ()) -> dict[str, Expected]:
    """Invoice number -> what FreshBooks must show, for every order whose status the rules book; `held`: orders
    with an injected anomaly the anomaly check holds for review (any other order held is lost)."""
    expected = {}
    for payload in store.orders.values():
        if payload["id"] in held:
            continue
        order = load(OrderSchema, jsonio.loads(jsonio.dumps(payload)))
        action = invoice_action(order.payment_status, order.shipping_status, rules)
        total, tax, convert = order.total, _xcart_tax(order), _converter(order, rules)
        transactions = [t for t in store.transactions.get(order.id, []) if t["status"] == "S"]
        if transactions:
            collected = sum((Decimal(str(t["value"])) for t in transactions if t["type"] in SALE_TYPES), Decimal(0))
        else:
            collected = total if action in ("paid", "credit") else Decimal(0)
        if action == "review" or (action == "void" and not collected):
            continue  # held, or cancelled before any payment: no invoice
        collected = min(convert(collected), convert(total))
        refunds = sum((convert(Decimal(str(t["value"]))) for t in transactions if t["type"].startswith("refund")),
                      Decimal(0))
        refunded = bool(refunds) or action == "credit"
        expected[order.order_number] = Expected(convert(total), collected, refunded,
                                                None if convert(Decimal(1)) != 1 else tax,
                                                _credited(action, collected, refunds, rules))
    return expected


def _credited(action: str, collected: Decimal, refunds: Decimal, rules: Rules) -> Decimal:
    """Status R gives back all that was collected; a cancellation after payment, what no refund gave back."""
    by_refunds = max(refunds, collected) if action == "credit" else refunds
    by_cancellation = collected - refunds if action == "void" and collected > refunds else Decimal(0)
    return ((by_refunds if rules.refund_policy == "credit_note" else Decimal(0))
            + (by_cancellation if rules.cancelled_after_payment == "credit_note" else Decimal(0)))


def _xcart_tax(order) -> Decimal:
    places = currency_places(order.currency)
    return sum((quantize(s.value, places) for s in order.surcharges if s.type == "tax" and s.available), Decimal(0))


def _converter(order, rules: Rules):
    if rules.currency_policy != "convert" or order.currency == rules.account_currency:
        return lambda amount: amount
    rate, _ = rules.rates.rate(order.currency, rules.account_currency, order.create_date.date())
    step = Decimal(1).scaleb(-currency_places(rules.account_currency))
    return lambda amount: (amount * rate).quantize(step, rounding=rules.rounding)


def held_as_duplicates(sessions: sessionmaker) -> set[str]:
    """Order numbers held in review as a possible duplicate client (workers/duplicates.py), open now."""
    with sessions() as session:
        return set(session.scalars(
            select(Event.order_number).join(DeadLetter, DeadLetter.event_id == Event.id)
            .where(DeadLetter.status == "open", DeadLetter.kind == "review", Event.order_number.is_not(None),
                   DeadLetter.reason.like("%possible duplicate of client%"))))


def check_books(store: SimulatedStore, sandbox: Sandbox, rules: Rules, held: set[str] = frozenset(),
                held_anomalies: Collection[int] = ()) -> BooksReport:
    """`held`: order numbers held for a person to say which client they belong to (held_as_duplicates);
    `held_anomalies`: order ids with an injected anomaly the anomaly check holds. Neither is lost."""
    expected = expected_books(store, rules, held_anomalies)
    held_orders = sorted(set(expected) & set(held))
    expected = {number: want for number, want in expected.items() if number not in held}
    invoices = [i for i in sandbox.books.all("invoice") if i["vis_state"] == 0]
    booked = Counter(i["invoice_number"] for i in invoices)
    report = BooksReport(orders=len(expected), booked=len(set(booked) & set(expected)),
                         refunds_for_review=sum(1 for e in expected.values() if e.refunded))
    report.lost = sorted(set(expected) - set(booked))
    report.held_as_duplicates = held_orders
    report.wrong_clients = _wrong_clients(store, sandbox, invoices)
    report.duplicates = sorted(number for number, count in booked.items() if count > 1)
    for invoice in invoices:
        number = invoice["invoice_number"]
        want = expected.get(number)
        if want is None:
            report.unexpected.append(number)
            continue
        if Decimal(invoice["amount"]["amount"]) != want.total:
            report.wrong_totals.append(f"{number}: {invoice['amount']['amount']} != {want.total}")
        if Decimal(invoice["paid"]["amount"]) != want.collected:
            report.wrong_payments.append(f"{number}: paid {invoice['paid']['amount']} != {want.collected}")
        taxed = sum((Decimal(t["amount"]["amount"]) for t in invoice.get("taxes") or ()), Decimal(0))
        if want.tax is not None and taxed != want.tax:
            report.wrong_taxes.append(f"{number}: tax {taxed} != X-Cart's {want.tax}")
    _check_credit_notes(sandbox, expected, report)
    clients = Counter(c["email"] for c in sandbox.books.all("client") if c["vis_state"] == 0)
    items = Counter(i["sku"] for i in sandbox.books.all("item") if i["vis_state"] == 0)
    report.duplicate_clients = sorted(email for email, count in clients.items() if count > 1)
    report.duplicate_items = sorted(sku for sku, count in items.items() if count > 1)
    return report


def _check_credit_notes(sandbox: Sandbox, expected: dict[str, Expected], report: BooksReport) -> None:
    """Credit notes are numbered `<order number>-R<n>` / `<order number>-C` (mappings/refunds.py): each number
    once, and each order's add up to what X-Cart gave back."""
    notes = [c for c in sandbox.books.all("credit_note") if c["vis_state"] == 0]
    report.credit_notes = len(notes)
    report.orders_credited = sum(1 for want in expected.values() if want.credited)
    numbers = Counter(c["credit_number"] for c in notes)
    report.duplicate_credit_notes = sorted(number for number, count in numbers.items() if count > 1)
    credited: dict[str, Decimal] = {}
    for note in notes:
        order_number = note["credit_number"].rsplit("-", 1)[0]
        credited[order_number] = credited.get(order_number, Decimal(0)) + Decimal(note["amount"]["amount"])
    for number, want in expected.items():
        got = credited.pop(number, Decimal(0))
        if got < want.credited:
            report.lost_refunds.append(f"{number}: credited {got} < {want.credited} given back")
        elif got > want.credited:
            report.wrong_credits.append(f"{number}: credited {got} > {want.credited} given back")
    report.wrong_credits += [f"{number}: credited {got} for no booked order" for number, got in credited.items()]
def _wrong_clients(store: SimulatedStore, sandbox: Sandbox, invoices: list[dict]) -> list[str]:
    """Invoices booked to a client whose email belongs to another person than the order's (the store's ground
    truth: a near-duplicate customer is the same person as its original)."""
    emails = {c["id"]: c["email"] for c in sandbox.books.all("client")}
    orders = {o["order_number"]: o for o in store.orders.values()}
    wrong = []
    for invoice in invoices:
        order = orders.get(invoice["invoice_number"])
        client_email = emails.get(invoice.get("customerid"), "")
        if order and store.generator.person(client_email) != store.generator.person(order["email"] or ""):
            wrong.append(f"{invoice['invoice_number']}: {order['email']} booked to client {invoice['customerid']} "
                         f"({client_email})")
    return wrong
