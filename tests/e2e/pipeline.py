"""The whole service in one test process: ingest over HTTP, the real broker, a real Celery worker, the
FreshBooks sandbox, and the store simulator sending signed webhooks."""

from __future__ import annotations

import time
from dataclasses import dataclass

from celery.contrib.testing.worker import start_worker

from apis.freshbooks.client import FreshBooksClient
from core.settings import Settings
from harness.stage import QUEUE_KEYS, use_broker
from ingest.app import create_app as create_ingest
from runtime import bootstrap
from runtime.bootstrap import Services
from sandboxes.serve import BackgroundServer
from sandboxes.xcart.app import create_app as create_store
from sandboxes.xcart.app import store_of
from sandboxes.xcart.store import StoreConfig
from sandboxes.xcart.webhooks import DeliveryOptions, WebhookSender
from store import ledger
from workers.app import app as celery_app

SECRET = "whsec_e2e"


@dataclass
class Pipeline:
    services: Services
    ingest_url: str
    freshbooks: FreshBooksClient

    def sender(self, **options) -> WebhookSender:
        return WebhookSender(f"{self.ingest_url}/webhooks/xcart", [SECRET], DeliveryOptions(backoff=0.05, **options))

    def settle(self, timeout: float = 60) -> dict[str, int]:
        """Waits until no event is received or processing any more; returns the counts by status."""
        deadline = time.monotonic() + timeout
        while True:
            counts = ledger.counts_by_status(self.services.sessions)
            if counts and not counts.get("received") and not counts.get("processing"):
                time.sleep(0.3)  # a chain may still be finishing its last step
                again = ledger.counts_by_status(self.services.sessions)
                if again == counts:
                    return counts
            if time.monotonic() > deadline:
                raise AssertionError(f"events did not settle: {counts}")
            time.sleep(0.1)


def settings_for(tmp_path, redis_url, database_url, fb_url, **overrides) -> Settings:
    return Settings(home=tmp_path, redis_url=redis_url, database_url=database_url,
                    freshbooks_api_url=fb_url, freshbooks_account_id="SANDBOX1",
                    freshbooks_access_token="sandbox-test-token", xcart_webhook_secrets=(SECRET,),
                    max_retries=6, retry_base_seconds=0.05, retry_cap_seconds=1.0).replace(**overrides)


def run_pipeline(settings: Settings, redis_client):
    for key in QUEUE_KEYS:
        redis_client.delete(key)
    services = Services(settings)
    bootstrap.use(services)
    use_broker(celery_app, bootstrap.broker_url(settings))
    ingest = BackgroundServer(create_ingest(services))
    worker = start_worker(celery_app, pool="threads", concurrency=4, perform_ping_check=False, shutdown_timeout=30)
    return services, ingest, worker


def simulated_store(seed: int = 11, **config) -> tuple:
    app = create_store(StoreConfig(seed=seed, **{"customers": 12, "products": 10, **config}))
    return app, store_of(app)
