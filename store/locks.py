"""The workers' locks: one per order (two deliveries of an order never run the same step at once) and one per
X-Cart object being bound (two orders sharing a client or an item never create it twice).

`RedisLocks` is what the service runs on (shared by every worker process); `ThreadLocks` has the same
interface over threading locks, for code that runs in one process (the unit tier of the chain steps). Both
raise LockNotAcquired when the wait runs out: retryable, the holder is expected to finish."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Protocol

import redis

from core import redis_keys, turns
from core.errors import Retryable

ORDER_LEASE, ORDER_WAIT = 120.0, 10.0  # seconds: a lock outlives a crashed holder for the lease at most
BINDING_LEASE, BINDING_WAIT = 120.0, 30.0
POLL = 0.02  # seconds between tries of a held lock (redis-py's 0.1 made an order's second chain idle for it)


class LockNotAcquired(Retryable):
    """Another worker held the lock for longer than this one would wait."""


class Locks(Protocol):
    def order(self, order_id: int | None) -> AbstractContextManager: ...

    def binding(self, kind: str, external_id: str) -> AbstractContextManager: ...


class RedisLocks:
    def __init__(self, client: redis.Redis):
        self._redis = client

    def order(self, order_id: int | None, lease: float = ORDER_LEASE, wait: float = ORDER_WAIT
              ) -> AbstractContextManager:
        if order_id is None:
            return nullcontext()
        return self._held(redis_keys.ORDER_LOCK.format(order_id=order_id), lease, wait)

    def binding(self, kind: str, external_id: str, lease: float = BINDING_LEASE, wait: float = BINDING_WAIT
                ) -> AbstractContextManager:
        return self._held(redis_keys.BINDING_LOCK.format(kind=kind, external_id=external_id), lease, wait)

    @contextmanager
    def _held(self, key: str, lease: float, wait: float) -> Iterator[None]:
        # thread_local=False: the lock object is this call's alone, and a threading.local made for each cost more
        # than the lock's two round trips under gevent (its locals are patched)
        lock = self._redis.lock(key, timeout=lease, blocking_timeout=wait, sleep=POLL, thread_local=False)
        if not lock.acquire(blocking=False):
            with turns.waiting():  # the holder may need this thread's turn on the CPU to finish (core/turns.py)
                taken = lock.acquire()
            if not taken:
                raise LockNotAcquired(f"{key} is still held after {wait:g} s")
        try:
            yield
        finally:
            lock.release()  # raises LockNotOwnedError (transient) when the lease ran out under us


class ThreadLocks:
    """Real, non-reentrant locks like Redis' (a step that took the same lock twice deadlocks here too, until
    the wait runs out), for threads of one process. A thread cannot die holding one, so there is no lease."""

    def __init__(self, order_wait: float = ORDER_WAIT, binding_wait: float = BINDING_WAIT):
        self._order_wait, self._binding_wait = order_wait, binding_wait
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def order(self, order_id: int | None) -> AbstractContextManager:
        if order_id is None:
            return nullcontext()
        return self._held(redis_keys.ORDER_LOCK.format(order_id=order_id), self._order_wait)

    def binding(self, kind: str, external_id: str) -> AbstractContextManager:
        return self._held(redis_keys.BINDING_LOCK.format(kind=kind, external_id=external_id), self._binding_wait)

    @contextmanager
    def _held(self, key: str, wait: float) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        if not lock.acquire(blocking=False):
            with turns.waiting():  # as RedisLocks
                taken = lock.acquire(timeout=wait)
            if not taken:
                raise LockNotAcquired(f"{key} is still held after {wait:g} s")
        try:
            yield
        finally:
            lock.release()
