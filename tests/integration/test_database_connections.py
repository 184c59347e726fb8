"""Pooled database connections whose server side went away (a restart, a failover, a firewall's idle timeout):
one that sat idle past the limit is pinged and replaced as it is checked out; one used more recently fails its
statement as a disconnect, which the steps retry, and the pool then connects anew (store/db.make_engine).

On PostgreSQL the connection's backend is terminated from another session; on SQLite the driver's connection is
closed as it goes back into the pool."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import DBAPIError

from store.db import make_engine
from workers.failures import is_transient


@pytest.fixture
def make(database_url):
    made = []

    def make_one(idle_before_ping_s: float) -> Engine:
        engine = make_engine(database_url, idle_before_ping_s=idle_before_ping_s)
        made.append(engine)
        return engine
    yield make_one
    for engine in made:
        engine.dispose()


def test_a_connection_idle_past_the_limit_is_pinged_and_replaced(make, engine):
    pooled = make(idle_before_ping_s=0)
    first = _identity(pooled)
    _sever_the_pooled_connection(pooled, engine)

    with pooled.connect() as connection:  # the checkout's ping finds it gone: a new connection serves
        assert connection.execute(text("SELECT 42")).scalar() == 42
    assert _identity(pooled) != first


def test_a_recently_used_connection_is_not_pinged_its_failure_is_transient(make, engine):
    pooled = make(idle_before_ping_s=3600)
    first = _identity(pooled)
    _sever_the_pooled_connection(pooled, engine)

    with pytest.raises(DBAPIError) as failed, pooled.connect() as connection:
        connection.execute(text("SELECT 42"))
    assert failed.value.connection_invalidated
    assert is_transient(failed.value)  # the step is retried, not dead-lettered

    with pooled.connect() as connection:  # and the retry finds a new connection
        assert connection.execute(text("SELECT 42")).scalar() == 42
    assert _identity(pooled) != first


def test_a_live_idle_connection_is_kept(make):
    pooled = make(idle_before_ping_s=0)
    first = _identity(pooled)
    assert _identity(pooled) == first  # pinged, alive: the same connection serves again


def _identity(engine: Engine):
    """The pooled connection's identity on the server (PostgreSQL's backend pid), or the driver's connection
    itself (SQLite; the test holds it, so a new one cannot take its place in memory)."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            return connection.execute(text("SELECT pg_backend_pid()")).scalar()
        return connection.connection.dbapi_connection


def _sever_the_pooled_connection(pooled: Engine, other: Engine) -> None:
    """Ends the one connection `pooled` holds, on the server when there is one; `other` is another engine on the
    same database, for the PostgreSQL session that terminates it."""
    assert pooled.pool.checkedin() == 1
    if pooled.dialect.name != "postgresql":  # closed after the pool's reset on checkin, which would notice it
        event.listen(pooled, "checkin", lambda dbapi_connection, _record: dbapi_connection.close(), once=True)
        with pooled.connect():
            pass
        return
    backend = _identity(pooled)
    with other.connect() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend}).scalar()
        deadline = time.monotonic() + 10
        while connection.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                                 {"pid": backend}).scalar():
            assert time.monotonic() < deadline, f"backend {backend} still there"
            time.sleep(0.01)
