"""What happened to every event: the events table, dead letters and the audit trail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from store.db import durable, engine_of, reads_of
from store.models import AuditEntry, DeadLetter, Event, OrderSnapshot, utcnow

TERMINAL = ("synced", "dead", "review", "skipped")

# The chain's statements, built once (store/db.engine_of): building one costs more than running it.
EVENTS, LETTERS, AUDIT = Event.__table__, DeadLetter.__table__, AuditEntry.__table__
_NEW_EVENT, _NEW_AUDIT_ENTRY = insert(EVENTS), insert(AUDIT)
_THE_EVENT = EVENTS.c.id == bindparam("event_id")
_STARTED = (update(EVENTS).where(_THE_EVENT, EVENTS.c.status.not_in(TERMINAL))
            .values(status="processing", attempts=EVENTS.c.attempts + 1))
_SYNCED = update(EVENTS).where(_THE_EVENT).values(status="synced", last_error=None)
# status, finished_at and last_error come as parameters of those names (each a SET of its column)
_FINISHED = update(EVENTS).where(EVENTS.c.id.in_(bindparam("event_ids", expanding=True)))
_COVERED_SYNCED = (update(EVENTS).where(EVENTS.c.id.in_(bindparam("covered", expanding=True)),
                                        EVENTS.c.status.in_(("received", "processing")))
                   .values(status="synced"))
_REVIEWS_RESOLVED = update(LETTERS).where(
    LETTERS.c.kind == "review", LETTERS.c.status == "open",
    LETTERS.c.event_id.in_(select(EVENTS.c.id).where(EVENTS.c.order_id == bindparam("the_order_id")))
).values(status="resolved")
# Taken first by a transaction that writes an order's review or settles it (dead_letter, finish_synced): the order's
# snapshot row, written to itself. PostgreSQL locks the row till the commit, SQLite the whole database from that
# statement on (its SELECTs alone start no transaction), so the two never interleave for one order. The chain that
# reviews or settles an order has read its snapshot, so the row is there (were it not, PostgreSQL would lock nothing
# here, and only the open review's own row lock in dead_letter would hold).
_ORDER_LOCKED = (update(OrderSnapshot.__table__).where(OrderSnapshot.__table__.c.order_id == bindparam("the_order_id"))
                 .values(checked_version=OrderSnapshot.__table__.c.checked_version))
_HELD_SYNCED = update(EVENTS).where(EVENTS.c.order_id == bindparam("the_order_id"), EVENTS.c.status == "review"
                                    ).values(status="synced")


def record_event(sessions: sessionmaker, event_id: str, event_type: str, entity_key: str, payload: str,
                 order_id: int | None = None, order_number: str | None = None, started: bool = False) -> bool:
    """Inserts the event; False when it was recorded already (a redelivery). `started`: the caller handles it at
    once, and the row says so from the start (`processing`, its first attempt), as start_attempt would next."""
    try:
        with durable(engine_of(sessions)) as connection:  # an event taken in is never lost, a power loss included
            connection.execute(_NEW_EVENT, {
                "id": event_id, "type": event_type, "entity_key": entity_key, "payload": payload,
                "order_id": order_id, "order_number": order_number, "status": "processing" if started else "received",
                "attempts": int(started), "requeues": 0, "received_at": utcnow()})
        return True
    except IntegrityError:
        return False


def get_event(sessions: sessionmaker, event_id: str) -> Event | None:
    with sessions() as session:
        return session.get(Event, event_id)


def start_attempt(sessions: sessionmaker, event_id: str) -> None:
    with engine_of(sessions).begin() as connection:
        connection.execute(_STARTED, {"event_id": event_id})


def finish(sessions: sessionmaker, event_id: str, status: str, error: str | None = None) -> None:
    with engine_of(sessions).begin() as connection:
        _finish(connection, [event_id], status, error)


def _finish(connection: Connection, event_ids: list[str], status: str, error: str | None) -> None:
    connection.execute(_FINISHED, {"event_ids": event_ids, "status": status, "finished_at": utcnow(),
                                   "last_error": error})


def finish_synced(sessions: sessionmaker, event_id: str, covered: list[str] = (), order_id: int | None = None
                  ) -> None:
    """The event's chain ran through; so did it for the events it covered (store/coalescing.py: taken in while
    the chain waited), those still in flight; with `order_id`, the order's reviews are settled (settle_reviews).
    One transaction."""
    with engine_of(sessions).begin() as connection:
        if order_id is not None:
            connection.execute(_ORDER_LOCKED, {"the_order_id": order_id})
            _settle_reviews(connection, order_id, event_id)
        now = utcnow()
        connection.execute(_SYNCED, {"event_id": event_id, "finished_at": now})
        if covered:
            connection.execute(_COVERED_SYNCED, {"covered": list(covered), "finished_at": now,
                                                 "last_error": f"synced by the chain of event {event_id}, which it "
                                                               "rode on"})


def note_error(sessions: sessionmaker, event_id: str, error: str) -> None:
    with sessions.begin() as session:
        session.execute(update(Event).where(Event.id == event_id).values(last_error=error))


def reopen(sessions: sessionmaker, event_id: str) -> None:
    """An operator runs the event again: it is in flight once more, with a fresh allowance of sweep re-runs."""
    with sessions.begin() as session:
        session.execute(update(Event).where(Event.id == event_id)
                        .values(status="received", finished_at=None, last_error=None, requeues=0,
                                requeued_at=utcnow()))


def replace_payload(sessions: sessionmaker, event_id: str, payload: str, entity_key: str, order_id: int | None,
                    order_number: str | None) -> None:
    """An operator's edited payload, with the keys it is found by (the edit may name another order)."""
    with sessions.begin() as session:
        session.execute(update(Event).where(Event.id == event_id)
                        .values(payload=payload, entity_key=entity_key, order_id=order_id, order_number=order_number,
                                status="received", finished_at=None, last_error=None))


def counts_by_status(sessions: sessionmaker) -> dict[str, int]:
    with sessions() as session:
        return dict(session.execute(select(Event.status, func.count()).group_by(Event.status)).all())


def events_for_order(sessions: sessionmaker, reference: str) -> list[Event]:
    """Events of an order given by its number or its id."""
    conditions = [Event.order_number == reference]
    if reference.isdigit():
        conditions.append(Event.order_id == int(reference))
    with sessions() as session:
        return list(session.scalars(select(Event).where(or_(*conditions)).order_by(Event.received_at)))


def last_synced(sessions: sessionmaker, entity_key: str) -> datetime | None:
    with sessions() as session:
        return session.scalar(select(func.max(Event.finished_at)).where(Event.entity_key == entity_key,
                                                                        Event.status == "synced"))


def stuck_events(sessions: sessionmaker, older_than: datetime) -> list[Event]:
    """Events in flight since before `older_than`: since they arrived, or since they were last sent again."""
    with sessions() as session:
        return list(session.scalars(select(Event).where(
            Event.status.in_(("received", "processing")),
            func.coalesce(Event.requeued_at, Event.received_at) < older_than)))


def count_requeue(sessions: sessionmaker, event_id: str, seen: int) -> bool:
    """Counts one more sweep re-run; False when the event moved meanwhile (finished, or counted by another)."""
    with sessions.begin() as session:
        counted = session.execute(update(Event).where(Event.id == event_id, Event.requeues == seen,
                                                      Event.status.in_(("received", "processing")))
                                  .values(requeues=seen + 1, requeued_at=utcnow()))
        return counted.rowcount == 1


def latencies(sessions: sessionmaker, limit: int = 1000) -> list[float]:
    with sessions() as session:
        rows = session.execute(select(Event.received_at, Event.finished_at).where(Event.status == "synced")
                               .order_by(Event.finished_at.desc()).limit(limit)).all()
    return [(finished - received).total_seconds() for received, finished in rows if finished]


# -- dead letters -------------------------------------------------------------------------------------------

def dead_letter(sessions: sessionmaker, event_id: str, kind: str, task: str, reason: str,
                errors: list | None = None) -> int:
    """Parks the event for a person; an open dead letter of the same event is replaced, not doubled. An order
    has at most one open review: a later event's review updates it (see _hold_with). The letter and the events'
    status in one transaction, under the order's lock (_ORDER_LOCKED): a chain of the order that ends synced
    meanwhile (_settle_reviews), or another review of it, comes before or after, never between."""
    with sessions.begin() as session:
        order_id = session.scalar(select(Event.order_id).where(Event.id == event_id))
        if order_id is not None:
            session.connection().execute(_ORDER_LOCKED, {"the_order_id": order_id})
        for stale in session.scalars(select(DeadLetter).where(DeadLetter.event_id == event_id,
                                                               DeadLetter.status == "open")):
            stale.status, stale.resolved_at = "superseded", utcnow()
        letter = _open_review_of_order(session, order_id) if kind == "review" else None
        earlier = letter.event_id if letter is not None else None
        if letter is None:
            letter = DeadLetter(event_id=event_id, kind=kind, task=task, reason=reason, errors=errors or [],
                                status="open", created_at=utcnow())
            session.add(letter)
        else:
            _hold_with(letter, event_id, task, reason, errors or [])
        session.flush()
        letter_id, connection = letter.id, session.connection()
        _finish(connection, [event_id], "review" if kind == "review" else "dead", reason)
        if earlier is not None:
            _finish(connection, [earlier], "review",
                    f"held with the order's later event {event_id} in dead letter {letter_id}")
    return letter_id


EARLIER_EVENT = "(earlier event)"  # the path under which a review names the order's events it holds besides its own


def open_review_reason(sessions: sessionmaker, order_id: int) -> str | None:
    """Why the order is held for a person now (its open review entry), or None."""
    with sessions() as session:
        return session.scalar(select(DeadLetter.reason).join(Event, Event.id == DeadLetter.event_id)
                              .where(Event.order_id == order_id, DeadLetter.kind == "review",
                                     DeadLetter.status == "open").order_by(DeadLetter.id).limit(1))


def _open_review_of_order(session, order_id: int | None) -> DeadLetter | None:
    if order_id is None:
        return None
    # locked too: an operator's replay (resolve_dead_letter) does not take the order's lock
    return session.scalar(select(DeadLetter).join(Event, Event.id == DeadLetter.event_id)
                          .where(Event.order_id == order_id, DeadLetter.kind == "review", DeadLetter.status == "open")
                          .order_by(DeadLetter.id).limit(1).with_for_update(of=DeadLetter))


def _hold_with(letter: DeadLetter, event_id: str, task: str, reason: str, errors: list) -> None:
    """The order's open review now stands for its later event too: it names the newest event (a replay runs it,
    and the chain works on the order's newest version anyway), the newest reason, and the earlier events."""
    earlier = [e for e in letter.errors if e.get("path") == EARLIER_EVENT] + [
        {"path": EARLIER_EVENT, "message": letter.event_id}]
    letter.event_id, letter.task, letter.reason, letter.errors = event_id, task, reason, list(errors) + earlier


def settle_reviews(sessions: sessionmaker, order_id: int, event_id: str) -> int:
    """The order's chain ran through with `event_id`, on the order's newest version: whatever held the order
    before holds it no more. Its open review is resolved and its events in review are synced; returns how many."""
    with engine_of(sessions).begin() as connection:
        connection.execute(_ORDER_LOCKED, {"the_order_id": order_id})
        return _settle_reviews(connection, order_id, event_id)


def _settle_reviews(connection: Connection, order_id: int, event_id: str) -> int:
    now = utcnow()
    resolved = connection.execute(_REVIEWS_RESOLVED, {"the_order_id": order_id, "resolved_at": now})
    held = connection.execute(_HELD_SYNCED, {"the_order_id": order_id, "finished_at": now,
                                             "last_error": f"settled: the order synced with event {event_id}"})
    return resolved.rowcount + held.rowcount


def dead_letters(sessions: sessionmaker, status: str | None = "open") -> list[DeadLetter]:
    query = select(DeadLetter).order_by(DeadLetter.id)
    if status:
        query = query.where(DeadLetter.status == status)
    with sessions() as session:
        return list(session.scalars(query))


def get_dead_letter(sessions: sessionmaker, letter_id: int) -> DeadLetter | None:
    with sessions() as session:
        return session.get(DeadLetter, letter_id)


def resolve_dead_letter(sessions: sessionmaker, letter_id: int, status: str) -> None:
    with sessions.begin() as session:
        letter = session.get(DeadLetter, letter_id)
        letter.status, letter.resolved_at = status, utcnow()


def discard_dead_letter(sessions: sessionmaker, letter_id: int, note: str) -> list[str] | None:
    """Resolves an open dead letter as discarded and finishes every event it holds as skipped: its own and, for an
    order's review, the order's other events in review (the earlier ones it names, and any a replay's new review
    left unnamed), as settle_reviews syncs them all; else they stay in review with no open letter, out of sight,
    never replayed. One transaction under the order's lock, as dead_letter takes it, and the letter's: an event
    of the order held meanwhile joins the letter before (and is discarded with it) or opens a new review after.
    Returns the events, or None when the letter is not open."""
    with sessions.begin() as session:
        order_id = session.scalar(select(Event.order_id).join(DeadLetter, DeadLetter.event_id == Event.id)
                                  .where(DeadLetter.id == letter_id))
        if order_id is not None:
            session.connection().execute(_ORDER_LOCKED, {"the_order_id": order_id})
        letter = session.get(DeadLetter, letter_id, with_for_update=True, populate_existing=True)
        if letter is None or letter.status != "open":
            return None
        held = [letter.event_id]
        if letter.kind == "review" and order_id is not None:
            held += [e for e in session.scalars(select(Event.id).where(Event.order_id == order_id,
                                                                       Event.status == "review")) if e not in held]
        letter.status, letter.resolved_at = "discarded", utcnow()
        _finish(session.connection(), held, "skipped", note)
    return held


def dead_letter_counts(sessions: sessionmaker) -> dict[tuple[str, str], int]:
    with sessions() as session:
        rows = session.execute(select(DeadLetter.kind, DeadLetter.status, func.count())
                               .group_by(DeadLetter.kind, DeadLetter.status)).all()
    return {(kind, status): count for kind, status, count in rows}


# -- audit --------------------------------------------------------------------------------------------------

def audit(sessions: sessionmaker, action: str, obj: str, freshbooks_id: int | None, detail: str = "",
          event_id: str | None = None, order_id: int | None = None, actor: str | None = None) -> None:
    """`actor`: the person, for an action taken in the console or with `xcfb rules` (None: the service)."""
    with engine_of(sessions).begin() as connection:
        connection.execute(_NEW_AUDIT_ENTRY, {"at": utcnow(), "action": action, "object": obj,
                                              "freshbooks_id": freshbooks_id, "detail": detail, "event_id": event_id,
                                              "order_id": order_id, "actor": actor})


def audited(sessions: sessionmaker, event_id: str, action: str) -> bool:
    """Whether the event has an audit entry of `action` already (a task run again writes no second one)."""
    with reads_of(sessions).connect() as connection:
        return connection.execute(select(AuditEntry.id).where(AuditEntry.event_id == event_id,
                                                              AuditEntry.action == action).limit(1)).first() is not None


def audit_for_order(sessions: sessionmaker, order_id: int) -> list[AuditEntry]:
    with sessions() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.order_id == order_id)
                                    .order_by(AuditEntry.id)))


def recent_audit(sessions: sessionmaker, limit: int = 100, people_only: bool = False) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if people_only:
        query = query.where(AuditEntry.actor.is_not(None))
    with sessions() as session:
        return list(session.scalars(query))
