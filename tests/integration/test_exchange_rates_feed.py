"""Beat's fetch of the ECB's daily rates (runtime/exchange_rates.py) over a served daily file (`responses`): cached
in the database and used for the day's conversions; an unreachable or stale feed raises the `exchange-rates`
alert and conversions go on with the last known rates; back-dated orders take the bundled history."""

import dataclasses
from datetime import date, timedelta
from decimal import Decimal as D
from pathlib import Path
from types import SimpleNamespace

import pytest
import responses

from apis.ecb import DAILY_URL
from mappings.rules import load_rules
from runtime import exchange_rates
from store import exchange_rates as cached
from store.models import utcnow

DAILY = (Path(__file__).parents[1] / "fixtures" / "ecb" / "eurofxref-daily.xml").read_text()
ALERT_KEY = "xcfb:alert:exchange-rates"


@pytest.fixture
def services(sessions, redis_client):
    return SimpleNamespace(sessions=sessions, redis=redis_client, settings=SimpleNamespace(alert_webhook_url=None))


def published(day: date) -> str:
    return DAILY.replace("time='2026-10-30'", f"time='{day.isoformat()}'")


def converting(sessions):
    rules = dataclasses.replace(load_rules(), currency_policy="convert")
    return exchange_rates.with_rates(rules, sessions).rates


@responses.activate
def test_a_fresh_daily_file_is_cached_and_used_and_clears_the_alert(services):
    yesterday = utcnow().date() - timedelta(days=1)
    services.redis.set(ALERT_KEY, "stale since last week")
    responses.get(DAILY_URL, body=published(yesterday))
    assert exchange_rates.refresh(services) == f"ECB rates of {yesterday}"
    assert cached.latest_day(services.sessions) == yesterday and services.redis.get(ALERT_KEY) is None
    assert converting(services.sessions).rate("EUR", "USD", utcnow().date()) == (
        D("1.1172"), f"ECB euro reference rates of {yesterday} (ecb.europa.eu)")


@responses.activate
def test_an_unreachable_feed_raises_the_alert_and_the_last_known_rates_stay(services):
    known = utcnow().date() - timedelta(days=2)
    responses.get(DAILY_URL, body=published(known))
    exchange_rates.refresh(services)
    responses.replace(responses.GET, DAILY_URL, status=503)
    outcome = exchange_rates.refresh(services)
    assert outcome.startswith("stale: ECB rates") and "HTTP 503" in outcome
    assert f"last known rates, of {known}" in services.redis.get(ALERT_KEY).decode()
    rate, source = converting(services.sessions).rate("USD", "GBP", utcnow().date())
    assert rate == (D("0.8338") / D("1.1172")).quantize(D("1e-10")) and str(known) in source


@responses.activate
def test_a_stale_feed_raises_the_alert(services):
    responses.get(DAILY_URL, body=published(utcnow().date() - timedelta(days=9)))
    assert "days old" in exchange_rates.refresh(services)
    assert services.redis.get(ALERT_KEY) is not None


def test_back_dated_orders_take_the_bundled_history(sessions):
    """The figures of 2024-11-20 as the ECB published them: 1 EUR = 1.0562 USD."""
    rates = converting(sessions)
    assert rates.rate("EUR", "USD", date(2024, 11, 20)) == (D("1.0562"), "ECB euro reference rates of 2024-11-20 "
                                                                          "(ecb.europa.eu)")
    assert rates.rate("EUR", "USD", date(2024, 11, 23))[1].startswith("ECB euro reference rates of 2024-11-22")
