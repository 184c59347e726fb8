"""The SQL store: SQLite by default, PostgreSQL in production (the URL comes from xcfb.settings)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.orm import sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
IDLE_BEFORE_PING_S = 10.0


def make_engine(url: str, idle_before_ping_s: float = IDLE_BEFORE_PING_S) -> Engine:
    if url.startswith("postgres://"):  # the form Heroku-style platforms hand out
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):  # pin the driver we ship, whatever SQLAlchemy's default is
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url)
    _ping_after_idle(engine, idle_before_ping_s)
    return engine


def _ping_after_idle(engine: Engine, idle_s: float) -> None:
    """A connection that sat in the pool longer than `idle_s` is pinged as it is checked out, and replaced if the
    server went away meanwhile (restarted, failed over, a firewall's idle timeout). One used more recently is not:
    pinging every checkout (pool_pre_ping) was 40 of an order's 135 round trips to PostgreSQL, each on the worker's
    turn (core/turns.py). Should its server have gone within those seconds, its statement fails as a disconnect,
    which the step retries (workers/failures.is_transient); after either failure SQLAlchemy replaces every connection
    of the pool made before it."""
    def idle_from(_dbapi_connection, record) -> None:
        record.info["idle_from"] = time.monotonic()

    def ping_if_idle(dbapi_connection, record, _proxy) -> None:
        idle_from = record.info.get("idle_from")
        if idle_from is None or time.monotonic() - idle_from < idle_s:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as gone:
            # the pool connects anew, and replaces its other connections made before (their server went too)
            raise exc.InvalidatePoolError(str(gone)) from gone

    event.listen(engine, "checkin", idle_from)
    event.listen(engine, "checkout", ping_if_idle)


def _sqlite_pragmas(connection, _record) -> None:
    # WAL lets the ingest process read while a worker writes; foreign keys are off by default in SQLite.
    # synchronous=NORMAL: in WAL mode a commit survives a crash of the process and the database never corrupts;
    # only a power loss or an OS crash can take back the last commits. What must outlive even that before the
    # service acts on it elsewhere is written `durable`. A sync at every commit (FULL, SQLite's default) cost
    # a tenth of the worker's CPU in the chain bench, and stalled a gevent worker whole while the disk synced.
    cursor = connection.cursor()
    journal = cursor.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    cursor.execute("PRAGMA foreign_keys=ON")
    if str(journal).lower() == "wal":  # without WAL (a file system that cannot share memory), NORMAL may corrupt
        cursor.execute(f"PRAGMA synchronous={_SYNC_SOME}")
    cursor.close()


_SYNC_SOME, _SYNC_EACH = "NORMAL", "FULL"


@contextmanager
def durable(engine: Engine) -> Iterator[Connection]:
    """A transaction whose commit outlives a power loss, and every commit before it: the first record of an event
    taken in, the intent row written before a create in FreshBooks (a lost one would let a retry create again).
    SQLite syncs its WAL to disk at this commit; PostgreSQL syncs every commit anyway."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            yield connection
        return
    with engine.connect() as connection:
        sqlite = connection.connection.dbapi_connection  # pragmas on the driver's connection: no transaction begun
        kept = connection.connection.info  # the driver connection's own: its level is read once
        if "synchronous" not in kept:
            kept["synchronous"] = sqlite.execute("PRAGMA synchronous").fetchone()[0]
        level = kept["synchronous"]
        sqlite.execute(f"PRAGMA synchronous={_SYNC_EACH}")
        try:
            with connection.begin():
                yield connection
        finally:
            try:
                sqlite.execute(f"PRAGMA synchronous={level}")
            except Exception:  # noqa: BLE001 - the body's own outcome stands; the connection leaves the pool instead
                connection.invalidate()


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


def reads_of(sessions: sessionmaker) -> Engine:
    """The engine for reads that need no transaction of their own (one statement, or several whose consistency the
    caller's lock gives): on PostgreSQL in autocommit, one round trip a statement instead of three (BEGIN, the
    statement, and the ROLLBACK the pool sends as the connection comes back). SQLite's driver begins no transaction
    for a read anyway: its engine as it is."""
    return _reads(engine_of(sessions))


@lru_cache(maxsize=16)
def _reads(engine: Engine) -> Engine:
    if engine.dialect.name == "sqlite":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def engine_of(sessions: sessionmaker) -> Engine:
    """The engine a sessionmaker opens its sessions on. The order chain's reads and writes (store/binder.py,
    snapshots.py, ledger.py, assistants.py) are Core statements, built once, on a connection of it: through a
    Session each cost about three times the CPU, and so did a Core statement built for each call (a read 88 to 111
    us against 32 to 40: README, "Eighth round"); they run some sixty times an order. The ORM stays where rows are
    objects people work with."""
    return sessions.kw["bind"]


def migrate(engine: Engine) -> None:
    """Brings the schema to the newest alembic revision (idempotent)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
