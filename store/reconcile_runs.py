"""Reconciliation reports kept in the database: `xcfb reconcile history`, the alert, /metrics."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from store.models import ReconcileRun, utcnow


def save(sessions: sessionmaker, report: dict, trigger: str) -> int:
    """`report`: mappings.reconciliation.Report.as_dict(); only the orders that differ are kept."""
    with sessions.begin() as session:
        run = ReconcileRun(ran_at=utcnow(), since=report["since"], until=report["until"], trigger=trigger,
                           matched=report["matched"], counts=report["counts"], totals=report["totals"],
                           mismatches=[o for o in report["orders"] if o["klass"] != "matched"])
        session.add(run)
        session.flush()
        return run.id


def history(sessions: sessionmaker, limit: int = 30) -> list[ReconcileRun]:
    with sessions() as session:
        return list(session.scalars(select(ReconcileRun).order_by(ReconcileRun.id.desc()).limit(limit)))


def latest(sessions: sessionmaker) -> ReconcileRun | None:
    runs = history(sessions, 1)
    return runs[0] if runs else None
