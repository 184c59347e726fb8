"""Alerts for the engineer on call: a log line at ERROR, a POST to XCFB_ALERT_WEBHOOK_URL when set, and
a Redis key while the alert is active (shown by /metrics as xcfb_alerts_active)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import requests

from . import redis_keys

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


def _notify(url: str | None, body: dict) -> None:
    if not url:
        return
    try:
        requests.post(url, json={**body, "at": datetime.now(UTC).isoformat()}, timeout=5)
    except requests.RequestException as exc:
        log.warning("alert webhook unreachable: %s", type(exc).__name__)
