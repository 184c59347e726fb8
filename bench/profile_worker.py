"""Where the worker's CPU goes: `py-spy record --gil` on the chain bench's worker (1 process, 8 threads,
SQLite or `--database-url`, the zero-latency FreshBooks sandbox) while it books `--orders` orders, then the share of the
worker's GIL time spent in each of the project's functions (inclusive), largest first.

    pip install py-spy   # not a dependency of the project
    env -u REDIS_URL -u DATABASE_URL .venv/bin/python -m bench.profile_worker --orders 150 [--database-url URL]

The README's "Where the worker's CPU goes" table was made with it. Shares, not times: on a shared machine the
GIL samples of the same work grow with the load."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench.chain_load import _send_and_wait
from harness.stage import Stage

OURS = re.compile(r"\((workers|store|runtime|mappings|apis|core)/[^)]*\)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=150)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--rate", type=int, default=50, help="samples a second")
    parser.add_argument("--database-url", help="the workers' database (emptied first: the bench's own), else SQLite")
    options = parser.parse_args()
    spy = shutil.which("py-spy", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    if spy is None:
        raise SystemExit("profile_worker: py-spy is not installed (pip install py-spy)")
    with tempfile.TemporaryDirectory(prefix="xcfb-profile-") as home:
        stacks = Path(home) / "stacks.txt"
        tuning = {"database_url": options.database_url} if options.database_url else None
        with Stage(Path(home) / "chain", workers=1, concurrency=8, tuning=tuning) as stage:
            warm = list(stage.store.events) + stage.store.place_orders(20)  # untimed: taxes, clients, items
            _send_and_wait(stage, warm, len(warm), 240)
            events = stage.store.place_orders(options.orders)
            recorder = subprocess.Popen([spy, "record", "--pid", str(stage.workers[0].pid), "--gil",  # noqa: S603
                                         "--rate", str(options.rate), "--format", "raw", "--output", str(stacks),
                                         "--nonblocking"])
            took = _send_and_wait(stage, events, len(warm) + len(events), 400)
            recorder.send_signal(signal.SIGINT)
            recorder.wait(timeout=60)
        total, shares = inclusive_shares(stacks.read_text())
    print(f"{options.orders} orders in {took:.1f} s; {total} GIL samples ({options.rate} Hz)")
    for name, samples in shares.most_common(options.top):
        print(f"{100 * samples / total:5.1f} %  {name}")


def inclusive_shares(raw: str) -> tuple[int, Counter]:
    """py-spy's raw (collapsed) stacks: `frame;frame;... count` a line. Each of our functions counts once a stack."""
    total, shares = 0, Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        total += int(count)
        ours = {re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";") if OURS.search(frame)}
        for frame in ours:
            shares[frame] += int(count)
    return total, shares


if __name__ == "__main__":
    main()
