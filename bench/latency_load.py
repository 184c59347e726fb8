"""Webhook -> invoice, measured from outside: one order at a time on an idle pipeline, and new orders placed
while a 600-event burst is being worked (the demo's: orders, payments, edits as the store simulator sends
them). One worker process, 8 threads, SQLite, the embedded Redis, the zero-latency FreshBooks sandbox
(harness/stage.py); webhooks go through the ingest endpoint, signed, as X-Cart sends them.

An order's latency runs from the moment its `order.created` webhook is posted to the moment that event is
finished (synced, or in review for a refund): its chain has run to the end, the invoice booked with its
payment. Both ends are this machine's UTC clock (the worker writes finished_at)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from statistics import median

from harness.stage import Stage
from store import ledger

WORKER_THREADS = 8


def measure(home: Path, burst_events: int = 600, idle_orders: int = 10, probe_every: float = 1.0,
            timeout: float = 240) -> dict[str, dict]:
    with Stage(home, workers=1, concurrency=WORKER_THREADS) as stage:
        _settle(stage, _deliver(stage, list(stage.store.events)), timeout)  # customers, products; warms up
        _one_order(stage, timeout)  # untimed: the first order also creates the store's taxes in FreshBooks
        idle = [_one_order(stage, timeout) for _ in range(idle_orders)]
        burst = _burst(stage, burst_events, probe_every, timeout)
    return {"idle": {"median_s": median(idle), "max_s": max(idle), "orders": len(idle), "latencies": idle},
            "burst": burst}


def _one_order(stage: Stage, timeout: float) -> float:
    time.sleep(0.3)  # idle: nothing of the previous order is still running
    posted = _deliver(stage, stage.store.place_orders(1))
    _settle(stage, posted, timeout)
    return _latencies(stage, posted)[0]


def _burst(stage: Stage, size: int, probe_every: float, timeout: float) -> dict:
    events: list[dict] = []
    while len(events) < size:
        events += stage.store.place_orders(10)
    burst_posted: dict[str, datetime] = {}
    sending = threading.Thread(target=lambda: burst_posted.update(_deliver(stage, events)), daemon=True)
    started = time.monotonic()
    sending.start()
    probes: dict[str, datetime] = {}
    # Probes while the burst's tasks wait in the broker. Not until every burst event is finished: a straggler (an
    # event retried after a backoff, seconds later) kept that open with the queues empty, and the probes then
    # sent, worked at once (30 to 70 ms), counted as during the burst: 9 of 19 in one run, p50 0.7 s, 4.2 s without.
    while sending.is_alive() or stage.queued():
        time.sleep(probe_every)
        probes.update(_deliver(stage, stage.store.place_orders(1)))
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"the burst was not worked off within {timeout} s")
    sending.join()
    _settle(stage, burst_posted, timeout)
    drained = time.monotonic() - started
    _settle(stage, probes, timeout)
    probe_latencies, burst_latencies = _latencies(stage, probes), _latencies(stage, burst_posted)
    return {"events": len(events), "drained_s": drained, "probes": len(probe_latencies),
            "probe_p50_s": median(probe_latencies), "probe_max_s": max(probe_latencies),
            "burst_orders_p50_s": median(burst_latencies), "probe_latencies": probe_latencies}


def _deliver(stage: Stage, events: list[dict]) -> dict[str, datetime]:
    """Posts each event to ingest in turn (a sender of its own: one per thread); returns when each order's
    `order.created` was posted."""
    sender, posted = stage.sender(), {}
    for event in events:
        at = datetime.now(UTC)
        if not sender.deliver(event):
            raise RuntimeError(f"ingest refused event {event['id']}")
        if event["type"] == "order.created":
            posted[event["id"]] = at
    return posted


def _open(stage: Stage, event_ids: dict) -> bool:
    """Anything still being worked, or one of these events not recorded or not finished yet."""
    sessions = stage.services.sessions
    counts = ledger.counts_by_status(sessions)
    if counts.get("received", 0) + counts.get("processing", 0):
        return True
    return any((event := ledger.get_event(sessions, event_id)) is None or event.status not in ledger.TERMINAL
               for event_id in event_ids)


def _settle(stage: Stage, posted: dict, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _open(stage, posted):
        if time.monotonic() > deadline:
            raise RuntimeError(f"events still open after {timeout} s")
        time.sleep(0.05)


def _latencies(stage: Stage, posted: dict[str, datetime]) -> list[float]:
    latencies = []
    for event_id, at in posted.items():
        event = ledger.get_event(stage.services.sessions, event_id)
        if event.status not in ("synced", "review"):
            raise RuntimeError(f"event {event_id} ended {event.status}: not a clean run")
        finished = event.finished_at if event.finished_at.tzinfo else event.finished_at.replace(tzinfo=UTC)
        latencies.append((finished - at).total_seconds())
    return latencies
