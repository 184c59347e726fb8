"""The X-Cart 5.5 REST API, read-only: what catch-up sync polls and what a payment fetches its order by."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import requests

from apis.freshbooks.client import pooled_session
from core.errors import Fatal, Retryable
from mappings import jsonio

PER_PAGE = 100


class XCartError(Exception):
    """Base of every error the X-Cart client raises. Messages carry the path and status, never the token."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


class XCartUnavailable(XCartError, Retryable):
    """429, 5xx, a timeout or no connection: X-Cart may answer later (`retry_after`: its Retry-After, if any)."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(message, status=status)
        self.retry_after = retry_after


class XCartRefused(XCartError, Fatal):
    """401, 403, 404 or another 4xx: a bad token or an unknown object; retrying cannot help."""


class XCartClient:
    def __init__(self, base_url: str, token: str, session: requests.Session | None = None,
                 timeout: tuple[float, float] = (5.0, 30.0)):
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._session = session or pooled_session()
        self._timeout = timeout

    def orders_changed_since(self, since: datetime) -> Iterator[dict]:
        return self._pages("/orders", {"lastRenewDate[after]": since.isoformat(), "order[lastRenewDate]": "asc"})

    def profiles_changed_since(self, since: datetime) -> Iterator[dict]:
        return self._pages("/profiles", {"lastRenewDate[after]": since.isoformat()})

    def products_changed_since(self, since: datetime) -> Iterator[dict]:
        return self._pages("/products", {"lastRenewDate[after]": since.isoformat()})

    def order(self, order_id: int) -> dict:
        return self._get(f"/orders/{order_id}")

    def payment_transactions(self, order_id: int) -> list[dict]:
        return self._get(f"/orders/{order_id}/payment_transactions")

    def _pages(self, path: str, params: dict) -> Iterator[dict]:
        page = 1
        while True:
            batch = self._get(path, {**params, "page": page, "itemsPerPage": PER_PAGE})
            yield from batch
            if len(batch) < PER_PAGE:
                return
            page += 1

    def _get(self, path: str, params: dict | None = None):
        try:
            response = self._session.get(self.base_url + path, params=params, timeout=self._timeout,
                                         headers={"X-Auth-Token": self._token, "Accept": "application/json"})
        except requests.RequestException as exc:
            raise XCartUnavailable(f"X-Cart GET {path}: {type(exc).__name__}") from None
        status = response.status_code
        if status >= 500 or status == 429:
            raise XCartUnavailable(f"X-Cart GET {path}: HTTP {status}", status=status,
                                   retry_after=_seconds(response.headers.get("Retry-After")))
        if status >= 400:
            raise XCartRefused(f"X-Cart GET {path}: HTTP {status}: {response.text[:200]}", status=status)
        return jsonio.loads(response.content)


def _seconds(value: str | None) -> float | None:
    """Retry-After in seconds (the HTTP-date form is not worth guessing at: the backoff covers it)."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
