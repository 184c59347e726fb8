"""The anomaly check's history in the database (store/assistants.SqlHistory): a window read by a check is kept for
the checks of the next seconds (RecentWindows), each reading only the rows recorded since, never with the checked
order's own values in it; then it is read in full again."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from sqlalchemy import event, insert

from mappings.anomalies import Observation as Observed
from store import assistants
from store.assistants import SLACK, RecentWindows, SqlHistory
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


def values(sessions, order_id: int, windows: RecentWindows) -> list[D]:
    with SqlHistory(sessions, order_id, WINDOW, [QUESTION], windows) as history:
        return list(history.values(*QUESTION))


@pytest.fixture
def statements(ports):
    """The SQL statements run from now on, until the test ends."""
    seen: list[str] = []

    def note(*args):
        seen.append((args[2], args[3]))
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
    windows = RecentWindows(reuse=5, clock=Clock())
    for n in range(3):
        observe(ports.sessions, n, str(n))
    assert values(ports.sessions, 99, windows) == [D(2), D(1), D(0)]
    observe(ports.sessions, 3, "3")
    assert values(ports.sessions, 99, windows) == [D(3), D(2), D(1), D(0)]  # at once, though within the reuse


def test_a_kept_window_is_brought_up_to_date_with_the_rows_since_then_read_in_full_after_the_reuse(ports, statements):
    clock = Clock()
    windows = RecentWindows(reuse=5, clock=clock)
    for n in range(5):  # ids apart from the window's size, which the read is also given
        observe(ports.sessions, n, str(n), metric="discount")
    for n in range(WINDOW + SLACK):
        observe(ports.sessions, n, str(n))
    newest = [D(n) for n in range(WINDOW + SLACK - 1, SLACK - 1, -1)]
    assert values(ports.sessions, 999, windows) == newest == exact(ports.sessions, 999)
    newest_id = windows.get(ports.sessions, (*QUESTION, WINDOW)).newest_id
    observe(ports.sessions, 500, "500")
    statements.clear()
    clock.now = 4.9
    answered = values(ports.sessions, 998, windows)
    (_, asked), = statements  # one read: the rows after the newest kept
    assert answered == [D(500), *newest[:-1]] == exact(ports.sessions, 998)
    assert newest_id in (asked.values() if isinstance(asked, dict) else asked)
    assert windows.get(ports.sessions, (*QUESTION, WINDOW)).read_at == 0.0  # still the full read's window
    statements.clear()
    clock.now = 5.0
    assert values(ports.sessions, 997, windows) == [D(500), *newest[:-1]]
    (_, asked), = statements  # read in full again: the rows after 0
    assert newest_id not in (asked.values() if isinstance(asked, dict) else asked)
    assert 0 in (asked.values() if isinstance(asked, dict) else asked)
    assert windows.get(ports.sessions, (*QUESTION, WINDOW)).read_at == 5.0


def test_a_window_kept_past_the_rows_since_its_limit_is_replaced_by_them(ports):
    windows = RecentWindows(reuse=5, clock=Clock())
    for n in range(3):
        observe(ports.sessions, n, str(n))
    values(ports.sessions, 999, windows)
    for n in range(100, 100 + WINDOW + SLACK):
        observe(ports.sessions, n, str(n))
    assert values(ports.sessions, 999, windows) == [D(n) for n in range(99 + WINDOW + SLACK, 99 + SLACK, -1)] \
        == exact(ports.sessions, 999)


def test_a_reused_window_leaves_the_checked_orders_own_values_out(ports):
    windows = RecentWindows(reuse=5, clock=Clock())
    for n in range(WINDOW + SLACK):
        observe(ports.sessions, 7 if n % 2 else n, str(n))  # order 7 has every second value
    values(ports.sessions, 999, windows)  # read and kept
    own_left_out = [D(n) for n in range(WINDOW + SLACK - 1, -1, -1) if n % 2 == 0][:WINDOW]
    assert values(ports.sessions, 7, windows) == own_left_out == exact(ports.sessions, 7)


def test_an_order_with_more_of_its_own_values_than_the_slack_is_answered_by_the_database(ports):
    windows = RecentWindows(reuse=5, clock=Clock())
    for n in range(WINDOW):
        observe(ports.sessions, n, str(n))
    for n in range(WINDOW, WINDOW + SLACK + 5):
        observe(ports.sessions, 7, str(n))  # the newest SLACK + 5 values are order 7's
    assert values(ports.sessions, 7, windows) == [D(n) for n in range(WINDOW - 1, -1, -1) if n != 7] \
        == exact(ports.sessions, 7)
    assert values(ports.sessions, 8, windows) == [D(n) for n in range(WINDOW + SLACK + 4, SLACK + 4, -1)] \
        == exact(ports.sessions, 8)


def test_a_checks_recorded_values_are_in_the_next_checks_window(ports):
    windows = RecentWindows(reuse=5, clock=Clock())
    for n in range(WINDOW + SLACK):
        observe(ports.sessions, n, str(n))
    values(ports.sessions, 999, windows)
    assistants.record_check(ports.sessions, 700, datetime.now(UTC), [Observed("order_total", "store", D(700), "total")],
                            [], [])
    assert values(ports.sessions, 999, windows)[0] == D(700)


def check_again(sessions, order_id: int, value: str) -> None:
    """The order checked again: record_check replaces its values."""
    assistants.record_check(sessions, order_id, datetime.now(UTC),
                            [Observed("order_total", "store", D(value), "total")], [], [])


def test_an_order_checked_again_and_again_is_in_a_kept_window_once_with_its_newest_value(ports):
    windows = RecentWindows(reuse=5, clock=Clock())
    for n in range(WINDOW):
        observe(ports.sessions, n, str(n))
    values(ports.sessions, 999, windows)
    for value in ("33", "34", "35"):  # order 3 checked again between other orders' checks
        check_again(ports.sessions, 3, value)
        observe(ports.sessions, int(value) + 100, value + "0")
        answered = values(ports.sessions, 999, windows)
        assert answered == exact(ports.sessions, 999)
    assert answered.count(D(35)) == 1 and not {D(3), D(33), D(34)} & set(answered)


def test_an_order_whose_new_values_took_the_ids_of_its_old_ones_is_read_right_after_the_reuse(ports):
    clock = Clock()
    windows = RecentWindows(reuse=5, clock=clock)
    for n in range(WINDOW):
        observe(ports.sessions, n, str(n))
    values(ports.sessions, 999, windows)
    check_again(ports.sessions, 9, "99")  # the newest row's id, deleted, is SQLite's next id again
    assert len(values(ports.sessions, 999, windows)) == WINDOW  # one order's value, old or new: the bound
    clock.now = 5.0
    assert values(ports.sessions, 999, windows) == exact(ports.sessions, 999)
    assert D(99) in values(ports.sessions, 999, windows)


def test_values_found_anomalous_and_other_metrics_stay_out_of_a_window(ports):
    windows = RecentWindows(reuse=5, clock=Clock())
    for n in range(WINDOW + SLACK):
        observe(ports.sessions, n, str(n))
    observe(ports.sessions, 100, "100", anomalous=True)
    observe(ports.sessions, 101, "101", metric="discount")
    assert values(ports.sessions, 999, windows)[0] == D(WINDOW + SLACK - 1)
    observe(ports.sessions, 102, "102", anomalous=True)  # nor among the rows since
    observe(ports.sessions, 103, "103", metric="discount")
    assert values(ports.sessions, 999, windows)[0] == D(WINDOW + SLACK - 1)


def test_each_services_sessionmaker_keeps_its_own_windows(ports, unit_engine):
    windows = RecentWindows(reuse=5, clock=Clock())
    for n in range(WINDOW + SLACK):
        observe(ports.sessions, n, str(n))
    values(ports.sessions, 999, windows)
    other = session_factory(unit_engine)  # another process's Services, or the next test's
    observe(other, 200, "200")
    assert values(other, 999, windows)[0] == D(200)
