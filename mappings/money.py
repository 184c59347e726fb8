"""Money: currencies and their decimal places, and FreshBooks invoice arithmetic, in Decimal.

The model (FreshBooks publishes no formula; this is what its invoices show and what the sandbox
reproduces): a line's amount is qty x unit cost rounded to the currency; the invoice discount is a
percentage of the subtotal; each line tax is a percentage of the line amount after that discount,
summed per tax name and rounded once per tax; amount = subtotal - discount + taxes.
The mapper uses the same functions to predict what FreshBooks will total, so that any difference from
the X-Cart order total becomes an explicit adjustment line instead of a silent cent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 currencies without minor units; every other currency has two decimal places here.
ZERO_DECIMAL_CURRENCIES = frozenset({
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF",
    "XOF", "XPF",
})
THREE_DECIMAL_CURRENCIES = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})
HUNDRED = Decimal(100)


def currency_places(code: str) -> int:
    code = (code or "").upper()
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def quantize(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def plain(value: Decimal) -> str:
    """A number as text whatever form X-Cart sent it in (19.9900, 19.99, 1.999E+1: 19.99): what a message quotes,
    and a Finding's value, which the same amount sent in another form by a later version must match."""
    return format(value.normalize(), "f")


def shown(value: Decimal, currency: str) -> Decimal:
    """An amount as people read it: in the currency's places ("34.6800" from X-Cart reads 34.68), but never
    rounded, so a fraction of a cent that makes two books differ stays visible ("34.6849")."""
    places = currency_places(currency)
    exact = quantize(value, places)
    return exact if exact == value else value.normalize()


@dataclass(frozen=True)
class LineInput:
    qty: Decimal
    unit_cost: Decimal
    taxes: tuple[tuple[str, Decimal], ...] = ()  # (tax name, percent), at most two


@dataclass(frozen=True)
class InvoiceTotals:
    line_amounts: tuple[Decimal, ...]
    subtotal: Decimal
    discount_total: Decimal
    taxes: dict[str, Decimal] = field(default_factory=dict)
    amount: Decimal = Decimal(0)

    @property
    def tax_total(self) -> Decimal:
        return sum(self.taxes.values(), Decimal(0))


def line_amount(qty: Decimal, unit_cost: Decimal, places: int) -> Decimal:
    return quantize(qty * unit_cost, places)


def invoice_totals(lines: Iterable[LineInput], discount_percent: Decimal, currency: str) -> InvoiceTotals:
    places = currency_places(currency)
    lines = list(lines)
    amounts = tuple(line_amount(line.qty, line.unit_cost, places) for line in lines)
    subtotal = sum(amounts, Decimal(0))
    discount_total = quantize(subtotal * discount_percent / HUNDRED, places)
    kept = (HUNDRED - discount_percent) / HUNDRED
    unrounded: dict[str, Decimal] = {}
    for line, amount in zip(lines, amounts, strict=True):
        for name, percent in line.taxes:
            unrounded[name] = unrounded.get(name, Decimal(0)) + amount * kept * percent / HUNDRED
    taxes = {name: quantize(value, places) for name, value in unrounded.items()}
    total = subtotal - discount_total + sum(taxes.values(), Decimal(0))
    return InvoiceTotals(amounts, subtotal, discount_total, taxes, quantize(total, places))


ISO_4217 = frozenset("""
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF
CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD
HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD
MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN
PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY
TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL
""".split())


def is_known_currency(code: str) -> bool:
    return code in ISO_4217
