"""Alerts for the engineer on call: a log line at ERROR, a POST to XCFB_ALERT_WEBHOOK_URL when set, and
a Redis key while the alert is active (shown by /metrics as xcfb_alerts_active)."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import redis
import requests

from apis.freshbooks.errors import AuthFailed
from core import redis_keys, turns

log = logging.getLogger("xcfb.alerts")


def raise_alert(services, key: str, message: str) -> None:
    first = services.redis.set(redis_keys.ALERT.format(key=key), message, nx=True)
    log.error("ALERT %s: %s", key, message)
    if first:
        _notify(services.settings.alert_webhook_url, {"alert": key, "state": "raised", "message": message})


def clear_alert(services, key: str, message: str = "recovered") -> None:
    if services.redis.delete(redis_keys.ALERT.format(key=key)):
        _announce_cleared(services, key, message)


def _announce_cleared(services, key: str, message: str) -> None:
    log.warning("ALERT %s cleared: %s", key, message)
    _notify(services.settings.alert_webhook_url, {"alert": key, "state": "cleared", "message": message})


class OutageTracker:
    """Raises an alert when a service has been unreachable for longer than the threshold. The start of the outage
    is kept in Redis, shared by all workers; an answer ends it and clears the alert (FreshBooksWatch clears them
    for an accepted request)."""

    def __init__(self, services, service: str, threshold: float):
        self._services = services
        self._service = service
        self._threshold = threshold
        self.since_key = redis_keys.OUTAGE_SINCE.format(service=service)
        self.alert, self.recovered = f"{service}-unavailable", f"{service} answers again"

    def __call__(self, error: Exception) -> None:
        try:
            if isinstance(error, AuthFailed):  # a refusal is an answer: the service is there
                self._reachable()
            else:
                self._unreachable(error)
        except redis.RedisError as exc:  # tracking outages must not add one
            log.warning("outage tracking failed: %s", type(exc).__name__)

    def _reachable(self) -> None:
        if self._services.redis.delete(self.since_key):
            clear_alert(self._services, self.alert, self.recovered)

    def _unreachable(self, error: Exception) -> None:
        r = self._services.redis
        r.set(self.since_key, time.time(), nx=True)
        elapsed = time.time() - float(r.get(self.since_key) or time.time())
        if elapsed >= self._threshold and not r.exists(redis_keys.ALERT.format(key=self.alert)):
            raise_alert(self._services, self.alert,
                        f"{self._service} unreachable for {elapsed:.0f}s; last error: {error}")


class FreshBooksWatch:
    """Every FreshBooks answer, for two alerts: the outage (OutageTracker) and `freshbooks-auth`, raised when
    FreshBooks refuses the token (a revoked or refused authorization; the workers raise it too when a refresh
    fails) and cleared when a request is accepted again. Each accepted request is also the connection's "last
    successful call" (`xcfb connect status`). An accepted request, nearly every one, costs one Redis round trip:
    the outage's start and the auth alert deleted and the last success stamped together; the logs and webhooks of
    a cleared alert follow only when one was there."""

    AUTH_ALERT, AUTH_RECOVERED = "freshbooks-auth", "FreshBooks accepts the service's requests again"

    def __init__(self, services, threshold: float):
        self._services = services
        self._outage = OutageTracker(services, "freshbooks", threshold)

    def __call__(self, error: Exception | None) -> None:
        if error is not None:
            self._outage(error)
        try:
            if error is None:
                self._accepted()
            elif isinstance(error, AuthFailed):
                raise_alert(self._services, self.AUTH_ALERT, str(error))
        except redis.RedisError as exc:  # watching must not fail the request
            log.warning("FreshBooks watch failed: %s", type(exc).__name__)

    def _accepted(self) -> None:
        """Each command's answer on its own: Redis refusing one (the stamp, when out of memory) still runs the
        others, and a deleted alert must then still be announced and the outage's alert cleared."""
        outage = self._outage
        pipe = self._services.redis.pipeline(transaction=False)
        pipe.delete(outage.since_key)
        pipe.set(redis_keys.FRESHBOOKS_LAST_SUCCESS, time.time())
        pipe.delete(redis_keys.ALERT.format(key=self.AUTH_ALERT))
        outage_ended, stamped, auth_cleared = pipe.execute(raise_on_error=False)
        if _deleted(outage_ended):
            clear_alert(self._services, outage.alert, outage.recovered)
        if _deleted(auth_cleared):
            _announce_cleared(self._services, self.AUTH_ALERT, self.AUTH_RECOVERED)
        for answer in (outage_ended, stamped, auth_cleared):
            if isinstance(answer, Exception):
                log.warning("FreshBooks watch: Redis refused a write (%s)", type(answer).__name__)


def _deleted(answer) -> bool:
    return not isinstance(answer, Exception) and answer > 0


def last_success(services) -> datetime | None:
    stamp = services.redis.get(redis_keys.FRESHBOOKS_LAST_SUCCESS)
    return datetime.fromtimestamp(float(stamp), UTC) if stamp else None


def _notify(url: str | None, body: dict) -> None:
    if not url:
        return
    try:
        with turns.waiting():  # a worker's other tasks go on meanwhile (core/turns.py)
            requests.post(url, json={**body, "at": datetime.now(UTC).isoformat()}, timeout=5)
    except requests.RequestException as exc:
        log.warning("alert webhook unreachable: %s", type(exc).__name__)
