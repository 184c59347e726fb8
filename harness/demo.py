"""`xcfb demo`: the whole pipeline on one machine with nothing installed or running.

Starts the embedded Redis and SQLite (or uses REDIS_URL / DATABASE_URL), the FreshBooks sandbox, the
X-Cart store simulator, the ingest endpoint and a Celery worker; sends a few hundred orders as signed
webhooks, with duplicates, reordering, a rate-limit burst, ghost creates and some invalid payloads;
shows progress; prints a summary; exits 1 if any order was lost or booked twice."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from statistics import quantiles

from core.settings import SettingsError
from harness import two_way_demo
from harness.stage import Interrupted, Stage, stopping_on_signals
from mappings.xcart.fields import FlexibleDateTime
from runtime.bootstrap import BrokerUnusable
from store import assistants, ledger
from workers.reconcile import reconcile

INVALID = 6
BURST_SECONDS = 10
TUNING = {"retry_base_seconds": 0.2, "retry_cap_seconds": 5.0, "max_retries": 30}
ANOMALIES = 0.03  # share of orders with a labelled anomaly, once the store has a history (half the orders)


def run(orders: int = 300, seed: int = 1, timeout: float = 300) -> int:
    home = Path(os.environ.get("XCFB_HOME", "var")).resolve() / "demo"
    try:
        stage = Stage(home, seed=seed, customers=40, products=25, tuning=TUNING, anomalies=ANOMALIES,
                      anomalies_after=max(orders // 2, 60))
    except SettingsError as exc:
        print(f"xcfb demo: {exc}", file=sys.stderr, flush=True)
        return 2
    s = stage.settings
    _say(f"Redis: {'REDIS_URL' if s.redis_url else 'embedded redis-server under ' + str(home)}; database: "
         f"{'DATABASE_URL' if s.database_url else 'SQLite under ' + str(home)}; worker log: {home / 'worker0.log'}")
    try:
        with stopping_on_signals(), stage:
            return _run(stage, orders, timeout)
    except BrokerUnusable as exc:
        print(f"xcfb demo: {exc}", file=sys.stderr, flush=True)
        return 2
    except Interrupted as exc:
        print(f"xcfb demo: stopped by {exc}; its workers and servers are stopped", file=sys.stderr, flush=True)
        return 128 + exc.signum


def _run(stage: Stage, orders: int, timeout: float) -> int:
    store, sandbox = stage.store, stage.sandbox
    two_way_demo.subscribe(stage)  # FreshBooks tells us of client and item changes, ours included
    events = stage.events(orders)
    broken = _invalid_copies(events, INVALID)
    sandbox.faults.configure({"rate_limit": 40, "rate_window": 1, "ghost_creates": 5, "ghost_mode": "error"})
    burst_over = threading.Timer(BURST_SECONDS, sandbox.faults.configure, args=({"rate_limit": None},))
    burst_over.daemon = True
    burst_over.start()
    _say(f"store: {len(store.orders)} orders, {len(store.profiles)} customers, {len(store.products)} products; "
         f"{len(events)} events + {len(broken)} invalid; FreshBooks sandbox: 40 requests/s for the first "
         f"{BURST_SECONDS}s, 5 ghost creates")
    sender = stage.sender(duplicate_rate=0.1, reorder_window=10)
    started = time.monotonic()
    delivery = threading.Thread(target=sender.deliver_all, args=(events + broken,), daemon=True)
    delivery.start()
    # People edit clients and items on both sides while the orders are being booked, from when enough are bound.
    people = two_way_demo.People(stage, say=_say, in_flight=lambda: stage.unfinished(sender))
    people.start()
    settled = _watch(stage, sender, delivery, len(events) + len(broken), started, timeout)
    two_way = _both_sides(stage, people) if settled else None
    return _summary(stage, sender, settled, time.monotonic() - started, two_way)


def _both_sides(stage: Stage, people: two_way_demo.People) -> two_way_demo.TwoWayReport:
    """Both systems must end agreeing once every change, the people's and the orders', has settled."""
    edits = people.finish()  # a demo too small to still be booking orders once clients are bound edits now
    two_way_demo.wait_quiet(stage)
    return two_way_demo.measure(stage, edits)


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


def _watch(stage: Stage, sender, delivery, total, started, timeout) -> bool:
    sessions, sandbox = stage.services.sessions, stage.sandbox
    while True:
        time.sleep(1)
        counts = ledger.counts_by_status(sessions)
        report = sender.report()
        unique = report["delivered"] - report["answers"].get(200, 0)
        open_work = stage.unfinished(sender, counts)
        _say(f"{time.monotonic() - started:5.0f}s  sent {unique:>4}/{total} (+{report['duplicates_sent']}"
             f" duplicates)  synced {counts.get('synced', 0):>4}  review {counts.get('review', 0):>3}  "
             f"dead {counts.get('dead', 0):>3}  in flight {open_work:>3}  invoices {sandbox.books.counts()['invoice']}")
        if not delivery.is_alive() and open_work == 0:
            return True
        if time.monotonic() - started > timeout:
            return False


def _summary(stage: Stage, sender, settled: bool, elapsed: float,
             two_way: two_way_demo.TwoWayReport | None = None) -> int:
    services, sandbox = stage.services, stage.sandbox
    sessions = services.sessions
    books = stage.books()
    counts = ledger.counts_by_status(sessions)
    letters = ledger.dead_letter_counts(sessions)
    retries = stage.retries()
    latencies = sorted(ledger.latencies(sessions, limit=100_000))
    objects = sandbox.books.counts()
    report = sender.report()
    reconciled = _reconcile(stage)
    p50, p95 = (quantiles(latencies, n=100)[49], quantiles(latencies, n=100)[94]) if len(latencies) > 1 else (0, 0)
    lines = [
        "",
        f"Summary after {elapsed:.1f}s{'' if settled else ' (TIMED OUT: events still in flight)'}",
        f"  webhooks delivered      {report['delivered']} ({report['duplicates_sent']} duplicates answered 200)",
        f"  events                  {sum(counts.values())}: " + _by_status(counts),
        f"  orders to book          {books.orders}",
        f"  invoices in FreshBooks  {objects['invoice']} (lost {len(books.lost)}, booked twice {len(books.duplicates)},"
        f" wrong totals {len(books.wrong_totals)}, wrong taxes {len(books.wrong_taxes)},"
        f" wrong payments {len(books.wrong_payments)})",
        f"  clients / items         {objects['client']} / {objects['item']}",
        f"  payments                {objects['payment']}",
        f"  credit notes            {objects.get('credit_note', 0)} ({_credit_kinds(sandbox)}) for"
        f" {books.orders_credited} orders giving money back (refunds lost {len(books.lost_refunds)}, credited twice"
        f" {len(books.duplicate_credit_notes)}, credited wrongly {len(books.wrong_credits)})",
        f"  reconciliation          {reconciled.as_table().splitlines()[-2]} (xcfb reconcile --since"
        f" {reconciled.since} --until {reconciled.until})",
        "  dead letters            " + (", ".join(f"{kind} {n}" for (kind, status), n in sorted(letters.items())
                                              if status == "open") or "none"),
        f"  retries                 {retries} (FreshBooks answered 429 {sandbox.faults.injected['rate_limited']} "
        f"times; {sandbox.faults.injected['ghost']} ghost creates)",
        f"  end-to-end latency      p50 {p50:.2f}s, p95 {p95:.2f}s (webhook received -> synced)",
        *(two_way_demo.summary(two_way) if two_way else []),
        f"  orders held as possible duplicates {len(books.held_as_duplicates)}; booked to another person's client "
        f"{len(books.wrong_clients)}",
        *_anomaly_lines(stage),
        "",
        f"Look closer: export XCFB_HOME={services.settings.home}; then xcfb dlq list, xcfb dlq show ID, "
        "xcfb events show ORDER_NUMBER",
    ]
    print("\n".join(lines))
    # The books check knows which orders are rightly held (injected anomalies, possible duplicates): reconcile
    # lists them as held for review, and must find nothing else that differs.
    reconciled_ok = all(line.klass in ("matched", "held") for line in reconciled.lines)
    ok = settled and books.correct and two_way is not None and two_way.correct and reconciled_ok
    print("RESULT: every order booked exactly once; both systems agree" if ok
          else f"RESULT: FAILED {books}" + (f" {two_way}" if two_way else "")
          + ("" if reconciled_ok else " (xcfb reconcile: an order differs beyond those held for review)"))
    return 0 if ok else 1


def _anomaly_lines(stage: Stage) -> list[str]:
    """The anomalies the check flagged against those the simulator injected (its ground truth)."""
    flagged = assistants.flagged_orders(stage.services.sessions, "anomaly")
    labels = stage.store.labels()
    incidents = stage.store.incidents
    found = [(kind, ids) for kind, ids in incidents if any(i in flagged for i in ids)]
    held = stage.held_anomalies()
    normal = set(stage.store.orders) - set(labels)
    kinds = Counter(kind for kind, _ in incidents)
    if not incidents:
        return [f"  anomalies injected      none (they come after {stage.store.config.anomalies_after} normal orders, "
                f"the store's history); normal orders flagged {len(normal & set(flagged))} of {len(normal)}"]
    return [f"  anomalies injected      {len(incidents)}" + (f" ({_by_status(kinds)})" if kinds else ""),
            f"  anomalies flagged       {len(found)} of them ({len(held)} orders held for review, the others booked "
            f"with a flag); normal orders flagged {len(normal & set(flagged))} of {len(normal)}"]


def _reconcile(stage: Stage):
    """`xcfb reconcile` over the days the store's orders were placed on: X-Cart's REST API against the books."""
    placed = [FlexibleDateTime().deserialize(o["create_date"]).date() for o in stage.store.orders.values()]
    return reconcile(stage.services, min(placed), max(placed)).report


def _credit_kinds(sandbox) -> str:
    numbers = [c["credit_number"] for c in sandbox.books.all("credit_note") if c["vis_state"] == 0]
    cancellations = sum(1 for number in numbers if number.endswith("-C"))
    return f"refunds {len(numbers) - cancellations}, cancellations after payment {cancellations}"


def _by_status(counts: dict[str, int]) -> str:
    return ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))


def _say(text: str) -> None:
    print(text, flush=True)
