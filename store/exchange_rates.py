"""The ECB's reference rates as fetched, cached in the database (runtime/exchange_rates.py fetches them)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from mappings.exchange_rates import EcbDay
from store.models import ExchangeRate, utcnow


def save_day(sessions: sessionmaker, day: EcbDay) -> None:
    """Keeps a day's rates; a day fetched again is replaced whole (the ECB may correct a publication)."""
    with sessions.begin() as session:
        for stale in session.scalars(select(ExchangeRate).where(ExchangeRate.day == day.day.isoformat())):
            session.delete(stale)
        session.flush()
        now = utcnow()
        session.add_all(ExchangeRate(day=day.day.isoformat(), currency=currency, per_euro=str(rate), fetched_at=now)
                        for currency, rate in day.per_euro.items())


def days(sessions: sessionmaker) -> list[EcbDay]:
    """Every day cached, oldest first."""
    with sessions() as session:
        rows = session.execute(select(ExchangeRate.day, ExchangeRate.currency, ExchangeRate.per_euro)
                               .order_by(ExchangeRate.day)).all()
    grouped: dict[str, dict[str, Decimal]] = {}
    for day, currency, per_euro in rows:
        grouped.setdefault(day, {})[currency] = Decimal(per_euro)
    return [EcbDay(date.fromisoformat(day), rates) for day, rates in grouped.items()]


def latest_day(sessions: sessionmaker) -> date | None:
    with sessions() as session:
        latest = session.scalar(select(func.max(ExchangeRate.day)))
    return date.fromisoformat(latest) if latest else None
