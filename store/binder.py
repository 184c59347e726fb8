"""Bindings between X-Cart ids and FreshBooks ids (the OCA connector's binder).

`record_intent` commits a row before a create is attempted; `bind` completes it. The unique constraint
(kind, external_id) makes a second binding of the same X-Cart object impossible, whatever races.
`take_answer` hands the step after an invoice's create or update what FreshBooks answered, once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, bindparam, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from store.db import durable, engine_of, reads_of
from store.models import Binding, as_utc, utcnow

# The chain's statements, built once (store/db.engine_of): building one costs more than running it.
BINDINGS = Binding.__table__
_THE = and_(BINDINGS.c.kind == bindparam("the_kind"), BINDINGS.c.external_id == bindparam("the_external_id"))
_LOOKUP = select(BINDINGS).where(_THE)
_BOUND_ID = select(BINDINGS.c.freshbooks_id).where(_THE)
_BOUND_IDS = select(BINDINGS.c.external_id, BINDINGS.c.freshbooks_id).where(
    BINDINGS.c.kind == bindparam("kind"), BINDINGS.c.external_id.in_(bindparam("external_ids", expanding=True)),
    BINDINGS.c.freshbooks_id.is_not(None))
_BOUND_VERSIONS = select(BINDINGS.c.kind, BINDINGS.c.external_id, BINDINGS.c.version).where(
    BINDINGS.c.freshbooks_id.is_not(None),
    tuple_(BINDINGS.c.kind, BINDINGS.c.external_id).in_(bindparam("keys", expanding=True)))
_INTENT = insert(BINDINGS)
_ANSWER = select(BINDINGS.c.answer, BINDINGS.c.version, BINDINGS.c.updated_at).where(_THE).with_for_update()
_ANSWER_TAKEN = update(BINDINGS).where(_THE).values(answer=None)


def _the(kind: str, external_id: str) -> dict[str, str]:
    return {"the_kind": kind, "the_external_id": external_id}


def lookup(sessions: sessionmaker, kind: str, external_id: str) -> Binding | None:
    with reads_of(sessions).connect() as connection:
        row = connection.execute(_LOOKUP, _the(kind, external_id)).first()
    return Binding(**row._mapping) if row is not None else None


def bound_id(sessions: sessionmaker, kind: str, external_id: str) -> int | None:
    with reads_of(sessions).connect() as connection:
        return connection.scalar(_BOUND_ID, _the(kind, external_id))


def bound_ids(sessions: sessionmaker, kind: str, external_ids: list[str]) -> dict[str, int]:
    """The FreshBooks ids bound to these X-Cart objects, in one query (an order's items): only the bound ones."""
    if not external_ids:
        return {}
    with reads_of(sessions).connect() as connection:
        rows = connection.execute(_BOUND_IDS, {"kind": kind, "external_ids": sorted(set(external_ids))})
        return {external_id: freshbooks_id for external_id, freshbooks_id in rows}


def bound_versions(sessions: sessionmaker, wanted: dict[str, list[str]]) -> dict[tuple[str, str], str | None]:
    """Which of these X-Cart objects (kind -> external ids) are bound, in one query: (kind, external id) -> the
    version the binding was last synced from."""
    keys = sorted({(kind, external_id) for kind, ids in wanted.items() for external_id in ids})
    if not keys:
        return {}
    with reads_of(sessions).connect() as connection:
        rows = connection.execute(_BOUND_VERSIONS, {"keys": keys})
        return {(kind, external_id): version for kind, external_id, version in rows}


def record_intent(sessions: sessionmaker, kind: str, external_id: str) -> bool:
    """True when this call wrote the intent: no earlier attempt can have reached FreshBooks, so the caller may
    create without looking up first. False when a row was there already (an earlier attempt, or another worker):
    the unique key refuses the insert (no look-up first: callers have just read the binding under its lock)."""
    try:
        with durable(engine_of(sessions)) as connection:  # synced to disk before the create it announces
            connection.execute(_INTENT, {"kind": kind, "external_id": external_id})
    except IntegrityError:
        return False
    return True


def bind(sessions: sessionmaker, kind: str, external_id: str, freshbooks_id: int, version: str | None = None,
         answer: dict | None = None) -> None:
    """Completes the binding (the intent row, or a new row when there was none); `answer` replaces (or, when None,
    clears) what FreshBooks last answered. One transaction; a concurrent first insert of the row makes it run
    again, finding the row."""
    try:
        _bind(sessions, kind, external_id, freshbooks_id, version, answer)
    except IntegrityError:
        _bind(sessions, kind, external_id, freshbooks_id, version, answer)


def _bind(sessions: sessionmaker, kind: str, external_id: str, freshbooks_id: int, version: str | None,
          answer: dict | None) -> None:
    values = {"freshbooks_id": freshbooks_id, "answer": answer, "updated_at": utcnow()}
    if version is not None:
        values["version"] = version
    with engine_of(sessions).begin() as connection:  # the row's write lock from the UPDATE on
        if connection.execute(update(BINDINGS).where(_THE).values(**values), _the(kind, external_id)).rowcount == 0:
            connection.execute(insert(BINDINGS).values(kind=kind, external_id=external_id, **values))


def take_answer(sessions: sessionmaker, kind: str, external_id: str, version: str, max_age: timedelta) -> dict | None:
    """What FreshBooks answered the last create or update, if it answered for this `version` less than `max_age`
    ago; None otherwise (the caller reads FreshBooks). Taken once: the row is cleared in the same commit, before
    the caller acts on it, so a retry, a redelivery or another chain reads FreshBooks instead."""
    with engine_of(sessions).begin() as connection:
        binding = connection.execute(_ANSWER, _the(kind, external_id)).first()
        if binding is None or binding.answer is None:
            return None
        connection.execute(_ANSWER_TAKEN, _the(kind, external_id))
        usable = binding.version == version and as_utc(binding.updated_at) >= utcnow() - max_age
    return binding.answer if usable else None


def unbind(sessions: sessionmaker, kind: str, external_id: str) -> bool:
    """Forgets a binding whose FreshBooks object is gone (deleted by hand), so that the chain books it again;
    True when there was one."""
    with sessions.begin() as session:
        binding = session.scalar(select(Binding).where(Binding.kind == kind, Binding.external_id == external_id))
        if binding is None:
            return False
        session.delete(binding)
        return True


def bindings_under(sessions: sessionmaker, kind: str, prefix: str) -> list[Binding]:
    """Bindings whose external id starts with `prefix` (an order's credit notes: `<order id>:`)."""
    with sessions() as session:
        return list(session.scalars(select(Binding).where(Binding.kind == kind,
                                                          Binding.external_id.startswith(prefix, autoescape=True))))


def pending_intents(sessions: sessionmaker) -> list[Binding]:
    with sessions() as session:
        return list(session.scalars(select(Binding).where(Binding.freshbooks_id.is_(None))))
