"""What the assistants keep: the anomaly check's history (observations, read through `SqlHistory`, the same
rules as mappings.anomalies.MemoryHistory), the catalogue's prices, and the findings about each order."""

from __future__ import annotations

import functools
import threading
import time
import weakref
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, bindparam, delete, insert, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from mappings.anomalies import Observation as Observed
from mappings.findings import Finding
from store.db import engine_of
from store.models import CataloguePrice, EntityFinding, Observation, OrderFinding, OrderSnapshot, utcnow

VALUE_PLACES = Decimal("1e-12")  # a logarithm's digits beyond these say nothing


FULL_WINDOW_REUSE = 5.0  # seconds a full window read from the database answers the checks of this process
NEW_VALUES_SHARE = 20  # ...and until this process has recorded a twentieth of a window's values for its question
SLACK = 32  # rows read beyond the window, so that the window is still full once the checked order's own are left out


class FullWindows:
    """Windows of history that were full when read (`window` values and more), per database (its sessionmaker:
    one a process's Services) and question, each reused by the checks that follow for FULL_WINDOW_REUSE seconds
    at most, and only until this process has recorded a twentieth of the window anew (25 of 500 values).

    Why: a store's history is full once it has taken in a few hundred orders, and reading it again for every
    check (about eight windows of 500 rows) was the largest cost of an order in the chain. A reused window
    misses at most 5 % of its values (those this process recorded since; with more worker processes, theirs
    too, for 5 s): the median and spread the baseline is made of do not move by what a threshold can see. A
    window not full yet (a new store, a new currency or tax) is read for every check, so that a store's first
    orders are checked against everything before them."""

    def __init__(self, reuse: float = FULL_WINDOW_REUSE, new_share: int = NEW_VALUES_SHARE, clock=time.monotonic):
        self._reuse, self._new_share, self._clock = reuse, new_share, clock
        self._kept: weakref.WeakKeyDictionary[sessionmaker, dict] = weakref.WeakKeyDictionary()
        self._recorded: weakref.WeakKeyDictionary[sessionmaker, Counter] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def get(self, sessions: sessionmaker, question: tuple[str, str, int]) -> list[tuple[int, str]] | None:
        metric, key, window = question
        with self._lock:
            read_at, recorded_then, rows = self._kept.get(sessions, {}).get(question, (None, 0, None))
            recorded_since = self._recorded.get(sessions, Counter())[(metric, key)] - recorded_then
        fresh = read_at is not None and self._clock() - read_at < self._reuse
        return rows if fresh and recorded_since < max(1, window // self._new_share) else None

    def keep(self, sessions: sessionmaker, question: tuple[str, str, int], rows: list[tuple[int, str]]) -> None:
        metric, key, _ = question
        with self._lock:
            recorded = self._recorded.get(sessions, Counter())[(metric, key)]
            self._kept.setdefault(sessions, {})[question] = (self._clock(), recorded, rows)

    def recorded(self, sessions: sessionmaker, questions: Iterable[tuple[str, str]]) -> None:
        """Values this process has just written to the history (committed), one (metric, key) each."""
        with self._lock:
            self._recorded.setdefault(sessions, Counter()).update(questions)


full_windows = FullWindows()


class SqlHistory:
    """The store's history as the anomaly check of one order sees it (never that order's own values). A check
    asks it one question per metric and key (about eight, some twice): the questions it will ask
    (mappings.anomalies.history_questions) are read at the first in one query, but those whose full window a
    check of the last few seconds read (FullWindows), each answer kept for the check; anything else through the
    same session, opened at the first question and closed with the `with` block."""

    def __init__(self, sessions: sessionmaker, order_id: int, window: int,
                 questions: Iterable[tuple[str, str]] = (), windows: FullWindows | None = None):
        self.sessions, self.order_id, self.window = sessions, order_id, window
        self._connection: Connection | None = None
        self._questions = list(dict.fromkeys(questions))
        self._answers: dict[tuple[str, str], list[Decimal]] | None = None
        self._windows = windows or full_windows

    def __enter__(self) -> SqlHistory:
        return self

    def __exit__(self, *exc_info) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _reading(self) -> Connection:
        if self._connection is None:
            self._connection = engine_of(self.sessions).connect()
        return self._connection

    def _latest(self, metric: str, key: str):
        return (select(Observation.metric, Observation.key, Observation.value, Observation.id).where(
            Observation.metric == metric, Observation.key == key, Observation.anomalous.is_(False),
            Observation.order_id != self.order_id).order_by(Observation.id.desc()).limit(self.window))

    def _answer_all(self) -> dict[tuple[str, str], list[Decimal]]:
        """Every question asked beforehand: a full window read by a check of the last few seconds, or, for all the
        others, one query (a UNION ALL of the per-question reads, each on the (metric, key, id) index)."""
        read: dict[tuple[str, str], list[tuple[int, str]]] = {}
        unread = []
        for metric, key in self._questions:
            kept = self._windows.get(self.sessions, (metric, key, self.window))
            if kept is None:
                unread.append((metric, key))
            else:
                read[(metric, key)] = kept
        if unread:
            fresh: dict[tuple[str, str], list[tuple[int, int, str]]] = {question: [] for question in unread}
            asked = {f"{name}{n}": value for n, question in enumerate(unread)
                     for name, value in zip(("metric", "key"), question, strict=True)}
            for metric, key, row_id, order_id, value in self._reading().execute(
                    _recent_windows(len(unread)), {**asked, "rows": self.window + SLACK}).all():
                fresh[(metric, key)].append((row_id, order_id, value))
            for (metric, key), rows in fresh.items():
                newest_first = [(order_id, value) for _, order_id, value in sorted(rows, reverse=True)]
                if len(newest_first) == self.window + SLACK:
                    self._windows.keep(self.sessions, (metric, key, self.window), newest_first)
                read[(metric, key)] = newest_first
        return {question: self._not_own(question, rows) for question, rows in read.items()}

    def _not_own(self, question: tuple[str, str], rows: list[tuple[int, str]]) -> list[Decimal]:
        values = [Decimal(value) for order_id, value in rows if order_id != self.order_id][:self.window]
        if len(values) < self.window and len(rows) == self.window + SLACK:  # the order's own took more than SLACK
            values = [Decimal(v) for _, _, v, _ in self._reading().execute(self._latest(*question))]
        return values

    def values(self, metric: str, key: str) -> Sequence[Decimal]:
        if self._answers is None:
            self._answers = self._answer_all()
        known = self._answers.get((metric, key))
        if known is None:
            known = self._answers[(metric, key)] = [Decimal(v) for _, _, v, _ in
                                                    self._reading().execute(self._latest(metric, key))]
        return known

    def customer_orders(self, customer: str, since: datetime, until: datetime) -> Sequence[Decimal]:
        rows = self._reading().scalars(select(Observation.value).where(
            Observation.metric == "customer_order", Observation.key == customer,
            Observation.order_id != self.order_id, Observation.observed_at >= since,
            Observation.observed_at <= until).order_by(Observation.observed_at.desc()).limit(self.window))
        return [Decimal(v) for v in rows]


@functools.cache
def _recent_windows(questions: int):
    """The newest rows of `questions` (metric, key) windows, anyone's (the checked order's own are left out after
    reading: a window read once serves the checks of other orders), `rows` each: a UNION ALL of one read a window,
    each on the (metric, key, id) index. Built once for each number of questions (store/db.engine_of)."""
    seen = Observation.__table__
    parts = [select(select(seen.c.metric, seen.c.key, seen.c.id, seen.c.order_id, seen.c.value)
                    .where(seen.c.metric == bindparam(f"metric{n}"), seen.c.key == bindparam(f"key{n}"),
                           seen.c.anomalous.is_(False))
                    .order_by(seen.c.id.desc()).limit(bindparam("rows")).subquery())
             for n in range(questions)]
    return union_all(*parts) if questions > 1 else parts[0]


_OBSERVATIONS = Observation.__table__
_FORGET_OBSERVED = delete(_OBSERVATIONS).where(_OBSERVATIONS.c.order_id == bindparam("the_order_id"))
_OBSERVE = insert(_OBSERVATIONS)
_CHECKED = (update(OrderSnapshot.__table__).where(OrderSnapshot.__table__.c.order_id == bindparam("the_order_id"))
            .values(checked_version=bindparam("passed")))


def _observations(session: Session, order_id: int, placed: datetime, seen: Iterable[Observed]) -> None:
    connection = session.connection()  # Core statements in the check's transaction: no objects to keep in step
    connection.execute(_FORGET_OBSERVED, {"the_order_id": order_id})
    rows = [{"order_id": order_id, "metric": o.metric, "key": o.key[:255], "subject": o.subject[:64],
             "value": str(o.value.quantize(VALUE_PLACES).normalize()), "anomalous": o.anomalous,
             "observed_at": placed} for o in seen]
    if rows:  # one executemany: as objects, each row was its own INSERT (to read its id back), 14 an order
        connection.execute(_OBSERVE, rows)


def record_check(sessions: sessionmaker, order_id: int, placed: datetime, seen: Iterable[Observed] | None,
                 findings: Sequence[Finding], actions: Sequence[str], check_key: str | None = None
                 ) -> list[OrderFinding]:
    """What the order's check observed (None: the anomaly check is off, nothing observed is replaced) and found,
    in one transaction; returns the findings' rows (see record_findings). `check_key`: what was checked
    (workers/order_reads.check_key), kept as passed in the same transaction, or, when a finding holds the order,
    nothing kept as passed (two checks of one key may disagree as the history moves: the last one stands)."""
    seen = tuple(seen) if seen is not None else None
    with sessions.begin() as session:
        if seen is not None:
            _observations(session, order_id, placed, seen)
        kept = _findings(session, order_id, findings, actions)
        if check_key is not None:
            passed = None if any(row.holds_the_order for row in kept) else check_key
            session.connection().execute(_CHECKED, {"the_order_id": order_id, "passed": passed})
    if seen is not None:
        full_windows.recorded(sessions, ((o.metric, o.key[:255]) for o in seen if not o.anomalous))
    return kept


def _twice(write):
    """Runs a write again when a concurrent first insert of the same key (two events of one product or customer
    in two workers) beat it: the second run finds the row and updates it."""
    try:
        return write()
    except IntegrityError:
        return write()


def remember_price(sessions: sessionmaker, sku: str, price: Decimal) -> Decimal | None:
    """Keeps the SKU's catalogue price; returns the one it replaces."""
    return _twice(lambda: _remember_price(sessions, sku, price))


def _remember_price(sessions: sessionmaker, sku: str, price: Decimal) -> Decimal | None:
    with sessions.begin() as session:
        row = session.get(CataloguePrice, sku, with_for_update=True)
        if row is None:
            session.add(CataloguePrice(sku=sku, price=str(price), updated_at=utcnow()))
            return None
        previous = Decimal(row.price)
        row.price, row.updated_at = str(price), utcnow()
        return previous


_PRICES = CataloguePrice.__table__
_CATALOGUE_PRICES = select(_PRICES.c.sku, _PRICES.c.price).where(_PRICES.c.sku.in_(bindparam("skus", expanding=True)))


def catalogue_prices(sessions: sessionmaker, skus: Iterable[str]) -> dict[str, Decimal]:
    with engine_of(sessions).connect() as connection:
        rows = connection.execute(_CATALOGUE_PRICES, {"skus": sorted(set(skus))})
        return {sku: Decimal(price) for sku, price in rows}


def record_findings(sessions: sessionmaker, order_id: int, findings: Sequence[Finding],
                    actions: Sequence[str]) -> list[OrderFinding]:
    """The order's findings now: new ones added, those still there updated (a person's acceptance kept),
    those gone removed. Returns the rows."""
    with sessions.begin() as session:
        return _findings(session, order_id, findings, actions)


def _findings(session: Session, order_id: int, findings: Sequence[Finding], actions: Sequence[str]
              ) -> list[OrderFinding]:
    stored = {(f.source, f.kind, f.path): f for f in session.scalars(
        select(OrderFinding).where(OrderFinding.order_id == order_id))}
    kept = []
    for finding, action in zip(findings, actions, strict=True):
        row = stored.pop((finding.source, finding.kind, finding.path[:128]), None)
        if row is None:
            row = OrderFinding(order_id=order_id, source=finding.source, kind=finding.kind,
                               path=finding.path[:128], status="open")
            session.add(row)
        row.severity, row.score, row.message = finding.severity, str(finding.score), finding.message
        row.action, row.updated_at = action, utcnow()
        kept.append(row)
    for gone in stored.values():
        session.delete(gone)
    return kept


def findings_for_order(sessions: sessionmaker, order_id: int) -> list[OrderFinding]:
    with sessions() as session:
        return list(session.scalars(select(OrderFinding).where(OrderFinding.order_id == order_id)
                                    .order_by(OrderFinding.id)))


def kept_findings(sessions: sessionmaker, order_id: int) -> list[tuple[Finding, OrderFinding]]:
    """The order's findings as its last check found them, each with its row (what was done about it)."""
    return [(Finding(row.source, row.kind, row.path, row.message, row.severity, Decimal(row.score)), row)
            for row in findings_for_order(sessions, order_id)]


def accept_findings(sessions: sessionmaker, order_id: int) -> int:
    """A person looked at the order's held findings and lets it be booked; returns how many were accepted."""
    with sessions.begin() as session:
        rows = list(session.scalars(select(OrderFinding).where(OrderFinding.order_id == order_id,
                                                               OrderFinding.status == "open",
                                                               OrderFinding.action == "review")))
        for row in rows:
            row.status, row.updated_at = "accepted", utcnow()
        return len(rows)


def flagged_orders(sessions: sessionmaker, source: str | None = None) -> dict[int, list[OrderFinding]]:
    """Every order with findings, for the demo's summary and the evaluation."""
    query = select(OrderFinding).order_by(OrderFinding.order_id, OrderFinding.id)
    if source:
        query = query.where(OrderFinding.source == source)
    found: dict[int, list[OrderFinding]] = {}
    with sessions() as session:
        for row in session.scalars(query):
            found.setdefault(row.order_id, []).append(row)
    return found




def record_entity_findings(sessions: sessionmaker, entity: str, key: str, findings: Sequence[Finding]) -> None:
    """A customer's or product's findings now, replacing those of its previous version."""
    _twice(lambda: _record_entity_findings(sessions, entity, key, findings))


def _record_entity_findings(sessions: sessionmaker, entity: str, key: str, findings: Sequence[Finding]) -> None:
    with sessions.begin() as session:
        session.execute(delete(EntityFinding).where(EntityFinding.entity == entity,
                                                    EntityFinding.entity_key == key[:255]))
        seen = set()
        for f in findings:
            if (f.source, f.kind, f.path) in seen:
                continue
            seen.add((f.source, f.kind, f.path))
            session.add(EntityFinding(entity=entity, entity_key=key[:255], source=f.source, kind=f.kind,
                                      path=f.path[:128], severity=f.severity, message=f.message, updated_at=utcnow()))


def entity_findings(sessions: sessionmaker) -> list[EntityFinding]:
    with sessions() as session:
        return list(session.scalars(select(EntityFinding).order_by(EntityFinding.entity, EntityFinding.entity_key,
                                                                   EntityFinding.id)))
