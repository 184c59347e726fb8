"""What X-Cart gave back, and the FreshBooks credit notes that book it. Pure: the worker books what this plans.

- Each successful refund transaction (`refund`, `refundPart`, `refundMulti`) is one credit note numbered
  `<order number>-R<n>`, n counting the order's refunds in the order X-Cart made them (date, then transaction
  id): the same refund always gets the same number, so a retry or a replay finds it instead of booking it again.
- Payment status R (the rules' `credit`) says that everything collected went back: what no refund transaction
  explains is the next refund (X-Cart does not always report transactions).
- Cancelled or declined (the rules' `void`) once money was collected: what was collected and not refunded is one
  credit note `<order number>-C`; the invoice stays.
- A credit note for the invoice's whole total carries the invoice's lines, so that tax reports reverse the tax
  too; a partial one carries one untaxed line for the amount (X-Cart does not say which lines a refund covers).
- Only what the books show paid is credited; a refund beyond it goes to a person, with the figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from mappings.money import currency_places, quantize
from mappings.orders import InvoiceLine, InvoicePlan
from mappings.rules import Rules
from mappings.xcart.entities import Order, PaymentTransaction


@dataclass(frozen=True)
class CreditNotePlan:
    credit_number: str
    kind: str  # refund | cancellation
    amount: Decimal  # in the invoice's currency; 0: nothing is owed back under this number (any booked is removed)
    currency: str
    create_date: date
    lines: tuple[InvoiceLine, ...]
    notes: str

    def body(self, client_id: int) -> dict:
        return {"credit_number": self.credit_number, "clientid": client_id, "currency_code": self.currency,
                "create_date": self.create_date.isoformat(), "credit_type": "goodwill", "notes": self.notes,
                "lines": [line.body(self.currency) for line in self.lines]}


@dataclass(frozen=True)
class RefundDecision:
    credit_notes: tuple[CreditNotePlan, ...] = ()
    reasons: tuple[str, ...] = ()  # for review


def credit_number(order_number: str, kind: str, index: int = 0) -> str:
    return f"{order_number}-R{index}" if kind == "refund" else f"{order_number}-C"


def refunded_before_its_transactions(order: Order, plan: InvoicePlan, transactions: list[PaymentTransaction],
                                     paid: Decimal, rules: Rules) -> str | None:
    """X-Cart says the order was refunded, yet none of its payment transactions has arrived and nothing is paid
    on the invoice: how much was collected and given back is unknown (the total may have been edited after the
    payment), so nothing is booked from the status alone. The reason to hold the order; its payment events,
    delivered late, run the chain again and settle it."""
    if plan.action != "credit" or transactions or paid or rules.refund_policy != "credit_note":
        return None
    return (f"order {order.order_number} is refunded in X-Cart but none of its payment transactions has arrived: "
            "what was collected and given back is booked when they come (a replay books them once they have)")


def plan_credit_notes(order: Order, plan: InvoicePlan, transactions: list[PaymentTransaction], paid: Decimal,
                      rules: Rules) -> RefundDecision:
    """The credit notes an order calls for, given `paid`: what its invoice shows paid (in the invoice's currency)."""
    refunds = _refunds(order, plan, transactions, paid)
    notes: list[CreditNotePlan] = []
    reasons: list[str] = []
    credited = Decimal(0)
    for index, (amount, when, what) in enumerate(refunds, start=1):
        number = credit_number(order.order_number, "refund", index)
        if credited + amount > paid:
            reasons.append(f"X-Cart refunded {amount} {plan.currency} ({what}) of order {order.order_number}, more "
                           f"than the {paid - credited} the invoice shows paid and not yet credited: no credit note "
                           f"{number} is booked")
            continue
        credited += amount
        if rules.refund_policy == "credit_note":
            notes.append(_credit_note(plan, number, "refund", amount, when, f"Refund of X-Cart order "
                                      f"#{order.order_number} (invoice {plan.invoice_number}): {what}.", rules))
        elif rules.refund_policy == "review":
            reasons.append(f"X-Cart refunded {amount} {plan.currency} of order {order.order_number} ({what}); the "
                           "rules (refunds.refund: review) hold refunds for a person")
    if plan.action == "void" and rules.cancelled_after_payment != "ignore":
        remainder = paid - credited
        if rules.cancelled_after_payment == "review" and remainder > 0:
            reasons.append(f"order {order.order_number} was cancelled after {remainder} {plan.currency} was paid; "
                           "the rules (refunds.cancelled_after_payment: review) hold it for a person")
        elif rules.cancelled_after_payment == "credit_note":
            notes.append(_credit_note(plan, credit_number(order.order_number, "cancellation"), "cancellation",
                                      max(remainder, Decimal(0)), order.update_date,
                                      f"Cancellation of X-Cart order #{order.order_number} (invoice "
                                      f"{plan.invoice_number}) after payment: the amount paid and not refunded.",
                                      rules))
    return RefundDecision(tuple(notes), tuple(reasons))


def _refunds(order: Order, plan: InvoicePlan, transactions: list[PaymentTransaction],
             paid: Decimal) -> list[tuple[Decimal, datetime, str]]:
    """(amount in the invoice's currency, when, what) of each refund, in the order X-Cart made them."""
    made = sorted((t for t in transactions if t.succeeded and t.is_refund),
                  key=lambda t: (t.date or order.update_date, t.id))
    refunds = [(_converted(plan, t.value), t.date or order.update_date,
                f"transaction {t.id} ({t.type}{', ' + t.public_id if t.public_id else ''})") for t in made]
    explained = sum((amount for amount, _, _ in refunds), Decimal(0))
    if plan.action == "credit" and explained < paid:
        refunds.append((paid - explained, order.update_date, "payment status refunded, no refund transaction "
                                                            "reported for this amount"))
    return refunds


def _converted(plan: InvoicePlan, amount: Decimal) -> Decimal:
    """In the invoice's currency, to its places (X-Cart keeps "19.9900")."""
    rate = plan.conversion.rate if plan.conversion else Decimal(1)
    return quantize(amount * rate, currency_places(plan.currency))


def _credit_note(plan: InvoicePlan, number: str, kind: str, amount: Decimal, when: datetime, notes: str,
                 rules: Rules) -> CreditNotePlan:
    if amount == plan.total:
        lines = plan.lines  # the whole invoice back, tax by tax
    else:
        label = "Refund" if kind == "refund" else "Cancellation"
        lines = (InvoiceLine(label, Decimal(1), amount, kind="refund",
                             description=f"{label} of X-Cart order #{plan.invoice_number}"),)
    if plan.conversion:
        notes += (f" Converted at {plan.conversion.rate} {plan.conversion.to_currency} per "
                  f"{plan.conversion.from_currency} (source: {plan.conversion.source}).")
    return CreditNotePlan(number, kind, amount, plan.currency, when.astimezone(rules.store_timezone).date(), lines,
                          notes)
