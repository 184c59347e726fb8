"""Orders/s from one worker process when FreshBooks is remote: the FreshBooks sandbox adds `latency_ms` to every
request (`--latency-ms`, 200 ms: a transatlantic HTTPS call), and the worker's pool is the only thing
varied. Otherwise as bench/chain_load.py: SQLite, the embedded Redis, the events sent as ingest sends them,
the clock stopped when every event is finished, the books checked.

Two kinds of pool: Celery's threads (the Procfile's) and gevent (`pip install -e '.[bench]'`), whose greenlets
wait on sockets without a thread each; the gevent worker runs the same code monkey-patched, SQLAlchemy, the
SQLite driver and redis-py included, and its books are checked like the threads'."""

from __future__ import annotations

from pathlib import Path

from bench.chain_load import NotSettled, _check, _send_and_wait, worker_rss_mb
from harness.stage import Stage

POOLS = (("threads", 8), ("threads", 64), ("gevent", 64), ("gevent", 200))


def measure(home: Path, orders: int = 120, latency_ms: int = 200, pools: tuple[tuple[str, int], ...] = POOLS,
            timeout: float = 120) -> dict[str, dict]:
    return {f"{pool} {size}": _one_pool_or_why_not(home / f"{pool}-{size}", pool, size, orders, latency_ms, timeout)
            for pool, size in pools}


def _one_pool_or_why_not(home: Path, pool: str, size: int, orders: int, latency_ms: int, timeout: float) -> dict:
    """A pool that does not settle (gevent did, 1 start in 3 to 5, until core/embedded.py's start lock was made
    cooperative) is a figure too: the run goes on with the other pools and the table says which did not settle."""
    try:
        return _one_pool(home, pool, size, orders, latency_ms, timeout)
    except NotSettled as exc:  # wrong books still stop the run
        return {"pool": pool, "concurrency": size, "latency_ms": latency_ms, "orders": orders, "failed": str(exc)}


def _one_pool(home: Path, pool: str, size: int, orders: int, latency_ms: int, timeout: float) -> dict:
    with Stage(home, workers=1, concurrency=size, pool=pool) as stage:
        warm = list(stage.store.events) + stage.store.place_orders(5)  # untimed: the taxes, the connections
        settled = len(warm)
        _send_and_wait(stage, warm, settled, timeout)
        stage.sandbox.faults.configure({"latency_ms": latency_ms})
        events = stage.store.place_orders(orders)
        took = _send_and_wait(stage, events, settled + len(events), timeout)
        stage.sandbox.faults.configure({"latency_ms": 0})
        _check(stage)
        rss = worker_rss_mb(stage.workers[0].pid)
    return {"pool": pool, "concurrency": size, "latency_ms": latency_ms, "orders": orders,
            "orders_per_s": orders / took, "worker_rss_mb": rss}

