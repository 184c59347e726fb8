"""The sandbox's OAuth2 authority: authorization codes, access tokens, single-use refresh tokens.

Codes remember the redirect URI and the scopes the user approved; every pair issued from them grants those
scopes (all of the app's when the authorization asked for none, as FreshBooks grants the app's configured
scopes). `revoke_all` is the user removing the app's access in FreshBooks: every pair stops working."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

APP_SCOPES = ("user:profile:read", "user:clients:read", "user:clients:write", "user:invoices:read",
              "user:invoices:write", "user:billable_items:read", "user:billable_items:write", "user:payments:read",
              "user:payments:write", "user:taxes:read", "user:taxes:write", "user:credit_notes:read",
              "user:credit_notes:write")


@dataclass
class OAuthSettings:
    client_id: str = "sandbox-client-id"
    client_secret: str = "sandbox-client-secret"  # noqa: S105 - the sandbox's published test credential
    access_token_lifetime: int = 12 * 3600
    static_tokens: tuple[str, ...] = ()  # accepted forever, for scripts and the SDK check
    app_name: str = "X-Cart to FreshBooks (sandbox app)"  # shown on the consent page
    scopes: tuple[str, ...] = APP_SCOPES  # what the registered app may ask for


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
            self._codes: dict[str, tuple[str, str]] = {}  # code -> (redirect_uri, scope)
            self._access: dict[str, float] = {}  # token -> expiry (epoch seconds)
            self._refresh: dict[str, str] = {}  # refresh token -> scope
            self.refreshes = 0

    def granted_scopes(self, requested: str) -> list[str]:
        """The scopes an approval grants: those asked for that the app may have, else all the app's."""
        asked = [scope for scope in requested.split() if scope in self.settings.scopes]
        return asked or list(self.settings.scopes)

    def issue_code(self, redirect_uri: str, scope: str = "") -> str:
        code = secrets.token_urlsafe(16)
        with self._lock:
            self._codes[code] = (redirect_uri, " ".join(self.granted_scopes(scope)))
        return code

    def grant(self, form: dict) -> dict:
        if form.get("client_id") != self.settings.client_id or not secrets.compare_digest(
                str(form.get("client_secret", "")), self.settings.client_secret):
            raise OAuthError("invalid_client", "Client authentication failed.", 401)
        grant_type = form.get("grant_type")
        with self._lock:
            if grant_type == "authorization_code":
                redirect_uri, scope = self._codes.pop(str(form.get("code", "")), (None, ""))
                if redirect_uri is None or redirect_uri != form.get("redirect_uri"):
                    raise OAuthError("invalid_grant", "The provided authorization grant is invalid, expired, "
                                                      "revoked, or does not match the redirection URI.")
            elif grant_type == "refresh_token":
                token = str(form.get("refresh_token", ""))
                if token not in self._refresh:
                    raise OAuthError("invalid_grant", "The provided authorization grant is invalid, expired, "
                                                      "revoked, or was issued to another client.")
                scope = self._refresh.pop(token)  # single use
                self.refreshes += 1
            else:
                raise OAuthError("unsupported_grant_type", "The authorization grant type is not supported.")
            return self._issue_pair(scope)

    def _issue_pair(self, scope: str) -> dict:
        now = int(self._clock())
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self._access[access] = now + self.settings.access_token_lifetime
        self._refresh[refresh] = scope
        return {"access_token": access, "token_type": "Bearer", "expires_in": self.settings.access_token_lifetime,
                "refresh_token": refresh, "scope": scope, "created_at": now}

    def revoke_all(self) -> int:
        """The user removed the app's access: every issued pair stops working. Returns how many pairs."""
        with self._lock:
            revoked = len(self._refresh)
            self._access.clear()
            self._refresh.clear()
            self._codes.clear()
        return revoked

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
