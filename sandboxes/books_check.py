"""Did the FreshBooks sandbox end up with exactly the books the simulated store calls for?

Used by the demo, the end-to-end tests and the benchmarks: every bookable order has one invoice with
the right total and the payments X-Cart collected; nothing else; one client per email, one item per SKU."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from mappings import jsonio
from mappings.orders import NeedsReview, map_order
from mappings.rules import Rules
from mappings.xcart import SALE_TYPES, OrderSchema, load

from .freshbooks.app import Sandbox
from .xcart.store import SimulatedStore


@dataclass(frozen=True)
class Expected:
    total: Decimal
    collected: Decimal
    refunded: bool


@dataclass
class BooksReport:
    orders: int = 0  # orders that must be in FreshBooks
    booked: int = 0
    lost: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    wrong_totals: list[str] = field(default_factory=list)
    wrong_payments: list[str] = field(default_factory=list)
    duplicate_clients: list[str] = field(default_factory=list)
    duplicate_items: list[str] = field(default_factory=list)
    refunds_for_review: int = 0

    @property
    def correct(self) -> bool:
        return not (self.lost or self.duplicates or self.unexpected or self.wrong_totals or self.wrong_payments
                    or self.duplicate_clients or self.duplicate_items)


def expected_books(store: SimulatedStore, rules: Rules) -> dict[str, Expected]:
    """Invoice number -> what FreshBooks must show, for every order that must be booked."""
    expected = {}
    for payload in store.orders.values():
        order = load(OrderSchema, jsonio.loads(jsonio.dumps(payload)))
        try:
            plan = map_order(order, rules)
        except NeedsReview:
            continue
        if plan.action == "void":
            continue
        transactions = [t for t in store.transactions.get(order.id, []) if t["status"] == "S"]
        if transactions:
            collected = sum((Decimal(str(t["value"])) for t in transactions if t["type"] in SALE_TYPES), Decimal(0))
        else:
            collected = plan.total if plan.action == "paid" else Decimal(0)
        refunded = any(t["type"].startswith("refund") for t in transactions) or plan.action == "credit"
        expected[order.order_number] = Expected(plan.total, min(collected, plan.total), refunded)
    return expected


def check_books(store: SimulatedStore, sandbox: Sandbox, rules: Rules) -> BooksReport:
    expected = expected_books(store, rules)
    invoices = [i for i in sandbox.books.all("invoice") if i["vis_state"] == 0]
    booked = Counter(i["invoice_number"] for i in invoices)
    report = BooksReport(orders=len(expected), booked=len(set(booked) & set(expected)),
                         refunds_for_review=sum(1 for e in expected.values() if e.refunded))
    report.lost = sorted(set(expected) - set(booked))
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
    clients = Counter(c["email"] for c in sandbox.books.all("client") if c["vis_state"] == 0)
    items = Counter(i["sku"] for i in sandbox.books.all("item") if i["vis_state"] == 0)
    report.duplicate_clients = sorted(email for email, count in clients.items() if count > 1)
    report.duplicate_items = sorted(sku for sku, count in items.items() if count > 1)
    return report
