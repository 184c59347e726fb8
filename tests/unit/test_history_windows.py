"""The anomaly check's history in the database (store/assistants.SqlHistory): a window that was full when read is
reused by the checks of the next seconds (FullWindows), never with the checked order's own values in it; a window
not full yet is read for every check."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from sqlalchemy import event, insert

from mappings.anomalies import Observation as Observed
from store import assistants
from store.assistants import SLACK, FullWindows, SqlHistory
from store.db import session_factory
from store.models import Observation

WINDOW = 10
QUESTION = ("order_total", "store")


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def observe(sessions, order_id: int, value: str, metric: str = "order_total", anomalous: bool = False) -> None:
    with sessions.begin() as session:
        session.execute(insert(Observation), [{"order_id": order_id, "metric": metric, "key": "store",
                                               "subject": f"items[{value}]", "value": value, "anomalous": anomalous,
                                               "observed_at": datetime.now(UTC)}])


def values(sessions, order_id: int, windows: FullWindows) -> list[D]:
    with SqlHistory(sessions, order_id, WINDOW, [QUESTION], windows) as history:
        return list(history.values(*QUESTION))


@pytest.fixture
def statements(ports):
    """The SQL statements run from now on, until the test ends."""
    seen: list[str] = []

    def note(*args):
        seen.append(args[2])
    engine = ports.sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", note)
    yield seen
    event.remove(engine, "before_cursor_execute", note)


def exact(sessions, order_id: int) -> list[D]:
    """What the database answers without reading beyond the window (SqlHistory._latest)."""
    history = SqlHistory(sessions, order_id, WINDOW)
    with sessions() as session:
        return [D(v) for _, _, v, _ in session.execute(history._latest(*QUESTION))]


def test_a_window_not_full_is_read_for_every_check(ports):
    windows = FullWindows(reuse=5, clock=Clock())
    for n in range(3):
        observe(ports.sessions, n, str(n))
    assert values(ports.sessions, 99, windows) == [D(2), D(1), D(0)]
    observe(ports.sessions, 3, "3")
    assert values(ports.sessions, 99, windows) == [D(3), D(2), D(1), D(0)]  # at once, though within the reuse


def test_a_full_window_is_reused_for_the_reuse_seconds_then_read_again(ports, statements):
    clock = Clock()
    windows = FullWindows(reuse=5, clock=clock)
    for n in range(WINDOW + SLACK):
        observe(ports.sessions, n, str(n))
    newest = [D(n) for n in range(WINDOW + SLACK - 1, SLACK - 1, -1)]
    assert values(ports.sessions, 999, windows) == newest == exact(ports.sessions, 999)
    observe(ports.sessions, 500, "500")
    read = statements
    read.clear()
    clock.now = 4.9
    assert values(ports.sessions, 998, windows) == newest  # the window read 4.9 s ago
    assert read == []  # and the database was not asked
    clock.now = 5.0
    assert values(ports.sessions, 997, windows) == [D(500), *newest[:-1]]
    assert len(read) == 1


def test_a_reused_window_leaves_the_checked_orders_own_values_out(ports):
    windows = FullWindows(reuse=5, clock=Clock())
    for n in range(WINDOW + SLACK):
        observe(ports.sessions, 7 if n % 2 else n, str(n))  # order 7 has every second value
    values(ports.sessions, 999, windows)  # read and kept
    own_left_out = [D(n) for n in range(WINDOW + SLACK - 1, -1, -1) if n % 2 == 0][:WINDOW]
    assert values(ports.sessions, 7, windows) == own_left_out == exact(ports.sessions, 7)


def test_an_order_with_more_of_its_own_values_than_the_slack_is_answered_by_the_database(ports):
    windows = FullWindows(reuse=5, clock=Clock())
    for n in range(WINDOW):
        observe(ports.sessions, n, str(n))
    for n in range(WINDOW, WINDOW + SLACK + 5):
        observe(ports.sessions, 7, str(n))  # the newest SLACK + 5 values are order 7's
    assert values(ports.sessions, 7, windows) == [D(n) for n in range(WINDOW - 1, -1, -1) if n != 7] \
        == exact(ports.sessions, 7)
    assert values(ports.sessions, 8, windows) == [D(n) for n in range(WINDOW + SLACK + 4, SLACK + 4, -1)] \
        == exact(ports.sessions, 8)


def test_a_full_window_is_read_again_once_this_process_recorded_a_twentieth_of_it_anew(ports):
    windows = FullWindows(reuse=5, new_share=5, clock=Clock())  # a fifth of 10: 2 values
    for n in range(WINDOW + SLACK):
        observe(ports.sessions, n, str(n))
    values(ports.sessions, 999, windows)
    observe(ports.sessions, 600, "600")
    windows.recorded(ports.sessions, [QUESTION, ("discount", "store")])
    assert values(ports.sessions, 999, windows)[0] == D(WINDOW + SLACK - 1)  # 1 of 2: still reused
    observe(ports.sessions, 601, "601")
    windows.recorded(ports.sessions, [QUESTION])
    assert values(ports.sessions, 999, windows)[:2] == [D(601), D(600)]


def test_a_checks_recorded_values_count_against_the_windows_reuse(ports, monkeypatch):
    windows = FullWindows(reuse=5, new_share=WINDOW, clock=Clock())  # reused until 1 new value
    monkeypatch.setattr(assistants, "full_windows", windows)
    for n in range(WINDOW + SLACK):
        observe(ports.sessions, n, str(n))
    values(ports.sessions, 999, windows)
    assistants.record_check(ports.sessions, 700, datetime.now(UTC), [Observed("order_total", "store", D(700), "total")],
                            [], [])
    assert values(ports.sessions, 999, windows)[0] == D(700)


def test_values_found_anomalous_and_other_metrics_stay_out_of_a_window(ports):
    windows = FullWindows(reuse=5, clock=Clock())
    for n in range(WINDOW + SLACK):
        observe(ports.sessions, n, str(n))
    observe(ports.sessions, 100, "100", anomalous=True)
    observe(ports.sessions, 101, "101", metric="discount")
    assert values(ports.sessions, 999, windows)[0] == D(WINDOW + SLACK - 1)


def test_each_services_sessionmaker_keeps_its_own_windows(ports, unit_engine):
    windows = FullWindows(reuse=5, clock=Clock())
    for n in range(WINDOW + SLACK):
        observe(ports.sessions, n, str(n))
    values(ports.sessions, 999, windows)
    other = session_factory(unit_engine)  # another process's Services, or the next test's
    observe(other, 200, "200")
    assert values(other, 999, windows)[0] == D(200)
