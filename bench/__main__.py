"""`make bench` (python -m bench): each figure of issue 12 as a ratio against a reference measured in the
same run, printed as a table and written to bench/results/latest.json. Embedded Redis and SQLite only:
REDIS_URL and DATABASE_URL must be unset (the Makefile unsets them). Timings are never asserted in tests.
BENCH_DATABASE_URL (or --database-url): a PostgreSQL database of the bench's own, emptied, on which the chain row
is measured again (with its own no-op reference); without it that row is left out."""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench import chain_load, ingest_load, latency_load, pool_load

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8, help="each HTTP load run (after a 2 s warm-up)")
    parser.add_argument("--orders", type=int, default=120, help="orders through the whole chain, each round")
    parser.add_argument("--chains", type=int, default=600, help="no-op chains of the reference, each round")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each figure and reference, in turn")
    parser.add_argument("--burst", type=int, default=600, help="events of the burst new orders arrive during")
    parser.add_argument("--pool-orders", type=int, default=120, help="orders per pool size at 200 ms latency")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="PostgreSQL for the chain row's second run: a database of its own, emptied "
                             "(default: BENCH_DATABASE_URL)")
    options = parser.parse_args()
    if os.environ.get("REDIS_URL") or os.environ.get("DATABASE_URL"):
        raise SystemExit("bench: unset REDIS_URL and DATABASE_URL (the bench runs on the embedded defaults)")
    with tempfile.TemporaryDirectory(prefix="xcfb-bench-") as home:
        http = ingest_load.measure(Path(home) / "ingest", seconds=options.seconds, rounds=options.rounds)
        orders = chain_load.measure(Path(home) / "chain", orders=options.orders, chains=options.chains,
                               rounds=options.rounds)
        on_postgresql = chain_load.measure(Path(home) / "chain-pg", orders=options.orders, chains=options.chains,
                                           rounds=options.rounds, database_url=options.database_url
                                           ) if options.database_url else None
        latency = latency_load.measure(Path(home) / "latency", burst_events=options.burst)
        pools = pool_load.measure(Path(home) / "pools", orders=options.pool_orders)
    measured = {"ingest": http, "chain": orders, "latency": latency, "pools": pools}
    if on_postgresql:
        measured["chain on PostgreSQL"] = on_postgresql
    results = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(),
               "rows": rows(http, orders, on_postgresql) + latency_rows(latency) + pool_rows(pools, orders),
               "measured": measured}
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    print(f"\nwritten to {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version()}


def chain_row(orders: dict, database: str) -> dict:
    chain, reference = orders["chain"], orders["noop chain"]
    ratio = chain["orders_per_s"] / reference["chains_per_s"]
    cpu, noop_cpu = chain["worker_cpu_ms_per_order"], reference["worker_cpu_ms_per_chain"]
    return {"figure": f"orders/s through the whole chain, 1 worker, 8 threads ({database})",
            "now": f"{chain['orders_per_s']:.1f}; worker CPU {cpu:.0f} ms an order",
            "reference": f"Celery 4-task no-op chain {reference['chains_per_s']:.0f}/s; {noop_cpu:.1f} ms a chain",
            "ratio": f"{ratio:.2f}x (CPU: {noop_cpu / cpu:.2f}x)", "target": ">= 0.35x the no-op chain",
            "met": ratio >= 0.35}


def rows(http: dict, orders: dict, on_postgresql: dict | None = None) -> list[dict]:
    served, floor, ceiling = http["ingest"], http["Flask + send_task"], http["bare Flask"]
    ingest_ratio = served["rps"] / floor["rps"]
    return [
        {"figure": "ingest req/s, 16 connections, gunicorn -w 2",
         "now": f"{served['rps']:,.0f}, p99 {served['p99_ms']:.0f} ms",
         "reference": f"Flask + send_task {floor['rps']:,.0f} (p99 {floor['p99_ms']:.0f} ms); "
                      f"bare Flask {ceiling['rps']:,.0f} (p99 {ceiling['p99_ms']:.0f} ms)",
         "ratio": f"{ingest_ratio:.2f}x send_task, {served['rps'] / ceiling['rps']:.2f}x bare; server CPU per "
                  f"request {served['server_cpu_us_per_request']:.0f} us vs send_task's "
                  f"{floor['server_cpu_us_per_request']:.0f} us",
         "target": ">= 0.9x send_task, p99 < 15 ms",
         "met": ingest_ratio >= 0.9 and served["p99_ms"] < 15},
        chain_row(orders, "SQLite"),
        *([chain_row(on_postgresql, "PostgreSQL")] if on_postgresql else []),
        calls_row(orders["freshbooks calls"]),
    ]


def calls_row(calls: dict) -> dict:
    unpaid, paid = calls["unpaid"], calls["paid"]
    return {"figure": "FreshBooks calls per order, client and items bound (default rules, the sandbox's counter)",
            "now": f"{unpaid['calls_per_order']:.2f} unpaid, {paid['calls_per_order']:.2f} paid "
                   f"({unpaid['orders']} + {paid['orders']} orders)",
            "reference": f"the minimum: {unpaid['minimum']} and {paid['minimum']}",
            "ratio": f"{unpaid['calls_per_order'] / unpaid['minimum']:.2f}x, "
                     f"{paid['calls_per_order'] / paid['minimum']:.2f}x",
            "target": "<= 1.1 and <= 2.1",
            "met": unpaid["calls_per_order"] <= 1.1 and paid["calls_per_order"] <= 2.1}


def latency_rows(latency: dict) -> list[dict]:
    idle, burst = latency["idle"], latency["burst"]
    return [
        {"figure": "webhook -> invoice, one order, idle",
         "now": f"median {idle['median_s'] * 1000:.0f} ms, max {idle['max_s'] * 1000:.0f} ms ({idle['orders']} orders)",
         "reference": "--", "ratio": "--", "target": "median < 150 ms, max < 500 ms",
         "met": idle["median_s"] < 0.15 and idle["max_s"] < 0.5},
        {"figure": f"new order's webhook -> invoice during a {burst['events']}-event burst",
         "now": f"p50 {burst['probe_p50_s']:.1f} s, max {burst['probe_max_s']:.1f} s ({burst['probes']} new orders)",
         "reference": f"the burst's own orders p50 {burst['burst_orders_p50_s']:.1f} s; worked off in "
                      f"{burst['drained_s']:.0f} s",
         "ratio": "--", "target": "p50 < 3 s", "met": burst["probe_p50_s"] < 3},
    ]


def pool_rows(pools: dict, orders: dict) -> list[dict]:
    settled = {name: pool for name, pool in pools.items() if "orders_per_s" in pool}
    best = max(settled.values(), key=lambda pool: pool["orders_per_s"])
    rss = orders["chain"]["worker_rss_mb"]
    return [
        {"figure": f"orders/s from one worker process, FreshBooks {best['latency_ms']} ms per call",
         "now": f"{best['orders_per_s']:.1f} ({best['pool']} {best['concurrency']})",
         "reference": "; ".join(f"{name} {pool['orders_per_s']:.1f}" if name in settled
                                else f"{name} did not settle ({pool['failed']})" for name, pool in pools.items()),
         "ratio": "--", "target": ">= 25 orders/s", "met": best["orders_per_s"] >= 25},
        {"figure": "worker RSS, 8 threads, after the chain rounds",
         "now": f"{rss:.0f} MB",
         "reference": "; ".join(f"{name}: {pool['worker_rss_mb']:.0f} MB" for name, pool in settled.items()),
         "ratio": "--", "target": "< 150 MB", "met": rss < 150},
    ]


def table(results: dict) -> str:
    header = ("figure", "now", "reference", "ratio", "target", "met")
    lines = [f"| {' | '.join(header)} |", f"|{'---|' * len(header)}"]
    for row in results["rows"]:
        cells = [row["figure"], row["now"], row["reference"], row["ratio"], row["target"],
                 "yes" if row["met"] else "no"]
        lines.append(f"| {' | '.join(cells)} |")
    m, client = results["machine"], results["measured"]["ingest"]["bare Flask"]["client_cores"]
    lines.append(f"\nMedians of {len(results['measured']['chain']['chain']['rounds'])} rounds (ingest, chain; the "
                 "latency, pool and RSS rows are one run each). "
                 f"{m['nproc']} cores, {m['cpu']}, Python {m['python']}, {results['when']}. The load generator "
                 f"(wrk) used {client:.2f} of a core at the bare-Flask ceiling.")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
