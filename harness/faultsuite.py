"""The fault suite: the real pipeline against the sandboxes under the failures that lose or double-book
orders in naive integrations. Each scenario prints orders sent / invoices booked / duplicates / lost /
dead-lettered / time to converge; each must end with duplicates = 0 and lost = 0. Dead letters are a failure,
except in "step-exceptions", which expects one `failed` dead letter per injected exception and replays them.

Run it with `xcfb faults` (or the pytest tier tests/faults)."""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests
from sqlalchemy import text

from core.settings import SettingsError
from harness.stage import Stage
from mappings import jsonio
from sandboxes.xcart.webhooks import signature_header
from store import ledger
from store.coalescing import RODE_ON
from store.ledger import TERMINAL
from workers import fault_injection
from xcfb import operations

FINAL = ("synced", "dead", "review")

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
    step_exceptions: int = 0  # injected by the step-exceptions scenario
    failed_letters: int = 0  # `failed` dead letters those became
    companion_letters: int = 0  # events parked with them: taken in while the failed chain waited, it covered them
    replayed: int = 0  # dead letters the scenario replayed
    sandbox_faults: dict[str, int] = field(default_factory=dict)  # what the FreshBooks sandbox injected, at the end
    workers_exited: int = 0  # worker processes that ended on their own (not killed by the scenario)
    notes: list[str] = field(default_factory=list)
    poison_accepted: list[str] = field(default_factory=list)  # ids of poison bodies ingest answered 202
    not_final: int = 0  # accepted poison events not synced, dead or in review: accepted and then lost

    @property
    def passed(self) -> bool:
        """No duplicate, nothing lost, nothing left unfinished, no dead letter left open, no worker process
        dead; the dead letters a scenario expects (one per injected step exception) must all have been
        `failed` ones (with the events each failed chain covered: store/coalescing.py), and booked once replayed."""
        return (self.converged and self.duplicates == 0 and self.lost == 0 and self.dead_lettered == 0
                and self.not_final == 0 and self.workers_exited == 0
                and self.failed_letters == self.step_exceptions
                and self.replayed == self.failed_letters + self.companion_letters)


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
    queued = stage.queued()
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
    queued = stage.queued()
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


STEP_EXCEPTION_FRACTION = 0.1


def step_exceptions_then_replayed(stage: Stage, options: Options, result: ScenarioResult) -> None:
    """A seeded tenth of step runs raise an arbitrary exception (workers/fault_injection.py). Every event must
    end final, each injected exception as a `failed` dead letter; with injection switched off, the replays
    (run_scenario's convergence) must book every order once."""
    stage.worker_env[fault_injection.VARIABLE] = f"{STEP_EXCEPTION_FRACTION}:{stage.seed}"
    stage.restart_workers()
    delivered = stage.sender().deliver_all(stage.events(options.orders)).delivered
    counts = _wait_until_final(stage, delivered, options.timeout)
    result.step_exceptions = stage.counted("faults_injected")
    failed = [letter for letter in ledger.dead_letters(stage.services.sessions, None) if letter.kind == "failed"]
    injected = [letter for letter in failed if fault_injection.VARIABLE in letter.reason]
    result.companion_letters = sum(1 for letter in injected if RODE_ON in letter.reason)
    result.failed_letters = len(injected) - result.companion_letters
    result.notes.append(f"{result.step_exceptions} step exceptions injected, events then {_spelled(counts)}")
    del stage.worker_env[fault_injection.VARIABLE]
    stage.restart_workers()
    for letter in failed:
        operations.replay(stage.services, letter.id, stage.send)
        result.replayed += 1
    alerts = sum(1 for alert in stage.alerts if alert["alert"].startswith("failed:"))
    result.notes.append(f"{result.failed_letters} failed dead letters ({alerts} alerts) and {result.companion_letters} "
                        f"events their chains covered, {result.replayed} replayed")


def _wait_until_final(stage: Stage, events: int, timeout: float) -> dict[str, int]:
    """Until every one of `events` accepted events is recorded and in a final state, or the timeout (the counts
    then show what was not final, and the scenario cannot converge)."""
    deadline = time.monotonic() + timeout
    while True:
        counts = ledger.counts_by_status(stage.services.sessions)
        if (sum(counts.values()) >= events and set(counts) <= set(TERMINAL)) or time.monotonic() > deadline:
            return counts
        time.sleep(0.5)


def _spelled(counts: dict[str, int]) -> str:
    return ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))


def poison_payloads_among_orders(stage: Stage, options: Options, result: ScenarioResult) -> None:
    """Bodies that Python's json takes but nothing after it can (BOM, UTF-16, NaN, Infinity, lone surrogates,
    deep nesting) must be refused with 400; the ones ingest accepts (huge numbers, an order number longer
    than its column) must end dead-lettered, never lost and never booked."""
    events = stage.events(options.orders)
    half = len(events) // 2
    sender = stage.sender()
    sender.deliver_all(events[:half])
    answers: dict[int | str, int] = {}
    url = f"{stage.ingest_server.url}/webhooks/xcart"
    for name, event_id, body in poison_bodies(next(e for e in events if e["type"] == "order.created")):
        try:
            status: int | str = requests.post(url, data=body, timeout=30, headers={
                "Content-Type": "application/json", "X-XCart-Signature": signature_header([stage.secret], body)}
            ).status_code
        except requests.RequestException as exc:
            status = type(exc).__name__
        answers[status] = answers.get(status, 0) + 1
        if status == 202:
            result.poison_accepted.append(event_id)
        elif status != 400:
            result.notes.append(f"poison {name!r} answered {status}")
    sender.deliver_all(events[half:])
    result.notes.append("poison answers " + ", ".join(f"{k}: {v}" for k, v in sorted(answers.items(), key=str)))


def poison_bodies(template: dict) -> list[tuple[str, str, bytes]]:
    """(name, event id, signed body) of each poison payload, each with an order of its own (an invoice for
    any of them would show in the books as unexpected)."""
    def order(n: int, **changes) -> dict:
        event = json.loads(jsonio.dumps(template))
        data = {**event["data"], "id": 990_000 + n, "order_number": f"POISON-{n}", **changes}
        return {**event, "id": f"poison-{n}", "data": data}

    def encoded(event: dict) -> bytes:
        return json.dumps(event).encode()

    bodies = [
        ("utf-8 bom", b"\xef\xbb\xbf" + encoded(order(1))),
        ("infinity id", encoded(order(2)).replace(b'"poison-2"', b"Infinity")),
        ("nan total", encoded(order(3, total="@nan@")).replace(b'"@nan@"', b"NaN")),
        ("overlong id", encoded({**order(4), "id": "poison-4" + "x" * 300})),
        ("utf-16", json.dumps(order(5)).encode("utf-16")),
        ("lone surrogate", encoded({**order(6), "id": "poison-6\ud800"})),
        ("deep nesting", encoded(order(7, extra="@@")).replace(b'"@@"', b"[" * 5000 + b"]" * 5000)),
        ("huge total", encoded(order(8, total="@@")).replace(b'"@@"', b"1e308")),
        ("30-digit total", encoded(order(9, total="@@")).replace(b'"@@"', b"123456789012345678901234567890.00")),
        ("huge quantity", encoded(order(10, items=[{**order(10)["data"]["items"][0], "amount": "@@"}])
                                  ).replace(b'"@@"', b"1e308")),
        ("id beyond 64 bits", encoded(order(11, id=2 ** 70))),
        ("500-char order number", encoded(order(12, order_number="N" * 500))),
    ]
    # Each id begins with poison-<n>: an accepted one is looked up by the id its body carries.
    return [(name, _carried_id(body, f"poison-{n}"), body) for n, (name, body) in enumerate(bodies, start=1)]


def _carried_id(body: bytes, fallback: str) -> str:
    try:
        carried = json.loads(body)["id"]
    except (ValueError, KeyError, TypeError, RecursionError):
        return fallback
    return carried if isinstance(carried, str) else fallback


SCENARIOS: dict[str, tuple[Callable, dict]] = {
    "duplicates": (every_webhook_three_times_shuffled, {}),
    "worker-kills": (workers_killed_mid_chain, {"workers": 2, "concurrency": 4, "beat": True}),
    "freshbooks-faults": (freshbooks_storm_outage_and_ghosts, {}),
    "redis-flush": (redis_flushed_with_events_in_flight, {"beat": True}),
    "database-down": (database_briefly_unavailable, {"proxy_database": True, "beat": True}),
    "step-exceptions": (step_exceptions_then_replayed, {}),
    "poison-payloads": (poison_payloads_among_orders, {"beat": True}),
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
        result.duplicates = (len(books.duplicates) + len(books.duplicate_clients) + len(books.duplicate_items)
                             + len(books.duplicate_credit_notes) + len(books.wrong_credits))
        result.lost = len(books.lost) + len(books.lost_refunds)
        poison = set(result.poison_accepted)
        result.dead_lettered = sum(1 for letter in letters if letter.kind != "review" and letter.event_id not in poison)
        result.in_review = sum(1 for letter in letters if letter.kind == "review")
        if poison:
            final = [ledger.get_event(stage.services.sessions, event_id) for event_id in sorted(poison)]
            result.not_final = sum(1 for event in final if event is None or event.status not in FINAL)
            parked = sum(1 for letter in letters if letter.event_id in poison)
            result.notes.append(f"poison accepted {len(poison)}, dead-lettered {parked}, not final {result.not_final}")
        result.retries = stage.retries()
        result.sandbox_faults = stage.sandbox.faults.describe()["injected"]
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
        try:
            results.append(run_scenario(name, options))
        except SettingsError as exc:  # every scenario's stage reads the same environment: stop at once
            print(f"xcfb faults: {exc}", file=sys.stderr, flush=True)
            return 2
        print(report(results[-1:]).splitlines()[-1], flush=True)
    print("\n" + report(results))
    failed = [r.name for r in results if not r.passed]
    print("RESULT: " + ("every scenario converged with no duplicate and no lost order" if not failed
                        else f"FAILED: {', '.join(failed)}"))
    return 1 if failed else 0
