"""The last state synced per client and item (mappings/ownership.py's fingerprint), and the X-Cart objects they
are bound to: a profile with its billing and shipping address, or a product."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from store.models import SyncState, utcnow


@dataclass
class Synced:
    freshbooks_id: int
    xcart_id: int | None = None
    groups: dict = field(default_factory=dict)  # group -> field -> value
    at: dict = field(default_factory=dict)  # group -> when its side changed it (ISO 8601 UTC)
    addresses: dict = field(default_factory=dict)  # profiles: {"billing": address id, "shipping": address id}


def load(sessions: sessionmaker, kind: str, freshbooks_id: int) -> Synced | None:
    with sessions() as session:
        row = session.get(SyncState, (kind, freshbooks_id))
        return None if row is None else _synced(row)


def by_xcart_id(sessions: sessionmaker, kind: str, xcart_id: int) -> Synced | None:
    with sessions() as session:
        row = session.scalar(select(SyncState).where(SyncState.kind == kind, SyncState.xcart_id == xcart_id))
        return None if row is None else _synced(row)


def save(sessions: sessionmaker, kind: str, synced: Synced) -> None:
    """Two events of one client in two workers may both find no row and insert it: the one that loses (the unique
    key) runs again, finds the row and updates it (seen in the fault suite's worker-kills scenario, a customer's
    webhook and its catch-up event at once: the event was dead-lettered `failed`)."""
    try:
        _save(sessions, kind, synced)
    except IntegrityError:
        _save(sessions, kind, synced)


def _save(sessions: sessionmaker, kind: str, synced: Synced) -> None:
    document = {"groups": synced.groups, "at": synced.at, "addresses": synced.addresses}
    with sessions.begin() as session:
        row = session.get(SyncState, (kind, synced.freshbooks_id), with_for_update=True)
        if row is None:
            row = SyncState(kind=kind, freshbooks_id=synced.freshbooks_id)
            session.add(row)
        row.xcart_id, row.fields, row.updated_at = synced.xcart_id, document, utcnow()


def _synced(row: SyncState) -> Synced:
    document = row.fields or {}
    return Synced(row.freshbooks_id, row.xcart_id, document.get("groups", {}), document.get("at", {}),
                  document.get("addresses", {}))
