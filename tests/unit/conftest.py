"""The unit tier's chain fixtures: SQLite in a temporary file (no server), migrated once per test module, and the
ports of the chain over it with a fake FreshBooks (tests/fakes.py)."""

import pytest
from sqlalchemy import event

from store.db import make_engine, migrate, session_factory
from store.models import Base
from tests.fakes import FakePorts


@pytest.fixture(scope="module")
def unit_engine(tmp_path_factory):
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('unit') / 'unit.sqlite3'}")
    event.listen(engine, "connect", lambda connection, _: connection.execute("PRAGMA synchronous=OFF"))  # no fsync
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def ports(unit_engine) -> FakePorts:
    """Empty tables and a new fake FreshBooks for every test."""
    with unit_engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    return FakePorts(session_factory(unit_engine))
