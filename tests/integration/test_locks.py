"""The Redis locks the workers take (store/locks.py), over a real Redis."""

import threading

import pytest

from core import redis_keys
from store.locks import LockNotAcquired, RedisLocks
from workers.failures import classify


def test_a_held_order_lock_makes_another_worker_wait_then_retry(redis_client):
    mine, theirs = RedisLocks(redis_client), RedisLocks(redis_client)  # two worker processes
    with mine.order(7):
        assert redis_client.exists(redis_keys.ORDER_LOCK.format(order_id=7))
        with pytest.raises(LockNotAcquired, match="xcfb:lock:order:7 is still held after 0.05 s") as raised:
            with theirs.order(7, wait=0.05):
                pass
        with theirs.order(8, wait=0.05):  # another order is not held up
            pass
    assert classify(raised.value, "xcfb.create_invoice").retryable
    assert not redis_client.exists(redis_keys.ORDER_LOCK.format(order_id=7))  # released on the way out
    with theirs.order(7, wait=0.05):
        pass


def test_a_binding_lock_is_keyed_by_kind_and_external_id(redis_client):
    locks = RedisLocks(redis_client)
    with locks.binding("item", "SKU-1"):
        assert redis_client.exists(redis_keys.BINDING_LOCK.format(kind="item", external_id="SKU-1"))
        with locks.binding("client", "SKU-1", wait=0.05):  # another kind: another lock
            pass
        with pytest.raises(LockNotAcquired):
            with locks.binding("item", "SKU-1", wait=0.05):
                pass


def test_the_thread_holding_an_order_lock_has_it_when_it_takes_it_again_and_lets_go_once_outermost(redis_client):
    """A task running two steps (workers/tasks.invoice_and_payment) holds the order's lock across both: the steps'
    own takes of it find it held. Another thread of the same process, or another process, still waits."""
    key = redis_keys.ORDER_LOCK.format(order_id=7)
    locks, other_process = RedisLocks(redis_client), RedisLocks(redis_client)
    taken_by_other_thread = []

    def other_thread():
        try:
            with locks.order(7, wait=0.05):
                taken_by_other_thread.append(True)
        except LockNotAcquired:
            taken_by_other_thread.append(False)

    with locks.order(7):
        with locks.order(7, wait=0.05):  # held already: taken at once
            pass
        assert redis_client.exists(key)  # the inner way out did not let it go
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        with pytest.raises(LockNotAcquired):
            with other_process.order(7, wait=0.05):
                pass
    assert taken_by_other_thread == [False]
    assert not redis_client.exists(key)
    with locks.binding("item", "SKU-1"), pytest.raises(LockNotAcquired):  # a binding's lock is not taken again
        with locks.binding("item", "SKU-1", wait=0.05):
            pass
