"""The Procfile's web process: gunicorn serving ingest.wsgi:app, as production runs it."""

import hashlib
import hmac
import json
import os
import sys
import time

import requests

from tests.e2e.processes import free_port, start, stop


def test_gunicorn_serves_the_ingest_endpoint(tmp_path, redis_url, database_url, redis_client, sessions):
    redis_client.delete("xcfb")
    port = free_port()
    env = {**os.environ, "XCFB_HOME": str(tmp_path), "REDIS_URL": redis_url, "DATABASE_URL": database_url,
           "XCART_WEBHOOK_SECRETS": "whsec_web", "XCFB_METRICS_TOKEN": "scrape"}
    process = start([sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
                     "ingest.wsgi:app"], f"http://127.0.0.1:{port}/healthz", env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        assert requests.get(f"{base}/readyz", timeout=5).json()["status"] == "ready"
        body = json.dumps({"id": "evt_web_1", "type": "product.created", "created_at": "2026-11-26T10:00:00Z",
                           "store": "s", "data": {"product_id": 1}}).encode()
        t = int(time.time())
        mac = hmac.new(b"whsec_web", f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        headers = {"X-XCart-Signature": f"t={t},v1={mac}", "Content-Type": "application/json"}
        assert requests.post(f"{base}/webhooks/xcart", data=body, headers=headers, timeout=5).status_code == 202
        assert requests.post(f"{base}/webhooks/xcart", data=body, headers=headers, timeout=5).status_code == 200
        assert redis_client.llen("xcfb") == 1  # queued once, for the workers
        metrics = requests.get(f"{base}/metrics", headers={"Authorization": "Bearer scrape"}, timeout=5).text
        assert 'xcfb_webhooks_total{outcome="accepted"} 1.0' in metrics  # counted across gunicorn workers
        assert 'xcfb_webhooks_total{outcome="duplicate"} 1.0' in metrics
    finally:
        stop(process)
        redis_client.delete("xcfb")
