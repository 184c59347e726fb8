"""The sandbox's OAuth2 authority: authorization codes, access tokens, single-use refresh tokens."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass


@dataclass
class OAuthSettings:
    client_id: str = "sandbox-client-id"
    client_secret: str = "sandbox-client-secret"  # noqa: S105 - the sandbox's published test credential
    access_token_lifetime: int = 12 * 3600
    static_tokens: tuple[str, ...] = ()  # accepted forever, for scripts and the SDK check


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


class OAuthAuthority:
    def __init__(self, settings: OAuthSettings | None = None, clock=time.time):
        self.settings = settings or OAuthSettings()
        self._clock = clock
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._codes: dict[str, str] = {}  # code -> redirect_uri
            self._access: dict[str, float] = {}  # token -> expiry (epoch seconds)
            self._refresh: set[str] = set()
            self.refreshes = 0

    def issue_code(self, redirect_uri: str) -> str:
        code = secrets.token_urlsafe(16)
        with self._lock:
            self._codes[code] = redirect_uri
        return code

    def grant(self, form: dict) -> dict:
        if form.get("client_id") != self.settings.client_id or not secrets.compare_digest(
                str(form.get("client_secret", "")), self.settings.client_secret):
            raise OAuthError("invalid_client", "Client authentication failed.", 401)
        grant_type = form.get("grant_type")
        with self._lock:
            if grant_type == "authorization_code":
                redirect_uri = self._codes.pop(str(form.get("code", "")), None)
                if redirect_uri is None or redirect_uri != form.get("redirect_uri"):
                    raise OAuthError("invalid_grant", "The provided authorization grant is invalid, expired, "
                                                      "revoked, or does not match the redirection URI.")
            elif grant_type == "refresh_token":
                token = str(form.get("refresh_token", ""))
                if token not in self._refresh:
                    raise OAuthError("invalid_grant", "The provided authorization grant is invalid, expired, "
                                                      "revoked, or was issued to another client.")
                self._refresh.discard(token)  # single use
                self.refreshes += 1
            else:
                raise OAuthError("unsupported_grant_type", "The authorization grant type is not supported.")
            return self._issue_pair()

    def _issue_pair(self) -> dict:
        now = int(self._clock())
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self._access[access] = now + self.settings.access_token_lifetime
        self._refresh.add(refresh)
        return {"access_token": access, "token_type": "Bearer", "expires_in": self.settings.access_token_lifetime,
                "refresh_token": refresh, "scope": "user:profile:read user:clients:read user:clients:write "
                "user:invoices:read user:invoices:write user:billable_items:read user:billable_items:write "
                "user:payments:read user:payments:write user:taxes:read user:taxes:write",
                "created_at": now}

    def is_valid(self, access_token: str) -> bool:
        if access_token in self.settings.static_tokens:
            return True
        with self._lock:
            expiry = self._access.get(access_token)
        return expiry is not None and self._clock() < expiry

    def revoke_access(self, access_token: str) -> None:
        with self._lock:
            self._access.pop(access_token, None)

    def refresh_token_valid(self, refresh_token: str) -> bool:
        with self._lock:
            return refresh_token in self._refresh
