"""The one FreshBooks API client the service uses.

Plain requests over one pooled Session, a timeout on every call, and typed errors (errors.py).
The client never retries a request blindly: retry policy belongs to the workers. The single
exception is a 401, answered by refreshing the token and resending once, because a request the
API rejected at authentication was not processed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import requests
from requests.adapters import HTTPAdapter

from apis.freshbooks.errors import (
    ApiErrorDetail,
    AuthFailed,
    Conflict,
    FreshBooksError,
    NotFound,
    RateLimited,
    Unavailable,
    ValidationFailed,
)
from core import turns

DEFAULT_API_URL = "https://api.freshbooks.com"
DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds
MAX_PER_PAGE = 100


class TokenSource(Protocol):
    def access_token(self) -> str: ...

    def refresh_after_rejection(self, rejected_token: str) -> str: ...


class StaticToken:
    """A fixed access token (sandbox, scripts); a rejection cannot be repaired."""

    def __init__(self, token: str):
        self._token = token

    def access_token(self) -> str:
        return self._token

    def refresh_after_rejection(self, rejected_token: str) -> str:
        raise AuthFailed("the configured FreshBooks access token was rejected", status=401)


def api_url_from_env() -> str:
    return os.environ.get("FRESHBOOKS_API_URL", DEFAULT_API_URL).rstrip("/")


class _WaitingAdapter(HTTPAdapter):
    """Gives the worker thread's turn on the CPU up while the request is out (core/turns.py)."""

    def send(self, request, **kwargs):
        with turns.waiting():
            response = super().send(request, **kwargs)
            if not kwargs.get("stream"):
                _ = response.content  # the body too (requests reads it after send; then it is kept)
        return response


_connections_kept = 10  # per server: raised to a worker's concurrency (keep_connections_for)


def keep_connections_for(concurrency: int) -> None:
    """As many connections kept open per server as the process has threads that may call it at once: a pool
    smaller than that closes a connection after nearly every answer (urllib3 warning each time), and the next
    request opens another (a TLS handshake against the real APIs)."""
    global _connections_kept
    _connections_kept = max(_connections_kept, concurrency)


def pooled_session(base_url: str) -> requests.Session:
    """A session for the one server at `base_url`. The environment's proxy for it (HTTPS_PROXY, NO_PROXY...) and
    CA bundle (REQUESTS_CA_BUNDLE) are read once, here: requests would read them again for every request (a sixth
    of the client's CPU, measured), and they do not change while the process runs. No ~/.netrc either: the
    Authorization header is the client's own. A worker thread waits for the answer off its turn on the CPU."""
    session = requests.Session()
    session.proxies = requests.utils.get_environ_proxies(base_url)
    session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    session.trust_env = False
    adapter = _WaitingAdapter(pool_connections=_connections_kept, pool_maxsize=_connections_kept, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class FreshBooksClient:
    def __init__(self, tokens: TokenSource, *, base_url: str | None = None, account_id: str | None = None,
                 session: requests.Session | None = None, timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
                 observer: Callable[[Unavailable | AuthFailed | None], None] | None = None,
                 find_account: Callable[[], str | None] | None = None):
        """`observer` hears after each request its outcome: None when FreshBooks accepted it (any answer but a
        5xx, a 401 or a 403), Unavailable when it was unreachable, AuthFailed when it refused the token even
        after a refresh. `find_account` names the account when `account_id` is not given (the connection
        chosen with `xcfb connect freshbooks`); without either, the identity's first business is used."""
        self.base_url = (base_url or api_url_from_env()).rstrip("/")
        self._observe = observer or (lambda outcome: None)
        self._tokens = tokens
        self._account_id = account_id
        self._find_account = find_account or (lambda: None)
        self._session = session or pooled_session(self.base_url)
        self._timeout = timeout

    # -- identity ---------------------------------------------------------------------------------------

    def me(self) -> dict:
        return self._request("GET", "/auth/api/v1/users/me")["response"]

    @property
    def account_id(self) -> str:
        if self._account_id is None:
            self._account_id = self._find_account()
        if self._account_id is None:
            memberships = self.me().get("business_memberships") or []
            if not memberships:
                raise AuthFailed("the FreshBooks identity has no business membership")
            self._account_id = memberships[0]["business"]["account_id"]
        return self._account_id

    # -- clients ----------------------------------------------------------------------------------------

    def get_client(self, client_id: int) -> dict:
        return self._get_one("users/clients", "client", client_id)

    def find_client_by_email(self, email: str) -> dict | None:
        wanted = email.strip().lower()
        return self._find("users/clients", "clients", {"search[email]": email},
                          lambda c: (c.get("email") or "").strip().lower() == wanted)

    def list_clients(self, params: dict | None = None) -> list[dict]:
        """Clients, e.g. the deleted ones: `{"search[vis_state]": 1}`."""
        return list(self._all("users/clients", "clients", params))

    def create_client(self, client: dict) -> dict:
        return self._create("users/clients", "client", client)

    def update_client(self, client_id: int, changes: dict) -> dict:
        return self._update("users/clients", "client", client_id, changes)

    def search_clients(self, filters: dict[str, str]) -> list[dict]:
        """Every active client matching FreshBooks filters, e.g. {"lname_like": "smi"}, page after page: a
        duplicate on the second page of a common name's clients must be found as well as one on the first."""
        return list(self._all("users/clients", "clients", {f"search[{name}]": v for name, v in filters.items()}))

    def get_item(self, item_id: int) -> dict:
        return self._get_one("items/items", "item", item_id)

    # -- items ------------------------------------------------------------------------------------------

    def find_item_by_sku(self, sku: str) -> dict | None:
        return self._find("items/items", "items", {"search[sku]": sku}, lambda i: i.get("sku") == sku)

    def create_item(self, item: dict) -> dict:
        return self._create("items/items", "item", item)

    def list_items(self) -> list[dict]:
        return list(self._all("items/items", "items"))

    def update_item(self, item_id: int, changes: dict) -> dict:
        return self._update("items/items", "item", item_id, changes)

    # -- taxes ------------------------------------------------------------------------------------------

    def list_taxes(self) -> list[dict]:
        return list(self._all("taxes/taxes", "taxes"))

    def find_tax_by_name(self, name: str) -> dict | None:
        return self._find("taxes/taxes", "taxes", {"search[name]": name}, lambda t: t.get("name") == name)

    def create_tax(self, tax: dict) -> dict:
        return self._create("taxes/taxes", "tax", tax)

    # -- invoices ---------------------------------------------------------------------------------------

    def get_invoice(self, invoice_id: int) -> dict:
        return self._get_one("invoices/invoices", "invoice", invoice_id, {"include[]": "lines"})

    def find_invoice_by_number(self, invoice_number: str) -> dict | None:
        return self._find("invoices/invoices", "invoices",
                          {"search[invoice_number]": invoice_number, "include[]": "lines"},
                          lambda i: i.get("invoice_number") == invoice_number)

    def create_invoice(self, invoice: dict) -> dict:
        return self._create("invoices/invoices", "invoice", invoice, {"include[]": "lines"})

    def update_invoice(self, invoice_id: int, changes: dict) -> dict:
        return self._update("invoices/invoices", "invoice", invoice_id, changes, {"include[]": "lines"})

    def mark_invoice_sent(self, invoice_id: int) -> dict:
        return self.update_invoice(invoice_id, {"action_mark_as_sent": True})

    def delete_invoice(self, invoice_id: int) -> None:
        self._request("DELETE", self._accounting(f"invoices/invoices/{invoice_id}"))

    # -- payments ---------------------------------------------------------------------------------------

    def create_payment(self, payment: dict) -> dict:
        return self._create("payments/payments", "payment", payment)

    def list_payments_for_invoice(self, invoice_id: int) -> list[dict]:
        return [p for p in self._all("payments/payments", "payments", {"search[invoiceid]": invoice_id})
                if int(p.get("invoiceid") or 0) == int(invoice_id)]

    def list_payments(self, params: dict | None = None) -> list[dict]:
        """Every active payment, optionally filtered (`{"search[date_min]": "2026-11-01"}`)."""
        return list(self._all("payments/payments", "payments", params))

    # -- invoices and credit notes in bulk (reconciliation) ---------------------------------------------

    def list_invoices(self, params: dict | None = None) -> list[dict]:
        """Every active invoice, optionally filtered (`{"search[date_min]": "2026-11-01"}`)."""
        return list(self._all("invoices/invoices", "invoices", params))

    # -- credit notes -----------------------------------------------------------------------------------

    def get_credit_note(self, credit_id: int) -> dict:
        return self._get_one("credit_notes/credit_notes", "credit_note", credit_id, {"include[]": "lines"})

    def find_credit_note_by_number(self, credit_number: str) -> dict | None:
        return self._find("credit_notes/credit_notes", "credit_notes",
                          {"search[credit_number]": credit_number, "include[]": "lines"},
                          lambda c: c.get("credit_number") == credit_number)

    def create_credit_note(self, credit_note: dict) -> dict:
        return self._create("credit_notes/credit_notes", "credit_note", credit_note, {"include[]": "lines"})

    def update_credit_note(self, credit_id: int, changes: dict) -> dict:
        return self._update("credit_notes/credit_notes", "credit_note", credit_id, changes, {"include[]": "lines"})

    def delete_credit_note(self, credit_id: int) -> dict:
        """Soft delete, as FreshBooks deletes credit notes: `vis_state` 1."""
        return self.update_credit_note(credit_id, {"vis_state": 1})

    def list_credit_notes(self, params: dict | None = None) -> list[dict]:
        return list(self._all("credit_notes/credit_notes", "credit_notes", params))

    # -- webhook callbacks ------------------------------------------------------------------------------

    def register_callback(self, event: str, uri: str) -> dict:
        path = f"/events/account/{self.account_id}/events/callbacks"
        return self._request("POST", path, {"callback": {"event": event, "uri": uri}})["response"]["result"][
            "callback"]

    def verify_callback(self, callback_id: int, verifier: str) -> dict:
        path = f"/events/account/{self.account_id}/events/callbacks/{callback_id}"
        return self._request("PUT", path, {"callback": {"verifier": verifier}})["response"]["result"][
            "callback"]

    def resend_callback_verification(self, callback_id: int) -> dict:
        path = f"/events/account/{self.account_id}/events/callbacks/{callback_id}"
        return self._request("PUT", path, {"callback": {"resend": True}})["response"]["result"]["callback"]

    def delete_callback(self, callback_id: int) -> None:
        self._request("DELETE", f"/events/account/{self.account_id}/events/callbacks/{callback_id}")

    def list_callbacks(self) -> list[dict]:
        path = f"/events/account/{self.account_id}/events/callbacks"
        return self._request("GET", path)["response"]["result"]["callbacks"]

    # -- plumbing ---------------------------------------------------------------------------------------

    def _accounting(self, path: str) -> str:
        return f"/accounting/account/{self.account_id}/{path}"

    def _get_one(self, path: str, name: str, object_id: int, params: dict | None = None) -> dict:
        return self._request("GET", self._accounting(f"{path}/{object_id}"), params=params)[
            "response"]["result"][name]

    def _create(self, path: str, name: str, body: dict, params: dict | None = None) -> dict:
        return self._request("POST", self._accounting(path), {name: body}, params)["response"]["result"][name]

    def _update(self, path: str, name: str, object_id: int, changes: dict, params: dict | None = None) -> dict:
        return self._request("PUT", self._accounting(f"{path}/{object_id}"), {name: changes}, params)[
            "response"]["result"][name]

    def _find(self, path: str, plural: str, params: dict, is_match: Callable[[dict], bool]) -> dict | None:
        # The match is checked here too: a filter FreshBooks ignored must not return some other object.
        return next((obj for obj in self._all(path, plural, params) if is_match(obj)), None)

    def _all(self, path: str, plural: str, params: dict | None = None) -> Iterator[dict]:
        page = 1
        while True:
            objects, pages = self._page(path, plural, {**(params or {}), "per_page": MAX_PER_PAGE, "page": page})
            yield from objects
            if page >= pages:
                return
            page += 1

    def _page(self, path: str, plural: str, params: dict) -> tuple[list[dict], int]:
        result = self._request("GET", self._accounting(path), params=params)["response"]["result"]
        return result[plural], int(result.get("pages") or 0)

    def _request(self, method: str, path: str, body: dict | None = None, params: dict | None = None) -> dict:
        token = self._observed_token(self._tokens.access_token)
        response = self._observed_send(method, path, body, params, token)
        if response.status_code == 401:
            token = self._observed_token(lambda: self._tokens.refresh_after_rejection(token))
            response = self._observed_send(method, path, body, params, token)
        if response.status_code >= 400:
            error = error_from_response(method, path, response)
            if isinstance(error, Unavailable | AuthFailed):
                self._observe(error)
            raise error
        if not response.content:
            return {}
        try:
            return response.json(parse_float=Decimal)
        except ValueError as exc:
            raise Unavailable(f"{method} {path}: answer is not JSON (HTTP {response.status_code})",
                              may_have_reached_server=True, status=response.status_code) from exc

    def _observed_token(self, obtain: Callable[[], str]) -> str:
        try:
            return obtain()
        except AuthFailed as exc:  # no token to be had: the authorization was revoked, refused or never made
            self._observe(exc)
            raise

    def _observed_send(self, method: str, path: str, body: dict | None, params: dict | None,
                       token: str) -> requests.Response:
        try:
            response = self._send(method, path, body, params, token)
        except Unavailable as exc:
            self._observe(exc)
            raise
        if response.status_code < 500 and response.status_code not in (401, 403):
            self._observe(None)  # a 401 is told after the refresh and resend, when it is final
        return response

    def _send(self, method: str, path: str, body: dict | None, params: dict | None,
              token: str) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body, default=_json_default)
        try:
            return self._session.request(method, self.base_url + path, params=params, data=data,
                                         headers=headers, timeout=self._timeout)
        except requests.ConnectTimeout as exc:
            raise Unavailable(f"{method} {path}: connect timeout", may_have_reached_server=False) from exc
        except requests.ConnectionError as exc:
            # A refused or reset connection: a reset may come after the server read the request.
            reached = not _is_connect_refused(exc)
            raise Unavailable(f"{method} {path}: connection failed ({type(exc).__name__})",
                              may_have_reached_server=reached) from exc
        except requests.Timeout as exc:
            raise Unavailable(f"{method} {path}: no answer within the timeout",
                              may_have_reached_server=True) from exc


def _is_connect_refused(exc: requests.ConnectionError) -> bool:
    text = repr(exc)
    return "NewConnectionError" in text or "Connection refused" in text or "NameResolutionError" in text


def _json_default(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot send {type(value).__name__} to FreshBooks")


def error_details(response: requests.Response) -> tuple[ApiErrorDetail, ...]:
    try:
        errors = response.json().get("response", {}).get("errors") or []
    except (ValueError, AttributeError):
        return ()
    if isinstance(errors, dict):
        errors = [errors]
    return tuple(
        ApiErrorDetail(errno=_int_or_none(e.get("errno")), field=e.get("field") or None,
                       message=str(e.get("message", "")), object=e.get("object") or None,
                       value=None if e.get("value") is None else str(e.get("value")))
        for e in errors if isinstance(e, dict)
    )


def error_from_response(method: str, path: str, response: requests.Response) -> FreshBooksError:
    status = response.status_code
    details = error_details(response)
    summary = "; ".join(str(d) for d in details) or response.reason or "no detail"
    message = f"{method} {path}: HTTP {status}: {summary}"
    if status == 429:
        return RateLimited(message, retry_after=_retry_after(response.headers.get("Retry-After")))
    if status >= 500:
        return Unavailable(message, may_have_reached_server=True, status=status)
    if status in (401, 403):
        return AuthFailed(message, status=status, details=details)
    if status == 404 or any(d.errno == 1012 for d in details):
        return NotFound(message, status=status, details=details)
    if status == 409:
        return Conflict(message, status=status, details=details)
    return ValidationFailed(message, status=status, details=details)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            return None


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
