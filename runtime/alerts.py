"""Alerts for the engineer on call: a log line at ERROR, a POST to XCFB_ALERT_WEBHOOK_URL when set, and
a Redis key while the alert is active (shown by /metrics as xcfb_alerts_active)."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import redis
import requests

from apis.freshbooks.errors import AuthFailed
from core import redis_keys

log = logging.getLogger("xcfb.alerts")


def raise_alert(services, key: str, message: str) -> None:
    first = services.redis.set(redis_keys.ALERT.format(key=key), message, nx=True)
    log.error("ALERT %s: %s", key, message)
    if first:
        _notify(services.settings.alert_webhook_url, {"alert": key, "state": "raised", "message": message})


def clear_alert(services, key: str, message: str = "recovered") -> None:
    if services.redis.delete(redis_keys.ALERT.format(key=key)):
        log.warning("ALERT %s cleared: %s", key, message)
        _notify(services.settings.alert_webhook_url, {"alert": key, "state": "cleared", "message": message})


class OutageTracker:
    """Raises an alert when a service has been unreachable for longer than the threshold, and clears it
    when a request gets through again. The start of the outage is kept in Redis, shared by all workers."""

    def __init__(self, services, service: str, threshold: float):
        self._services = services
        self._service = service
        self._threshold = threshold
        self._since_key = redis_keys.OUTAGE_SINCE.format(service=service)
        self._alert = f"{service}-unavailable"

    def __call__(self, error: Exception | None) -> None:
        try:
            if error is None or isinstance(error, AuthFailed):  # a refusal is an answer: the service is there
                self._reachable()
            else:
                self._unreachable(error)
        except redis.RedisError as exc:  # tracking outages must not add one
            log.warning("outage tracking failed: %s", type(exc).__name__)

    def _reachable(self) -> None:
        if self._services.redis.delete(self._since_key):
            clear_alert(self._services, self._alert, f"{self._service} answers again")

    def _unreachable(self, error: Exception) -> None:
        r = self._services.redis
        r.set(self._since_key, time.time(), nx=True)
        elapsed = time.time() - float(r.get(self._since_key) or time.time())
        if elapsed >= self._threshold and not r.exists(redis_keys.ALERT.format(key=self._alert)):
            raise_alert(self._services, self._alert,
                        f"{self._service} unreachable for {elapsed:.0f}s; last error: {error}")


class AuthWatch:
    """The `freshbooks-auth` alert follows FreshBooks' answers: raised when it refuses the token (a revoked or
    refused authorization; the workers raise it too when a refresh fails), cleared when a request is accepted
    again. Each accepted request is also the connection's "last successful call" (`xcfb connect status`)."""

    ALERT = "freshbooks-auth"

    def __init__(self, services):
        self._services = services

    def __call__(self, error: Exception | None) -> None:
        try:
            if error is None:
                self._services.redis.set(redis_keys.FRESHBOOKS_LAST_SUCCESS, time.time())
                clear_alert(self._services, self.ALERT, "FreshBooks accepts the service's requests again")
            elif isinstance(error, AuthFailed):
                raise_alert(self._services, self.ALERT, str(error))
        except redis.RedisError as exc:  # watching must not fail the request
            log.warning("auth watch failed: %s", type(exc).__name__)


def last_success(services) -> datetime | None:
    stamp = services.redis.get(redis_keys.FRESHBOOKS_LAST_SUCCESS)
    return datetime.fromtimestamp(float(stamp), UTC) if stamp else None


def _notify(url: str | None, body: dict) -> None:
    if not url:
        return
    try:
        requests.post(url, json={**body, "at": datetime.now(UTC).isoformat()}, timeout=5)
    except requests.RequestException as exc:
        log.warning("alert webhook unreachable: %s", type(exc).__name__)
