"""`xcfb connect xcart`: telling a key's kind from the write probe, and the lines of its status section."""

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet

from apis.xcart.client import XCartRefused, XCartUnavailable
from core.settings import Settings
from store import snapshots
from store.connections import ConnectionStore
from store.db import make_engine, migrate, session_factory
from xcfb.connect_xcart import FULL, READ_ONLY, UNKNOWN, key_kind, xcart_status


@pytest.mark.parametrize(("status", "kind"), [(401, READ_ONLY), (403, READ_ONLY), (400, FULL), (422, FULL),
                                              (201, UNKNOWN), (404, UNKNOWN), (405, UNKNOWN)])
def test_the_write_probes_answer_tells_the_keys_kind(status, kind):
    assert key_kind(status) == kind


class Store:
    def __init__(self, problem: Exception | None = None):
        self.problem = problem

    def check_read(self) -> None:
        if self.problem:
            raise self.problem


class Polls:
    """The Redis list of the last polls (store/polls.py), in memory."""

    def __init__(self, *polls: str, down: bool = False):
        self.polls, self.down = list(polls), down

    def lrange(self, _key, start, end):
        if self.down:
            raise ConnectionError("redis is down")
        return self.polls[start:end + 1]


@dataclass
class Svc:
    settings: Settings
    sessions: object
    connections: ConnectionStore
    xcart: Store | None = None
    redis: Polls | None = None


@pytest.fixture
def svc(tmp_path):
    sessions = session_factory(migrate_engine(tmp_path))
    return Svc(Settings(home=tmp_path), sessions, ConnectionStore(sessions, Fernet.generate_key()))


def migrate_engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'unit.sqlite3'}")
    migrate(engine)
    return engine


def test_status_says_when_the_store_is_not_connected(svc):
    assert xcart_status(svc) == ["not connected: run `xcfb connect xcart --url https://store.example/api`"]


def test_status_of_a_connected_store_that_polls(svc):
    svc.connections.put("xcart", {"url": "https://shop.example/api", "token": "tok-secret", "key_kind": READ_ONLY})
    snapshots.set_checkpoint(svc.sessions, "xcart:orders", datetime(2026, 11, 29, 10, 0, tzinfo=UTC))
    svc.xcart = Store()
    svc.redis = Polls('{"at": "2026-11-29T10:05:00+00:00", "listed": 4, "orders": 1, "payments": 1}',
                      '{"at": "2026-11-29T10:04:30+00:00", "listed": 3, "orders": 3, "payments": 2}')
    lines = xcart_status(svc)
    assert lines == ["URL: https://shop.example/api (from xcfb connect xcart)", "reachable: yes", "key: read-only",
                     "checkpoint: 2026-11-29 10:00:00 UTC", "interval: 30 s",
                     "last successful poll: 2026-11-29 10:05:00 UTC",
                     "orders found by the last 2 polls: 7 listed as changed, 4 new to the service"]
    assert not any("tok-secret" in line for line in lines)


def test_status_names_an_unreachable_store_and_a_poller_that_never_ran(svc):
    svc.connections.put("xcart", {"url": "https://shop.example/api", "token": "t", "key_kind": FULL})
    svc.xcart = Store(XCartUnavailable("X-Cart GET /orders: ConnectionError"))
    svc.redis = Polls()
    lines = xcart_status(svc)
    assert lines[1:] == ["reachable: no: X-Cart GET /orders: ConnectionError", "key: full", "checkpoint: none",
                         "interval: 30 s", "last successful poll: none yet (is beat running?)"]


def test_status_with_the_url_from_the_environment_and_redis_down(svc):
    svc.settings = svc.settings.replace(xcart_api_url="https://env.example/api")
    svc.xcart = Store(XCartRefused("X-Cart GET /orders: HTTP 401", status=401))
    svc.redis = Polls(down=True)
    assert xcart_status(svc) == ["URL: https://env.example/api (from XCART_API_URL)",
                                 "reachable: no: X-Cart GET /orders: HTTP 401", "key: unknown",
                                 "checkpoint: none", "interval: 30 s", "last polls: unknown (Redis: ConnectionError)"]


def test_beat_polls_x_cart_at_the_configured_interval_even_without_xcart_api_url():
    import celeryconfig

    schedule = celeryconfig.beat_schedule_for(Settings(catch_up_interval=2.0))  # a store connected later
    assert schedule["catch-up"] == {"task": "xcfb.catch_up", "schedule": 2.0}
    assert Settings().catch_up_interval == 30.0
