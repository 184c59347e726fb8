"""Connecting FreshBooks for real: the authorization-code flow shared by `xcfb connect freshbooks` and ingest's
/oauth/freshbooks/callback, the stored connection, disconnecting, and the connection's status.

`start` keeps a random `state` in Redis for STATE_TTL seconds (with the account and the callbacks URI the
operator chose, if any); the redirect is taken only with a state `take_state` finds, once. `complete` exchanges
the code, reads the identity's businesses with the new token, chooses the account, and only then stores the
token pair (store/tokens.py, encrypted) and the `freshbooks` connection (store/connections.py): the account,
its business, the scopes granted, the callbacks registered. No token reaches a log, a page or an error."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from apis.freshbooks.client import FreshBooksClient, StaticToken
from apis.freshbooks.errors import FreshBooksError
from apis.freshbooks.oauth import OAuthApp, TokenPair
from core import redis_keys
from runtime import alerts, callbacks
from runtime.bootstrap import Services
from store.connections import ConnectionUnreadable

CONNECTION = "freshbooks"
STATE_TTL = 600  # seconds a started authorization waits for its redirect

# The minimum the service's features need, and why (the README lists the same).
NEEDED_SCOPES: dict[str, str] = {
    "user:profile:read": "read the identity and its businesses, to choose the account",
    "user:clients:read": "find a customer's client by email before creating one",
    "user:clients:write": "create the client of a new customer, update its address",
    "user:billable_items:read": "find an item by SKU before creating one",
    "user:billable_items:write": "create and update the items an order sells",
    "user:taxes:read": "find a tax by name",
    "user:taxes:write": "create a tax an order charges that the books lack",
    "user:invoices:read": "look an invoice up before creating it, so no order is booked twice",
    "user:invoices:write": "create the invoice, mark it sent",
    "user:payments:read": "list an invoice's payments before booking one",
    "user:payments:write": "book the payment",
    "user:credit_notes:read": "look a credit note up by its number before creating it, so no refund is booked twice",
    "user:credit_notes:write": "book a refund, or a cancellation after payment, as a credit note",
}
# The FreshBooks events the service subscribes to: it keeps every change to its invoices and payments made in
# FreshBooks in the audit trail (workers/tasks.freshbooks_event), and carries changes to clients and items back to
# X-Cart by the ownership rules (workers/two_way.py).
CALLBACK_EVENTS = ("invoice", "payment", "client.create", "client.update", "item.create", "item.update")


class ConnectError(Exception):
    """The flow cannot go on; the message says why and what to do, and quotes no secret."""


@dataclass(frozen=True)
class Business:
    account_id: str
    business_id: int
    name: str
    role: str

    def __str__(self) -> str:
        return f"{self.name} (account {self.account_id}, business {self.business_id}, {self.role})"


class ChoiceNeeded(ConnectError):
    """The identity belongs to several businesses and none was chosen."""

    def __init__(self, businesses: list[Business]):
        super().__init__("this FreshBooks user belongs to several businesses: "
                         + "; ".join(str(b) for b in businesses) + ". Choose one with --account-id.")
        self.businesses = businesses


def app_of(svc: Services) -> OAuthApp:
    if svc.settings.freshbooks_access_token:
        raise ConnectError("FRESHBOOKS_ACCESS_TOKEN is set: the service uses that fixed token, not a connection. "
                           "Unset it to connect with OAuth.")
    if svc.oauth_app is None:
        raise ConnectError("set FRESHBOOKS_CLIENT_ID, FRESHBOOKS_CLIENT_SECRET and FRESHBOOKS_REDIRECT_URI (your "
                           "FreshBooks app's, or the sandbox's) first")
    return svc.oauth_app


def start(svc: Services, account_id: str | None = None, callbacks_uri: str | None = None) -> tuple[str, str]:
    """Begins an authorization: returns (the URL to open, its state)."""
    app = app_of(svc)
    state = secrets.token_urlsafe(24)
    pending = json.dumps({"account_id": account_id, "callbacks_uri": callbacks_uri})
    svc.redis.set(redis_keys.FRESHBOOKS_OAUTH_STATE.format(state=state), pending, ex=STATE_TTL)
    return app.authorization_url(state, list(NEEDED_SCOPES)), state


def take_state(svc: Services, state: str | None) -> dict | None:
    """The choices of the authorization this state started, once; None for an unknown or expired state."""
    if not state or len(state) > 200:
        return None
    key = redis_keys.FRESHBOOKS_OAUTH_STATE.format(state=state)
    with svc.redis.pipeline() as transaction:
        transaction.get(key)
        transaction.delete(key)
        pending, _ = transaction.execute()
    return json.loads(pending) if pending else None


@dataclass(frozen=True)
class Redirect:
    code: str | None
    state: str | None
    error: str | None


def read_redirect(pasted: str) -> Redirect:
    """What the operator pasted: the whole redirect URL (its code, state or error), or the bare code."""
    text = pasted.strip()
    if "?" not in text and "=" not in text:
        return Redirect(text or None, None, None)
    query = parse_qs(urlsplit(text).query if "?" in text else text)
    first = {key: values[0] for key, values in query.items()}
    return Redirect(first.get("code"), first.get("state"), first.get("error"))


def businesses(identity: dict) -> list[Business]:
    found = []
    for membership in identity.get("business_memberships") or []:
        business = membership.get("business") or {}
        if business.get("account_id"):
            found.append(Business(str(business["account_id"]), int(business.get("id") or 0),
                                  str(business.get("name") or "?"), str(membership.get("role") or "?")))
    return found


def choose(found: list[Business], account_id: str | None) -> Business:
    """The chosen business: the one named, else the only one; several and none named raise ChoiceNeeded."""
    if account_id:
        chosen = [b for b in found if b.account_id == account_id]
        if not chosen:
            raise ConnectError(f"account {account_id} is not among this user's businesses: "
                               + ("; ".join(str(b) for b in found) or "none"))
        return chosen[0]
    if not found:
        raise ConnectError("this FreshBooks user belongs to no business: create one in FreshBooks first")
    if len(found) > 1:
        raise ChoiceNeeded(found)
    return found[0]


def exchange(svc: Services, code: str) -> tuple[TokenPair, list[Business]]:
    """Trades the code for a token pair and reads the identity's businesses with it. Stores nothing."""
    pair = app_of(svc).exchange_code(code)
    identity = FreshBooksClient(StaticToken(pair.access_token), base_url=svc.settings.freshbooks_api_url).me()
    return pair, businesses(identity)


def save(svc: Services, pair: TokenPair, business: Business) -> dict:
    """Stores the pair and the connection. A standing auth alert clears with the next accepted call."""
    svc.token_store.save(pair)
    connection = {"account_id": business.account_id, "business_id": business.business_id,
                  "business_name": business.name, "scopes": pair.scope.split(),
                  "connected_at": datetime.now(UTC).isoformat(), "callbacks": []}
    svc.connections.put(CONNECTION, connection)
    return connection


def register_callbacks(svc: Services, uri: str) -> list[dict]:
    """Subscribes `uri` (this service's /webhooks/freshbooks, as FreshBooks reaches it) to CALLBACK_EVENTS; each
    is trusted once FreshBooks confirms the verifier it sends there (runtime/callbacks.py)."""
    connection = svc.connections.get(CONNECTION) or {}
    registered = [{"id": int(cb["id"]), "event": event, "uri": uri}
                  for event in CALLBACK_EVENTS for cb in [callbacks.register(svc, event, uri)]]
    svc.connections.put(CONNECTION, {**connection, "callbacks": connection.get("callbacks", []) + registered})
    return registered


def register_missing_callbacks(svc: Services, uri: str) -> tuple[list[dict], list[dict]]:
    """(newly registered, all registered for `uri`): subscribes `uri` to the CALLBACK_EVENTS it lacks, so that
    running it again (after an upgrade adds events) registers nothing twice."""
    connection = svc.connections.get(CONNECTION) or {}
    if not connection:
        raise ConnectError("FreshBooks is not connected: run `xcfb connect freshbooks` first")
    known = [cb for cb in connection.get("callbacks", []) if cb["uri"] == uri]
    missing = [event for event in CALLBACK_EVENTS if event not in {cb["event"] for cb in known}]
    added = [{"id": int(callbacks.register(svc, event, uri)["id"]), "event": event, "uri": uri} for event in missing]
    svc.connections.put(CONNECTION, {**connection, "callbacks": connection.get("callbacks", []) + added})
    return added, known + added


def callback_lines(svc: Services, registered: list[dict]) -> list[str]:
    return _callbacks(svc, registered)


def disconnect(svc: Services) -> list[str]:
    """Deletes the callbacks registered at FreshBooks, then the stored pair and connection. FreshBooks documents
    no token revocation endpoint: the app's access is removed on FreshBooks' side by the user (Settings > Apps)."""
    done = []
    connection = svc.connections.get(CONNECTION) or {}
    for callback in connection.get("callbacks", []):
        try:
            svc.freshbooks.delete_callback(callback["id"])
            done.append(f"deleted callback {callback['id']} ({callback['event']}) at FreshBooks")
        except FreshBooksError as exc:
            done.append(f"callback {callback['id']} not deleted at FreshBooks ({exc}); delete it there if it remains")
        svc.redis.hdel(callbacks.PENDING, str(callback["id"]))
        svc.redis.hdel(callbacks.TRUSTED, str(callback["id"]))
    if svc.token_store.delete():
        done.append("deleted the stored FreshBooks tokens")
    if svc.connections.delete(CONNECTION):
        done.append(f"forgot the connection to {connection.get('business_name', '?')} "
                    f"(account {connection.get('account_id', '?')})")
    if not done:
        return ["FreshBooks was not connected: nothing to do"]
    return done + ["FreshBooks offers no documented way to revoke a token: to remove this app's access on "
                   "FreshBooks' side too, remove it in FreshBooks (Settings > Apps and Integrations)"]


def status(svc: Services) -> list[str]:
    """The lines of `xcfb connect status` for FreshBooks."""
    if svc.settings.freshbooks_access_token:
        lines = ["using FRESHBOOKS_ACCESS_TOKEN (a fixed token, never refreshed), not an OAuth connection"]
        return lines + [_reachable(svc), _last_call(svc)]
    try:
        connection = svc.connections.get(CONNECTION)
    except ConnectionUnreadable as exc:
        return [str(exc)]
    if connection is None:
        return ["not connected: run `xcfb connect freshbooks`"]
    granted = set(connection.get("scopes", []))
    missing = [scope for scope in NEEDED_SCOPES if scope not in granted]
    lines = [f"account: {connection['business_name']} (account {connection['account_id']}, "
             f"business {connection['business_id']}), connected {connection['connected_at']}",
             _reachable(svc),
             f"scopes: {len(NEEDED_SCOPES) - len(missing)} of {len(NEEDED_SCOPES)} needed granted"
             + (f"; MISSING {' '.join(missing)}: reconnect and approve them" if missing else ""),
             _expiry(svc), _last_call(svc)]
    lines += _callbacks(svc, connection.get("callbacks", []))
    alert = svc.redis.get(redis_keys.ALERT.format(key=alerts.FreshBooksWatch.AUTH_ALERT))
    if alert:
        lines.append(f"ALERT {alerts.FreshBooksWatch.AUTH_ALERT}: {alert.decode()}")
    return lines


def _reachable(svc: Services) -> str:
    try:
        identity = svc.freshbooks.me()  # the cheapest call there is
    except FreshBooksError as exc:
        return f"reachable: no ({type(exc).__name__}: {exc})"
    return f"reachable: yes, as {identity.get('email', '?')}"


def _expiry(svc: Services) -> str:
    try:
        pair = svc.token_store.load()
    except FreshBooksError as exc:
        return f"token: unreadable ({exc})"
    if pair is None:
        return "token: none stored: reconnect"
    left = (pair.expires_at - datetime.now(UTC)).total_seconds()
    when = f"in {left / 60:.0f} min" if left > 0 else "expired"
    return f"access token expires {pair.expires_at.isoformat(timespec='seconds')} ({when}); refreshed automatically"


def _last_call(svc: Services) -> str:
    last = alerts.last_success(svc)
    return f"last successful call: {last.isoformat(timespec='seconds') if last else 'none recorded'}"


def _callbacks(svc: Services, registered: list[dict]) -> list[str]:
    if not registered:
        return ["callbacks: none registered (connect with --callbacks-uri to get FreshBooks' changes)"]
    lines = []
    for callback in registered:
        key = str(callback["id"])
        state = ("verified" if svc.redis.hexists(callbacks.TRUSTED, key)
                 else "waiting for verification" if svc.redis.hexists(callbacks.PENDING, key) else "not verified")
        lines.append(f"callback {key}: {callback['event']} -> {callback['uri']}, {state}")
    return lines
