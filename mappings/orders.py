"""X-Cart order -> FreshBooks invoice plan. Pure: no I/O, the same order and rules give the same plan.

The plan reproduces X-Cart's figures in FreshBooks' arithmetic (mappings/money.py), to the
cent: the invoice total is the order total, each tax FreshBooks reports is the tax X-Cart collected, and
each item's lines add up to X-Cart's line subtotal with the quantity X-Cart sold.

- Rates are read back from the order (mappings/taxes.py); a rate in the rules is an explicit override.
- A tax included in prices (VAT) is booked as net lines plus the tax: FreshBooks has no tax-inclusive
  prices. Where no net amount gives exactly X-Cart's tax at the rate, a cent or so goes on an untaxed line
  named for the rounding.
- A unit price finer than the currency (X-Cart keeps 4 decimals: 3 x 0.333 = 1.00) becomes two lines of
  the same item, at the price rounded down and a cent above, so that the quantities still add up to what
  was sold and the amounts to X-Cart's subtotal.
An order whose own figures do not add up, a tax no rate explains, or a rule that says "review" raises
NeedsReview instead of booking a guess.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_FLOOR, Decimal

from core.errors import Fatal
from mappings.addresses import StandardAddress, standardise
from mappings.money import LineInput, currency_places, invoice_totals, quantize
from mappings.rules import Rules, TaxRule
from mappings.statuses import invoice_action
from mappings.taxes import TaxBase, derive_rate, excluded_tax, fixed_rate, percent_label
from mappings.xcart.entities import Order, OrderItem, Surcharge

MAX_LINE_TAXES = 2  # FreshBooks lines carry taxName1 and taxName2
MAX_TAX_NAME = 100
GOODS = ("item", "discount")  # the lines every tax applies to; shipping only where the zone taxes it


class NeedsReview(Fatal):
    """The order must be looked at by a person before anything is booked."""

    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        super().__init__("; ".join(reasons))


@dataclass(frozen=True)
class AppliedTax:
    """A tax of the order as FreshBooks will carry it: its name there, the rate, X-Cart's amount."""

    code: str
    name: str
    percent: Decimal
    amount: Decimal
    included: bool
    with_shipping: bool

    def applies_to(self, kind: str) -> bool:
        return kind in GOODS or (kind == "shipping" and self.with_shipping)


@dataclass(frozen=True)
class InvoiceLine:
    name: str
    qty: Decimal
    unit_cost: Decimal
    kind: str = "item"  # item | shipping | handling | discount | adjustment
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
            line[f"taxName{n}"], line[f"taxAmount{n}"] = name, percent_label(percent)
        return line


@dataclass(frozen=True)
class Amount:
    """One line of the order as X-Cart sees it: an amount for a quantity, before it becomes invoice lines."""

    name: str
    kind: str
    amount: Decimal
    qty: Decimal = Decimal(1)
    description: str = ""
    sku: str | None = None
    price: Decimal | None = None  # X-Cart's unit price, when it is not amount / qty
    taxes: tuple[AppliedTax, ...] = ()
    xcart_amount: Decimal | None = None  # X-Cart's gross amount, for a line net of an included tax

    def taxed_by(self, taxes: list[AppliedTax]) -> Amount:
        return replace(self, taxes=self.taxes + tuple(t for t in taxes if t.applies_to(self.kind)))

    def net(self, amount: Decimal) -> Amount:
        return replace(self, amount=amount, xcart_amount=self.amount)

    def lines(self, convert: Callable[[Decimal], Decimal], currency: str) -> list[InvoiceLine]:
        """The invoice lines: one, or two of the same item when no unit cost in the currency's places
        times the quantity makes the amount (see the module's docstring)."""
        amount = convert(self.amount)
        step = Decimal(1).scaleb(-currency_places(currency))
        unit = (amount / self.qty).quantize(step, rounding=ROUND_FLOOR)
        dearer = ((amount - unit * self.qty) / step).to_integral_value()  # units a step dearer, 0 <= n < qty
        taxes = tuple((t.name, t.percent) for t in self.taxes)
        description = self.description
        xcart_amount = self.xcart_amount if self.xcart_amount is not None else self.amount
        if dearer or xcart_amount != self.amount or (self.price is not None and self.price != unit):
            description = f"{description}; X-Cart: {self.qty} x {self._shown_price()} = {xcart_amount}".lstrip("; ")
        line = InvoiceLine(self.name, self.qty - dearer, unit, self.kind, description, taxes, self.sku)
        if not dearer:
            return [line]
        return [line, replace(line, qty=dearer, unit_cost=unit + step)]

    def _shown_price(self) -> str:
        price = self.price if self.price is not None else (self.xcart_amount or self.amount) / self.qty
        return format(price.normalize(), "f")


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
    taxes: tuple[AppliedTax, ...] = ()

    @property
    def tax_total(self) -> Decimal:
        """The tax X-Cart collected, in the order's currency."""
        return sum((t.amount for t in self.taxes), Decimal(0))

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
    places = currency_places(order.currency)
    amounts = _item_amounts(order, rules, known_skus, places, flags, reasons)
    _check_order_figures(order, amounts, places, reasons)
    amounts += _shipping_and_handling(order, rules, places)
    amounts += _discount_amounts(order, places, flags)
    # Included taxes first: the lines become net of them, and an excluded tax applies to what FreshBooks shows.
    included = _applied_taxes(order, rules, amounts, places, reasons, included=True)
    amounts, tax_notes = _net_of_included_taxes(amounts, included, rules, order.currency, flags)
    excluded = _applied_taxes(order, rules, amounts, places, reasons, included=False)
    amounts = [a.taxed_by(excluded) for a in amounts]
    taxes = included + excluded
    _check_tax_combination(included, amounts, reasons)
    currency, convert, conversion = _currency(order, rules, reasons)

    lines = [line for amount in amounts for line in amount.lines(convert, currency)]
    target = convert(order.total)
    lines += _against_the_total(lines, target, currency, conversion, taxes, rules, flags, reasons)

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
        notes=_notes(order, conversion, tax_notes), flags=tuple(flags), conversion=conversion, taxes=tuple(taxes))


def _against_the_total(lines, target, currency, conversion, taxes, rules, flags, reasons) -> list[InvoiceLine]:
    """Checks FreshBooks' arithmetic on the lines against X-Cart's total and taxes. Without conversion they
    must agree to the cent (a difference is held, never booked); converting each line rounds each line,
    and those cents go on a line named for the rounding."""
    predicted = invoice_totals((line.as_input() for line in lines), Decimal(0), currency)
    difference = target - predicted.amount
    if conversion is None:
        if difference:
            reasons.append(f"FreshBooks would total {predicted.amount} {currency}, X-Cart's total is {target}")
        elif not reasons:
            _check_taxes(taxes, predicted.taxes, currency, reasons)
        return []
    if not difference:
        return []
    flags.append(f"adjusted by {difference} {currency} (conversion rounding)")
    if abs(difference) > rules.adjustment_review_above:
        reasons.append(f"invoice would differ from the X-Cart total by {difference} {currency} "
                       f"(more than {rules.adjustment_review_above})")
    return [InvoiceLine(rules.adjustment_line_name, Decimal(1), difference, kind="adjustment",
                        description=f"X-Cart total {conversion.original_total} {conversion.from_currency} "
                                    f"= {target} {currency}; converted lines {predicted.amount} {currency}")]


def line_subtotal(item: OrderItem, places: int) -> Decimal:
    """X-Cart rounds each line to the currency: 3 x 0.333 is 1.00."""
    return quantize(item.price * item.amount, places)


def _check_order_figures(order: Order, amounts: list[Amount], places: int, reasons: list[str]) -> None:
    items = sum((a.amount for a in amounts if a.kind == "item"), Decimal(0))
    if items != order.sub_total:
        reasons.append(f"items add up to {items}, the order's sub_total is {order.sub_total}")
    added = sum((quantize(s.value, places) for s in order.surcharges if s.available and not s.include), Decimal(0))
    if order.sub_total + added != order.total:
        reasons.append(f"sub_total {order.sub_total} and surcharges {added} do not make the total {order.total}")


def _currency(order: Order, rules: Rules, reasons: list[str]):
    identity: Callable[[Decimal], Decimal] = lambda amount: amount  # noqa: E731
    if rules.currency_policy != "convert" or order.currency == rules.account_currency:
        return order.currency, identity, None
    try:
        rate, source = rules.rates.rate(order.currency, rules.account_currency, order.create_date.date())
    except LookupError as exc:
        reasons.append(str(exc))
        return order.currency, identity, None
    step = Decimal(1).scaleb(-currency_places(rules.account_currency))
    conversion = Conversion(order.currency, rules.account_currency, rate, source, order.total)
    return rules.account_currency, (lambda amount: (amount * rate).quantize(step, rounding=rules.rounding)), conversion


def _item_amounts(order, rules, known_skus, places, flags, reasons) -> list[Amount]:
    amounts = []
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
        amounts.append(Amount(name, "item", line_subtotal(item, places), Decimal(item.amount), description,
                              sku=item.sku, price=item.price))
    return amounts


def _shipping_and_handling(order: Order, rules: Rules, places: int) -> list[Amount]:
    applied = [s for s in order.surcharges if s.available and not s.include]
    shipping = sum((quantize(s.value, places) for s in applied if s.type == "shipping"), Decimal(0))
    amounts = []
    if shipping:
        amounts.append(Amount(rules.shipping_line_name, "shipping", shipping, description=order.shipping_method_name))
    for surcharge in (s for s in applied if s.type == "handling"):
        amounts.append(Amount(surcharge.name or "Handling", "handling", quantize(surcharge.value, places),
                              description=surcharge.code))
    return amounts


def _discount_amounts(order: Order, places: int, flags: list[str]) -> list[Amount]:
    """Discounts reduce the taxable base in X-Cart, so discount lines carry the item taxes too."""
    amounts = []
    for surcharge in (s for s in order.surcharges if s.type == "discount" and s.available and not s.include):
        if surcharge.value > 0:
            flags.append(f"discount {surcharge.code} is positive ({surcharge.value})")
        amounts.append(Amount(_discount_name(order, surcharge), "discount", quantize(surcharge.value, places),
                              description=surcharge.code))
    return amounts


def _applied_taxes(order: Order, rules: Rules, amounts: list[Amount], places: int, reasons: list[str], *,
                   included: bool) -> list[AppliedTax]:
    goods = sum((a.amount for a in amounts if a.kind in GOODS), Decimal(0))
    shipping = sum((a.amount for a in amounts if a.kind == "shipping"), Decimal(0))
    applied = []
    for surcharge in (s for s in order.surcharges if s.type == "tax" and s.available and s.include == included):
        charged = quantize(surcharge.value, places)
        label = surcharge.code or surcharge.name or "tax"
        rule = rules.taxes.get(surcharge.code) or rules.taxes.get(surcharge.name)
        if charged == 0:
            continue
        if charged < 0:
            reasons.append(f"tax {label} is negative ({charged} {order.currency})")
            continue
        if rule is None and rules.unmapped_tax == "review":
            reasons.append(f"tax {label!r} has no FreshBooks tax in the rules")
            continue
        bases = _tax_bases(goods, shipping, surcharge.include, rule, rules)
        if rule is not None and rule.percent is not None:
            found = fixed_rate(charged, rule.percent, bases, places, surcharge.include)
            if found is None:
                reasons.append(f"the rules fix {label} at {rule.percent} %, which does not give X-Cart's "
                               f"{charged} {order.currency} on {_bases_text(bases)}")
                continue
            name = rule.name
        else:
            found = derive_rate(charged, bases, places, surcharge.include)
            if found is None:
                reasons.append(f"no rate turns {_bases_text(bases)} into X-Cart's {label} of "
                               f"{charged} {order.currency}")
                continue
            base_name = rule.name if rule else (surcharge.name or surcharge.code or "Tax")
            name = f"{base_name} {percent_label(found.percent)}%"
        applied.append(AppliedTax(surcharge.code, name[:MAX_TAX_NAME], found.percent, charged, surcharge.include,
                                  found.base.with_shipping))
    return applied


def _tax_bases(goods: Decimal, shipping: Decimal, included: bool, rule: TaxRule | None, rules: Rules) -> list[TaxBase]:
    """The bases a tax may have been computed on, likelier first (ties go to the first)."""
    setting = rule.shipping if rule is not None and rule.shipping is not None else rules.tax_shipping
    without, with_shipping = TaxBase(goods, False), TaxBase(goods + shipping, True)
    if not shipping or setting is False:
        return [without]
    if setting is True:
        return [with_shipping]
    return [with_shipping, without] if included else [without, with_shipping]  # VAT usually covers shipping


def _bases_text(bases: list[TaxBase]) -> str:
    return " or ".join(f"{b.amount} ({'goods and shipping' if b.with_shipping else 'goods'})" for b in bases)


def _check_tax_combination(included: list[AppliedTax], amounts: list[Amount], reasons: list[str]) -> None:
    if len(included) > 1:
        reasons.append("taxes " + ", ".join(t.code or t.name for t in included) + " are all included in prices; "
                       "FreshBooks lines cannot reproduce stacked inclusive taxes")
    most = max((len(a.taxes) for a in amounts), default=0)
    if most > MAX_LINE_TAXES:
        reasons.append(f"{most} taxes on one line; a FreshBooks line carries {MAX_LINE_TAXES} at most")


def _net_of_included_taxes(amounts: list[Amount], taxes: list[AppliedTax], rules: Rules, currency: str,
                           flags: list[str]) -> tuple[list[Amount], list[str]]:
    """FreshBooks has no tax-inclusive prices: a tax included in X-Cart's prices becomes net lines plus that
    tax, so that both the invoice total and its tax equal X-Cart's."""
    amounts = [a.taxed_by(taxes) for a in amounts]
    if len(taxes) != 1:
        return amounts, []  # none, or stacked (held for review)
    included = taxes[0]
    places = currency_places(currency)
    taxed = [a for a in amounts if a.taxes]
    gross = sum((a.amount for a in taxed), Decimal(0))
    net = _net_base(gross - included.amount, included, places)
    shares = _allocate(net, [a.amount for a in taxed], places)
    by_id = {id(a): share for a, share in zip(taxed, shares, strict=True)}
    result = [a.net(by_id[id(a)]) if id(a) in by_id else a for a in amounts]
    rounding = gross - included.amount - net
    if rounding:
        result.append(Amount(rules.adjustment_line_name, "adjustment", rounding,
                             description=f"{included.name} included in X-Cart's prices: rounding between "
                                         "tax-inclusive prices and net lines"))
        flags.append(f"adjusted by {rounding} (tax-inclusive rounding)")
    note = (f"Prices include {included.name}: {included.amount} {currency}; lines are shown net of it, "
            "with the tax added" + (" (shipping included)" if included.with_shipping else ""))
    return result, [note]


def _net_base(closest: Decimal, tax: AppliedTax, places: int) -> Decimal:
    """The net amount, nearest to `closest`, on which FreshBooks' tax at the rate is X-Cart's amount."""
    step = Decimal(1).scaleb(-places)
    for cents in range(0, 100):
        for candidate in (closest - cents * step, closest + cents * step):
            if excluded_tax(candidate, tax.percent, places) == tax.amount:
                return candidate
    return closest  # unreachable for a rate derived from this order; _check_taxes would hold it


def _allocate(total: Decimal, weights: list[Decimal], places: int) -> list[Decimal]:
    """`total` split in proportion to `weights`, in cents, adding up exactly (the remainder on the largest)."""
    whole = sum(weights, Decimal(0))
    if not whole:
        return [Decimal(0)] * len(weights)
    shares = [quantize(total * w / whole, places) for w in weights]
    largest = max(range(len(weights)), key=lambda i: abs(weights[i]))
    shares[largest] += total - sum(shares, Decimal(0))
    return shares


def _check_taxes(taxes: list[AppliedTax], computed: dict[str, Decimal], currency: str, reasons: list[str]) -> None:
    """The tax FreshBooks will report must be the tax X-Cart collected, tax by tax."""
    for tax in taxes:
        if computed.get(tax.name, Decimal(0)) != tax.amount:
            reasons.append(f"FreshBooks would compute {computed.get(tax.name, Decimal(0))} {currency} of "
                           f"{tax.name}, X-Cart collected {tax.amount}")


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
