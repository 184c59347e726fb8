"""SQLite commits without syncing to disk (synchronous=NORMAL: a crash of the process loses nothing, the database
never corrupts), but what must outlive a power loss before the service acts on it elsewhere is synced at its commit
(store/db.durable): the first record of an event taken in, the intent row written before a create in FreshBooks."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from store import binder, ledger
from store.db import engine_of, make_engine, migrate, session_factory

NORMAL, FULL = 1, 2  # PRAGMA synchronous, as SQLite reads it back


@pytest.fixture
def sessions(tmp_path):
    """A database as the service opens it (the unit tier's engine syncs nothing, for speed)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'durable.sqlite3'}")
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def levels(sessions):
    """The synchronous level of each commit that wrote something, from now on until the test ends."""
    seen: list[int] = []

    def note(connection):
        sqlite = connection.connection.dbapi_connection
        if sqlite.in_transaction:  # a transaction pysqlite began for a write (not the pragma's own commit)
            seen.append(sqlite.execute("PRAGMA synchronous").fetchone()[0])
    event.listen(engine_of(sessions), "commit", note)
    return seen


def test_an_intent_row_is_synced_at_its_commit_and_the_binding_after_it_is_not(sessions, levels):
    assert binder.record_intent(sessions, "invoice", "90001")
    binder.bind(sessions, "invoice", "90001", 7, "v1")
    assert levels == [FULL, NORMAL]


def test_an_events_first_record_is_synced_and_its_later_writes_are_not(sessions, levels):
    assert ledger.record_event(sessions, "durable-1", "order.created", "order:90002", "{}", 90002, "90002")
    ledger.start_attempt(sessions, "durable-1")
    ledger.finish(sessions, "durable-1", "synced")
    assert levels[0] == FULL and levels[1:] and set(levels[1:]) == {NORMAL}


def test_a_durable_write_that_fails_leaves_its_connection_syncing_as_the_others(sessions, levels):
    assert binder.record_intent(sessions, "item", "SKU-D")
    assert not binder.record_intent(sessions, "item", "SKU-D")  # refused by the unique key: rolled back
    binder.bind(sessions, "item", "SKU-D", 8)
    assert levels == [FULL, NORMAL]
