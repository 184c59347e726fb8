"""Shared fixtures. Integration fixtures use REDIS_URL / DATABASE_URL when set (CI sets both and a
missing server then fails the run), and otherwise the embedded defaults: the embedded Redis and SQLite."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import redis

from apis.freshbooks.client import FreshBooksClient, StaticToken
from core.embedded import embedded_redis_socket, stop_embedded_redis
from sandboxes.freshbooks.app import SandboxConfig, create_app, sandbox_of
from sandboxes.freshbooks.oauth import OAuthSettings
from sandboxes.serve import BackgroundServer
from store.db import make_engine, migrate, session_factory
from store.models import Base

SANDBOX_TOKEN = "sandbox-test-token"

# Without REDIS_URL, the embedded redis-server (the service's own default) serves the tests; it lives in a
# temporary XCFB_HOME, set before anything imports celeryconfig, and stops when the session ends.
if not os.environ.get("XCFB_HOME"):
    os.environ["XCFB_HOME"] = tempfile.mkdtemp(prefix="xcfb-tests-")


TIERS = ("unit", "integration", "e2e", "faults")  # a test's tier is its folder


def pytest_collection_modifyitems(config, items):
    for item in items:
        tier = next((part for part in item.path.relative_to(config.rootpath).parts if part in TIERS), None)
        if tier is None:
            raise pytest.UsageError(f"{item.nodeid} is in no tier folder ({', '.join(TIERS)})")
        item.add_marker(getattr(pytest.mark, tier))


def pytest_sessionfinish(session, exitstatus):
    if not os.environ.get("REDIS_URL"):
        stop_embedded_redis(Path(os.environ["XCFB_HOME"]))


@pytest.fixture(scope="session")
def fb_server():
    app = create_app(SandboxConfig(oauth=OAuthSettings(static_tokens=(SANDBOX_TOKEN,))))
    with BackgroundServer(app) as server:
        yield server


@pytest.fixture
def fb_sandbox(fb_server):
    """The running FreshBooks sandbox, reset to empty books and no faults for each test."""
    sandbox = sandbox_of(fb_server.app)
    sandbox.reset()
    yield sandbox
    sandbox.reset()


@pytest.fixture
def fb_client(fb_server, fb_sandbox) -> FreshBooksClient:
    return FreshBooksClient(StaticToken(SANDBOX_TOKEN), base_url=fb_server.url, timeout=(2.0, 2.0))


@pytest.fixture(scope="session")
def redis_url():
    return os.environ.get("REDIS_URL") or f"unix://{embedded_redis_socket(Path(os.environ['XCFB_HOME']))}"


@pytest.fixture
def redis_client(redis_url):
    client = redis.Redis.from_url(redis_url)
    client.ping()  # an unreachable REDIS_URL fails here, it never skips
    for key in client.scan_iter("xcfb:*"):
        client.delete(key)
    yield client
    client.close()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    return os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def engine(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine):
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):  # every table, the next one added included
            connection.execute(table.delete())
    return session_factory(engine)
