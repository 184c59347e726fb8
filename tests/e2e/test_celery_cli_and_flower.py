"""The operator's tools as separate processes: a worker started with `celery -A workers worker`, one
step re-run with `celery -A workers call`, and `celery -A workers flower` watching them."""

import os
import subprocess
import sys
import time
from datetime import UTC, datetime

import requests

from harness.stage import QUEUE_KEYS
from mappings import jsonio
from runtime import metrics
from sandboxes.xcart.generator import OrderOptions, StoreGenerator
from store import binder, snapshots
from store.db import make_engine, migrate, session_factory
from tests.e2e.processes import ROOT, free_port, start, stop

CELERY = [sys.executable, "-m", "celery", "-A", "workers"]


def service_env(tmp_path, redis_url, database_url, fb_url):
    return {**os.environ, "XCFB_HOME": str(tmp_path), "REDIS_URL": redis_url, "DATABASE_URL": database_url,
            "FRESHBOOKS_API_URL": fb_url, "FRESHBOOKS_ACCOUNT_ID": "SANDBOX1",
            "FRESHBOOKS_ACCESS_TOKEN": "sandbox-test-token", "XCFB_RETRY_BASE_SECONDS": "0.1"}


def counted(redis_client, field: str) -> int:
    return int(redis_client.hget(metrics.COUNTERS, field) or 0)


def wait_for_count(redis_client, field: str, expected: int, log, timeout: float = 60) -> None:
    """Until the workers counted the outcome (guarded counts every step run that ends)."""
    deadline = time.monotonic() + timeout
    while counted(redis_client, field) < expected:
        assert time.monotonic() < deadline, f"{field} never reached {expected}: " + log.read_text()[-3000:]
        time.sleep(0.1)


def test_one_step_rerun_from_the_celery_cli_and_flower(tmp_path, redis_url, database_url, redis_client, sessions,
                                                       fb_server, fb_sandbox):
    env = service_env(tmp_path, redis_url, database_url, fb_server.url)
    for key in QUEUE_KEYS:
        redis_client.delete(key)

    generator = StoreGenerator(seed=12)
    placed = datetime(2026, 11, 26, tzinfo=UTC)
    payload = generator.order(4242, generator.customers(1)[0], generator.products(3), placed,
                              OrderOptions(currency="USD", tax=None, coupon=None, volume_discount=False))
    payload["payment_status"] = {"id": 1, "code": "Q", "name": "Awaiting payment"}
    order_sessions = session_factory(make_engine(database_url))
    migrate(order_sessions.kw["bind"])
    snapshots.keep_order_if_newer(order_sessions, payload["id"], "4242", placed, jsonio.dumps(payload))

    worker = subprocess.Popen([*CELERY, "worker", "--pool", "threads", "--concurrency", "2", "--loglevel", "INFO",
                               "--without-gossip", "--without-mingle"], env=env, cwd=ROOT,
                              stdout=open(tmp_path / "worker.log", "w"), stderr=subprocess.STDOUT)
    flower_port = free_port()
    flower = start([*CELERY, "flower", f"--port={flower_port}", "--address=127.0.0.1"],
                   f"http://127.0.0.1:{flower_port}/healthcheck", timeout=30)
    try:
        called = subprocess.run([*CELERY, "call", "xcfb.create_invoice", "--args", f"[{payload['id']}]"], env=env,
                                cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert called.returncode == 0, called.stderr
        deadline = time.monotonic() + 60
        while binder.bound_id(order_sessions, "invoice", str(payload["id"])) is None:
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-3000:]
            time.sleep(0.2)
        invoices = [i for i in fb_sandbox.books.all("invoice") if i["invoice_number"] == "4242"]
        assert len(invoices) == 1 and invoices[0]["amount"]["amount"] == str(payload["total"])

        # run again: the step is idempotent, nothing is booked twice
        again = subprocess.run([*CELERY, "call", "xcfb.create_invoice", "--args", f"[{payload['id']}]"], env=env,
                               cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert again.returncode == 0
        wait_for_count(redis_client, "tasks|outcome=done,task=xcfb.create_invoice", 2, tmp_path / "worker.log")
        assert len([i for i in fb_sandbox.books.all("invoice") if i["invoice_number"] == "4242"]) == 1

        # an order never received, an event never recorded: each fails at once with the reason, no retry
        for task, args, reason in (
                ("xcfb.create_invoice", "[999999]", "OrderNeverReceived: order 999999 has never been received"),
                ("xcfb.handle_event", '["no-such-event"]', "UnknownEvent: no event 'no-such-event' has been recorded")):
            sent = subprocess.run([*CELERY, "call", task, "--args", args], env=env, cwd=ROOT, capture_output=True,
                                  text=True, timeout=60)
            assert sent.returncode == 0, sent.stderr
            wait_for_count(redis_client, f"tasks|outcome=failed,task={task}", 1, tmp_path / "worker.log")
            assert reason in (tmp_path / "worker.log").read_text()
            assert not [k for k in redis_client.hkeys(metrics.COUNTERS) if k.decode().startswith("retries|")]

        assert requests.get(f"http://127.0.0.1:{flower_port}/healthcheck", timeout=5).text == "OK"
        page = requests.get(f"http://127.0.0.1:{flower_port}/tasks", timeout=5)
        assert page.status_code == 200 and "Flower" in page.text
    finally:
        stop(flower)
        worker.terminate()
        worker.wait(timeout=30)
