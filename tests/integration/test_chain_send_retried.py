"""An event whose chain could not be sent yet (a retryable failure between taking the event in and sending its
chain) comes back and sends that chain under the same cover id: an event of the order that joined the chain in
between is finished with it, not left waiting for a chain that was never sent (store/coalescing.py)."""

from __future__ import annotations

import pytest

from mappings.jsonio import dumps
from runtime import bootstrap
from store import ledger
from store.locks import LockNotAcquired
from tests.e2e.pipeline import simulated_store
from workers import orders, tasks
from workers.app import app


@pytest.fixture
def eager(svc):
    bootstrap.use(svc)
    app.conf.task_always_eager = True  # the chain runs here, on the test's services
    try:
        yield svc
    finally:
        app.conf.task_always_eager = False
        bootstrap.use(None)


def test_an_event_that_joined_a_chain_not_sent_yet_is_finished_when_the_chain_is_sent_on_the_retry(eager,
                                                                                                   monkeypatch):
    _, store = simulated_store(seed=5)
    for event in store.events:  # the store's customers and products
        tasks.process_event.apply(args=[dumps(event)])
    placed = store.place_orders(12)
    created = next(e for e in placed if e["type"] == "order.created" and any(
        later["type"] == "payment.created" and later["data"]["order_id"] == e["data"]["id"] for later in placed))
    paid = next(e for e in placed if e["type"] == "payment.created" and e["data"]["order_id"] == created["data"]["id"])
    idle_steps, calls = orders.idle_steps, []

    def the_payment_arrives_then_redis_fails(svc, order_id):
        calls.append(order_id)
        if len(calls) == 1:
            tasks.process_event.apply(args=[dumps(paid)])  # taken in while the chain waits: it joins that chain
            raise LockNotAcquired("a lock held elsewhere, for the test")  # retryable: process_event runs again
        return idle_steps(svc, order_id)

    monkeypatch.setattr(orders, "idle_steps", the_payment_arrives_then_redis_fails)
    tasks.process_event.apply(args=[dumps(created)])
    assert len(calls) == 2
    assert [ledger.get_event(eager.sessions, e["id"]).status for e in (created, paid)] == ["synced", "synced"]
