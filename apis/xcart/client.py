"""The X-Cart 5.5 REST API: what catch-up sync polls and what a payment fetches its order by, and the two
checks `xcfb connect xcart` makes of a key (a read, and a write probe that cannot change anything)."""

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
        self._session = session or pooled_session(self.base_url)
        self._timeout = timeout

    def orders_changed_since(self, since: datetime) -> Iterator[dict]:
        return self._pages("/orders", {"lastRenewDate[after]": since.isoformat(), "order[lastRenewDate]": "asc"})

    def profiles_changed_since(self, since: datetime) -> Iterator[dict]:
        return self._pages("/profiles", {"lastRenewDate[after]": since.isoformat()})

    def products_changed_since(self, since: datetime) -> Iterator[dict]:
        return self._pages("/products", {"lastRenewDate[after]": since.isoformat()})

    def orders_placed_between(self, after: datetime, before: datetime) -> Iterator[dict]:
        """Orders placed in [after, before] (X-Cart's `date` filter), paged, oldest first: what reconciliation
        compares with the books."""
        return self._pages("/orders", {"date[after]": after.isoformat(), "date[before]": before.isoformat(),
                                       "order[date]": "asc"})

    def order(self, order_id: int) -> dict:
        return self._get(f"/orders/{order_id}")

    def payment_transactions(self, order_id: int) -> list[dict]:
        return self._get(f"/orders/{order_id}/payment_transactions")

    def profile(self, profile_id: int) -> dict:
        return self._get(f"/profiles/{profile_id}")

    def product(self, product_id: int) -> dict:
        return self._get(f"/products/{product_id}")

    def update_address(self, profile_id: int, address_id: int, changes: dict) -> dict:
        """PUT keeps the fields it does not name (X-Cart 5.5 has no PATCH)."""
        return self._put(f"/profiles/{profile_id}/addresses/{address_id}", changes)

    def update_product(self, product_id: int, changes: dict) -> dict:
        return self._put(f"/products/{product_id}", changes)

    def check_read(self) -> None:
        """One order read, the cheapest call a valid key of either kind may make; XCartRefused when the
        answer is not the API's (a wrong URL answers 404 or a page that is not a JSON list)."""
        found = self._get("/orders", {"itemsPerPage": 1})
        if not isinstance(found, list):
            raise XCartRefused("X-Cart GET /orders: the answer is not a list of orders", status=200)

    def write_probe_status(self) -> int:
        """The status of `POST /products` with an empty object: a request no store can carry out (a product
        needs a SKU and a name), so it creates nothing. X-Cart checks the token's rights first: a read-only
        key gets 401/403, a full key gets to validation (400/422)."""
        return self._send("POST", "/products", json={}).status_code

    def _pages(self, path: str, params: dict) -> Iterator[dict]:
        page = 1
        while True:
            batch = self._get(path, {**params, "page": page, "itemsPerPage": PER_PAGE})
            yield from batch
            if len(batch) < PER_PAGE:
                return
            page += 1

    def _get(self, path: str, params: dict | None = None):
        return self._answer("GET", path, self._send("GET", path, params=params))

    def _put(self, path: str, body: dict):
        return self._answer("PUT", path, self._send("PUT", path, data=jsonio.dumps(body),
                                                    headers={"Content-Type": "application/json"}))

    def _answer(self, method: str, path: str, response: requests.Response):
        status = response.status_code
        if status >= 500 or status == 429:
            raise XCartUnavailable(f"X-Cart {method} {path}: HTTP {status}", status=status,
                                   retry_after=_seconds(response.headers.get("Retry-After")))
        if status >= 400:
            raise XCartRefused(f"X-Cart {method} {path}: HTTP {status}: {response.text[:200]}", status=status)
        try:
            return jsonio.loads(response.content)
        except ValueError:
            raise XCartRefused(f"X-Cart {method} {path}: the answer is not JSON (is this the store's /api URL?)",
                               status=status) from None

    def _send(self, method: str, path: str, headers: dict | None = None, **options) -> requests.Response:
        try:
            return self._session.request(method, self.base_url + path, timeout=self._timeout, **options,
                                         headers={"X-Auth-Token": self._token, "Accept": "application/json",
                                                  **(headers or {})})
        except requests.RequestException as exc:
            raise XCartUnavailable(f"X-Cart {method} {path}: {type(exc).__name__}") from None


def _seconds(value: str | None) -> float | None:
    """Retry-After in seconds (the HTTP-date form is not worth guessing at: the backoff covers it)."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
