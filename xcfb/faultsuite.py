"""The fault suite: the real pipeline against the sandboxes under the failures that lose or double-book
orders in naive integrations. Each scenario prints orders sent / invoices booked / duplicates / lost /
dead-lettered / time to converge; each must end with duplicates = 0 and lost = 0.

Run it with `xcfb faults` (or the pytest tier tests/faults)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text

from store import ledger

from .stage import Stage

# Timings that let a fault play out in seconds instead of hours: a killed worker's tasks come back after
# 15 s (the broker's visibility timeout), beat polls X-Cart every 5 s and re-runs events stuck for 30 s.
FAST = {"retry_base_seconds": 0.2, "retry_cap_seconds": 5.0, "max_retries": 60, "visibility_timeout": 15,
        "stuck_after_seconds": 30, "requeue_interval": 5.0, "catch_up_interval": 5.0, "outage_alert_seconds": 5.0}


@dataclass
class ScenarioResult:
    name: str
    orders_sent: int = 0
    invoices_booked: int = 0
    duplicates: int = 0
    lost: int = 0
    dead_lettered: int = 0
    in_review: int = 0
    seconds_to_converge: float = 0.0
    converged: bool = False
    retries: int = 0
    workers_exited: int = 0  # worker processes that ended on their own (not killed by the scenario)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return (self.converged and self.duplicates == 0 and self.lost == 0 and self.dead_lettered == 0
                and self.workers_exited == 0)


@dataclass
class Options:
    orders: int = 100
    outage_seconds: float = 60.0
    timeout: float = 600.0
    home: Path = Path("var/faults")


def every_webhook_three_times_shuffled(stage: Stage, options: Options, result: ScenarioResult) -> None:
    events = stage.events(options.orders)
    report = stage.sender(copies=3, reorder_window=len(events) * 3).deliver_all(events)
    result.notes.append(f"{report.attempts} deliveries for {len(events)} events")


def workers_killed_mid_chain(stage: Stage, options: Options, result: ScenarioResult) -> None:
    stage.sandbox.faults.configure({"latency_ms": 100})  # chains take long enough to be killed in the middle
    events = stage.events(options.orders)
    sending = threading.Thread(target=stage.sender().deliver_all, args=(events,))
    sending.start()
    rng, kills = random.Random(stage.seed), 0
    while sending.is_alive() or kills < 6:
        time.sleep(rng.uniform(0.5, 1.5))
        victim = rng.randrange(len(stage.workers))
        stage.kill_worker(victim)
        kills += 1
        time.sleep(0.3)
        stage.restart_worker(victim)
    sending.join()
    stage.sandbox.faults.configure({"latency_ms": 0})
    result.notes.append(f"{kills} workers SIGKILLed")


def freshbooks_storm_outage_and_ghosts(stage: Stage, options: Options, result: ScenarioResult) -> None:
    faults = stage.sandbox.faults
    events = stage.events(options.orders)
    third = len(events) // 3
    sender = stage.sender()
    faults.configure({"rate_limit": 3, "rate_window": 1})  # the 429 storm
    sender.deliver_all(events[:third])
    time.sleep(10)
    faults.configure({"rate_limit": None, "outage_seconds": options.outage_seconds})
    sender.deliver_all(events[third:2 * third])  # accepted and queued while FreshBooks is down
    time.sleep(options.outage_seconds)
    faults.configure({"ghost_creates": 10, "ghost_mode": "error"})
    sender.deliver_all(events[2 * third:])
    injected = faults.describe()["injected"]
    result.notes.append(f"429 x{injected['rate_limited']}, 503 x{injected['outage']} during a "
                        f"{options.outage_seconds:.0f}s outage, {injected['ghost']} ghost creates")


def redis_flushed_with_events_in_flight(stage: Stage, options: Options, result: ScenarioResult) -> None:
    events = stage.events(options.orders)
    half = len(events) // 2
    stage.sandbox.faults.configure({"latency_ms": 300})  # the workers fall behind: tasks wait in Redis
    stage.sender().deliver_all(events[:half])
    queued = stage.services.redis.llen("xcfb")
    stage.services.redis.flushdb()  # queued tasks, deduplication keys and locks: all gone
    stage.sandbox.faults.configure({"latency_ms": 0})
    result.notes.append(f"Redis flushed with {queued} tasks queued, after {half} of {len(events)} events")
    stage.sender().deliver_all(events[half:])


def broker_restarted_mid_run(stage: Stage, options: Options, result: ScenarioResult) -> None:
    events = stage.events(options.orders)
    half = len(events) // 2
    stage.sandbox.faults.configure({"latency_ms": 100})  # chains in flight when the broker goes away
    stage.sender().deliver_all(events[:half])
    time.sleep(2)
    queued = stage.services.redis.llen("xcfb")
    down = min(options.outage_seconds, 5.0)
    stage.restart_redis(down_seconds=down)
    stage.sandbox.faults.configure({"latency_ms": 0})
    stage.sender().deliver_all(events[half:])
    how = "connections cut (REDIS_URL)" if stage.settings.redis_url else f"restarted ({down:.0f}s down)"
    result.notes.append(f"Redis {how} with {queued} tasks queued, after {half} of {len(events)} events")


def database_briefly_unavailable(stage: Stage, options: Options, result: ScenarioResult) -> None:
    events = stage.events(options.orders)
    sending = threading.Thread(target=stage.sender().deliver_all, args=(events,))
    sending.start()
    time.sleep(3)
    down = min(options.outage_seconds, 15.0)
    if stage.proxy:
        stage.proxy.pause()
        time.sleep(down)
        stage.proxy.resume()
        result.notes.append(f"PostgreSQL unreachable for {down:.0f}s")
    else:
        with stage.services.engine.connect() as connection:  # SQLite: every writer waits on the lock
            connection.execute(text("BEGIN EXCLUSIVE"))
            time.sleep(down)
            connection.execute(text("ROLLBACK"))
        result.notes.append(f"SQLite locked exclusively for {down:.0f}s")
    sending.join()


SCENARIOS: dict[str, tuple[Callable, dict]] = {
    "duplicates": (every_webhook_three_times_shuffled, {}),
    "worker-kills": (workers_killed_mid_chain, {"workers": 2, "concurrency": 4, "beat": True}),
    "freshbooks-faults": (freshbooks_storm_outage_and_ghosts, {}),
    "redis-flush": (redis_flushed_with_events_in_flight, {"beat": True}),
    "database-down": (database_briefly_unavailable, {"proxy_database": True, "beat": True}),
    "broker-restart": (broker_restarted_mid_run, {"workers": 2, "concurrency": 4, "beat": True}),
}


def run_scenario(name: str, options: Options, seed: int = 7) -> ScenarioResult:
    scenario, stage_options = SCENARIOS[name]
    result = ScenarioResult(name)
    with Stage(options.home / name, seed=seed, tuning=FAST, **stage_options) as stage:
        started = time.monotonic()
        scenario(stage, options, result)
        result.converged, result.seconds_to_converge = stage.converge(options.timeout, started)
        books = stage.books()
        letters = ledger.dead_letters(stage.services.sessions)
        result.orders_sent = len(stage.store.orders)
        result.invoices_booked = sum(1 for i in stage.sandbox.books.all("invoice") if i["vis_state"] == 0)
        result.duplicates = len(books.duplicates) + len(books.duplicate_clients) + len(books.duplicate_items)
        result.lost = len(books.lost)
        result.dead_lettered = sum(1 for letter in letters if letter.kind != "review")
        result.in_review = sum(1 for letter in letters if letter.kind == "review")
        result.retries = stage.retries()
        exited = [w.returncode for w in stage.workers if w.poll() is not None]
        result.workers_exited = len(exited)
        if exited:
            result.notes.append(f"workers exited with codes {exited}")
        raised = [a for a in stage.alerts if a["state"] == "raised"]
        if raised:
            cleared = [a for a in stage.alerts if a["state"] == "cleared"]
            result.notes.append(f"alerts raised {len(raised)}, cleared {len(cleared)}")
        if not books.correct:
            result.notes.append(f"books: {books}")
    return result


def report(results: list[ScenarioResult]) -> str:
    header = (f"{'scenario':<18} {'orders':>6} {'invoices':>8} {'dupes':>5} {'lost':>4} {'dead':>4} {'review':>6} "
              f"{'retries':>7} {'converged':>10}  notes")
    rows = [header, "-" * len(header)]
    for r in results:
        converged = f"{r.seconds_to_converge:.1f}s" if r.converged else "NO"
        rows.append(f"{r.name:<18} {r.orders_sent:>6} {r.invoices_booked:>8} {r.duplicates:>5} {r.lost:>4} "
                    f"{r.dead_lettered:>4} {r.in_review:>6} {r.retries:>7} {converged:>10}  {'; '.join(r.notes)}")
    return "\n".join(rows)


def run(names: list[str] | None, options: Options) -> int:
    results = []
    for name in names or list(SCENARIOS):
        print(f"running {name} ...", flush=True)
        results.append(run_scenario(name, options))
        print(report(results[-1:]).splitlines()[-1], flush=True)
    print("\n" + report(results))
    failed = [r.name for r in results if not r.passed]
    print("RESULT: " + ("every scenario converged with no duplicate and no lost order" if not failed
                        else f"FAILED: {', '.join(failed)}"))
    return 1 if failed else 0
