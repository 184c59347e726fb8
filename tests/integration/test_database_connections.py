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

from store import db
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


def test_a_live_idle_connection_is_pinged_and_kept(make, monkeypatch):
    pooled = make(idle_before_ping_s=0)
    first = _identity(pooled)
    pings = []
    ping = pooled.dialect.do_ping
    monkeypatch.setattr(pooled.dialect, "do_ping", lambda dbapi_connection: pings.append(1) or ping(dbapi_connection))
    assert _identity(pooled) == first  # pinged, alive: the same connection serves again
    assert pings == [1]


def test_a_failed_ping_replaces_the_other_connections_of_the_pool_too(make, engine, monkeypatch):
    """A server that went away took every connection with it: the one used recently, not pinged, is replaced too,
    instead of failing the step that checks it out next."""
    clock = _Clock()
    monkeypatch.setattr(db, "time", clock)
    pooled = make(idle_before_ping_s=5)
    idle, recent = pooled.connect(), pooled.connect()
    identities = [_identity_of(idle), _identity_of(recent)]
    idle.close()
    clock.ahead += 60  # the first connection idle past the limit; the second goes back a minute later
    recent.close()
    _sever(pooled, engine, identities)

    with pooled.connect() as first, pooled.connect() as second:  # the idle one first (the pool is FIFO)
        assert first.execute(text("SELECT 1")).scalar() == 1
        assert second.execute(text("SELECT 2")).scalar() == 2
        assert {_identity_of(first), _identity_of(second)}.isdisjoint(identities)


class _Clock:
    """store.db's clock, moved ahead at will."""

    def __init__(self) -> None:
        self.ahead = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.ahead


def _identity(engine: Engine):
    with engine.connect() as connection:
        return _identity_of(connection)


def _identity_of(connection):
    """The connection's identity on the server (PostgreSQL's backend pid), or the driver's connection itself
    (SQLite; the test holds it, so a new one cannot take its place in memory)."""
    if connection.dialect.name == "postgresql":
        return connection.execute(text("SELECT pg_backend_pid()")).scalar()
    return connection.connection.dbapi_connection


def _sever_the_pooled_connection(pooled: Engine, other: Engine) -> None:
    assert pooled.pool.checkedin() == 1
    if pooled.dialect.name == "postgresql":
        _sever(pooled, other, [_identity(pooled)])
        return
    # SQLite: closed as it goes back, after the pool's reset on checkin, which would notice it
    event.listen(pooled, "checkin", lambda dbapi_connection, _record: dbapi_connection.close(), once=True)
    with pooled.connect():
        pass


def _sever(pooled: Engine, other: Engine, identities: list) -> None:
    """Ends the connections `identities` names (_identity_of), in the pool: on PostgreSQL their backends,
    terminated from `other`, another engine on the same database; on SQLite the driver's connections, closed."""
    if pooled.dialect.name != "postgresql":
        for dbapi_connection in identities:
            dbapi_connection.close()
        return
    with other.connect() as connection:
        for backend in identities:
            assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend}).scalar()
    deadline = time.monotonic() + 10
    while _backends_left(other, identities):
        assert time.monotonic() < deadline, f"backends {identities} still there"
        time.sleep(0.01)


def _backends_left(other: Engine, backends: list) -> int:
    with other.connect() as connection:  # a transaction of its own each time: pg_stat_activity is a snapshot in one
        return connection.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"),
                                  {"pids": list(backends)}).scalar()
