"""Which rate X-Cart applied for a tax, read back from the order.

One X-Cart tax (e.g. `CDEV.STAX.1`, "Sales tax") holds rates per zone, so the same code carries 5 %,
7.25 %, 9.5 %... on different orders. The order only shows the tax amount, so the rate is derived: the
rate that, under X-Cart's own formula, turns the taxable base into exactly that amount.

- A tax excluded from prices: amount = round(base x rate / 100), base = the discounted items, plus
  shipping where the zone taxes shipping.
- A tax included in prices (VAT): amount = round(gross base x rate / (100 + rate)).

Many rates round to the same cent; the "nicest" one wins (whole percents, then halves, quarters,
eighths: 8.875 %, then 0.05 %, 0.01 %... steps), because real tax rates are set by people. Whether
shipping is in the base is derived too, unless the rules say: each candidate base gives its nicest
rate, and the likelier explanation wins -- the one a coincidence explains least, i.e. the smallest
ratio of the interval of rates that round to the amount (narrow on a large base) to the grid step of
the rate found (coarse for a nice rate); the usual base (goods alone for a sales tax, goods and
shipping for VAT) keeps the benefit of the doubt up to a factor of two. A rate fixed in the rules is
an explicit override, and must reproduce X-Cart's amount.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, Decimal

from mappings.money import quantize

HUNDRED = Decimal(100)
# Rate grids from the coarsest to the finest, in percent: a rate on an earlier grid is a likelier rate.
RATE_GRIDS = tuple(Decimal(step) for step in ("1", "0.5", "0.25", "0.125", "0.05", "0.01", "0.005", "0.001",
                                              "0.0001", "0.00001", "0.000001"))


@dataclass(frozen=True)
class TaxBase:
    """A candidate taxable base: the gross amount of the lines the tax applies to."""

    amount: Decimal
    with_shipping: bool


@dataclass(frozen=True)
class DerivedRate:
    percent: Decimal
    base: TaxBase
    chance: Decimal  # how easily a coincidence explains it: interval width / grid step (lower is likelier)


def excluded_tax(base: Decimal, percent: Decimal, places: int) -> Decimal:
    return quantize(base * percent / HUNDRED, places)


def included_tax(gross: Decimal, percent: Decimal, places: int) -> Decimal:
    return quantize(gross * percent / (HUNDRED + percent), places)


def tax_formula(included: bool) -> Callable[[Decimal, Decimal, int], Decimal]:
    return included_tax if included else excluded_tax


def rate_interval(amount: Decimal, base: Decimal, places: int, included: bool) -> tuple[Decimal, Decimal] | None:
    """The half-open interval of percents that X-Cart's formula rounds to `amount` on `base`."""
    if base <= 0 or amount <= 0:
        return None
    half = Decimal(1).scaleb(-places) / 2
    low, high = (amount - half) / base, (amount + half) / base
    if included:  # amount/gross = r / (100 + r)  <=>  r = 100 q / (1 - q)
        if low >= 1:
            return None
        high_percent = HUNDRED * high / (1 - high) if high < 1 else HUNDRED * 1000
        return HUNDRED * low / (1 - low), high_percent
    return low * HUNDRED, high * HUNDRED


def nicest_rate(amount: Decimal, base: Decimal, places: int, included: bool) -> DerivedRate | None:
    """The rate on the coarsest grid that reproduces `amount`, below 100 %."""
    interval = rate_interval(amount, base, places, included)
    if interval is None:
        return None
    low, high = interval
    formula = tax_formula(included)
    for step in RATE_GRIDS:
        # The grid points in the interval, one step wider each side: the formula, not the computed
        # boundary, decides. Few points per grid: a finer grid is reached only when the coarser one,
        # ten times wider at most, had no point inside.
        candidate = (low / step).to_integral_value(rounding=ROUND_CEILING) * step - step
        while candidate <= high + step and candidate < HUNDRED:
            if candidate > 0 and formula(base, candidate, places) == amount:
                return DerivedRate(candidate.normalize(), TaxBase(base, False), (min(high, HUNDRED) - low) / step)
            candidate += step
    return None


def derive_rate(amount: Decimal, bases: list[TaxBase], places: int, included: bool) -> DerivedRate | None:
    """The likeliest rate over the candidate bases, given likelier first: a later base wins only when a
    coincidence explains it at most half as easily."""
    best: DerivedRate | None = None
    for base in bases:
        found = nicest_rate(amount, base.amount, places, included)
        if found and (best is None or found.chance * 2 < best.chance):
            best = replace(found, base=base)
    return best


def fixed_rate(amount: Decimal, percent: Decimal, bases: list[TaxBase], places: int,
               included: bool) -> DerivedRate | None:
    """The first base on which a rate fixed by the rules reproduces X-Cart's amount."""
    formula = tax_formula(included)
    for base in bases:
        if formula(base.amount, percent, places) == amount:
            return DerivedRate(percent, base, Decimal(0))
    return None


def percent_label(percent: Decimal) -> str:
    """8.875 -> "8.875", 20 -> "20", never "2E+1"."""
    text = format(percent.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
