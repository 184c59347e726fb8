"""The SQL store: SQLite by default, any SQLAlchemy URL (PostgreSQL in production) from DATABASE_URL."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


def default_database_url() -> str:
    home = Path(os.environ.get("XCFB_HOME", Path.cwd() / "var"))
    home.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{home / 'xcfb.sqlite3'}"


def database_url() -> str:
    return os.environ.get("DATABASE_URL") or default_database_url()


def make_engine(url: str | None = None) -> Engine:
    url = url or database_url()
    if url.startswith("postgres://"):  # the form Heroku-style platforms hand out
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):  # pin the driver we ship, whatever SQLAlchemy's default is
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(connection, _record) -> None:
    # WAL lets the ingest process read while a worker writes; foreign keys are off by default in SQLite.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


def migrate(engine: Engine) -> None:
    """Brings the schema to the newest alembic revision (idempotent)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
