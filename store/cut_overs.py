"""The invoice-number cut-over of each FreshBooks account (store.models.InvoiceCutOver): written once, the first
reading kept (a second worker's reading, made later, can only be higher: it is dropped)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from store.db import reads_of
from store.models import InvoiceCutOver, as_utc, utcnow

_CUT_OVERS = InvoiceCutOver.__table__
_READ = select(_CUT_OVERS).where(_CUT_OVERS.c.account_id == bindparam("account_id"))  # built once: store/db.engine_of


@dataclass(frozen=True)
class CutOver:
    account_id: str
    marks: dict[str, str]
    invoices_read: int
    read_at: datetime


def get(sessions: sessionmaker, account_id: str) -> CutOver | None:
    with reads_of(sessions).connect() as connection:
        row = connection.execute(_READ, {"account_id": account_id}).first()
    return None if row is None else CutOver(row.account_id, dict(row.marks), row.invoices_read, as_utc(row.read_at))


def keep(sessions: sessionmaker, account_id: str, marks: dict[str, str], invoices_read: int) -> CutOver:
    """Stores the reading unless one is stored already; returns the one stored."""
    try:
        with sessions.begin() as session:
            session.add(InvoiceCutOver(account_id=account_id, marks=marks, invoices_read=invoices_read,
                                       read_at=utcnow()))
    except IntegrityError:
        pass
    stored = get(sessions, account_id)
    if stored is None:  # written, or written by another worker first: it cannot be missing
        raise RuntimeError(f"the invoice cut-over of {account_id} was stored but cannot be read back")
    return stored


def forget(sessions: sessionmaker, account_id: str) -> bool:
    """Drops the stored reading (the next first create reads the books again); True when there was one."""
    with sessions.begin() as session:
        row = session.get(InvoiceCutOver, account_id)
        if row is None:
            return False
        session.delete(row)
        return True
