"""Orders/s from one worker process when FreshBooks is remote: the FreshBooks sandbox adds `latency_ms` to every
request (`--latency-ms`, 200 ms: a transatlantic HTTPS call), and the worker's thread pool is the only thing
varied. Otherwise as bench/chain_load.py: SQLite, the embedded Redis, the events sent as ingest sends them,
the clock stopped when every event is finished, the books checked."""

from __future__ import annotations

from pathlib import Path

from bench.chain_load import _check, _send_and_wait, worker_rss_mb
from harness.stage import Stage

POOLS = (8, 32, 64)


def measure(home: Path, orders: int = 40, latency_ms: int = 200, pools: tuple[int, ...] = POOLS,
            timeout: float = 240) -> dict[str, dict]:
    return {f"threads {threads}": _one_pool(home / f"threads-{threads}", threads, orders, latency_ms, timeout)
            for threads in pools}


def _one_pool(home: Path, threads: int, orders: int, latency_ms: int, timeout: float) -> dict:
    with Stage(home, workers=1, concurrency=threads) as stage:
        warm = list(stage.store.events) + stage.store.place_orders(5)  # untimed: the taxes, the connections
        settled = len(warm)
        _send_and_wait(stage, warm, settled, timeout)
        stage.sandbox.faults.configure({"latency_ms": latency_ms})
        events = stage.store.place_orders(orders)
        took = _send_and_wait(stage, events, settled + len(events), timeout)
        stage.sandbox.faults.configure({"latency_ms": 0})
        _check(stage)
        rss = worker_rss_mb(stage.workers[0].pid)
    return {"threads": threads, "latency_ms": latency_ms, "orders": orders, "orders_per_s": orders / took,
            "worker_rss_mb": rss}

