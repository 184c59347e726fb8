"""Turns on the CPU for a threads worker's tasks (core/turns.py): one task thread runs at a time, and a thread gives
its turn up while it waits on something remote (an HTTP answer, a lock another task holds), so that waiting
overlaps and nothing deadlocks."""

import io
import threading
import time

import fakeredis
import pytest
import responses
from celery.concurrency.prefork import TaskPool as PreforkPool
from celery.concurrency.thread import TaskPool as ThreadsPool

from apis.freshbooks.client import pooled_session
from core import turns
from store.locks import RedisLocks, ThreadLocks
from workers.app import app, take_turns_in_a_threads_worker

SETTLED = 10  # seconds a thread is given to reach a point it must reach: far beyond what any of these takes


@pytest.fixture
def turns_on(monkeypatch):
    monkeypatch.setattr(turns, "_enabled", True)


def _run(*targets) -> None:
    """Runs each target in a thread of its own and waits for all; what they saw is asserted by the caller."""
    threads = [threading.Thread(target=target, daemon=True) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SETTLED)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"


@pytest.mark.usefixtures("turns_on")
def test_one_task_thread_runs_at_a_time_and_the_next_runs_when_the_turn_is_given_back():
    first_in, release_first, second_in, seen = threading.Event(), threading.Event(), threading.Event(), []

    def first():
        with turns.turn():
            first_in.set()
            release_first.wait(SETTLED)

    def second():
        first_in.wait(SETTLED)
        with turns.turn():
            second_in.set()

    def referee():
        first_in.wait(SETTLED)
        seen.append(("turn free while the first holds it", not turns._turn.locked()))
        seen.append(("second in while the first holds the turn", second_in.is_set()))
        release_first.set()
        seen.append(("second in after", second_in.wait(SETTLED)))

    _run(first, second, referee)
    assert seen == [("turn free while the first holds it", False), ("second in while the first holds the turn", False),
                    ("second in after", True)]


@pytest.mark.usefixtures("turns_on")
def test_waiting_gives_the_turn_to_another_thread_and_takes_it_back():
    waiting_started, second_done, order = threading.Event(), threading.Event(), []

    def first():
        with turns.turn():
            with turns.waiting():
                waiting_started.set()
                order.append(("second ran while the first waited", second_done.wait(SETTLED)))
            order.append(("first back on its turn", turns._turn.locked()))

    def second():
        waiting_started.wait(SETTLED)
        with turns.turn():
            order.append(("second", True))
        second_done.set()

    _run(first, second)
    assert order == [("second", True), ("second ran while the first waited", True), ("first back on its turn", True)]
    assert not turns._turn.locked()


@pytest.mark.usefixtures("turns_on")
@pytest.mark.parametrize("round_", range(5))  # a lock without the rule gives the resumer the turn first by chance
def test_a_thread_back_from_a_wait_gets_the_turn_before_threads_starting_a_task(round_):
    resumer_waiting, holder_in, let_go, order, queued = (threading.Event(), threading.Event(), threading.Event(), [],
                                                         [])

    def resumer():
        with turns.turn():
            with turns.waiting():
                resumer_waiting.set()
                holder_in.wait(SETTLED)  # comes back while the holder has the turn
            order.append("back from its wait")

    def holder():
        resumer_waiting.wait(SETTLED)
        with turns.turn():
            holder_in.set()
            let_go.wait(SETTLED)

    def starter():
        holder_in.wait(SETTLED)
        with turns.turn():
            order.append("started")

    def referee():
        holder_in.wait(SETTLED)
        queued.append(_until(lambda: (turns._turn._resuming, turns._turn._starting) == (1, 3)))  # all four queue
        let_go.set()

    _run(resumer, holder, starter, starter, starter, referee)
    assert queued == [True]
    assert order == ["back from its wait", "started", "started", "started"]
    assert not turns._turn.locked()


def test_a_take_interrupted_in_its_wait_passes_the_wake_up_it_took_on():
    """A signal's exception in the woken thread (Python raises them in the main thread only) must not strand the
    threads behind it."""
    turn, outcome = turns._Turn(), {}

    class InterruptedOnce(threading.Condition):
        def wait(self, timeout=None):
            woken = super().wait(timeout)
            if threading.current_thread().name == "interrupted":
                raise KeyboardInterrupt
            return woken

    turn._starters = InterruptedOnce(turn._state)
    turn.take()

    def interrupted():
        try:
            turn.take()
        except KeyboardInterrupt:
            outcome["interrupted"] = True

    def next_in_line():
        turn.take()
        outcome["next took it"] = True
        turn.give()

    first = threading.Thread(target=interrupted, name="interrupted", daemon=True)
    first.start()
    assert _until(lambda: turn._starting == 1)
    second = threading.Thread(target=next_in_line, daemon=True)
    second.start()
    assert _until(lambda: turn._starting == 2)
    turn.give()  # wakes the first in line, which is interrupted
    first.join(SETTLED)
    second.join(SETTLED)
    assert outcome == {"interrupted": True, "next took it": True}
    assert (turn._held, turn._resuming, turn._starting) == (False, 0, 0)


def _until(condition) -> bool:
    """Whether the condition came true within SETTLED seconds (polled: the threads it watches give no signal)."""
    deadline = time.monotonic() + SETTLED
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


@pytest.mark.usefixtures("turns_on")
def test_a_nested_turn_is_the_same_turn_and_waiting_outside_a_turn_takes_none():
    with turns.turn(), turns.turn():  # a task that runs another's body in its own thread
        assert turns._turn.locked()
    assert not turns._turn.locked()
    with turns.waiting():  # a thread with no turn (ingest, the duplicate search's helper threads)
        assert not turns._turn.locked()


def test_without_turns_enabled_threads_run_side_by_side(monkeypatch):
    monkeypatch.setattr(turns, "_enabled", False)
    inside, both = threading.Barrier(2, timeout=SETTLED), []

    def task():
        with turns.turn():
            inside.wait()  # raises BrokenBarrierError unless both are inside at once
            both.append(True)

    _run(task, task)
    assert both == [True, True]


def test_a_threads_worker_takes_turns_and_a_prefork_one_does_not(monkeypatch):
    monkeypatch.setattr(turns, "_enabled", False)
    take_turns_in_a_threads_worker(options={"pool": PreforkPool})
    assert not turns.enabled()
    take_turns_in_a_threads_worker(options={"pool": "gevent"})  # by name, as a config file gives it
    assert not turns.enabled()
    take_turns_in_a_threads_worker(options={"pool": ThreadsPool})  # the class, as the CLI's --pool threads gives it
    assert turns.enabled()


@app.task(name="tests.turn_probe", bind=True)
def _turn_probe(self) -> dict:
    return {"on its turn": turns._turn.locked(), "id": self.request.id, "retries": self.request.retries}


@pytest.mark.usefixtures("turns_on")
def test_every_task_of_the_app_runs_on_its_turn_with_its_request_intact():
    ran = _turn_probe.apply(task_id="probe-1", retries=2).get()
    assert ran == {"on its turn": True, "id": "probe-1", "retries": 2}
    assert not turns._turn.locked()


@app.task(name="tests.turnless_probe", takes_turns=False)
def _turnless_probe() -> bool:
    return turns._turn.locked()


@pytest.mark.usefixtures("turns_on")
def test_beats_long_tasks_run_without_a_turn_and_the_orders_steps_with_one():
    from workers import tasks

    assert _turnless_probe.apply().get() is False
    assert not tasks.reconcile_books.takes_turns and not tasks.catch_up.takes_turns
    assert all(step.takes_turns for step in (tasks.process_event, tasks.check_order, tasks.create_invoice,
                                             tasks.reconcile_payment))


@pytest.mark.usefixtures("turns_on")
@pytest.mark.parametrize("locks", [lambda: RedisLocks(fakeredis.FakeRedis()), ThreadLocks],
                         ids=["redis", "threads"])
def test_a_task_waiting_for_an_order_lock_gives_its_turn_to_the_holder(locks):
    """The holder waits on FreshBooks with the order's lock held, off its turn; the other task, on its turn, wants
    the lock. Were it to wait on its turn, the holder could never come back to release the lock."""
    shared = locks()
    holder_waiting, other_waiting_for_lock, done = threading.Event(), threading.Event(), []

    def holder():
        with turns.turn(), shared.order(7):
            with turns.waiting():  # a request to FreshBooks
                holder_waiting.set()
                other_waiting_for_lock.wait(SETTLED)
            done.append("holder")

    def other():
        holder_waiting.wait(SETTLED)
        with turns.turn():
            other_waiting_for_lock.set()
            with shared.order(7):
                done.append("other")

    _run(holder, other)
    assert done == ["holder", "other"]


class _ReadRecorder(io.RawIOBase):
    """An answer's body that notes, at each read, whether the turn was held."""

    def __init__(self, data: bytes):
        self._data, self.turn_held_at_reads = io.BytesIO(data), []

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        self.turn_held_at_reads.append(turns._turn.locked())
        return self._data.readinto(buffer)


@pytest.mark.usefixtures("turns_on")
@pytest.mark.parametrize("stream", [False, True])
@responses.activate
def test_an_http_answer_is_waited_for_off_the_turn_and_its_body_too_unless_streamed(stream):
    body, at_send = _ReadRecorder(b'{"response": {"result": {}}}'), []

    def answer(request):
        at_send.append(turns._turn.locked())
        return 200, {}, io.BufferedReader(body)

    responses.add_callback(responses.GET, "https://api.freshbooks.com/test", callback=answer)
    session = pooled_session("https://api.freshbooks.com")
    with turns.turn():
        answered = session.get("https://api.freshbooks.com/test", stream=stream)
        assert turns._turn.locked()  # back on the turn
        assert answered.json() == {"response": {"result": {}}}
    assert at_send == [False]
    # streamed, the caller reads the body itself, on its turn
    assert body.turn_held_at_reads and set(body.turn_held_at_reads) == {stream}
