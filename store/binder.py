"""Bindings between X-Cart ids and FreshBooks ids (the OCA connector's binder).

`record_intent` commits a row before a create is attempted; `bind` completes it. The unique constraint
(kind, external_id) makes a second binding of the same X-Cart object impossible, whatever races.
`take_answer` hands the step after an invoice's create or update what FreshBooks answered, once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from store.models import Binding, as_utc, utcnow


def lookup(sessions: sessionmaker, kind: str, external_id: str) -> Binding | None:
    with sessions() as session:
        return session.scalar(select(Binding).where(Binding.kind == kind, Binding.external_id == external_id))


def bound_id(sessions: sessionmaker, kind: str, external_id: str) -> int | None:
    binding = lookup(sessions, kind, external_id)
    return binding.freshbooks_id if binding else None


def bound_ids(sessions: sessionmaker, kind: str, external_ids: list[str]) -> dict[str, int]:
    """The FreshBooks ids bound to these X-Cart objects, in one query (an order's items): only the bound ones."""
    if not external_ids:
        return {}
    with sessions() as session:
        rows = session.execute(select(Binding.external_id, Binding.freshbooks_id).where(
            Binding.kind == kind, Binding.external_id.in_(set(external_ids)), Binding.freshbooks_id.is_not(None)))
        return {external_id: freshbooks_id for external_id, freshbooks_id in rows}


def bound_versions(sessions: sessionmaker, wanted: dict[str, list[str]]) -> dict[tuple[str, str], str | None]:
    """Which of these X-Cart objects (kind -> external ids) are bound, in one query: (kind, external id) -> the
    version the binding was last synced from."""
    wanted = {kind: ids for kind, ids in wanted.items() if ids}
    if not wanted:
        return {}
    with sessions() as session:
        rows = session.execute(select(Binding.kind, Binding.external_id, Binding.version).where(
            Binding.freshbooks_id.is_not(None),
            or_(*(and_(Binding.kind == kind, Binding.external_id.in_(set(ids))) for kind, ids in wanted.items()))))
        return {(kind, external_id): version for kind, external_id, version in rows}


def record_intent(sessions: sessionmaker, kind: str, external_id: str) -> bool:
    """True when this call wrote the intent: no earlier attempt can have reached FreshBooks, so the caller may
    create without looking up first. False when a row was there already (an earlier attempt, or another worker):
    the unique key refuses the insert (no look-up first: callers have just read the binding under its lock)."""
    try:
        with sessions.begin() as session:
            session.add(Binding(kind=kind, external_id=external_id))
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
    with sessions.begin() as session:
        binding = session.scalar(select(Binding).where(Binding.kind == kind, Binding.external_id == external_id)
                                 .with_for_update())
        if binding is None:
            binding = Binding(kind=kind, external_id=external_id)
            session.add(binding)
        binding.freshbooks_id = freshbooks_id
        if version is not None:
            binding.version = version
        binding.answer = answer
        binding.updated_at = utcnow()


def take_answer(sessions: sessionmaker, kind: str, external_id: str, version: str, max_age: timedelta) -> dict | None:
    """What FreshBooks answered the last create or update, if it answered for this `version` less than `max_age`
    ago; None otherwise (the caller reads FreshBooks). Taken once: the row is cleared in the same commit, before
    the caller acts on it, so a retry, a redelivery or another chain reads FreshBooks instead."""
    with sessions.begin() as session:
        binding = session.scalar(select(Binding).where(Binding.kind == kind, Binding.external_id == external_id)
                                 .with_for_update())
        if binding is None or binding.answer is None:
            return None
        answer, binding.answer = binding.answer, None
        usable = binding.version == version and as_utc(binding.updated_at) >= utcnow() - max_age
    return answer if usable else None


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
