"""X-Cart order -> FreshBooks invoice plan. Pure: no I/O, the same order and rules give the same plan.

The plan always totals exactly the X-Cart order total (converted, when the rules convert currency):
it predicts FreshBooks' own arithmetic (apis/freshbooks/invoice_math.py) and, where per-line percentage
taxes cannot reproduce X-Cart's tax to the cent, adds an explicit adjustment line and flags the order.
A difference above `invoice.adjustment_review_above`, an order whose own figures do not add up, or a
rule that says "review" raises NeedsReview instead of booking a guess.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from apis.freshbooks.invoice_math import LineInput, currency_places, invoice_totals, quantize
from core.errors import Fatal

from .addresses import StandardAddress, standardise
from .rules import Rules, TaxRule
from .statuses import invoice_action
from .xcart import Order, Surcharge

MAX_LINE_TAXES = 2  # FreshBooks lines carry taxName1 and taxName2


class NeedsReview(Fatal):
    """The order must be looked at by a person before anything is booked."""

    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        super().__init__("; ".join(reasons))


@dataclass(frozen=True)
class InvoiceLine:
    name: str
    qty: Decimal
    unit_cost: Decimal
    kind: str = "item"  # item | shipping | handling | discount | tax | adjustment
    description: str = ""
    taxes: tuple[tuple[str, Decimal], ...] = ()
    sku: str | None = None

    def as_input(self) -> LineInput:
        return LineInput(self.qty, self.unit_cost, self.taxes)

    def body(self, currency: str) -> dict:
        tidy = quantize(self.unit_cost, currency_places(currency))  # "1500.0000" -> "1500" for JPY
        unit_cost = tidy if tidy == self.unit_cost else self.unit_cost
        line = {"type": 0, "name": self.name[:255], "description": self.description, "qty": str(self.qty),
                "unit_cost": {"amount": str(unit_cost), "code": currency}}
        for n, (name, percent) in enumerate(self.taxes, start=1):
            line[f"taxName{n}"], line[f"taxAmount{n}"] = name, str(percent)
        return line


@dataclass(frozen=True)
class Conversion:
    from_currency: str
    to_currency: str
    rate: Decimal
    source: str
    original_total: Decimal


@dataclass(frozen=True)
class InvoicePlan:
    order_id: int
    invoice_number: str
    po_number: str
    currency: str
    create_date: date
    due_offset_days: int
    create_status: int  # 1 draft, 2 sent
    action: str
    lines: tuple[InvoiceLine, ...]
    total: Decimal
    notes: str
    address: StandardAddress
    flags: tuple[str, ...] = ()
    conversion: Conversion | None = None

    def body(self, customer_id: int) -> dict:
        a = self.address
        return {"customerid": customer_id, "invoice_number": self.invoice_number, "po_number": self.po_number,
                "create_date": self.create_date.isoformat(), "due_offset_days": self.due_offset_days,
                "currency_code": self.currency, "status": self.create_status, "notes": self.notes,
                "street": a.street, "street2": a.street2, "city": a.city, "province": a.province, "code": a.code,
                "country": a.country, "lines": [line.body(self.currency) for line in self.lines]}


def map_order(order: Order, rules: Rules, known_skus: Collection[str] | None = None) -> InvoicePlan:
    """`known_skus`: SKUs that have a FreshBooks item; None when every SKU gets one (items are synced)."""
    reasons: list[str] = []
    flags: list[str] = []
    _check_order_figures(order, reasons)
    currency, convert, conversion = _currency(order, rules, reasons)

    line_taxes, tax_lines, notes = _taxes(order, rules, convert, flags, reasons)
    lines = _item_lines(order, rules, known_skus, convert, line_taxes, flags, reasons)
    lines += _shipping_and_handling(order, rules, convert, line_taxes)
    lines += _discount_lines(order, convert, line_taxes, flags)
    lines += tax_lines

    target = convert(order.total)
    predicted = invoice_totals((line.as_input() for line in lines), Decimal(0), currency).amount
    difference = target - predicted
    if difference:
        lines.append(InvoiceLine(rules.adjustment_line_name, Decimal(1), difference, kind="adjustment",
                                 description=f"X-Cart total {target} {currency}; FreshBooks taxes computed "
                                             f"{predicted} {currency}"))
        flags.append(f"adjusted by {difference} {currency}")
        if abs(difference) > rules.adjustment_review_above:
            reasons.append(f"invoice would differ from the X-Cart total by {difference} {currency} "
                           f"(more than {rules.adjustment_review_above})")

    action = invoice_action(order.payment_status, order.shipping_status, rules)
    if action == "review":
        status = order.payment_status
        reasons.append(f"no status rule for payment status {status.code or status.id or status.name!r}")
    if reasons:
        raise NeedsReview(reasons)

    return InvoicePlan(
        order_id=order.id, invoice_number=order.order_number, po_number=f"X-Cart {order.id}", currency=currency,
        create_date=order.create_date.astimezone(rules.store_timezone).date(), due_offset_days=rules.due_offset_days,
        create_status=1 if action in ("draft", "void") or (action == "sent" and rules.create_as == "draft") else 2,
        action=action, lines=tuple(lines), total=target, address=standardise(order.billing_address),
        notes=_notes(order, conversion, notes), flags=tuple(flags), conversion=conversion)


def _check_order_figures(order: Order, reasons: list[str]) -> None:
    items = sum((item.price * item.amount for item in order.items), Decimal(0))
    if items != order.sub_total:
        reasons.append(f"items add up to {items}, the order's sub_total is {order.sub_total}")
    added = sum((s.value for s in order.surcharges if s.available and not s.include), Decimal(0))
    if order.sub_total + added != order.total:
        reasons.append(f"sub_total {order.sub_total} and surcharges {added} do not make the total {order.total}")


def _currency(order: Order, rules: Rules, reasons: list[str]):
    identity: Callable[[Decimal], Decimal] = lambda amount: amount  # noqa: E731
    if rules.currency_policy != "convert" or order.currency == rules.account_currency:
        return order.currency, identity, None
    try:
        rate, source = rules.rates.rate(order.currency, rules.account_currency)
    except LookupError as exc:
        reasons.append(str(exc))
        return order.currency, identity, None
    step = Decimal(1).scaleb(-currency_places(rules.account_currency))
    conversion = Conversion(order.currency, rules.account_currency, rate, source, order.total)
    return rules.account_currency, (lambda amount: (amount * rate).quantize(step, rounding=rules.rounding)), conversion


def _taxes(order: Order, rules: Rules, convert, flags: list[str], reasons: list[str]):
    """(taxes every taxable line carries, tax lines for the rest, notes on taxes included in prices)."""
    line_taxes: list[TaxRule] = []
    tax_lines: list[InvoiceLine] = []
    notes: list[str] = []
    for surcharge in order.surcharges:
        if surcharge.type != "tax" or not surcharge.available:
            continue
        label = surcharge.name or surcharge.code or "Tax"
        if surcharge.include:
            notes.append(f"Prices include {label}: {surcharge.value} {order.currency}")
            continue
        rule = rules.taxes.get(surcharge.code) or rules.taxes.get(surcharge.name)
        if rule and len(line_taxes) < MAX_LINE_TAXES and rule not in line_taxes:
            line_taxes.append(rule)
        elif rule is None and rules.unmapped_tax == "review":
            reasons.append(f"tax {surcharge.code or surcharge.name!r} has no FreshBooks tax in the rules")
        else:
            flags.append(f"tax {surcharge.code or label} booked as a line"
                         + ("" if rule is None else " (a line carries two taxes at most)"))
            tax_lines.append(InvoiceLine(label, Decimal(1), convert(surcharge.value), kind="tax",
                                         description=surcharge.code))
    return tuple((rule.name, rule.percent) for rule in line_taxes), tax_lines, notes


def _item_lines(order, rules, known_skus, convert, line_taxes, flags, reasons) -> list[InvoiceLine]:
    lines = []
    for item in order.items:
        override = rules.sku_overrides.get(item.sku)
        name = (override and override.name) or item.name
        description = (override and override.description) or f"SKU {item.sku}"
        if known_skus is not None and item.sku not in known_skus and override is None:
            if rules.unmapped_item == "review":
                reasons.append(f"SKU {item.sku!r} has no FreshBooks item")
            else:
                flags.append(f"SKU {item.sku} booked as {rules.unmapped_item_name!r}")
                name, description = rules.unmapped_item_name, f"SKU {item.sku}: {item.name}"
        lines.append(InvoiceLine(name, Decimal(item.amount), convert(item.price), kind="item",
                                 description=description, taxes=line_taxes, sku=item.sku))
    return lines


def _shipping_and_handling(order: Order, rules: Rules, convert, line_taxes) -> list[InvoiceLine]:
    applied = [s for s in order.surcharges if s.available and not s.include]
    shipping = sum((s.value for s in applied if s.type == "shipping"), Decimal(0))
    lines = []
    if shipping:
        lines.append(InvoiceLine(rules.shipping_line_name, Decimal(1), convert(shipping), kind="shipping",
                                 description=order.shipping_method_name,
                                 taxes=line_taxes if rules.tax_shipping else ()))
    for surcharge in (s for s in applied if s.type == "handling"):
        lines.append(InvoiceLine(surcharge.name or "Handling", Decimal(1), convert(surcharge.value), kind="handling",
                                 description=surcharge.code))
    return lines


def _discount_lines(order: Order, convert, line_taxes, flags: list[str]) -> list[InvoiceLine]:
    """Discounts reduce the taxable base in X-Cart, so discount lines carry the item taxes too."""
    lines = []
    for surcharge in (s for s in order.surcharges if s.type == "discount" and s.available and not s.include):
        if surcharge.value > 0:
            flags.append(f"discount {surcharge.code} is positive ({surcharge.value})")
        lines.append(InvoiceLine(_discount_name(order, surcharge), Decimal(1), convert(surcharge.value),
                                 kind="discount", description=surcharge.code, taxes=line_taxes))
    return lines


def _discount_name(order: Order, surcharge: Surcharge) -> str:
    if surcharge.code == "DCOUPON" and order.used_coupons:
        return "Coupon " + ", ".join(coupon.code for coupon in order.used_coupons)
    if surcharge.code == "DISCOUNT":
        return surcharge.name or "Volume discount"
    return surcharge.name or surcharge.code or "Discount"


def _notes(order: Order, conversion: Conversion | None, tax_notes: list[str]) -> str:
    parts = [f"X-Cart order #{order.order_number} (order id {order.id})."]
    if conversion:
        parts.append(f"Converted from {conversion.from_currency} at {conversion.rate} {conversion.to_currency} per "
                     f"{conversion.from_currency} (source: {conversion.source}); X-Cart total "
                     f"{conversion.original_total} {conversion.from_currency}.")
    parts.extend(f"{note}." for note in tax_notes)
    if order.notes.strip():
        parts.append(f"Customer notes: {order.notes.strip()}")
    return "\n".join(parts)
