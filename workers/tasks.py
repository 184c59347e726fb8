"""Celery tasks: thin wrappers that give the plain handlers their retry policy and dead letters.

Each step takes plain arguments, so one step can be re-run from the shell:
    celery -A workers call xcfb.create_invoice --args '[5012]'
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import NamedTuple, NoReturn

from celery import Signature, chain, signals
from celery.exceptions import Ignore, Reject, Retry
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from apis.freshbooks.errors import AuthFailed
from core import redis_keys
from mappings import jsonio
from runtime import callbacks, exchange_rates, metrics
from runtime.alerts import raise_alert
from runtime.bootstrap import services
from store import accepted, ledger
from store.coalescing import RODE_ON, Cover
from store.models import Event, utcnow
from store.polls import record_poll
from workers import checks, events, fault_injection, orders, reconcile
from workers.app import app
from workers.catch_up import catch_up as poll_xcart
from workers.failures import Failure, StepFailed, classify
from workers.retry import retry_delay
from workers.task_services import OneRuleVersion
from workers.two_way import HANDLED as TWO_WAY_EVENTS

log = logging.getLogger(__name__)
ALERTED = ("exhausted", "failed", "stuck")  # dead letters nobody expected: someone must look now


class Part(NamedTuple):
    """A step run as one part of a task of two (invoice_and_payment): named as its step in a dead letter, a retry,
    an injected fault and the `tasks` counter. `alone`: the step's own task, for a part the task runs once, as the
    step's first attempt: its retry is that task, sent at the step's second attempt, so the part's retry budget is
    its own and a retry does not run the other part again. Without it the task retries itself."""
    step: str
    alone: Signature | None = None


def guarded(task, event_id: str | None, work: Callable, cover: Cover | None = None, part: Part | None = None):
    """Runs one step. Whatever it raises ends one of two ways, as workers/failures.py decides: retried with
    backoff while the retry budget lasts, or parked in the dead-letter store (with an alert for the kinds
    nobody expected). No exception leaves the event in `processing`. `cover`: the chain's order and cover id,
    whose coalesced events (store/coalescing.py) are parked with the event. `part`: the step, where the task runs
    two (else the step is the task)."""
    svc = services()
    step = part.step if part else task.name
    retries = 0 if part and part.alone else task.request.retries  # the step's, not the task's
    try:
        _inject_fault(svc, step, event_id, retries)
        result = work(OneRuleVersion(svc))  # one rule version for the whole step (workers/task_services.py)
    except (Ignore, Retry):
        raise
    except Exception as exc:  # noqa: BLE001 - every exception is classified below, none is swallowed
        _fail(svc, task, step, retries, event_id, exc, cover, part.alone if part else None)
    if part:
        metrics.bump(svc.redis, "tasks", task=step, outcome="done")
    return result


@signals.task_success.connect
def _count_done(sender=None, **_) -> None:
    """A task run that returned (a parked one counts under its failure's kind, in _park): once a run, however many
    guarded parts it has (process_event has three); a task of two steps counts each step as it ends (guarded)."""
    if not getattr(sender, "counts_its_steps", False):
        metrics.bump(services().redis, "tasks", task=sender.name, outcome="done")


def _fail(svc, task, step: str, retries: int, event_id: str | None, exc: Exception, cover: Cover | None = None,
          alone: Signature | None = None) -> NoReturn:
    failure = classify(exc, step)
    if isinstance(exc, AuthFailed):
        _alert(svc, "freshbooks-auth", str(exc))
    if failure.retryable:
        if retries < svc.settings.max_retries:
            _retry(svc, step, retries, event_id, exc, task, alone)
        failure = failure.exhausted(retries + 1)
    try:
        _park(svc, step, event_id, failure, cover)
    except Exception as parking_error:
        if not classify(parking_error, step).retryable:
            raise
        # The database (or Redis) is down: the dead letter is not written, and the task in the broker is the
        # event's only record, so it runs again (beyond the budget: the step's own failure is final already,
        # it only waits for a place to be written down).
        log.warning("event %s: %s not recorded (%s), retrying", event_id, failure.kind,
                    type(parking_error).__name__)
        _send_retry(task, parking_error, _delay(svc, task.request.retries, parking_error))
    if event_id is None:  # run by hand, or a body not recorded yet: the failure shows in Flower and the shell
        raise StepFailed(f"{failure.kind}: {failure.reason}")
    raise Ignore()  # stops the chain here; the dead letter says why


def _retry(svc, step: str, retries: int, event_id: str | None, exc: Exception, task, alone: Signature | None
           ) -> NoReturn:
    metrics.bump(svc.redis, "retries", task=step, reason=type(exc).__name__)
    if event_id:
        _note_error(svc, event_id, exc)
    countdown = _delay(svc, retries, exc)
    if alone is not None:
        _send_alone(alone, countdown)
    _send_retry(task, exc, countdown)  # the budget is ours: max_retries=None


def _send_retry(task, exc: Exception, countdown: float) -> NoReturn:
    """A retry is a new message; when the broker cannot take it (down, restarting), Celery rejects the running
    message *without* requeue, which would drop the step until beat noticed the event stuck. Requeued
    instead: the message stays unacknowledged in the broker and runs again once the broker is back."""
    try:
        raise task.retry(exc=exc, countdown=countdown)
    except Reject as unsent:
        if isinstance(unsent.reason, OperationalError | OSError):
            raise Reject(unsent.reason, requeue=True) from None
        raise


def _send_alone(alone: Signature, countdown: float) -> NoReturn:
    """The step goes on as its own task, at its second attempt, and the running task ends here (its other part is
    done). A broker that cannot take the message: the running message is requeued, as by _send_retry."""
    try:
        alone.apply_async(countdown=countdown, retries=1)
    except (OperationalError, OSError) as unsent:
        raise Reject(unsent, requeue=True) from None
    raise Ignore()


def _delay(svc, retries: int, exc: BaseException) -> float:
    return retry_delay(retries, exc, svc.settings.retry_base_seconds, svc.settings.retry_cap_seconds)


def _inject_fault(svc, step: str, event_id: str | None, attempt: int) -> None:
    """The fault suite's step-exceptions scenario (workers/fault_injection.py); does nothing unless enabled."""
    fault = fault_injection.fault_for(step, event_id, attempt)
    if fault is not None:
        metrics.bump(svc.redis, "faults_injected", task=step)
        raise fault


def _note_error(svc, event_id: str, error: BaseException) -> None:
    """Best effort: the database may be the thing that is down, and the retry matters more than the note."""
    try:
        ledger.note_error(svc.sessions, event_id, f"{type(error).__name__}: {error}")
    except SQLAlchemyError:
        log.warning("event %s: error not noted, the database is unavailable", event_id)


def _park(svc, step: str, event_id: str | None, failure: Failure, cover: Cover | None = None) -> None:
    """Records the dead letter (raises if it cannot: the caller retries); counting and alerting are best effort.
    The events the chain covers (taken in while it waited, store/coalescing.py) are parked with it, each its own
    entry, the same kind and reason (an order's reviews are one entry, naming its latest event: a replay of it
    runs the chain on the order's newest version)."""
    # closed first: a chain parked before its first step started it would otherwise still take events in
    covered = svc.coalescing.close(cover.order_id, cover.id) if cover and event_id is not None else []
    if event_id is not None:
        ledger.dead_letter(svc.sessions, event_id, failure.kind, step, failure.reason, failure.details)
        for other in covered:
            ledger.dead_letter(svc.sessions, other, failure.kind, step,
                               f"{failure.reason} (with event {event_id}, {RODE_ON})", failure.details)
        if cover:
            svc.coalescing.release(cover.id)
    metrics.bump(svc.redis, "tasks", task=step, outcome=failure.kind)
    if event_id is None:
        return
    metrics.bump(svc.redis, "dead_letters_created", by=1 + len(covered), kind=failure.kind)
    log.warning("event %s parked as %s by %s: %s", event_id, failure.kind, step, failure.reason)
    if failure.kind in ALERTED:
        _alert(svc, f"{failure.kind}:{event_id}", f"event {event_id} {failure.kind} in {step}: {failure.reason}")


def _alert(svc, key: str, message: str) -> None:
    try:
        raise_alert(svc, key, message)
    except RedisError as exc:  # the dead letter is written: it is the record, the alert only the news
        log.error("ALERT %s not raised (%s): %s", key, type(exc).__name__, message)


def order_chain(order_id: int, event_id: str | None, cover: str | None = None, idle: Collection[str] = ()):
    """The order's chain of named tasks, but the steps in `idle` (nothing to do: workers/orders.idle_steps);
    create_invoice and reconcile_payment, when it runs both, as one task (invoice_and_payment). `cover`: the id its
    coalesced events wait on (store/coalescing.py)."""
    extra = {"cover": cover} if cover else {}
    steps = [step for step in (check_order, resolve_client, sync_items, create_invoice, reconcile_payment)
             if step.name.removeprefix("xcfb.") not in idle]
    if steps[-2:] == [create_invoice, reconcile_payment]:
        steps[-2:] = [invoice_and_payment]
    return chain(*(step.si(order_id, event_id, **extra) for step in steps))


@app.task(name="xcfb.process_event", bind=True, max_retries=None)
def process_event(self, raw: str) -> None:
    """An X-Cart event as the ingest endpoint received it (the raw JSON body)."""
    event_id, needed, body = guarded(self, None, lambda svc: _taken_in(svc, raw))
    if needed:
        run_event(self, event_id, body)


def _taken_in(svc, raw: str) -> tuple[str, bool, dict | None]:
    """events.take_in; then the event is recorded, and the message ingest kept of it is not needed any more
    (store/accepted.py)."""
    taken = events.take_in(svc, raw)
    accepted.forget(svc.redis, taken[0])
    return taken


@app.task(name="xcfb.handle_event", bind=True, max_retries=None)
def handle_event(self, event_id: str) -> None:
    """An event already recorded: replays from the dead-letter store and stuck events come here."""
    guarded(self, None, lambda svc: events.recorded(svc, event_id))  # an unknown id fails here, at once
    run_event(self, event_id)


def run_event(task, event_id: str, body: dict | None = None) -> None:
    """Handles the event, then sends its order's chain -- unless a chain of the order is sent and not started yet:
    that one covers the event (its snapshot and payments are stored: the chain reads them) and finishes it
    (store/coalescing.py)."""
    order_id = guarded(task, event_id, lambda svc: events.handle(svc, event_id, body))
    if order_id is None:
        return
    coalescing = services().coalescing
    send, cover = coalescing.join(order_id, event_id)
    if not send:
        metrics.bump(services().redis, "events_coalesced")
        return
    try:
        idle = guarded(task, event_id, lambda svc: orders.idle_steps(svc, order_id), Cover(order_id, cover))
        order_chain(order_id, event_id, cover, idle).apply_async()
    except (Retry, Reject):
        # The event comes back (a retry, or its message requeued), finds its own marker and sends this chain
        # under the same cover id: the events that joined it meanwhile are finished by it, not stranded.
        raise
    except BaseException:
        try:
            coalescing.start(order_id, cover)  # not sent: later events must not wait for it
        except RedisError:
            log.warning("order %s: the marker of chain %s stays until it expires", order_id, cover)
        raise


def _step(order_id: int, cover: str | None, step: Callable) -> Callable:
    """A chain step's work. Whichever step comes first in the chain (idle ones are left out: order_chain) starts
    the chain before it reads the order: from then on, the order's new events send chains of their own
    (store/coalescing.py). For the steps after the first, the start finds the marker gone or another chain's."""
    def work(svc):
        if cover:
            svc.coalescing.start(order_id, cover)
        return step(svc)
    return work


@app.task(name="xcfb.check_order", bind=True, max_retries=None)
def check_order(self, order_id: int, event_id: str | None = None, cover: str | None = None) -> int:
    """Data quality and anomalies (workers/checks.py): findings kept, the order held when the rules say so."""
    return len(guarded(self, event_id, _step(order_id, cover, lambda svc: checks.check_order(svc, order_id, event_id)),
                       Cover.of(order_id, cover)))


@app.task(name="xcfb.resolve_client", bind=True, max_retries=None)
def resolve_client(self, order_id: int, event_id: str | None = None, cover: str | None = None) -> int:
    return guarded(self, event_id, _step(order_id, cover, lambda svc: orders.resolve_client(svc, order_id, event_id)),
                   Cover.of(order_id, cover))


@app.task(name="xcfb.sync_items", bind=True, max_retries=None)
def sync_items(self, order_id: int, event_id: str | None = None, cover: str | None = None) -> list[str]:
    return guarded(self, event_id, _step(order_id, cover, lambda svc: orders.sync_items(svc, order_id, event_id)),
                   Cover.of(order_id, cover))


@app.task(name="xcfb.create_invoice", bind=True, max_retries=None)
def create_invoice(self, order_id: int, event_id: str | None = None, cover: str | None = None) -> int | None:
    return guarded(self, event_id, _step(order_id, cover, lambda svc: orders.create_invoice(svc, order_id, event_id)),
                   Cover.of(order_id, cover))


@app.task(name="xcfb.reconcile_payment", bind=True, max_retries=None)
def reconcile_payment(self, order_id: int, event_id: str | None = None, cover: str | None = None) -> str:
    return str(guarded(self, event_id, _step(order_id, cover, _payment_work(order_id, event_id, cover)),
                       Cover.of(order_id, cover)))


@app.task(name="xcfb.invoice_and_payment", bind=True, max_retries=None, counts_its_steps=True)
def invoice_and_payment(self, order_id: int, event_id: str | None = None, cover: str | None = None) -> str:
    """create_invoice, then reconcile_payment, in one task: the chain's last two steps whenever it runs both. A task
    costs the worker more CPU than the payment step's own work (issue 12), and the two always run back to back.
    Each part is guarded as its step (Part): a dead letter, a retry, an injected fault and the `tasks` counter name
    the step. A retry of the first part runs the task again (the payment part has not run); the payment part's
    retry is the reconcile_payment task, with a retry budget of its own. Each part takes the order's lock itself,
    as the steps do (held across both, a lease run out in the first part would go unseen by the second)."""
    covering, extra = Cover.of(order_id, cover), {"cover": cover} if cover else {}
    guarded(self, event_id, _step(order_id, cover, lambda svc: orders.create_invoice(svc, order_id, event_id)),
            covering, Part(create_invoice.name))
    # the chain was started by the first part: the second has no marker of its own to remove
    return str(guarded(self, event_id, _payment_work(order_id, event_id, cover), covering,
                       Part(reconcile_payment.name, reconcile_payment.si(order_id, event_id, **extra))))


def _payment_work(order_id: int, event_id: str | None, cover: str | None) -> Callable:
    """The payment step's work, the chain's last: what it booked, and its event and the events it covers synced."""
    def work(svc):
        booked = orders.reconcile_payment(svc, order_id, event_id)
        if event_id:
            covered = svc.coalescing.covered(cover) if cover else []
            # and the order's open review (one per order) settled: the order synced
            ledger.finish_synced(svc.sessions, event_id, covered, order_id)
            if cover:
                svc.coalescing.release(cover)
        return booked
    return work


@app.task(name="xcfb.catch_up", bind=True, max_retries=None, takes_turns=False)
def catch_up(self) -> str:
    """Beat: poll X-Cart for changes webhooks did not bring (see workers/catch_up.py)."""
    def work(svc):
        if svc.xcart is None:
            return "catch-up sync is off: X-Cart is not connected (xcfb connect xcart, or XCART_API_URL)"
        report = poll_xcart(svc, lambda name, args: app.send_task(name, args=args))
        record_poll(svc.redis, utcnow(), {"listed": report.listed, "orders": report.orders,
                                          "payments": report.payments})
        return str(report)
    outcome = guarded(self, None, work)
    log.info("catch-up: %s", outcome)
    return outcome


@app.task(name="xcfb.reconcile", bind=True, max_retries=None, takes_turns=False)
def reconcile_books(self) -> str:
    """Beat: compare the books with the store over the previous day plus the overlap (workers/reconcile.py);
    the report is kept, and the `reconcile` alert raised on a mismatch and cleared when a run matches."""
    def work(svc):
        if svc.xcart is None:
            return "reconciliation is off: X-Cart is not connected (xcfb connect xcart, or XCART_API_URL)"
        since, until = reconcile.beat_window(utcnow(), svc.settings.reconcile_interval,
                                             svc.settings.reconcile_overlap)
        report = reconcile.reconcile(svc, since, until).report
        run_id = reconcile.record(svc, report, "beat")
        return f"reconciliation {run_id} {since} .. {until}: " + ", ".join(
            f"{k} {n}" for k, n in report.counts.items() if n)
    outcome = guarded(self, None, work)
    log.info("reconcile: %s", outcome)
    return outcome


@app.task(name="xcfb.refresh_exchange_rates", bind=True, max_retries=None)
def refresh_exchange_rates(self) -> str:
    """Beat: the ECB's daily reference rates, cached for `policy: convert` (runtime/exchange_rates.py); a feed
    that cannot be read raises the `exchange-rates` alert, and conversions go on with the last known rates."""
    outcome = guarded(self, None, lambda svc: exchange_rates.refresh(svc))
    log.info("exchange rates: %s", outcome)
    return outcome


@app.task(name="xcfb.requeue_stuck_events")
def requeue_stuck_events(older_than_seconds: int | None = None) -> int:
    """Beat: see sweep_stuck_events and resend_lost_events; returns how many events were sent again."""
    svc = services()
    older_than_seconds = older_than_seconds or svc.settings.stuck_after_seconds
    lost = resend_lost_events(svc, time.time() - older_than_seconds)
    return lost + sweep_stuck_events(svc, handle_event.delay, utcnow() - timedelta(seconds=older_than_seconds))


def resend_lost_events(svc, accepted_before: float) -> int:
    """Events ingest accepted before `accepted_before` (epoch seconds) that no worker has recorded, and whose task the
    broker no longer holds: it lost them (store/accepted.py). Their kept message is pushed again, XCFB_MAX_REQUEUES
    times at most; then an alert names the event."""
    lost, given_up = accepted.resend_lost(svc.redis, accepted_before, svc.settings.max_requeues)
    if lost:
        metrics.bump(svc.redis, "accepted_resent", by=len(lost))
        log.warning("sent again %d accepted events whose task the broker lost before a worker recorded them: %s",
                    len(lost), ", ".join(lost[:20]))
    for event_id in given_up:
        _alert(svc, f"unrecorded:{event_id}", f"event {event_id} was accepted and sent again "
               f"{svc.settings.max_requeues} times (XCFB_MAX_REQUEUES), and no worker recorded it: see the workers' "
               f"logs; its message is kept in Redis ({redis_keys.ACCEPTED})")
    return len(lost)


def sweep_stuck_events(svc, send: Callable[[str], object], older_than: datetime) -> int:
    """Events still received/processing since before `older_than` -- since they arrived or were last sent again;
    an hour by default, the broker's visibility timeout: any message still in flight would have been redelivered
    by then -- were lost with Redis or with a worker. Each runs again, XCFB_MAX_REQUEUES times at most, then ends
    as a `stuck` dead letter with an alert (an event that kills its worker every time would otherwise run for
    ever). Returns how many were sent again."""
    stuck = ledger.stuck_events(svc.sessions, older_than)
    requeued = 0
    for event in stuck:
        if event.requeues >= svc.settings.max_requeues:
            _park_stuck(svc, event)
        elif ledger.count_requeue(svc.sessions, event.id, event.requeues):
            send(event.id)
            requeued += 1
    if stuck:
        log.warning("requeued %d stuck events, dead-lettered %d", requeued, len(stuck) - requeued)
    return requeued


def _park_stuck(svc, event: Event) -> None:
    reason = (f"still {event.status} after {event.requeues} re-runs by the stuck-event sweep (XCFB_MAX_REQUEUES="
              f"{svc.settings.max_requeues}); last error: {event.last_error or 'none'}. A worker may die on it: "
              "see the workers' logs")
    ledger.dead_letter(svc.sessions, event.id, "stuck", requeue_stuck_events.name, reason)
    metrics.bump(svc.redis, "dead_letters_created", kind="stuck")
    log.warning("event %s parked as stuck: %s", event.id, reason)
    _alert(svc, f"stuck:{event.id}", f"event {event.id} stuck: {reason}")


@app.task(name="xcfb.confirm_freshbooks_callback", bind=True, max_retries=None)
def confirm_freshbooks_callback(self, callback_id: str) -> str:
    """The second half of FreshBooks' webhook handshake: send the verifiers offered for a callback this
    service registered back to FreshBooks; trust the one it accepts (runtime/callbacks.py). Takes the id only:
    the verifiers wait in Redis, out of the task's arguments and so out of the logs."""
    outcome = guarded(self, None, lambda svc: callbacks.confirm(svc, str(callback_id)))
    log.info("FreshBooks callback verification: %s", outcome)
    return outcome


@app.task(name="xcfb.freshbooks_event", bind=True, max_retries=None)
def freshbooks_event(self, fields: dict) -> None:
    """FreshBooks says an object changed. Each notice is kept in the audit trail; a change to a client or an item
    bound to an X-Cart profile or product is carried there by the ownership rules (workers/two_way.py), recorded as
    an event of its own (synced, dead-lettered or in review like any other)."""
    name = str(fields.get("name", ""))[:200]
    object_id = str(fields.get("object_id", ""))
    known_id = object_id.isascii() and object_id.isdigit() and len(object_id) <= 10 and int(object_id) < 2 ** 31
    event_id = f"freshbooks:{self.request.id}"  # the task's id: the same over its retries, new for each notice
    two_way = name in TWO_WAY_EVENTS and known_id
    if two_way:  # recorded first: from here on, whatever fails parks the event, none is lost
        guarded(self, None, lambda svc: ledger.record_event(svc.sessions, event_id, f"freshbooks.{name}",
                                                            f"freshbooks-{name.split('.')[0]}:{object_id}",
                                                            jsonio.dumps(fields)))
    # guarded: a database that fails the entry retries the notice (before, the notice was lost with its entry)
    guarded(self, event_id if two_way else None,
            lambda svc: _note_notice(svc, event_id, name, int(object_id) if known_id else None))
    if not two_way:
        return None
    return guarded(self, event_id, lambda svc: events.handle(svc, event_id))


def _note_notice(svc, event_id: str, name: str, freshbooks_id: int | None) -> None:
    """The notice's audit entry, once over the task's runs (a retry after a later part failed writes none)."""
    if ledger.audited(svc.sessions, event_id, "notified"):
        return
    ledger.audit(svc.sessions, "notified", name.split(".")[0][:16] or "unknown", freshbooks_id,
                 f"FreshBooks event {name}", event_id)
