"""Orders/s through the whole chain (1 worker process, 8 threads, the zero-latency FreshBooks sandbox,
SQLite and the embedded Redis: harness/stage.py), against a Celery 4-task no-op chain (bench/noop.py) on
the same broker with the same worker settings, in the same run.

The orders' events are put on the broker the way ingest does (`send_task xcfb.process_event`, raw body),
all at once: the figure is the workers' throughput, ingest has its own row. The clock runs from the first
send until every event is synced, dead or in review; the run is refused unless FreshBooks then holds
exactly the right books and nothing was dead-lettered.

SQLite by default; on PostgreSQL when given a database URL (`make bench` reads BENCH_DATABASE_URL): a database
of the bench's own, which it empties (never one that holds anything else). The piece alone, two rounds:

    env -u REDIS_URL -u DATABASE_URL .venv/bin/python -m bench.chain_load --rounds 2 [--database-url URL]"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from statistics import median

from sqlalchemy import text

from bench import calls_load, noop
from bench.ingest_load import process_cpu_seconds
from harness.stage import WORKER_LOG_LEVEL, Stage, use_broker
from mappings.jsonio import dumps as to_json
from runtime.bootstrap import broker_url
from store import ledger

ROOT = Path(__file__).resolve().parent.parent
WORKER_THREADS = 8


def measure(home: Path, orders: int = 120, chains: int = 600, rounds: int = 3,
            timeout: float = 240, database_url: str | None = None) -> dict[str, dict]:
    """The median of `rounds` of each, the chain and the no-op chains in turn (a neighbour's burst on this
    shared machine falls on one run of each); both workers stay up throughout, the idle one waiting.
    `database_url`: the workers' database (emptied first), else SQLite in `home`."""
    tuning = {"database_url": database_url} if database_url else None
    with Stage(home, workers=1, concurrency=WORKER_THREADS, tuning=tuning) as stage, _noop_worker(stage) as reference:
        _compact(stage)
        use_broker(noop.app, broker_url(stage.settings))
        warm = list(stage.store.events)  # the store's customers and products: untimed, warms the worker up
        settled = len(warm)
        _send_and_wait(stage, warm, settled, timeout)
        _run_chains(stage.services.redis, 50, timeout)  # untimed
        chain_runs, noop_runs, events_sent, chain_cpu, noop_cpu = [], [], 0, [], []
        worker = stage.workers[0].pid
        for _ in range(rounds):
            events = stage.store.place_orders(orders)
            settled, events_sent = settled + len(events), events_sent + len(events)
            with cpu_ms(worker, orders, chain_cpu):
                chain_runs.append(orders / _send_and_wait(stage, events, settled, timeout))
            with cpu_ms(reference.pid, chains, noop_cpu):
                noop_runs.append(chains / _run_chains(stage.services.redis, chains, timeout))
        _check(stage)
        rss = worker_rss_mb(worker)
        calls = calls_load.measure(stage)  # after the rounds: clients, items and taxes bound, the cut-over read
    return {"chain": {"orders_per_s": median(chain_runs), "rounds": chain_runs, "orders": orders,
                      "events_per_order": events_sent / (orders * rounds), "worker_rss_mb": rss,
                      "worker_cpu_ms_per_order": median(chain_cpu), "cpu_rounds": chain_cpu,
                      "database": "postgresql" if database_url else "sqlite"},
            "noop chain": {"chains_per_s": median(noop_runs), "rounds": noop_runs, "chains": chains,
                           "worker_cpu_ms_per_chain": median(noop_cpu), "cpu_rounds": noop_cpu},
            "freshbooks calls": calls}


def _compact(stage: Stage) -> None:
    """The stage empties the bench's PostgreSQL database with DELETE (harness/stage.py), which leaves the dead rows
    of every run before in its tables and indexes: compacted, each run starts on the same fresh tables. Without,
    the row slowed from run to run (22.9 to 25.2 orders/s after one VACUUM FULL on a database of some twenty runs)."""
    if stage.services.engine.dialect.name != "postgresql":
        return
    with stage.services.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM FULL ANALYZE"))


@contextmanager
def cpu_ms(pid: int, units: int, into: list[float]):
    """The CPU time (user and system, all threads) the process spent within the block, in ms per unit: a neighbour
    on a shared machine slows the clock far more than it moves the CPU a piece of work takes."""
    before = process_cpu_seconds(pid)
    yield
    into.append((process_cpu_seconds(pid) - before) * 1000 / units)


class NotSettled(RuntimeError):
    """The worker did not finish the events it was sent in time (hung, or far slower than expected)."""


def _send_and_wait(stage: Stage, events: list[dict], settled: int, timeout: float) -> float:
    bodies = [to_json(event) for event in events]
    started = time.monotonic()
    for body in bodies:
        stage.send("xcfb.process_event", [body])
    while sum(ledger.counts_by_status(stage.services.sessions).get(s, 0) for s in ledger.TERMINAL) < settled:
        if time.monotonic() - started > timeout:
            raise NotSettled(f"the chain did not settle {settled} events within {timeout} s")
        time.sleep(0.2)  # seldom: a read of SQLite can hold up the worker's commits
    return time.monotonic() - started


def _check(stage: Stage) -> None:
    counts = ledger.counts_by_status(stage.services.sessions)
    if counts.get("dead"):  # review is expected: the store refunds some orders, and a refund is a person's call
        raise RuntimeError(f"not a clean run: {counts}")
    report = stage.books()
    if not report.correct:
        raise RuntimeError(f"the books are wrong after the run: {report}")


@contextmanager
def _noop_worker(stage: Stage):
    """The reference's worker, started like the stage's (harness/stage.py) on the no-op queue, logging as it does
    (a line for each task received and done: the reference started at WARNING before, and skipped both)."""
    env = {**os.environ, **stage.settings.as_environment(), "PYTHONPATH": str(ROOT)}
    with open(stage.home / "noop-worker.log", "w") as log:
        worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "bench.noop", "worker", "--pool",  # noqa: S603
                                   "threads", "--concurrency", str(WORKER_THREADS), "--queues", noop.QUEUE,
                                   "--hostname", "noop@%h", "--without-gossip", "--without-mingle", "--loglevel",
                                   WORKER_LOG_LEVEL], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield worker
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def _run_chains(redis, chains: int, timeout: float) -> float:
    redis.delete(noop.DONE)
    started = time.monotonic()
    for order in range(chains):
        noop.noop_chain(order).apply_async()
    while int(redis.get(noop.DONE) or 0) < chains:
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"the no-op chains did not finish within {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - started


def worker_rss_mb(pid: int) -> float:
    """Resident memory of a worker process (its pool is threads: one process), from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description="the chain row of `make bench` alone")
    parser.add_argument("--orders", type=int, default=120)
    parser.add_argument("--chains", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", help="a PostgreSQL database of the bench's own (emptied)")
    options = parser.parse_args()
    if os.environ.get("REDIS_URL") or os.environ.get("DATABASE_URL"):
        raise SystemExit("bench: unset REDIS_URL and DATABASE_URL (--database-url names the bench's database)")
    with tempfile.TemporaryDirectory(prefix="xcfb-bench-chain-") as home:
        measured = measure(Path(home) / "chain", orders=options.orders, chains=options.chains, rounds=options.rounds,
                           database_url=options.database_url)
    chain, reference = measured["chain"], measured["noop chain"]
    print(json.dumps(measured))
    print(f"worker CPU {chain['worker_cpu_ms_per_order']:.1f} ms an order, no-op's "
          f"{reference['worker_cpu_ms_per_chain']:.2f} ms a chain")
    print(f"{chain['database']}: {chain['orders_per_s']:.1f} orders/s, no-op chain {reference['chains_per_s']:.0f}/s: "
          f"{chain['orders_per_s'] / reference['chains_per_s']:.3f}x (rounds {[round(r, 1) for r in chain['rounds']]} "
          f"against {[round(r) for r in reference['rounds']]}); load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
