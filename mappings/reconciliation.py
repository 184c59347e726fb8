"""Do the books agree with the store? Pure: what X-Cart says an order should be in FreshBooks (after the rules, as
the chain books it), compared with what FreshBooks shows, one class per order.

X-Cart's side is derived with the chain's own rules (mappings/orders, payments, refunds), so that an order the
service books correctly is `matched`; what differs is named, and only what is the service's to book again is
`repairable` (an invoice edited by hand is reported, never silently "fixed").
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal

from mappings import payments, refunds
from mappings.money import currency_places, quantize
from mappings.orders import NeedsReview, map_order
from mappings.rules import Rules
from mappings.xcart.entities import Order, PaymentTransaction

# Worst first: an order gets the first class that applies.
CLASSES = ("held", "duplicate_number", "missing", "not_voided", "currency_mismatch", "client_deleted",
           "amount_differs", "payments_differ", "refund_missing", "freshbooks_only", "matched")
MONEY = ("xcart_total", "invoiced", "collected", "paid", "given_back", "credited")
ZERO = Decimal(0)


@dataclass(frozen=True)
class StoreOrder:
    """An X-Cart order as its FreshBooks invoice should show it (in the invoice's currency)."""

    order_id: int
    order_number: str
    currency: str
    total: Decimal
    collected: Decimal
    given_back: Decimal  # what the credit notes should add up to
    invoiced: bool  # False: cancelled before any payment, no invoice wanted
    held: str | None = None  # the rules hold the order for a person: why


@dataclass(frozen=True)
class BookedInvoice:
    invoice_id: int
    number: str
    currency: str
    amount: Decimal
    paid: Decimal
    client_id: int
    create_date: str


@dataclass(frozen=True)
class Line:
    order_number: str
    order_id: int | None
    klass: str
    currency: str
    xcart_total: Decimal = ZERO
    invoiced: Decimal = ZERO
    collected: Decimal = ZERO
    paid: Decimal = ZERO
    given_back: Decimal = ZERO
    credited: Decimal = ZERO
    detail: str = ""
    repairable: bool = False


def store_order(order: Order, transactions: list[PaymentTransaction], rules: Rules,
                paid_in_books: Decimal | None = None) -> StoreOrder:
    """`paid_in_books`: what the order's invoice shows paid, if there is one (a cancelled order without
    transactions collected what the books show, as the chain reads it)."""
    places = currency_places(order.currency)
    try:
        plan = map_order(order, rules)
    except NeedsReview as held:
        return StoreOrder(order.id, order.order_number, order.currency, quantize(order.total, places), ZERO, ZERO,
                          True, str(held))
    places = currency_places(plan.currency)  # X-Cart writes "19.9900": compared and shown to the currency's places
    money = payments.collected_and_refunded(order, plan, transactions, paid_in_books)
    collected = quantize(min(money.collected, plan.total), places)
    owed = refunds.plan_credit_notes(order, plan, transactions, collected, rules)
    given_back = quantize(sum((note.amount for note in owed.credit_notes), ZERO), places)
    invoiced = not (plan.action == "void" and not collected)
    return StoreOrder(order.id, order.order_number, plan.currency, quantize(plan.total, places), collected,
                      given_back, invoiced, "; ".join(owed.reasons) or None)


def classify(order: StoreOrder, invoices: list[BookedInvoice], credited: Decimal, deleted_clients: set[int],
             deleted_invoices: list[int] = ()) -> Line:
    """The order against its active invoices (those numbered as the order) and its credit notes' total."""
    figures = {"xcart_total": order.total, "collected": order.collected, "given_back": order.given_back,
               "credited": credited}
    if len(invoices) == 1:
        figures |= {"invoiced": invoices[0].amount, "paid": invoices[0].paid}

    def line(klass: str, detail: str, repairable: bool = False) -> Line:
        return Line(order.order_number, order.order_id, klass, order.currency, **figures, detail=detail,
                    repairable=repairable)

    if order.held:
        return line("held", f"held for review: {order.held}")
    if len(invoices) > 1:
        return line("duplicate_number", f"{len(invoices)} invoices numbered {order.order_number}: "
                    + ", ".join(str(i.invoice_id) for i in invoices))
    if not invoices:
        if not order.invoiced:  # nothing to invoice: out of the totals
            return dataclasses.replace(line("matched", f"cancelled before payment: no invoice (X-Cart total "
                                                       f"{order.total})"), xcart_total=ZERO)
        gone = f" (invoice {', '.join(map(str, deleted_invoices))} deleted in FreshBooks)" if deleted_invoices else ""
        return line("missing", f"no invoice in FreshBooks for {order.total} {order.currency}{gone}", True)
    invoice = invoices[0]
    if not order.invoiced:
        return line("not_voided", f"cancelled before payment, invoice {invoice.invoice_id} still open", True)
    if invoice.currency != order.currency:
        return line("currency_mismatch", f"invoice {invoice.invoice_id} is in {invoice.currency}, the order in "
                    f"{order.currency}")
    if invoice.client_id in deleted_clients:
        return line("client_deleted", f"invoice {invoice.invoice_id}'s client {invoice.client_id} is deleted")
    if invoice.amount != order.total:
        return line("amount_differs", f"invoice {invoice.invoice_id} totals {invoice.amount} {order.currency}, "
                    f"X-Cart's order {order.total}: edited in FreshBooks? (never changed back automatically)")
    if invoice.paid != order.collected:
        return line("payments_differ", f"invoice {invoice.invoice_id} shows {invoice.paid} {order.currency} paid, "
                    f"X-Cart collected {order.collected}", invoice.paid < order.collected)
    if credited != order.given_back:
        return line("refund_missing", f"credit notes total {credited} {order.currency}, X-Cart gave back "
                    f"{order.given_back}", credited < order.given_back)
    return line("matched", "")


def unexplained(invoice: BookedInvoice, credited: Decimal = ZERO) -> Line:
    return Line(invoice.number, None, "freshbooks_only", invoice.currency, invoiced=invoice.amount,
                paid=invoice.paid, credited=credited,
                detail=f"invoice {invoice.invoice_id} ({invoice.create_date}) is explained by no X-Cart order")


@dataclass
class Report:
    since: date
    until: date
    lines: list[Line] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counted = {klass: 0 for klass in CLASSES}
        for line in self.lines:
            counted[line.klass] += 1
        return counted

    @property
    def matched(self) -> bool:
        return all(line.klass == "matched" for line in self.lines)

    @property
    def mismatches(self) -> list[Line]:
        return [line for line in self.lines if line.klass != "matched"]

    def totals(self) -> dict[str, dict[str, Decimal]]:
        """Per currency: X-Cart's totals, invoiced, collected, paid, given back, credited."""
        sums: dict[str, dict[str, Decimal]] = {}
        for line in self.lines:
            row = sums.setdefault(line.currency, dict.fromkeys(MONEY, ZERO))
            for key in MONEY:
                row[key] += getattr(line, key)
        return dict(sorted(sums.items()))

    def as_dict(self) -> dict:
        return {"since": self.since.isoformat(), "until": self.until.isoformat(), "matched": self.matched,
                "counts": self.counts, "totals": _text(self.totals()),
                "orders": [_text(asdict(line)) for line in self.lines]}

    def as_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)

    def as_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["order_number", "order_id", "class", "currency", *MONEY, "detail"])
        for line in self.lines:
            writer.writerow([line.order_number, line.order_id or "", line.klass, line.currency,
                             *(getattr(line, key) for key in MONEY), line.detail])
        for currency, row in self.totals().items():
            writer.writerow(["TOTAL", "", "", currency, *(row[key] for key in MONEY), ""])
        return out.getvalue()

    def as_table(self) -> str:
        head = f"{'order':<14} {'class':<17} {'cur':<3} " + " ".join(f"{k:>12}" for k in MONEY) + "  detail"
        rows = [f"Reconciliation {self.since} .. {self.until}: {len(self.lines)} orders and invoices", head]
        for line in sorted(self.lines, key=lambda li: (li.klass == "matched", li.order_number)):
            rows.append(f"{line.order_number[:14]:<14} {line.klass:<17} {line.currency:<3} "
                        + " ".join(f"{getattr(line, k):>12}" for k in MONEY) + f"  {line.detail}")
        rows.append("")
        for currency, row in self.totals().items():
            rows.append(f"{'TOTAL':<14} {'':<17} {currency:<3} " + " ".join(f"{row[k]:>12}" for k in MONEY))
        rows.append("classes: " + ", ".join(f"{k} {n}" for k, n in self.counts.items() if n))
        rows.append("RESULT: every order matches" if self.matched
                    else f"RESULT: {len(self.mismatches)} differ "
                         f"({sum(1 for line in self.mismatches if line.repairable)} repairable with --repair)")
        return "\n".join(rows)


def _text(values: dict) -> dict:
    """Money as text in JSON, never a float."""
    return {k: (str(v) if isinstance(v, Decimal) else _text(v) if isinstance(v, dict) else v)
            for k, v in values.items()}
