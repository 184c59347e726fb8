"""A FreshBooks notice (workers/tasks.freshbooks_event) whose audit entry the database fails to write, as it does
for a moment when its server restarts, is retried like any step, not lost; and its entry is written once over
the task's runs."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from runtime import bootstrap
from store import ledger
from store.models import AuditEntry, DeadLetter, Event
from workers import tasks
from workers.app import app


@pytest.fixture
def eager(svc):
    bootstrap.use(svc)
    app.conf.task_always_eager = True  # retries run here, at once, on the test's services
    try:
        yield svc
    finally:
        app.conf.task_always_eager = False
        bootstrap.use(None)


def _fails_once(monkeypatch, module, name: str, error: Exception) -> list:
    calls, real = [], getattr(module, name)

    def once(*args, **kwargs):
        calls.append(name)
        if len(calls) == 1:
            raise error
        return real(*args, **kwargs)
    monkeypatch.setattr(module, name, once)
    return calls


def _gone() -> OperationalError:
    return OperationalError("INSERT INTO audit ...", {}, Exception("server closed the connection unexpectedly"))


def _notices(svc, event_id: str) -> list[AuditEntry]:
    with svc.sessions() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.event_id == event_id,
                                                             AuditEntry.action == "notified")))


def test_a_notice_whose_audit_entry_fails_is_retried_and_noted_once(eager, monkeypatch):
    calls = _fails_once(monkeypatch, ledger, "audit", _gone())
    result = tasks.freshbooks_event.apply(args=[{"name": "invoice.create", "object_id": "77"}], task_id="notice-1")

    assert result.successful()
    assert calls == ["audit", "audit"]  # the failed write, then the retry's
    [entry] = _notices(eager, "freshbooks:notice-1")
    assert (entry.object, entry.freshbooks_id, entry.detail) == ("invoice", 77, "FreshBooks event invoice.create")


def test_a_retry_after_a_later_part_failed_writes_no_second_entry(eager, monkeypatch):
    """A two-way notice whose event record fails once: the retry records and handles it, and the notice keeps its
    one audit entry."""
    _fails_once(monkeypatch, ledger, "record_event", _gone())
    result = tasks.freshbooks_event.apply(args=[{"name": "client.update", "object_id": "5"}], task_id="notice-2")

    assert result.successful()
    assert len(_notices(eager, "freshbooks:notice-2")) == 1
    with eager.sessions() as session:
        event = session.get(Event, "freshbooks:notice-2")
    assert event is not None and event.status in ledger.TERMINAL


def test_a_two_way_notice_whose_audit_entry_cannot_be_written_is_parked_not_lost(eager, monkeypatch):
    """Recorded first: a failure after it, for good, leaves a dead letter to replay, not a lost change."""
    _fails_once(monkeypatch, ledger, "audit", ValueError("a bug in the entry, for the test"))
    tasks.freshbooks_event.apply(args=[{"name": "client.update", "object_id": "6"}], task_id="notice-3")

    with eager.sessions() as session:
        event = session.get(Event, "freshbooks:notice-3")
        letters = list(session.scalars(select(DeadLetter).where(DeadLetter.event_id == "freshbooks:notice-3")))
    assert event is not None and event.status == "dead"
    assert [letter.kind for letter in letters] == ["failed"]
