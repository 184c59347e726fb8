"""A worker process keeps working when Redis restarts under it, over the embedded unix socket (the
`redis+socket://` broker URL) and over TCP: events sent before and after the restart all end final,
every order is booked once, and the worker is still running."""

import json
import time

import pytest
from sqlalchemy import select

from harness.faultsuite import FAST
from harness.stage import WORK_QUEUES, Stage
from store import ledger
from store.models import Event
from tests.e2e.processes import TcpRedis
from tests.queued import decoded

DOWN_SECONDS = 3


@pytest.mark.parametrize("transport", ["unix socket", "tcp"])
def test_the_worker_survives_a_redis_restart_and_nothing_is_lost(transport, tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)  # SQLite under the stage's home
    if transport == "tcp":
        server = TcpRedis(tmp_path / "tcp")
        server.start()
        monkeypatch.setenv("REDIS_URL", server.url)
    else:
        server = None
        monkeypatch.delenv("REDIS_URL", raising=False)  # the embedded redis-server of the stage's home
    try:
        with Stage(tmp_path / "stage", seed=11, tuning=FAST, beat=True) as stage:
            events = stage.events(12)
            half = len(events) // 2
            first = stage.sender()
            first.deliver_all(events[:half])
            _wait_until(lambda: ledger.counts_by_status(stage.services.sessions).get("synced", 0) > 0)
            if server:
                server.stop()
                time.sleep(DOWN_SECONDS)  # the outage itself: the worker must ride it out
                server.start()
            else:
                stage.restart_redis(down_seconds=DOWN_SECONDS)
            second = stage.sender()
            second.deliver_all(events[half:])
            converged, seconds = stage.converge(timeout=240, started=time.monotonic())
            assert converged, (stage.books(), _statuses(stage))
            assert not first.report()["gave_up"] and not second.report()["gave_up"]  # every event accepted...
            # ...recorded (beside catch-up's own): a task the worker held when Redis went down comes back
            # after the visibility timeout, possibly after catch-up already booked its order
            accepted = {event["id"] for event in events}
            _wait_until(lambda: accepted <= set(_statuses(stage))
                        and set(_statuses(stage).values()) <= {"synced", "review", "dead"},
                        timeout=4 * FAST["visibility_timeout"], showing=lambda: _unfinished(stage, accepted))
            statuses = _statuses(stage)
            assert set(statuses.values()) <= {"synced", "review", "dead"}  # ...and final
            assert stage.books().correct
            assert [w.poll() for w in stage.workers] == [None], "the worker died under the restart"
    finally:
        if server:
            server.stop()


def _statuses(stage) -> dict[str, str]:
    with stage.services.sessions() as session:
        return dict(session.execute(select(Event.id, Event.status)).all())


def _unfinished(stage, accepted: set[str]) -> dict[str, str]:
    """What the wait is still waiting for: accepted events not recorded (with where the broker holds their task, if
    anywhere, and what the worker logged of the broker), and events not final, with their errors."""
    with stage.services.sessions() as session:
        rows = {e.id: f"{e.status} after {e.attempts} attempt(s), {e.requeues} requeue(s): {e.last_error}"
                for e in session.scalars(select(Event))}
    missing = {event_id: f"not recorded; its task {_where_in_the_broker(stage, event_id)}"
               for event_id in accepted - set(rows)}
    if missing:
        missing["worker log"] = _broker_lines(stage)
    final = ("synced", "review", "dead")
    return missing | {event_id: row for event_id, row in rows.items() if not row.startswith(final)}


def _where_in_the_broker(stage, event_id: str) -> str:
    """In a queue, in the unacked set (taken by a worker, back after the visibility timeout), or nowhere: lost."""
    r = stage.services.redis
    held = {queue: r.lrange(queue, 0, -1) for queue in WORK_QUEUES} | {"unacked": r.hvals("unacked")}
    for place, payloads in held.items():
        if any(event_id in str(_task_args(payload)) for payload in payloads):
            return f"is in {place}"
    return "is nowhere in the broker"


def _task_args(payload: bytes) -> list:
    message = json.loads(payload)
    _task, args = decoded(message[0] if isinstance(message, list) else message)  # unacked: [message, exchange, key]
    return args


def _broker_lines(stage) -> list[str]:
    log = (stage.home / "worker0.log").read_text(errors="replace").splitlines()
    return [line for line in log if "broker" in line.lower() or "WARNING" in line or "ERROR" in line][-40:]


def _wait_until(condition, timeout: float = 60, showing=lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out: {showing()}"
        time.sleep(0.1)
