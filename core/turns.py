"""Turns on the CPU for a worker's threads: one task thread runs Python at a time, and gives its turn up only
while it waits on something remote (a FreshBooks or X-Cart answer, a lock another task holds).

Why: a threads worker is bound by one core (the GIL). Its task threads release the GIL at every SQL statement and
Redis command, some 450 times an order, and with 8 of them runnable each release hands the GIL over: 1,066 context
switches an order against 154 with one thread, and a third more CPU an order (README, "Tenth round"). Taking turns,
the threads hand over only where waiting is long; FreshBooks' latency still overlaps across all of them.

The rule that keeps it free of deadlocks: what a thread holds while it waits off its turn can be waited for without
the turn (what it takes and lets go within the wait needs no turn: it runs on). The only things held across such a
wait are the order and binding locks, and waits for them give the turn up (store/locks.py); so do the HTTP clients'
requests (apis/freshbooks/client.pooled_session), the duplicate search's, the OAuth refresh with its lock, alert
webhooks and the ECB feed. No database transaction or connection is held across any of them (the steps commit
before they call FreshBooks: store/binder.record_intent).

The price: a wait on the turn for something another process holds (SQLite's write lock, a PostgreSQL row lock,
Redis or the broker down) holds up the worker's other tasks too, not one thread; they would mostly wait for the
same thing.

Off unless a worker of the threads pool turns it on (workers/app.py): under gevent a turn would only serialise the
greenlets, and other processes (ingest, the console, tests) have no turns to take."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Turn:
    """The one turn. Threads taking it back after a wait go first; threads starting a task wait while any such thread
    does: work already started finishes before new work starts, so an order with several remote calls in a row (a
    new client: its look-up, searches and create) is not held up behind every task started after it (a plain lock
    hands the turn to whichever thread wakes first). The price, when the CPU is saturated: a task waits to start
    until the tasks in flight have no more CPU to ask for."""

    def __init__(self) -> None:
        self._state = threading.Lock()
        self._held = False
        self._resuming = self._starting = 0  # threads waiting to take it, of each kind
        self._resumers = threading.Condition(self._state)
        self._starters = threading.Condition(self._state)

    def take(self, resuming: bool = False) -> None:
        with self._state:
            if resuming:
                self._resuming += 1
            else:
                self._starting += 1
            try:
                while self._held or (not resuming and self._resuming):
                    (self._resumers if resuming else self._starters).wait()
            except BaseException:  # a signal's exception (main thread only): the wake-up it took goes to the next
                self._left(resuming)
                if not self._held:
                    self._wake_next()
                raise
            self._left(resuming)
            self._held = True

    def _left(self, resuming: bool) -> None:
        if resuming:
            self._resuming -= 1
        else:
            self._starting -= 1

    def _wake_next(self) -> None:
        (self._resumers if self._resuming else self._starters).notify()

    def give(self) -> None:
        with self._state:
            self._held = False
            self._wake_next()

    def locked(self) -> bool:
        return self._held


_turn = _Turn()
_mine = threading.local()
_enabled = False


def enable() -> None:
    global _enabled
    _enabled = True


def enabled() -> bool:
    return _enabled


@contextmanager
def turn() -> Iterator[None]:
    """Runs the block on this thread's turn (a task's body); nested turns are the same turn."""
    if not _enabled or getattr(_mine, "held", False):
        yield
        return
    _turn.take()
    _mine.held = True
    try:
        yield
    finally:
        if _mine.held:  # not when taking it back after a wait failed (a signal in the main thread)
            _mine.held = False
            _turn.give()


@contextmanager
def waiting() -> Iterator[None]:
    """Gives the turn up for the block (a wait on something remote), and takes it back after, before any thread
    that is only starting a task."""
    if not getattr(_mine, "held", False):
        yield
        return
    _mine.held = False
    _turn.give()
    try:
        yield
    finally:
        _turn.take(resuming=True)
        _mine.held = True
