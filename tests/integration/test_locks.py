"""The Redis locks the workers take (store/locks.py), over a real Redis."""

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
