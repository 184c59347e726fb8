"""The X-Cart webhook signing secrets: XCART_WEBHOOK_SECRETS from the environment, plus those made with
`xcfb connect webhooks` and kept in its encrypted connection. The connection's document is shaped here
only: {"url": ..., "secrets": [{"secret": ..., "created_at": ...}, newest first], "rotated_at": ...}.

Ingest reads the stored ones through `WebhookSecrets`, which keeps them `ttl` seconds, so a rotation or a
retirement is in force within that delay without a restart."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime

log = logging.getLogger(__name__)

CONNECTION = "webhooks"
SECRET_BYTES = 32  # token_urlsafe(32): 256 random bits, 43 characters


class SecretsUnavailable(RuntimeError):
    """The stored secrets could not be read (database down, key changed) and none were read before."""


def new_document(url: str, now: datetime | None = None) -> dict:
    return add_secret({"url": url, "secrets": []}, now)


def add_secret(document: dict, now: datetime | None = None) -> dict:
    """A copy with a fresh secret first; the older ones stay accepted until `retire_old`."""
    stamp = (now or datetime.now(UTC)).isoformat()
    fresh = {"secret": secrets.token_urlsafe(SECRET_BYTES), "created_at": stamp}
    rotated = {"rotated_at": stamp} if document["secrets"] else {}
    return {**document, **rotated, "secrets": [fresh, *document["secrets"]]}


def retire_old(document: dict) -> tuple[dict, int]:
    """A copy keeping the newest secret only, and how many were dropped."""
    return {**document, "secrets": document["secrets"][:1]}, len(document["secrets"]) - 1


def newest_secret(document: dict) -> str:
    return document["secrets"][0]["secret"]


def stored_secrets(document: dict | None) -> tuple[str, ...]:
    return tuple(entry["secret"] for entry in (document or {}).get("secrets", ()))


class WebhookSecrets:
    """The secrets a signature may match: `environment` (XCART_WEBHOOK_SECRETS, fixed) and `stored()`, re-read
    from the connection at most every `ttl` seconds. Ingest tries the environment's first, so a service
    configured by environment only never reads the database for a webhook. When a re-read fails the last
    ones read stay in use (and it is logged); with none read yet `stored()` raises SecretsUnavailable."""

    def __init__(self, environment: tuple[str, ...], read_document: Callable[[], dict | None], ttl: float,
                 clock: Callable[[], float] = time.monotonic):
        self.environment = environment
        self._read_document = read_document
        self._ttl = ttl
        self._clock = clock
        self._stored: tuple[str, ...] | None = None
        self._read_at = 0.0

    def __repr__(self) -> str:
        return "WebhookSecrets(<secret>)"

    def stored(self) -> tuple[str, ...]:
        now = self._clock()
        if self._stored is None or now - self._read_at >= self._ttl:
            try:
                self._stored = stored_secrets(self._read_document())
            except Exception as exc:  # noqa: BLE001 - database or key trouble: keep the last known, else say so
                if self._stored is None:
                    raise SecretsUnavailable(f"the stored webhook secrets cannot be read: {type(exc).__name__}") \
                        from None
                log.warning("the stored webhook secrets cannot be re-read (%s); the last ones read stay in use",
                            type(exc).__name__)
            self._read_at = now
        return self._stored
