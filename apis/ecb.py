"""The ECB's daily euro reference rates over HTTP: transport only (mappings/exchange_rates.py reads them)."""

from __future__ import annotations

import requests

from core import turns
from core.errors import Retryable

DAILY_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"


class EcbUnavailable(Retryable):
    """The feed did not answer, or not with its file."""


def fetch_daily(session: requests.Session | None = None, url: str = DAILY_URL,
                timeout: tuple[float, float] = (5.0, 30.0)) -> str:
    try:
        with turns.waiting():  # a worker's other tasks go on meanwhile (core/turns.py)
            response = (session or requests).get(url, timeout=timeout)
    except requests.RequestException as exc:
        raise EcbUnavailable(f"ECB rates {url}: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise EcbUnavailable(f"ECB rates {url}: HTTP {response.status_code}")
    return response.text
