"""Saved versions of the mapping rules and where each environment is pinned (dev, qa, prod).

A version is never changed once written. A pin is appended, never updated: an environment's current version
is its newest pin, and rolling back appends a pin of the version it ran before."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from store.models import DryRunReport, RulePin, RuleVersion, utcnow

ENVIRONMENTS = ("dev", "qa", "prod")  # a version goes dev -> qa -> prod


def save_version(sessions: sessionmaker, text: str, author: str, comment: str, parent_id: int | None) -> RuleVersion:
    with sessions.begin() as session:
        version = RuleVersion(text=text, author=author, comment=comment, parent_id=parent_id, created_at=utcnow())
        session.add(version)
    return version


def get_version(sessions: sessionmaker, version_id: int) -> RuleVersion | None:
    with sessions() as session:
        return session.get(RuleVersion, version_id)


def versions(sessions: sessionmaker) -> list[RuleVersion]:
    with sessions() as session:
        return list(session.scalars(select(RuleVersion).order_by(RuleVersion.id.desc())))


def pin(sessions: sessionmaker, environment: str, version_id: int, action: str, actor: str,
        report_id: int | None = None) -> RulePin:
    with sessions.begin() as session:
        made = RulePin(environment=environment, version_id=version_id, action=action, actor=actor,
                       report_id=report_id, at=utcnow())
        session.add(made)
    return made


def pins(sessions: sessionmaker, environment: str | None = None) -> list[RulePin]:
    """Pins newest first, of one environment or all."""
    query = select(RulePin).order_by(RulePin.id.desc())
    if environment:
        query = query.where(RulePin.environment == environment)
    with sessions() as session:
        return list(session.scalars(query))


def pinned_version_id(sessions: sessionmaker, environment: str) -> int | None:
    with sessions() as session:
        return session.scalar(select(RulePin.version_id).where(RulePin.environment == environment)
                              .order_by(RulePin.id.desc()).limit(1))


def keep_report(sessions: sessionmaker, version_id: int, environment: str, baseline: str, orders: int,
                differences: list[dict], actor: str) -> DryRunReport:
    with sessions.begin() as session:
        report = DryRunReport(version_id=version_id, environment=environment, baseline=baseline, orders=orders,
                              differences=differences, actor=actor, created_at=utcnow())
        session.add(report)
    return report


def get_report(sessions: sessionmaker, report_id: int) -> DryRunReport | None:
    with sessions() as session:
        return session.get(DryRunReport, report_id)


def reports(sessions: sessionmaker, version_id: int | None = None) -> list[DryRunReport]:
    query = select(DryRunReport).order_by(DryRunReport.id.desc())
    if version_id is not None:
        query = query.where(DryRunReport.version_id == version_id)
    with sessions() as session:
        return list(session.scalars(query))
