"""Decisions about emails that matched no FreshBooks client (duplicate clients): one row per email."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from store.models import ClientMatch, utcnow


def decision(sessions: sessionmaker, email: str) -> ClientMatch | None:
    with sessions() as session:
        return session.get(ClientMatch, email)


def bound_by_decision(sessions: sessionmaker, email: str) -> bool:
    """True when `email` was bound to a client that has another email (a duplicate, by the rules or a person)."""
    row = decision(sessions, email)
    return row is not None and row.decision in ("auto", "use")


def decide(sessions: sessionmaker, email: str, decision: str, client_id: int | None, score: float | None = None,
           evidence: str = "", event_id: str | None = None) -> None:
    """Records (or replaces) the decision for `email`; a person's (`use`, `new`) is never replaced by the rules."""
    with sessions.begin() as session:
        row = session.get(ClientMatch, email, with_for_update=True)
        if row is not None and row.decision in ("use", "new") and decision in ("auto", "review"):
            return
        if row is None:
            row = ClientMatch(email=email)
            session.add(row)
        row.decision, row.client_id, row.score, row.evidence = decision, client_id, score, evidence[:200]
        row.event_id, row.decided_at = event_id, utcnow()


def all_decisions(sessions: sessionmaker) -> list[ClientMatch]:
    with sessions() as session:
        return list(session.scalars(select(ClientMatch).order_by(ClientMatch.decided_at)))
