"""The X-Cart 5.5 REST API, read-only: what catch-up sync polls and what a payment fetches its order by."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import requests

from apis.freshbooks.client import pooled_session
from apis.freshbooks.errors import Unavailable
from mappings import jsonio

PER_PAGE = 100


class XCartError(Exception):
    """X-Cart refused the request (bad token, unknown order): retrying cannot help."""


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
            raise Unavailable(f"X-Cart GET {path}: {type(exc).__name__}", may_have_reached_server=False) from None
        if response.status_code >= 500 or response.status_code == 429:
            raise Unavailable(f"X-Cart GET {path}: HTTP {response.status_code}", may_have_reached_server=True,
                              status=response.status_code)
        if response.status_code >= 400:
            raise XCartError(f"X-Cart GET {path}: HTTP {response.status_code}: {response.text[:200]}")
        return jsonio.loads(response.content)
