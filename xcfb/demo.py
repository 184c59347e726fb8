"""`xcfb demo`: the whole pipeline on one machine with nothing installed or running.

Starts the embedded Redis and SQLite (or uses REDIS_URL / DATABASE_URL), the FreshBooks sandbox, the
X-Cart store simulator, the ingest endpoint and a Celery worker; sends a few hundred orders as signed
webhooks, with duplicates, reordering, a rate-limit burst, ghost creates and some invalid payloads;
shows progress; prints a summary; exits 1 if any order was lost or booked twice."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from statistics import quantiles

from ingest.app import create_app as create_ingest
from sandboxes.books_check import check_books
from sandboxes.freshbooks.app import SandboxConfig, sandbox_of
from sandboxes.freshbooks.app import create_app as create_freshbooks
from sandboxes.freshbooks.oauth import OAuthSettings
from sandboxes.serve import BackgroundServer
from sandboxes.xcart.store import SimulatedStore, StoreConfig
from sandboxes.xcart.webhooks import DeliveryOptions, WebhookSender
from store import ledger

from . import bootstrap, metrics
from .bootstrap import Services
from .embedded import stop_embedded_redis
from .settings import Settings

DEMO_TOKEN = "demo-access-token"  # noqa: S105 - accepted by the demo's own FreshBooks sandbox only
INVALID = 6
BURST_SECONDS = 10


def run(orders: int = 300, seed: int = 1, timeout: float = 300) -> int:
    home = Path(os.environ.get("XCFB_HOME", "var")).resolve() / "demo"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    os.environ["XCFB_HOME"] = str(home)  # before celeryconfig is read: one embedded Redis for every part
    secret = secrets.token_hex(16)
    freshbooks = BackgroundServer(create_freshbooks(SandboxConfig(oauth=OAuthSettings(static_tokens=(DEMO_TOKEN,)))))
    settings = replace(Settings.from_env(), home=home, freshbooks_api_url=freshbooks.url,
                       freshbooks_account_id="SANDBOX1", freshbooks_access_token=DEMO_TOKEN,
                       xcart_webhook_secrets=(secret,), retry_base_seconds=0.2, retry_cap_seconds=5.0, max_retries=30)
    services = Services(settings)
    bootstrap.use(services)
    _say(f"Redis: {'REDIS_URL' if settings.redis_url else 'embedded redis-server under ' + str(home)}; database: "
         f"{'DATABASE_URL' if settings.database_url else 'SQLite under ' + str(home)}")
    services.redis.delete(metrics.COUNTERS)
    _ = services.sessions  # migrates the database before anything runs
    worker = _start_worker(settings)
    from workers.app import app as celery_app

    celery_app.conf.broker_url = bootstrap.broker_url(settings)
    ingest = BackgroundServer(create_ingest(services, lambda name, args: celery_app.send_task(name, args=args)))
    freshbooks.start()
    ingest.start()
    try:
        return _run(services, sandbox_of(freshbooks.app), f"{ingest.url}/webhooks/xcart", secret, orders, seed,
                    timeout)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        ingest.stop()
        freshbooks.stop()
        bootstrap.use(None)
        if not settings.redis_url:
            stop_embedded_redis(home)


def _run(services: Services, sandbox, target: str, secret: str, orders: int, seed: int, timeout: float) -> int:
    store = SimulatedStore(StoreConfig(seed=seed, customers=40, products=25))
    events = list(store.events) + store.place_orders(orders)
    broken = _invalid_copies(events, INVALID)
    sandbox.faults.configure({"rate_limit": 40, "rate_window": 1, "ghost_creates": 5, "ghost_mode": "error"})
    burst_over = threading.Timer(BURST_SECONDS, sandbox.faults.configure, args=({"rate_limit": None},))
    burst_over.daemon = True
    burst_over.start()
    _say(f"store: {len(store.orders)} orders, {len(store.profiles)} customers, {len(store.products)} products; "
         f"{len(events)} events + {len(broken)} invalid; FreshBooks sandbox: 40 requests/s for the first "
         f"{BURST_SECONDS}s, 5 ghost creates")
    sender = WebhookSender(target, [secret], DeliveryOptions(duplicate_rate=0.1, reorder_window=10), seed=seed)
    started = time.monotonic()
    delivery = threading.Thread(target=sender.deliver_all, args=(events + broken,), daemon=True)
    delivery.start()
    settled = _watch(services, sender, delivery, len(events) + len(broken), started, timeout, sandbox)
    return _summary(services, sandbox, store, sender, settled, time.monotonic() - started)


def _invalid_copies(events: list[dict], count: int) -> list[dict]:
    """Order events with a broken field each, as a faulty store add-on would send them."""
    breakages = [("total", "12,50"), ("currency", "EURO"), ("email", "not-an-email"), ("items", []),
                 ("create_date", "yesterday"), ("payment_status", 42)]
    orders = [e for e in events if e["type"] == "order.created"][:count]
    broken = []
    for n, (event, (field, value)) in enumerate(zip(orders, breakages, strict=False)):
        copy = json.loads(json.dumps(event, default=str))
        copy["id"] = f"{event['id']}-broken-{n}"
        copy["data"][field] = value
        broken.append(copy)
    return broken


def _watch(services, sender, delivery, total, started, timeout, sandbox) -> bool:
    sessions = services.sessions
    while True:
        time.sleep(1)
        counts = ledger.counts_by_status(sessions)
        report = sender.report()
        unique = report["delivered"] - report["answers"].get(200, 0)
        open_work = counts.get("received", 0) + counts.get("processing", 0)
        _say(f"{time.monotonic() - started:5.0f}s  sent {unique:>4}/{total} (+{report['duplicates_sent']}"
             f" duplicates)  synced {counts.get('synced', 0):>4}  review {counts.get('review', 0):>3}  "
             f"dead {counts.get('dead', 0):>3}  in flight {open_work:>3}  invoices {sandbox.books.counts()['invoice']}")
        if not delivery.is_alive() and open_work == 0:
            return True
        if time.monotonic() - started > timeout:
            return False


def _summary(services, sandbox, store, sender, settled: bool, elapsed: float) -> int:
    sessions = services.sessions
    books = check_books(store, sandbox, services.rules)
    counts = ledger.counts_by_status(sessions)
    letters = ledger.dead_letter_counts(sessions)
    retries = sum(int(v) for k, v in services.redis.hgetall(metrics.COUNTERS).items()
                  if k.decode().startswith("retries|"))
    latencies = sorted(ledger.latencies(sessions, limit=100_000))
    objects = sandbox.books.counts()
    report = sender.report()
    p50, p95 = (quantiles(latencies, n=100)[49], quantiles(latencies, n=100)[94]) if len(latencies) > 1 else (0, 0)
    lines = [
        "",
        f"Summary after {elapsed:.1f}s{'' if settled else ' (TIMED OUT: events still in flight)'}",
        f"  webhooks delivered      {report['delivered']} ({report['duplicates_sent']} duplicates answered 200)",
        f"  events                  {sum(counts.values())}: " + _by_status(counts),
        f"  orders to book          {books.orders}",
        f"  invoices in FreshBooks  {objects['invoice']} (lost {len(books.lost)}, booked twice {len(books.duplicates)},"
        f" wrong totals {len(books.wrong_totals)}, wrong payments {len(books.wrong_payments)})",
        f"  clients / items         {objects['client']} / {objects['item']}",
        f"  payments                {objects['payment']}",
        "  dead letters            " + (", ".join(f"{kind} {n}" for (kind, status), n in sorted(letters.items())
                                              if status == "open") or "none"),
        f"  retries                 {retries} (FreshBooks answered 429 {sandbox.faults.injected['rate_limited']} "
        f"times; {sandbox.faults.injected['ghost']} ghost creates)",
        f"  end-to-end latency      p50 {p50:.2f}s, p95 {p95:.2f}s (webhook received -> synced)",
        "",
        f"Look closer: export XCFB_HOME={services.settings.home}; then xcfb dlq list, xcfb dlq show ID, "
        "xcfb events show ORDER_NUMBER",
    ]
    print("\n".join(lines))
    ok = settled and books.correct
    print("RESULT: every order booked exactly once" if ok else f"RESULT: FAILED {books}")
    return 0 if ok else 1


def _by_status(counts: dict[str, int]) -> str:
    return ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))


def _start_worker(settings: Settings) -> subprocess.Popen:
    env = {**os.environ, "XCFB_HOME": str(settings.home), "FRESHBOOKS_API_URL": settings.freshbooks_api_url,
           "FRESHBOOKS_ACCOUNT_ID": "SANDBOX1", "FRESHBOOKS_ACCESS_TOKEN": DEMO_TOKEN,
           "XCFB_RETRY_BASE_SECONDS": str(settings.retry_base_seconds),
           "XCFB_RETRY_CAP_SECONDS": str(settings.retry_cap_seconds), "XCFB_MAX_RETRIES": str(settings.max_retries)}
    log = open(settings.home / "worker.log", "w")  # noqa: SIM115 - closed with the process
    _say(f"worker: celery -A workers worker (log in {settings.home / 'worker.log'})")
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", "workers", "worker", "--pool", "threads",
                             "--concurrency", "8", "--loglevel", "INFO", "--without-gossip", "--without-mingle"],
                            env=env, stdout=log, stderr=subprocess.STDOUT)


def _say(text: str) -> None:
    print(text, flush=True)
