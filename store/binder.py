"""Bindings between X-Cart ids and FreshBooks ids (the OCA connector's binder).

`record_intent` commits a row before a create is attempted; `bind` completes it. The unique constraint
(kind, external_id) makes a second binding of the same X-Cart object impossible, whatever races."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from store.models import Binding, utcnow


def lookup(sessions: sessionmaker, kind: str, external_id: str) -> Binding | None:
    with sessions() as session:
        return session.scalar(select(Binding).where(Binding.kind == kind, Binding.external_id == external_id))


def bound_id(sessions: sessionmaker, kind: str, external_id: str) -> int | None:
    binding = lookup(sessions, kind, external_id)
    return binding.freshbooks_id if binding else None


def record_intent(sessions: sessionmaker, kind: str, external_id: str) -> None:
    if lookup(sessions, kind, external_id) is not None:
        return
    try:
        with sessions.begin() as session:
            session.add(Binding(kind=kind, external_id=external_id))
    except IntegrityError:
        pass  # another worker wrote the same intent first


def bind(sessions: sessionmaker, kind: str, external_id: str, freshbooks_id: int, version: str | None = None) -> None:
    record_intent(sessions, kind, external_id)
    with sessions.begin() as session:
        binding = session.scalar(select(Binding).where(Binding.kind == kind, Binding.external_id == external_id)
                                 .with_for_update())
        binding.freshbooks_id = freshbooks_id
        if version is not None:
            binding.version = version
        binding.updated_at = utcnow()


def pending_intents(sessions: sessionmaker) -> list[Binding]:
    with sessions() as session:
        return list(session.scalars(select(Binding).where(Binding.freshbooks_id.is_(None))))
