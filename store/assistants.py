"""What the assistants keep: the anomaly check's history (observations, read through `SqlHistory`, the same
rules as mappings.anomalies.MemoryHistory), the catalogue's prices, and the findings about each order."""

from __future__ import annotations

import functools
import hashlib
import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, delete, insert, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from mappings.anomalies import Observation as Observed
from mappings.findings import Finding
from store.db import reads_of
from store.models import CataloguePrice, EntityFinding, Observation, OrderFinding, OrderSnapshot, utcnow

VALUE_PLACES = Decimal("1e-12")  # a logarithm's digits beyond these say nothing


WINDOW_REUSE = 5.0  # seconds a window read in full from the database is kept, brought up to date at each check
SLACK = 32  # rows read beyond the window, so that the window is still full once the checked order's own are left out

Row = tuple[int, int, Decimal]  # an observation's id, order id and value


class KeptWindow(NamedTuple):
    read_at: float  # when it was last read in full
    rows: list[Row]  # newest first, the window and SLACK at most

    @property
    def newest_id(self) -> int:
        return self.rows[0][0] if self.rows else 0


class RecentWindows:
    """The windows of history the checks of this process read, per database (its sessionmaker: one a process's
    Services) and question, each brought up to date at every check by reading only the rows recorded since
    (by any process), and read again in full WINDOW_REUSE seconds after its last full read.

    Why: a check asks about eight windows of up to 500 values; reading them in full for every check was the
    largest cost of an order in the chain. An order checked again has its values replaced (record_check): its kept
    ones leave the window when its new ones come in among the rows since. What the rows since cannot show, for at
    most WINDOW_REUSE seconds: an order's values replaced by none (found anomalous now) or under the ids of the
    ones they replace (SQLite gives the newest rows' ids again once they are deleted), which then stand for the
    new ones; and on PostgreSQL a row whose transaction took its id before, but committed after, the newest row
    read. Each moves a window by one order's values at most, which no threshold can see."""

    def __init__(self, reuse: float = WINDOW_REUSE, clock=time.monotonic):
        self._reuse, self._clock = reuse, clock
        self._kept: weakref.WeakKeyDictionary[sessionmaker, dict] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def get(self, sessions: sessionmaker, question: tuple[str, str, int]) -> KeptWindow | None:
        with self._lock:
            kept = self._kept.get(sessions, {}).get(question)
        return kept if kept is not None and self._clock() - kept.read_at < self._reuse else None

    def now(self) -> float:
        return self._clock()

    def keep(self, sessions: sessionmaker, question: tuple[str, str, int], rows: list[Row], read_at: float) -> None:
        """`rows` as read now; `read_at`: when the window they bring up to date was read in full (or, read in full
        now, when the read began)."""
        with self._lock:
            self._kept.setdefault(sessions, {})[question] = KeptWindow(read_at, rows)


recent_windows = RecentWindows()


class SqlHistory:
    """The store's history as the anomaly check of one order sees it (never that order's own values). A check
    asks it one question per metric and key (about eight, some twice): the questions it will ask
    (mappings.anomalies.history_questions) are read at the first in one query, each window kept from an earlier
    check (RecentWindows) read only for the rows recorded since, each answer kept for the check; anything else
    through the same connection, opened at the first question and closed with the `with` block."""

    def __init__(self, sessions: sessionmaker, order_id: int, window: int,
                 questions: Iterable[tuple[str, str]] = (), windows: RecentWindows | None = None):
        self.sessions, self.order_id, self.window = sessions, order_id, window
        self._connection: Connection | None = None
        self._questions = list(dict.fromkeys(questions))
        self._answers: dict[tuple[str, str], list[Decimal]] | None = None
        self._windows = windows or recent_windows

    def __enter__(self) -> SqlHistory:
        return self

    def __exit__(self, *exc_info) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _reading(self) -> Connection:
        if self._connection is None:
            self._connection = reads_of(self.sessions).connect()
        return self._connection

    def _latest(self, metric: str, key: str):
        return (select(Observation.metric, Observation.key, Observation.value, Observation.id).where(
            Observation.metric == metric, Observation.key == key, Observation.anomalous.is_(False),
            Observation.order_id != self.order_id).order_by(Observation.id.desc()).limit(self.window))

    def _answer_all(self) -> dict[tuple[str, str], list[Decimal]]:
        """Every question asked beforehand, in one query (a UNION ALL of the per-question reads, each on the
        (metric, key, id) index): a window kept from an earlier check, the rows since; any other, in full."""
        if not self._questions:
            return {}
        limit = self.window + SLACK
        kept = {question: self._windows.get(self.sessions, (*question, self.window)) for question in self._questions}
        asked = {}
        for n, (metric, key) in enumerate(self._questions):
            window = kept[(metric, key)]
            asked |= {f"metric{n}": metric, f"key{n}": key, f"since{n}": window.newest_id if window else 0}
        fresh: dict[tuple[str, str], list[Row]] = {question: [] for question in self._questions}
        began = self._windows.now()
        for metric, key, row_id, order_id, value in self._reading().execute(
                _recent_windows(len(self._questions)), {**asked, "rows": limit}).all():
            fresh[(metric, key)].append((row_id, order_id, Decimal(value)))
        answers = {}
        for question, rows in fresh.items():
            rows.sort(reverse=True)
            window, read_at = kept[question], began
            if window is not None and len(rows) < limit:
                rows, read_at = _brought_up(window.rows, rows)[:limit], window.read_at
            self._windows.keep(self.sessions, (*question, self.window), rows, read_at)
            answers[question] = self._not_own(question, rows)
        return answers

    def _not_own(self, question: tuple[str, str], rows: list[Row]) -> list[Decimal]:
        values = [value for _, order_id, value in rows if order_id != self.order_id][:self.window]
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


def _brought_up(kept: list[Row], since: list[Row]) -> list[Row]:
    """The rows since, then the kept ones but those of an order among the rows since: a check replaces all of an
    order's values (record_check), so its kept ones are gone from the database."""
    checked_again = {order_id for _, order_id, _ in since}
    return since + [row for row in kept if row[1] not in checked_again]


@functools.cache
def _recent_windows(questions: int):
    """The newest rows of `questions` (metric, key) windows, anyone's (the checked order's own are left out after
    reading: a window read once serves the checks of other orders), `rows` each, newer than `since` (0: all): a
    UNION ALL of one read a window, each on the (metric, key, id) index. Built once for each number of questions
    (store/db.engine_of)."""
    seen = Observation.__table__
    parts = [select(select(seen.c.metric, seen.c.key, seen.c.id, seen.c.order_id, seen.c.value)
                    .where(seen.c.metric == bindparam(f"metric{n}"), seen.c.key == bindparam(f"key{n}"),
                           seen.c.id > bindparam(f"since{n}"), seen.c.anomalous.is_(False))
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
    with reads_of(sessions).connect() as connection:
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
    # locked: a person's acceptance committed meanwhile is seen (and judged against), not overwritten
    stored = {(f.source, f.kind, f.path): f for f in session.scalars(
        select(OrderFinding).where(OrderFinding.order_id == order_id).with_for_update())}
    kept = []
    for finding, action in zip(findings, actions, strict=True):
        row = stored.pop((finding.source, finding.kind, finding.path[:128]), None)
        if row is None:
            row = OrderFinding(order_id=order_id, source=finding.source, kind=finding.kind,
                               path=finding.path[:128], status="open")
            session.add(row)
        elif row.status == "accepted" and _judged(row) != finding.judged:
            row.status = "open"  # a person accepted another value of the field (an edit since): judged again
        row.severity, row.score, row.message = finding.severity, str(finding.score), finding.message
        row.judged, row.action, row.updated_at = finding.judged, action, utcnow()
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
    return [(Finding(row.source, row.kind, row.path, row.message, row.severity, Decimal(row.score),
                     "" if row.judged in (None, row.message) else row.judged), row)
            for row in findings_for_order(sessions, order_id)]


def _judged(row: OrderFinding) -> str:
    """What the row's finding judged; for a row kept before that was recorded, its message (which quotes the value,
    and an anomaly's the history too: such a row is judged again at its next check rather than carried over)."""
    return row.message if row.judged is None else row.judged


class FindingsChanged(Exception):
    """The order's held findings are not those the person was shown: another version was checked meanwhile."""


def held_token(rows: Iterable[OrderFinding]) -> str:
    """The held findings a person is shown, as a token their acceptance carries back (accept_findings)."""
    held = sorted(f"{row.id}\x1f{_judged(row)}" for row in rows if row.holds_the_order)
    return hashlib.sha256("\x1e".join(held).encode()).hexdigest()[:24]


def accept_findings(sessions: sessionmaker, order_id: int, seen: str | None = None) -> int:
    """A person looked at the order's held findings and lets it be booked; returns how many were accepted.
    `seen`: the held_token of the findings they were shown; when the held findings differ now (a version checked
    since), nothing is accepted (FindingsChanged): an acceptance covers only what the person saw."""
    with sessions.begin() as session:
        rows = list(session.scalars(select(OrderFinding).where(
            OrderFinding.order_id == order_id, OrderFinding.status == "open",
            OrderFinding.action == "review").with_for_update()))
        if rows and seen is not None and held_token(rows) != seen:
            raise FindingsChanged(f"order {order_id}: its held findings changed since they were shown")
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
