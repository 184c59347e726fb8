"""Ingest req/s and p99 with 16 connections under `gunicorn -w 2`, against two references served by the
same gunicorn settings in the same run: bare Flask (bench/apps.py: the ceiling) and Flask + Celery
`send_task` only (the floor any ingest that enqueues pays). One embedded Redis is the broker of all three.

The load is wrk (C, 2 threads, 16 connections) replaying requests signed beforehand (bench/wrk_signed.lua):
the X-Cart signature is HMAC-SHA256, which wrk's Lua cannot compute at speed, and a Python client on
these 2 cores would be the bottleneck. Every request has its own event id, so ingest answers each 202
(queued), never 200 (duplicate); a run that answered anything else, or re-sent a request, is refused."""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from statistics import median

import redis

from core.embedded import embedded_redis_socket, stop_embedded_redis
from mappings.jsonio import dumps as to_json
from sandboxes.xcart.app import create_app as create_store
from sandboxes.xcart.app import store_of
from sandboxes.xcart.store import StoreConfig
from sandboxes.xcart.webhooks import signature_header

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).resolve().parent / "wrk_signed.lua"
SECRET = "whsec_bench"  # noqa: S105 - signs the bench's own requests to its own ingest
CONNECTIONS, WRK_THREADS, GUNICORN_WORKERS = 16, 2, 2
SIGNED_PER_SECOND = 6000  # per second of a run: above ingest and send_task here (bare Flask may re-send: harmless)
APPS = (("bare Flask", "bench.apps:bare()"), ("Flask + send_task", "bench.apps:send_task_only()"),
        ("ingest", "ingest.wsgi:app"))


def measure(home: Path, seconds: int = 8, rounds: int = 3, warmup: int = 2) -> dict[str, dict]:
    """{app: {"rps", "p50_ms", "p99_ms", ...}}: the median of `rounds` runs of each app. The three are served
    at once and run in turn, round after round, so that a neighbour's burst on this shared machine falls on
    one run of each, not on every run of one."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(XCFB_HOME=str(home), XCART_WEBHOOK_SECRETS=SECRET, PYTHONPATH=str(ROOT))
    broker = redis.Redis(unix_socket_path=str(embedded_redis_socket(home)))
    template = _order_event()
    runs: dict[str, list[dict]] = {name: [] for name, _ in APPS}
    try:
        with ExitStack() as serving:
            served = {name: serving.enter_context(_gunicorn(target, env, home / f"gunicorn-{n}.log"))
                      for n, (name, target) in enumerate(APPS)}
            for name, (url, _) in served.items():
                _wrk(url, _signed(home, template, f"warm-{name}", warmup * SIGNED_PER_SECOND), warmup)
            for n in range(rounds):
                for name, (url, master) in served.items():
                    _empty(broker)
                    signed = _signed(home, template, f"{name}-{n}", seconds * SIGNED_PER_SECOND)
                    cpu = workers_cpu_seconds(master)
                    run = _wrk(url, signed, seconds)
                    run["server_cpu_s"] = workers_cpu_seconds(master) - cpu
                    runs[name].append(_checked(name, run, queued=broker.llen("xcfb")))
            _empty(broker)
    finally:
        stop_embedded_redis(home)
    return {name: _median(each) for name, each in runs.items()}


def _median(runs: list[dict]) -> dict:
    return {**{key: median(run[key] for run in runs) for key in runs[0]}, "rounds_rps": [r["rps"] for r in runs]}


def _order_event() -> dict:
    store = store_of(create_store(StoreConfig(seed=1, customers=5, products=5)))
    return next(e for e in store.place_orders(1) if e["type"] == "order.created")


def _signed(home: Path, template: dict, run: str, count: int) -> Path:
    """One line per request, `<signature>\\t<body>`, each body the same order event under its own id."""
    path = home / "requests.tsv"
    prefix = "evt_bench_" + "".join(c for c in run.lower() if c.isalnum())
    with open(path, "w") as out:
        for n in range(count):
            body = to_json({**template, "id": f"{prefix}_{n}"}).encode()
            out.write(f"{signature_header([SECRET], body)}\t{body.decode()}\n")
    return path


def _wrk(url: str, requests_file: Path, seconds: int) -> dict:
    """wrk's own figures, and the CPU wrk used (in cores): the evidence the client is not the bottleneck."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(["wrk", f"-t{WRK_THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "5s",  # noqa: S603, S607
                          "-s", str(LUA), url, "--", str(requests_file), str(WRK_THREADS)],
                         capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRK_JSON "))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {**json.loads(line.removeprefix("WRK_JSON ")), "client_cores": cpu / seconds}


def _checked(name: str, run: dict, queued: int) -> dict:
    """Refuses a run whose answers were not all 202, or (for the apps that enqueue) whose queue does not
    hold one task per answer (plus the few requests served after wrk stopped counting, a handful per
    connection at most): the figure would not measure what it says."""
    if run["errors"] or set(run["statuses"]) != {"202"}:
        raise RuntimeError(f"{name}: answers {run['statuses']}, {run['errors']} errors: not a clean run")
    if name != "bare Flask":
        if run["wrapped"]:
            raise RuntimeError(f"{name}: wrk ran out of signed requests; raise SIGNED_PER_SECOND")
        if not run["requests"] <= queued <= run["requests"] + 2 * CONNECTIONS:  # wrk counts no answer after its stop
            raise RuntimeError(f"{name}: {run['requests']} answered 202 but {queued} tasks queued")
    return {"rps": run["requests"] / (run["duration_us"] / 1e6), "p50_ms": run["p50_us"] / 1000,
            "p99_ms": run["p99_us"] / 1000, "requests": run["requests"],
            "client_cores": run["client_cores"],
            # CPU the gunicorn workers spent per answer: what a request costs, much less moved by a neighbour's
            # load than req/s (a few requests answered after wrk stopped counting are in it: under 1 %)
            "server_cpu_us_per_request": run["server_cpu_s"] / max(run["requests"], 1) * 1e6}


def _empty(broker: redis.Redis) -> None:
    keys = ["xcfb", *broker.scan_iter("xcfb:*")]
    broker.delete(*keys)


@contextmanager
def _gunicorn(target: str, env: dict, log_path: Path):
    port = _free_port()
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(GUNICORN_WORKERS),  # noqa: S603
                                    "--bind", f"127.0.0.1:{port}", target], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    try:
        _wait_listening(port, process, log_path)
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def workers_cpu_seconds(master: int) -> float:
    """User + system CPU of a gunicorn master's worker processes so far (from /proc)."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    total = 0.0
    for child in children:
        try:
            total += process_cpu_seconds(int(child))
        except FileNotFoundError:  # a worker gunicorn is replacing
            continue
    return total


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far, all its threads (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime (fields 14 and 15 of stat)


def _wait_listening(port: int, process: subprocess.Popen, log_path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log_path.read_text()[-2000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                time.sleep(1)  # the master listens before its workers have imported the app
                return
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not listen on {port} within {timeout} s")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
