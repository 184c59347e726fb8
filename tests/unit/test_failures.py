"""Whatever a step raises ends as a retry or a dead letter of its kind (workers/failures.py, workers/tasks.py),
on SQLite in a temporary directory and fakeredis, with a tiny stand-in for the Celery task."""

import builtins
import random
from datetime import timedelta
from types import SimpleNamespace

import fakeredis
import pytest
from celery.exceptions import Ignore, Reject
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockError
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError

from apis.freshbooks.errors import ApiErrorDetail, AuthFailed, NotFound, RateLimited, Unavailable, ValidationFailed
from apis.xcart.client import XCartRefused, XCartUnavailable
from core import redis_keys
from core.settings import Settings
from mappings.errors import FieldError, PayloadInvalid
from mappings.orders import NeedsReview
from runtime import bootstrap
from runtime.bootstrap import Services
from store import ledger
from store.db import migrate, session_factory
from store.models import utcnow
from workers import tasks
from workers.failures import OrderNotYetSeen, StepFailed, classify
from workers.retry import retry_delay
from xcfb.operations import replay

EVENT = "evt-1"
STEP = "xcfb.create_invoice"


class Retried(Exception):
    """What the stand-in task raises where Celery's task.retry would."""

    def __init__(self, exc, countdown):
        super().__init__(f"retry in {countdown}s: {exc!r}")
        self.exc, self.countdown = exc, countdown


class FakeTask:
    def __init__(self, name=STEP, retries=0):
        self.name = name
        self.request = SimpleNamespace(retries=retries)

    def retry(self, exc, countdown):
        return Retried(exc, countdown)


@pytest.fixture
def svc(tmp_path):
    settings = Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'unit.sqlite3'}", max_retries=3,
                        retry_base_seconds=1.0, retry_cap_seconds=30.0, max_requeues=2)
    services = Services(settings)
    engine = create_engine(settings.database_url, connect_args={"timeout": 0.2})  # a locked database fails fast
    event.listen(engine, "connect", lambda connection, _: connection.execute("PRAGMA journal_mode=WAL"))
    migrate(engine)
    services.__dict__.update(engine=engine, sessions=session_factory(engine), redis=fakeredis.FakeRedis())
    ledger.record_event(services.sessions, EVENT, "order.created", "order:1", '{"id": "evt-1"}', 1, "1")
    bootstrap.use(services)
    yield services
    bootstrap.use(None)
    engine.dispose()


def raising(error):
    def work(_svc):
        raise error
    return work


def alerted(svc, key):
    return svc.redis.get(redis_keys.ALERT.format(key=key)) is not None


FATAL = [
    (PayloadInvalid([FieldError("data.items[0].price", "not a number: 'x'")]), "invalid", "data.items[0].price"),
    (NeedsReview(["tax CDEV.X has no rule"]), "review", "tax CDEV.X has no rule"),
    (ValidationFailed("POST /invoices: HTTP 422", status=422,
                      details=(ApiErrorDetail(1001, "email", "Field required", "client"),)), "rejected", "HTTP 422"),
    (NotFound("GET /clients/9: HTTP 404", status=404), "rejected", "HTTP 404"),
    (XCartRefused("X-Cart GET /orders/9: HTTP 403: denied", status=403), "rejected", "HTTP 403"),
    (RuntimeError("boom"), "failed", "RuntimeError: boom"),
    (KeyError("email"), "failed", "KeyError: 'email'"),
    (AttributeError("'list' object has no attribute 'get'"), "failed",
     "AttributeError: 'list' object has no attribute 'get'"),
    (IntegrityError("INSERT INTO x", {}, Exception("UNIQUE constraint failed: x.id")), "failed",
     "IntegrityError: UNIQUE constraint failed: x.id"),
    (DataError("INSERT INTO x", {}, Exception("value too long")), "failed", "DataError: value too long"),
]


@pytest.mark.parametrize(("error", "kind", "named"), FATAL, ids=lambda v: type(v).__name__ if isinstance(v, Exception)
                         else None)
def test_a_fatal_exception_ends_the_event_at_once_as_a_dead_letter_of_its_kind(svc, error, kind, named):
    with pytest.raises(Ignore):
        tasks.guarded(FakeTask(), EVENT, raising(error))
    [letter] = ledger.dead_letters(svc.sessions)
    assert (letter.kind, letter.task, letter.event_id) == (kind, STEP, EVENT)
    assert named in letter.reason
    assert ledger.get_event(svc.sessions, EVENT).status == ("review" if kind == "review" else "dead")
    assert alerted(svc, f"{kind}:{EVENT}") == (kind == "failed")


def test_an_unknown_error_names_its_type_message_and_step(svc):
    with pytest.raises(Ignore):
        tasks.guarded(FakeTask("xcfb.resolve_client"), EVENT, raising(KeyError("email")))
    [letter] = ledger.dead_letters(svc.sessions)
    assert letter.reason == "xcfb.resolve_client raised KeyError: 'email'"
    assert letter.errors == [{"path": "(xcfb.resolve_client)", "message": "KeyError: 'email'"}]
    alert = svc.redis.get(redis_keys.ALERT.format(key=f"failed:{EVENT}")).decode()
    assert "xcfb.resolve_client raised KeyError" in alert


RETRYABLE = [RateLimited("429", retry_after=None), Unavailable("503", may_have_reached_server=True),
             AuthFailed("401"), XCartUnavailable("X-Cart GET /orders/1: HTTP 502", status=502),
             OrderNotYetSeen("order 1 not yet"), LockError("not acquired"), RedisConnectionError("refused"),
             OperationalError("SELECT 1", {}, Exception("database is locked")),
             DBAPIError("SELECT 1", {}, Exception("server closed the connection"), connection_invalidated=True),
             builtins.ConnectionError("reset by peer"), builtins.TimeoutError("timed out")]


@pytest.mark.parametrize("error", RETRYABLE, ids=lambda e: type(e).__name__)
def test_a_retryable_cause_is_retried_within_the_budget_then_exhausted(svc, error):
    with pytest.raises(Retried) as retried:
        tasks.guarded(FakeTask(retries=2), EVENT, raising(error))
    assert retried.value.exc is error and 0 <= retried.value.countdown <= 30
    assert ledger.dead_letters(svc.sessions) == []
    assert ledger.get_event(svc.sessions, EVENT).last_error.startswith(type(error).__name__)

    with pytest.raises(Ignore):
        tasks.guarded(FakeTask(retries=3), EVENT, raising(error))  # max_retries=3: the fourth attempt was the last
    [letter] = ledger.dead_letters(svc.sessions)
    assert letter.kind == "exhausted" and letter.reason.startswith("gave up after 4 attempts: ")
    assert ledger.get_event(svc.sessions, EVENT).status == "dead"
    assert alerted(svc, f"exhausted:{EVENT}")


class BrokerDownTask(FakeTask):
    """Celery's task.retry when the new message cannot be published: Reject without requeue."""

    def __init__(self, cause):
        super().__init__()
        self.cause = cause

    def retry(self, exc, countdown):
        raise Reject(self.cause, requeue=False)


def test_a_retry_the_broker_cannot_take_leaves_the_message_to_run_again(svc):
    with pytest.raises(Reject) as rejected:
        tasks.guarded(BrokerDownTask(KombuOperationalError("Error 111 connecting")), EVENT,
                      raising(RedisConnectionError("refused")))
    assert rejected.value.requeue is True  # Celery's own Reject would drop it: acknowledged, never run again
    assert ledger.dead_letters(svc.sessions) == []


def test_a_retry_refused_for_another_reason_is_not_requeued_in_a_loop(svc):
    with pytest.raises(Reject) as rejected:
        tasks.guarded(BrokerDownTask(TypeError("not serializable")), EVENT, raising(RedisConnectionError("x")))
    assert rejected.value.requeue is False  # the event stays unfinished in the database: beat re-runs it


def test_classification_of_database_errors():
    assert classify(OperationalError("S", {}, Exception("gone")), STEP).retryable
    assert classify(DBAPIError("S", {}, Exception("closed"), connection_invalidated=True), STEP).retryable
    assert not classify(DBAPIError("S", {}, Exception("syntax")), STEP).retryable
    disconnected_but_bad_data = DataError("S", {"p": "secret-ish"}, Exception("bad"), connection_invalidated=True)
    failure = classify(disconnected_but_bad_data, STEP)
    assert (failure.kind, failure.retryable) == ("failed", False)
    assert failure.reason == f"{STEP} raised DataError: bad"  # the driver's words, not the statement or its values


def test_a_step_run_by_hand_fails_at_once_with_the_reason(svc):
    with pytest.raises(StepFailed, match=r"^failed: xcfb.create_invoice raised KeyError: 'email'$"):
        tasks.guarded(FakeTask(), None, raising(KeyError("email")))
    assert ledger.dead_letters(svc.sessions) == []


def test_create_invoice_by_hand_for_an_order_never_received_fails_at_once(svc):
    with pytest.raises(StepFailed, match="OrderNeverReceived: order 999999 has never been received"):
        tasks.create_invoice(999999)  # what `celery -A workers call xcfb.create_invoice --args '[999999]'` runs


def test_handle_event_for_an_unknown_event_id_fails_at_once(svc):
    with pytest.raises(StepFailed, match="UnknownEvent: no event 'no-such-event' has been recorded"):
        tasks.handle_event("no-such-event")
    assert ledger.dead_letters(svc.sessions) == []


def test_the_dead_letter_is_retried_while_the_database_cannot_record_it(svc):
    locker = svc.engine.connect()
    locker.execute(text("BEGIN EXCLUSIVE"))  # every other writer gets "database is locked"
    try:
        for retries in (0, 3, 50):  # within the budget or far beyond it: never dropped
            with pytest.raises(Retried) as retried:
                tasks.guarded(FakeTask(retries=retries), EVENT, raising(KeyError("email")))
            assert isinstance(retried.value.exc, OperationalError)
            assert 0 <= retried.value.countdown <= 30
    finally:
        locker.execute(text("ROLLBACK"))
        locker.close()
    assert ledger.get_event(svc.sessions, EVENT).status == "received"

    with pytest.raises(Ignore):  # the database is back: the retried task records the dead letter
        tasks.guarded(FakeTask(retries=51), EVENT, raising(KeyError("email")))
    assert [letter.kind for letter in ledger.dead_letters(svc.sessions)] == ["failed"]


def test_stuck_events_run_again_a_bounded_number_of_times_then_are_dead_lettered(svc):
    sent = []
    for _ in range(2):  # max_requeues=2
        assert tasks.sweep_stuck_events(svc, sent.append, utcnow() + timedelta(seconds=1)) == 1
        assert tasks.sweep_stuck_events(svc, sent.append, utcnow() - timedelta(seconds=60)) == 0  # just re-run
    assert sent == [EVENT, EVENT]
    assert tasks.sweep_stuck_events(svc, sent.append, utcnow() + timedelta(seconds=1)) == 0
    assert sent == [EVENT, EVENT]
    [letter] = ledger.dead_letters(svc.sessions)
    assert (letter.kind, letter.task) == ("stuck", "xcfb.requeue_stuck_events")
    assert "after 2 re-runs by the stuck-event sweep" in letter.reason
    assert ledger.get_event(svc.sessions, EVENT).status == "dead"
    assert alerted(svc, f"stuck:{EVENT}")
    assert tasks.sweep_stuck_events(svc, sent.append, utcnow() + timedelta(seconds=1)) == 0  # dead is final

    replay(svc, letter.id, lambda name, args: sent.append((name, args)))  # `xcfb dlq replay` for a stuck event
    assert sent[-1] == ("xcfb.handle_event", [EVENT])
    reopened = ledger.get_event(svc.sessions, EVENT)
    assert (reopened.status, reopened.requeues) == ("received", 0)  # a fresh allowance of re-runs
    assert tasks.sweep_stuck_events(svc, sent.append, utcnow() + timedelta(seconds=1)) == 1


def test_a_failed_dead_letter_replays_like_any_other(svc):
    with pytest.raises(Ignore):
        tasks.guarded(FakeTask(), EVENT, raising(AttributeError("'list' object has no attribute 'get'")))
    [letter] = ledger.dead_letters(svc.sessions)
    sent = []
    assert replay(svc, letter.id, lambda name, args: sent.append((name, args))) == EVENT
    assert sent == [("xcfb.handle_event", [EVENT])]
    assert ledger.get_dead_letter(svc.sessions, letter.id).status == "replayed"
    assert ledger.get_event(svc.sessions, EVENT).status == "received"


# -- the retry delay ------------------------------------------------------------------------------------------

def test_full_jitter_stays_within_the_exponential_bound_and_spreads():
    rng = random.Random(7)
    for retries in range(6):
        bound = min(30.0, 1.0 * 2 ** retries)
        delays = [retry_delay(retries, RuntimeError(), 1.0, 30.0, rng) for _ in range(300)]
        assert all(0 <= d <= bound for d in delays)
        assert min(delays) < bound * 0.1 and max(delays) > bound * 0.9  # full jitter, not a fixed step


def test_the_same_seed_gives_the_same_delays():
    first = [retry_delay(n, RuntimeError(), 2.0, 300.0, random.Random(3)) for n in range(8)]
    assert first == [retry_delay(n, RuntimeError(), 2.0, 300.0, random.Random(3)) for n in range(8)]


def test_retry_after_is_honoured_and_the_cap_respected():
    rng = random.Random(11)
    asked = RateLimited("429", retry_after=7.0)
    assert all(retry_delay(0, asked, 1.0, 30.0, rng) == 7.0 for _ in range(50))  # backoff alone is at most 1 s
    assert all(7.0 <= retry_delay(5, asked, 1.0, 30.0, rng) <= 30.0 for _ in range(50))
    assert retry_delay(0, RateLimited("429", retry_after=3600.0), 1.0, 30.0, rng) == 30.0
    assert retry_delay(0, XCartUnavailable("429", retry_after=9.0), 1.0, 30.0, rng) == 9.0


def test_the_cap_holds_however_many_retries():
    rng = random.Random(5)
    assert all(0 <= retry_delay(retries, RuntimeError(), 2.0, 300.0, rng) <= 300.0 for retries in (40, 1100, 10**6))
