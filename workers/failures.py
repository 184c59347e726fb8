"""What can go wrong in a step, and the one place that decides what becomes of it.

`classify` turns any exception -- ours, FreshBooks', X-Cart's, Redis', the database's, or a plain bug -- into
a Failure: retry it (core.errors.Retryable, and the third-party causes that pass by themselves), or end the
event at once as a dead letter of a kind an operator can act on:
    invalid   the payload breaks the schema, field by field   (fix the payload, replay)
    review    a rule holds the order for a person             (fix the rules, replay)
    rejected  FreshBooks or X-Cart refused the request        (fix the data or the account, replay)
    exhausted a retryable cause outlasted the retry budget    (replay once it is over)
    failed    anything else: a bug, an unexpected error       (fix the code, replay)
The stuck-event sweep adds `stuck` (workers/tasks.py: requeue_stuck_events)."""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field, replace

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockError, ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError, StatementError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from apis.freshbooks.errors import FreshBooksError
from apis.xcart.client import XCartError
from core.errors import Fatal, Retryable
from mappings.errors import PayloadInvalid
from mappings.orders import NeedsReview

MAX_MESSAGE = 500  # a driver's message can quote a whole statement; the reason stays readable


class OrderNotYetSeen(Retryable):
    """A payment or a step for an order whose order event has not arrived yet."""


class InvoiceNotYetBooked(Retryable):
    """A payment step for an order whose invoice does not exist yet."""


class ChecksKeepChanging(Retryable):
    """What the order's checks passed kept changing while a step was booking (versions arriving, two rule versions
    in flight): the step runs again later."""


class OrderNeverReceived(Fatal):
    """A step run by hand, without an event, for an order this service never received: waiting cannot help."""


class UnknownEvent(Fatal):
    """An event id this service never recorded (`xcfb.handle_event` run by hand with a wrong id)."""


class StepFailed(Fatal):
    """A step run without an event (by hand, or on a raw body not recorded yet) failed for good: with no event
    to park, the failure goes to the caller -- the Celery shell, Flower, the worker's log."""


# Third-party causes that pass by themselves: a connection that drops, a server that is failing over or
# loading, a lock another worker holds, a busy database. Everything not listed here, and not Retryable, is fatal.
TRANSIENT = (RedisConnectionError, RedisTimeoutError, ReadOnlyError, LockError, OperationalError, PoolTimeout,
             builtins.ConnectionError, builtins.TimeoutError)


@dataclass(frozen=True)
class Failure:
    kind: str  # the dead letter's kind, should the event end on this failure
    retryable: bool
    reason: str
    details: list[dict] = field(default_factory=list)

    def exhausted(self, attempts: int) -> Failure:
        return replace(self, kind="exhausted", retryable=False,
                       reason=f"gave up after {attempts} attempts: {self.reason}")


def classify(exc: BaseException, step: str) -> Failure:
    """The decision for an exception raised by `step` (a task name)."""
    if isinstance(exc, PayloadInvalid):
        return Failure("invalid", False, str(exc), exc.as_dicts())
    if isinstance(exc, NeedsReview):
        return Failure("review", False, str(exc), getattr(exc, "details", None)
                       or [{"path": "(order)", "message": r} for r in exc.reasons])
    if is_transient(exc):
        return Failure("exhausted", True, describe(exc))
    if isinstance(exc, FreshBooksError):
        return Failure("rejected", False, str(exc), [
            {"path": f"freshbooks.{d.object or ''}.{d.field or ''}".rstrip("."), "message": d.message}
            for d in exc.details])
    if isinstance(exc, XCartError):
        return Failure("rejected", False, str(exc), [{"path": "xcart", "message": str(exc)}])
    return Failure("failed", False, f"{step} raised {describe(exc)}", [{"path": f"({step})", "message": describe(exc)}])


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, Retryable):
        return True
    if isinstance(exc, DataError | IntegrityError):  # the same statement fails the same way next time
        return False
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:  # a disconnect, whatever the driver calls it
        return True
    return isinstance(exc, TRANSIENT)


def describe(exc: BaseException) -> str:
    """`Type: message`; for a database error the driver's message, without the statement and its parameters."""
    cause = exc.orig if isinstance(exc, StatementError) and exc.orig is not None else exc
    message = str(cause).strip()
    if len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE] + "..."
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
