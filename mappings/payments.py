"""What X-Cart collected for an order, and what of it to book on its FreshBooks invoice. Pure: the worker
reads the invoice and books; the rules are here.

- Collected is the sum of successful sale/capture transactions; without any transaction, a status the
  rules call "paid" or "credit" (refunded: it was paid first) means the whole total, and a cancelled order
  what the books show paid (X-Cart does not always report transactions).
- Booked: what is collected and the invoice does not show paid yet, never beyond the invoice amount
  (FreshBooks would show paid > amount); collected beyond it, less than already paid and an invoice that
  differs from the order each go to a person, with the figures. Refunds are credit notes (mappings/refunds.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from mappings.money import currency_places, quantize
from mappings.orders import InvoicePlan
from mappings.xcart.entities import Order, PaymentTransaction

PAYMENT_TYPES = {"credit card": "Credit Card", "paypal": "PayPal", "bank transfer": "Bank Transfer",
                 "check": "Check", "cash": "Cash", "ach": "ACH"}


@dataclass(frozen=True)
class Collected:
    """In the invoice's currency."""

    collected: Decimal
    refunded: Decimal


@dataclass(frozen=True)
class PaymentDecision:
    book: Decimal  # 0: nothing to book
    reasons: tuple[str, ...] = ()  # for review, after booking what may be booked


def collected_and_refunded(order: Order, plan: InvoicePlan, transactions: list[PaymentTransaction],
                           paid_in_books: Decimal | None = None) -> Collected:
    """`paid_in_books`: what the invoice shows paid, when it is known (a cancelled order without transactions
    collected what the books show, as far as anyone can tell)."""
    succeeded = [t for t in transactions if t.succeeded]
    if succeeded:
        collected = sum((t.value for t in succeeded if t.is_sale), Decimal(0))
        refunded = sum((t.value for t in succeeded if t.is_refund), Decimal(0))
    elif plan.action == "void" and paid_in_books is not None:
        return Collected(paid_in_books, Decimal(0))
    else:
        collected, refunded = (order.total if plan.action in ("paid", "credit") else Decimal(0)), Decimal(0)
    if plan.conversion:
        places = currency_places(plan.currency)
        collected = quantize(collected * plan.conversion.rate, places)
        refunded = quantize(refunded * plan.conversion.rate, places)
    return Collected(collected, refunded)


def decide(plan: InvoicePlan, money: Collected, invoiced: Decimal, paid: Decimal, invoice_id: int,
           order_number: str) -> PaymentDecision:
    """What to book on an invoice that shows `invoiced` and `paid` now."""
    currency = plan.currency
    if invoiced != plan.total:
        return PaymentDecision(Decimal(0), (f"FreshBooks invoice {invoice_id} totals {invoiced} {currency}, the order "
                                            f"{plan.total}: no payment is booked on an invoice that differs from "
                                            "the order",))
    reasons = []
    bookable = min(money.collected, invoiced)
    book = bookable - paid if bookable > paid else Decimal(0)
    if money.collected < paid:
        reasons.append(f"FreshBooks has {paid} {currency} paid, X-Cart collected {money.collected}")
    if money.collected > invoiced:
        reasons.append(f"X-Cart collected {money.collected} {currency}, more than the invoice's {invoiced}: "
                       "the excess is not booked")
    return PaymentDecision(book, tuple(reasons))


def payment_date(order: Order, transactions: list[PaymentTransaction]) -> date:
    dates = [t.date for t in transactions if t.date]
    return max(dates).date() if dates else order.update_date.date()


def payment_type(transactions: list[PaymentTransaction]) -> str:
    for transaction in transactions:
        mapped = PAYMENT_TYPES.get(transaction.method_name.strip().lower())
        if mapped:
            return mapped
    return "Other"
