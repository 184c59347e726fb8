"""Configuration, from the environment only. Unset means the embedded defaults: SQLite and an embedded
Redis under XCFB_HOME (./var), the FreshBooks sandbox's published credentials nowhere: secrets must be set."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _list(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=lambda: Path("var").resolve())
    redis_url: str | None = None  # None: the embedded redis-server under `home`
    database_url: str | None = None  # None: SQLite under `home`
    freshbooks_api_url: str = "https://api.freshbooks.com"
    freshbooks_account_id: str | None = None
    freshbooks_access_token: str | None = field(default=None, repr=False)  # a fixed token (sandbox, scripts)
    freshbooks_client_id: str | None = None
    freshbooks_client_secret: str | None = field(default=None, repr=False)
    freshbooks_redirect_uri: str | None = None
    token_key: str | None = field(default=None, repr=False)  # Fernet key for OAuth tokens at rest
    xcart_webhook_secrets: tuple[str, ...] = field(default=(), repr=False)
    xcart_api_url: str | None = None
    xcart_api_token: str | None = field(default=None, repr=False)
    rules_path: Path | None = None
    dedupe_ttl_seconds: int = 7 * 24 * 3600
    max_body_bytes: int = 1024 * 1024
    signature_tolerance_seconds: int = 300
    max_retries: int = 8
    retry_base_seconds: float = 2.0
    retry_cap_seconds: float = 300.0  # well below the broker's visibility timeout (celeryconfig.py)
    alert_webhook_url: str | None = None
    metrics_token: str | None = field(default=None, repr=False)  # bearer token Prometheus scrapes /metrics with
    outage_alert_seconds: float = 120.0  # FreshBooks unreachable this long raises an alert
    visibility_timeout: int = 3600  # the broker redelivers a task unacknowledged this long
    stuck_after_seconds: int = 3600  # beat re-runs events unfinished this long after arrival
    requeue_interval: float = 60.0  # how often beat looks for such events
    max_requeues: int = 3  # re-runs of a stuck event before it becomes a `stuck` dead letter
    catch_up_interval: float = 300.0  # seconds between X-Cart polls (catch-up sync)
    catch_up_overlap: float = 600.0  # each poll looks this far behind its checkpoint
    catch_up_start: float = 86400.0  # how far back the very first poll looks
    store_id: str = "xcart"

    def __post_init__(self):
        if self.retry_cap_seconds >= self.visibility_timeout:
            raise ValueError("XCFB_RETRY_CAP_SECONDS must be below XCFB_VISIBILITY_TIMEOUT, or a task waiting "
                             "for its retry is delivered twice")

    @classmethod
    def from_env(cls, env: dict | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            home=Path(env.get("XCFB_HOME", "var")).resolve(),
            redis_url=env.get("REDIS_URL") or None,
            database_url=env.get("DATABASE_URL") or None,
            freshbooks_api_url=(env.get("FRESHBOOKS_API_URL") or "https://api.freshbooks.com").rstrip("/"),
            freshbooks_account_id=env.get("FRESHBOOKS_ACCOUNT_ID") or None,
            freshbooks_access_token=env.get("FRESHBOOKS_ACCESS_TOKEN") or None,
            freshbooks_client_id=env.get("FRESHBOOKS_CLIENT_ID") or None,
            freshbooks_client_secret=env.get("FRESHBOOKS_CLIENT_SECRET") or None,
            freshbooks_redirect_uri=env.get("FRESHBOOKS_REDIRECT_URI") or None,
            token_key=env.get("XCFB_TOKEN_KEY") or None,
            xcart_webhook_secrets=_list(env.get("XCART_WEBHOOK_SECRETS")),
            xcart_api_url=env.get("XCART_API_URL") or None,
            xcart_api_token=env.get("XCART_API_TOKEN") or None,
            rules_path=Path(env["XCFB_RULES"]) if env.get("XCFB_RULES") else None,
            max_retries=int(env.get("XCFB_MAX_RETRIES", 8)),
            retry_base_seconds=float(env.get("XCFB_RETRY_BASE_SECONDS", 2.0)),
            retry_cap_seconds=float(env.get("XCFB_RETRY_CAP_SECONDS", 300.0)),
            alert_webhook_url=env.get("XCFB_ALERT_WEBHOOK_URL") or None,
            metrics_token=env.get("XCFB_METRICS_TOKEN") or None,
            outage_alert_seconds=float(env.get("XCFB_OUTAGE_ALERT_SECONDS", 120)),
            visibility_timeout=int(env.get("XCFB_VISIBILITY_TIMEOUT", 3600)),
            stuck_after_seconds=int(env.get("XCFB_STUCK_AFTER_SECONDS", 3600)),
            requeue_interval=float(env.get("XCFB_REQUEUE_INTERVAL", 60)),
            max_requeues=int(env.get("XCFB_MAX_REQUEUES", 3)),
            catch_up_interval=float(env.get("XCFB_CATCH_UP_INTERVAL", 300)),
            catch_up_overlap=float(env.get("XCFB_CATCH_UP_OVERLAP", 600)),
            catch_up_start=float(env.get("XCFB_CATCH_UP_START", 86400)),
            store_id=env.get("XCART_STORE_ID", "xcart"),
        )
