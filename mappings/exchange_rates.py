"""The European Central Bank's euro reference rates: reading them (the daily XML, the historical CSV) and turning
them into the rate between any two currencies they list, for the day an order was placed. Pure: the days are
handed in (runtime/exchange_rates.py fetches, caches and bundles them).

The ECB publishes, around 16:00 CET on working days, how many units of each currency one euro buys
(`eurofxref-daily.xml`); reuse is free with the source cited, which the invoice notes do. A cross rate goes
through the euro: USD per GBP = (USD per EUR) / (GBP per EUR). A day without rates (a weekend, a holiday, today
before 16:00) takes the latest working day before it, and says which day it took.
"""

from __future__ import annotations

import bisect
import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from mappings.rules import FixedRates

SOURCE = "ECB euro reference rates of {day} (ecb.europa.eu)"
PLACES = Decimal("1e-10")
_CUBE = "{http://www.ecb.int/vocabulary/2002-08-01/eurofxref}Cube"


class RatesUnreadable(ValueError):
    pass


@dataclass(frozen=True)
class EcbDay:
    day: date
    per_euro: dict[str, Decimal]  # units of the currency one euro buys

    def per_euro_of(self, currency: str) -> Decimal | None:
        return Decimal(1) if currency == "EUR" else self.per_euro.get(currency)


def parse_daily_xml(text: str | bytes) -> EcbDay:
    """`eurofxref-daily.xml`: <Cube><Cube time="YYYY-MM-DD"><Cube currency="USD" rate="1.0510"/>..."""
    try:
        root = fromstring(text)
        (dated,) = [cube for cube in root.iter(_CUBE) if cube.get("time")]
        return EcbDay(date.fromisoformat(dated.get("time")),
                      {cube.get("currency"): _rate(cube.get("rate")) for cube in dated.iter(_CUBE)
                       if cube.get("currency")})
    except (ParseError, DefusedXmlException, ValueError, TypeError) as exc:
        raise RatesUnreadable(f"the ECB daily rates cannot be read: {exc}") from None


def parse_history_csv(text: str) -> Iterator[EcbDay]:
    """`eurofxref-hist.csv`: Date,USD,JPY,...; one row per working day, "N/A" where a currency had no rate."""
    rows = csv.reader(io.StringIO(text))
    header = [name.strip() for name in next(rows)]
    for row in rows:
        if not row or not row[0].strip():
            continue
        rates = {currency: _rate(value) for currency, value in zip(header[1:], row[1:], strict=False)
                 if currency and value.strip() not in ("", "N/A")}
        yield EcbDay(date.fromisoformat(row[0].strip()), rates)


def _rate(text: str | None) -> Decimal:
    try:
        rate = Decimal(str(text).strip())
    except InvalidOperation:
        raise ValueError(f"not a rate: {text!r}") from None
    if not rate.is_finite() or rate <= 0:
        raise ValueError(f"not a rate: {text!r}")
    return rate


class EcbRates:
    """A rate provider (mappings.rules.RateProvider) over ECB days; `overrides`, the rules' fixed table, wins for
    the pairs it lists. `days` is called for the days known (cached by the caller), sorted oldest first."""

    def __init__(self, days: Callable[[], list[EcbDay]], overrides: FixedRates | None = None):
        self._days = days
        self._overrides = overrides or FixedRates({}, "fixed table")

    def rate(self, source: str, target: str, on: date | None = None) -> tuple[Decimal, str]:
        if source == target:
            return Decimal(1), "same currency"
        try:
            return self._overrides.rate(source, target)
        except LookupError:
            pass
        day = self.day_for(on)
        if day is None:
            raise LookupError(f"no exchange rate {source}->{target}: no ECB rates known")
        source_per_euro, target_per_euro = day.per_euro_of(source), day.per_euro_of(target)
        if source_per_euro is None or target_per_euro is None:
            raise LookupError(f"no exchange rate {source}->{target} in the ECB rates of {day.day}")
        return (target_per_euro / source_per_euro).quantize(PLACES), SOURCE.format(day=day.day)

    def day_for(self, on: date | None) -> EcbDay | None:
        """The latest day with rates on or before `on` (None: the latest of all)."""
        days = self._days()
        if not days:
            return None
        if on is None:
            return days[-1]
        index = bisect.bisect_right([d.day for d in days], on)
        return days[index - 1] if index else days[0]
