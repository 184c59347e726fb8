"""OAuth2 for FreshBooks: code exchange and refresh through authlib, refresh under a shared lock.

FreshBooks refresh tokens work once. Two workers refreshing with the same refresh token would leave one
of them holding a revoked pair, so a refresh happens only under a lock shared by every worker (a Redis
lock), re-reads the stored pair first (another worker may have refreshed already), and persists the
new pair in one transaction. Token values never appear in a log line, a repr or an error message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol
from urllib.parse import urlencode

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from redis.exceptions import LockError

from apis.freshbooks.errors import AuthFailed, Unavailable
from core import redis_keys, turns

DEFAULT_AUTHORIZE_URL = "https://auth.freshbooks.com/oauth/authorize"
REFRESH_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class TokenPair:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime
    scope: str = ""  # the scopes granted, space-separated, as the token answer says
    issued_at: datetime | None = None

    def expires_within(self, margin: timedelta, now: datetime | None = None) -> bool:
        if self.issued_at is not None:  # a short-lived token (a test sandbox's) is not refreshed on every call
            margin = min(margin, (self.expires_at - self.issued_at) / 4)
        return (now or datetime.now(UTC)) + margin >= self.expires_at


class TokenStore(Protocol):
    def load(self) -> TokenPair | None: ...

    def save(self, pair: TokenPair) -> None: ...


@dataclass(frozen=True)
class OAuthApp:
    """The registered FreshBooks application and where its OAuth endpoints are."""

    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    token_url: str
    authorize_url: str = DEFAULT_AUTHORIZE_URL
    timeout: float = 30.0

    def authorization_url(self, state: str, scopes: list[str] | None = None) -> str:
        query = {"client_id": self.client_id, "response_type": "code", "redirect_uri": self.redirect_uri,
                 "state": state, **({"scope": " ".join(scopes)} if scopes else {})}
        return f"{self.authorize_url}?{urlencode(query)}"

    def exchange_code(self, code: str) -> TokenPair:
        return self._call(lambda s: s.fetch_token(self.token_url, grant_type="authorization_code", code=code,
                                                  timeout=self.timeout))

    def refresh(self, refresh_token: str) -> TokenPair:
        # FreshBooks wants redirect_uri on refresh as well.
        return self._call(lambda s: s.refresh_token(self.token_url, refresh_token=refresh_token,
                                                    redirect_uri=self.redirect_uri, timeout=self.timeout))

    def _call(self, grant: Callable[[OAuth2Session], dict]) -> TokenPair:
        session = OAuth2Session(self.client_id, self.client_secret, redirect_uri=self.redirect_uri,
                                token_endpoint_auth_method="client_secret_post")  # noqa: S106 - a method name
        try:
            token = grant(session)
        except OAuthError as exc:
            raise AuthFailed(f"FreshBooks refused the OAuth grant: {exc.error}") from None
        except requests.Timeout:
            raise Unavailable("FreshBooks token endpoint timed out", may_have_reached_server=True) from None
        except requests.RequestException as exc:
            raise Unavailable(f"FreshBooks token endpoint unreachable ({type(exc).__name__})",
                              may_have_reached_server=False) from None
        finally:
            session.close()
        return pair_from_token_response(token)


def pair_from_token_response(token: dict) -> TokenPair:
    if not token.get("access_token") or not token.get("refresh_token"):
        raise AuthFailed("FreshBooks token answer lacks access_token or refresh_token")
    created = int(token.get("created_at") or time.time())
    if token.get("expires_at"):
        expires_at = datetime.fromtimestamp(int(token["expires_at"]), UTC)
    else:
        expires_at = datetime.fromtimestamp(created + int(token.get("expires_in") or 0), UTC)
    issued_at = min(datetime.fromtimestamp(created, UTC), expires_at)
    return TokenPair(token["access_token"], token["refresh_token"], expires_at, str(token.get("scope") or ""),
                     issued_at)


class OAuthTokens:
    """The TokenSource of a FreshBooksClient backed by OAuth2 (see client.TokenSource)."""

    def __init__(self, app: OAuthApp, store: TokenStore, refresh_lock: Callable[[], AbstractContextManager],
                 margin: timedelta = REFRESH_MARGIN):
        self._app = app
        self._store = store
        self._refresh_lock = refresh_lock
        self._margin = margin

    def connect(self, code: str) -> None:
        """Completes the authorization-code flow and stores the first pair."""
        self._store.save(self._app.exchange_code(code))

    def access_token(self) -> str:
        pair = self._loaded()
        if pair.expires_within(self._margin):
            return self._refresh(stale=pair.access_token)
        return pair.access_token

    def refresh_after_rejection(self, rejected_token: str) -> str:
        return self._refresh(stale=rejected_token)

    def _refresh(self, stale: str) -> str:
        # Off the worker thread's turn on the CPU (core/turns.py), the wait for the lock included: its holder may be
        # a thread of this process, which needs no turn to finish inside its own wait.
        try:
            with turns.waiting(), self._refresh_lock():
                current = self._loaded()
                if current.access_token != stale and not current.expires_within(self._margin):
                    return current.access_token  # another worker refreshed while we waited
                fresh = self._app.refresh(current.refresh_token)
                self._store.save(fresh)
                return fresh.access_token
        except LockError:
            raise Unavailable("timed out waiting for the OAuth refresh lock", may_have_reached_server=False) from None

    def _loaded(self) -> TokenPair:
        pair = self._store.load()
        if pair is None:
            raise AuthFailed("FreshBooks is not connected: no OAuth token stored (run the authorization flow)")
        return pair


def redis_refresh_lock(redis_client, connection: str = "default", timeout: float = 60.0,
                       wait: float = 30.0) -> Callable[[], AbstractContextManager]:
    """A lock shared by every worker that talks to the same Redis."""
    key = redis_keys.OAUTH_REFRESH_LOCK.format(connection=connection)
    return lambda: redis_client.lock(key, timeout=timeout, blocking_timeout=wait)
