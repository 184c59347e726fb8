"""X-Cart requests per hour made by catch-up polling, idle and with orders flowing, at several intervals.

    .venv/bin/python bench/catch_up_requests.py [--orders-per-poll 5] [--polls 10]

Counts the requests the store simulator serves over real polls (harness/polling_load.py) and scales them
to an hour at each interval. Under load the figure assumes the same orders per poll at every interval."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from harness.polling_load import measure

INTERVALS = (5, 15, 30, 60, 300)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders-per-poll", type=int, default=5)
    parser.add_argument("--polls", type=int, default=10)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="xcfb-bench-") as home:
        load = measure(Path(home), idle_polls=options.polls, load_polls=options.polls,
                       orders_per_poll=options.orders_per_poll)
    print(f"requests per poll: idle {load.idle}; with {load.orders_per_poll} new orders per poll {load.load}")
    print(f"{'interval':>9} {'idle req/h':>11} {'load req/h':>11}")
    for interval in INTERVALS:
        print(f"{interval:>8}s {load.per_hour(load.idle, interval):>11.0f} {load.per_hour(load.load, interval):>11.0f}")


if __name__ == "__main__":
    main()
