"""Celery tasks: thin wrappers that give the plain handlers their retry policy and dead letters.

Each step takes plain arguments, so one step can be re-run from the shell:
    celery -A workers call xcfb.create_invoice --args '[5012]'
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from celery import chain
from celery.exceptions import Ignore
from sqlalchemy.exc import OperationalError

from apis.freshbooks.errors import AuthFailed, FreshBooksError, NotFound, ValidationFailed
from mappings.errors import PayloadInvalid
from mappings.orders import NeedsReview
from store import ledger
from store.models import utcnow
from xcfb import callbacks, metrics
from xcfb.alerts import raise_alert
from xcfb.bootstrap import services

from . import events, orders
from .app import app
from .catch_up import catch_up as poll_xcart
from .retry import RETRYABLE, retry_delay

log = logging.getLogger(__name__)


def guarded(task, event_id: str | None, work: Callable):
    """Runs one step: retries what may pass (rate limits, outages, locks) with backoff, parks the event
    in the dead-letter store when it cannot pass (invalid, refused, review, retries exhausted)."""
    svc = services()
    name = task.name
    try:
        result = work(svc)
    except PayloadInvalid as exc:
        _park(svc, task, event_id, "invalid", str(exc), exc.as_dicts())
    except NeedsReview as exc:
        _park(svc, task, event_id, "review", str(exc), [{"path": "(order)", "message": r} for r in exc.reasons])
    except (ValidationFailed, NotFound) as exc:
        details = [{"path": f"freshbooks.{d.object or ''}.{d.field or ''}".rstrip("."), "message": d.message}
                   for d in exc.details]
        _park(svc, task, event_id, "rejected", str(exc), details)
    except (*RETRYABLE, AuthFailed) as exc:
        if task.request.retries >= svc.settings.max_retries:
            _park(svc, task, event_id, "exhausted", f"gave up after {task.request.retries + 1} attempts: {exc}", [])
        if isinstance(exc, AuthFailed):
            raise_alert(svc, "freshbooks-auth", str(exc))
        metrics.bump(svc.redis, "retries", task=name, reason=type(exc).__name__)
        if event_id:
            _note_error(svc, event_id, exc)
        countdown = retry_delay(task.request.retries, exc, svc.settings.retry_base_seconds,
                                svc.settings.retry_cap_seconds)
        raise task.retry(exc=exc, countdown=countdown) from None  # the budget is ours: tasks say max_retries=None
    except FreshBooksError as exc:
        _park(svc, task, event_id, "rejected", str(exc), [])
    metrics.bump(svc.redis, "tasks", task=name, outcome="done")
    return result


def _note_error(svc, event_id: str, error: BaseException) -> None:
    """Best effort: the database may be the thing that is down, and the retry matters more than the note."""
    try:
        ledger.note_error(svc.sessions, event_id, f"{type(error).__name__}: {error}")
    except OperationalError:
        log.warning("event %s: error not noted, the database is unavailable", event_id)


def _park(svc, task, event_id: str | None, kind: str, reason: str, errors: list) -> None:
    metrics.bump(svc.redis, "tasks", task=task.name, outcome=kind)
    if event_id is None:  # run by hand without an event: the failure shows in Flower and the shell
        raise RuntimeError(f"{kind}: {reason}")
    ledger.dead_letter(svc.sessions, event_id, kind, task.name, reason, errors)
    metrics.bump(svc.redis, "dead_letters_created", kind=kind)
    log.warning("event %s parked as %s by %s: %s", event_id, kind, task.name, reason)
    if kind == "exhausted":
        raise_alert(svc, f"exhausted:{event_id}", f"event {event_id} gave up in {task.name}: {reason}")
    raise Ignore()  # stops the chain here; the dead letter says why


def order_chain(order_id: int, event_id: str | None):
    return chain(resolve_client.si(order_id, event_id), sync_items.si(order_id, event_id),
                 create_invoice.si(order_id, event_id), reconcile_payment.si(order_id, event_id))


@app.task(name="xcfb.process_event", bind=True, max_retries=None)
def process_event(self, raw: str) -> None:
    """An X-Cart event as the ingest endpoint received it (the raw JSON body)."""
    event_id, needed = guarded(self, None, lambda svc: events.receive(svc, raw))
    if needed:
        run_event(self, event_id)


@app.task(name="xcfb.handle_event", bind=True, max_retries=None)
def handle_event(self, event_id: str) -> None:
    """An event already recorded: replays from the dead-letter store and stuck events come here."""
    run_event(self, event_id)


def run_event(task, event_id: str) -> None:
    order_id = guarded(task, event_id, lambda svc: events.handle(svc, event_id))
    if order_id is not None:
        order_chain(order_id, event_id).apply_async()


@app.task(name="xcfb.resolve_client", bind=True, max_retries=None)
def resolve_client(self, order_id: int, event_id: str | None = None) -> int:
    return guarded(self, event_id, lambda svc: orders.resolve_client(svc, order_id, event_id))


@app.task(name="xcfb.sync_items", bind=True, max_retries=None)
def sync_items(self, order_id: int, event_id: str | None = None) -> list[str]:
    return guarded(self, event_id, lambda svc: orders.sync_items(svc, order_id, event_id))


@app.task(name="xcfb.create_invoice", bind=True, max_retries=None)
def create_invoice(self, order_id: int, event_id: str | None = None) -> int | None:
    return guarded(self, event_id, lambda svc: orders.create_invoice(svc, order_id, event_id))


@app.task(name="xcfb.reconcile_payment", bind=True, max_retries=None)
def reconcile_payment(self, order_id: int, event_id: str | None = None) -> str:
    booked = guarded(self, event_id, lambda svc: orders.reconcile_payment(svc, order_id, event_id))
    if event_id:
        ledger.finish(services().sessions, event_id, "synced")
    return str(booked)


@app.task(name="xcfb.catch_up", bind=True, max_retries=None)
def catch_up(self) -> str:
    """Beat: poll X-Cart for changes webhooks did not bring (see workers/catch_up.py)."""
    def work(svc):
        if svc.xcart is None:
            return "catch-up sync is off: XCART_API_URL is not set"
        return str(poll_xcart(svc, lambda name, args: app.send_task(name, args=args)))
    outcome = guarded(self, None, work)
    log.info("catch-up: %s", outcome)
    return outcome


@app.task(name="xcfb.requeue_stuck_events")
def requeue_stuck_events(older_than_seconds: int | None = None) -> int:
    """Beat: events still received/processing an hour after arrival (the broker's visibility timeout: any
    message still in flight would have been redelivered by then) were lost with Redis; they run again."""
    svc = services()
    older_than_seconds = older_than_seconds or svc.settings.stuck_after_seconds
    stuck = ledger.stuck_events(svc.sessions, utcnow() - timedelta(seconds=older_than_seconds))
    for event in stuck:
        handle_event.delay(event.id)
    if stuck:
        log.warning("requeued %d stuck events", len(stuck))
    return len(stuck)


@app.task(name="xcfb.confirm_freshbooks_callback", bind=True, max_retries=None)
def confirm_freshbooks_callback(self, callback_id: str) -> str:
    """The second half of FreshBooks' webhook handshake: send the verifiers offered for a callback this
    service registered back to FreshBooks; trust the one it accepts (xcfb/callbacks.py). Takes the id only:
    the verifiers wait in Redis, out of the task's arguments and so out of the logs."""
    outcome = guarded(self, None, lambda svc: callbacks.confirm(svc, str(callback_id)))
    log.info("FreshBooks callback verification: %s", outcome)
    return outcome


@app.task(name="xcfb.freshbooks_event")
def freshbooks_event(fields: dict) -> None:
    """FreshBooks says an object changed. Carrying FreshBooks-side edits back to X-Cart comes with the
    bi-directional sync; until then each notice is kept in the audit trail, where an operator sees it."""
    name = str(fields.get("name", ""))[:200]
    object_id = str(fields.get("object_id", ""))
    known_id = object_id.isascii() and object_id.isdigit() and len(object_id) <= 10 and int(object_id) < 2 ** 31
    ledger.audit(services().sessions, "notified", name.split(".")[0][:16] or "unknown",
                 int(object_id) if known_id else None, f"FreshBooks event {name}")
