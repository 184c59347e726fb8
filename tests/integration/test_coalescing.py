"""store/coalescing.py on a real Redis: which event sends an order's chain and which ride on it."""

from store.coalescing import Coalescing


def test_events_taken_in_while_a_chain_waits_ride_on_it_until_it_starts(redis_client):
    coalescing = Coalescing(redis_client, 60)
    send, cover = coalescing.join(7, "created")
    assert send
    assert coalescing.join(7, "paid") == (False, cover)
    assert coalescing.join(7, "status") == (False, cover)
    assert coalescing.join(8, "other order") [0]  # another order sends its own
    coalescing.start(7, cover)
    send, later = coalescing.join(7, "refunded")  # after the start: a chain of its own, under a new id
    assert send and later != cover
    assert coalescing.covered(cover) == ["paid", "status"] and coalescing.covered(later) == []
    coalescing.release(cover)
    assert coalescing.covered(cover) == []


def test_the_same_event_again_sends_its_waiting_chain_again_and_another_chain_start_changes_nothing(redis_client):
    coalescing = Coalescing(redis_client, 60)
    _, cover = coalescing.join(7, "created")
    assert coalescing.join(7, "created") == (True, cover)  # a redelivery: the first send may have been lost
    assert coalescing.covered(cover) == []
    coalescing.start(7, "some-other-chain")  # a replay's or a retried chain's first step: not the marker's
    assert coalescing.join(7, "paid") == (False, cover)
    coalescing.start(7, cover)
    coalescing.start(7, cover)  # its second send starts too: nothing more to remove
    assert coalescing.join(7, "created")[1] != cover  # taken in again after the start: a new chain


def test_keys_expire(redis_client):
    coalescing = Coalescing(redis_client, 60)
    _, cover = coalescing.join(7, "created")
    coalescing.join(7, "paid")
    assert 0 < redis_client.ttl("xcfb:chain:queued:7") <= 60
    assert 0 < redis_client.ttl(f"xcfb:chain:covers:{cover}") <= 60


def test_a_chain_parked_before_it_started_takes_no_more_events_and_names_the_ones_it_took(redis_client):
    """The fault suite found it: a chain dead-lettered in its first step, before that step removed the marker, went
    on taking the order's events in, and they waited for a chain that would never run."""
    coalescing = Coalescing(redis_client, 60)
    _, cover = coalescing.join(7, "created")
    coalescing.join(7, "paid")
    assert coalescing.close(7, cover) == ["paid"]
    send, later = coalescing.join(7, "shipped")
    assert send and later != cover
    assert coalescing.close(7, "not-the-marker's") == []
    assert coalescing.join(7, "refunded") == (False, later)  # another chain's close leaves this marker alone


def test_a_chains_first_step_starts_it_before_it_reads_the_order_whichever_step_comes_first(redis_client):
    """A payment's chain may be reconcile_payment alone (the others idle: workers/orders.idle_steps): the step that
    comes first removes the marker before its work reads anything, so an event stored after sends its own chain."""
    from types import SimpleNamespace

    from workers.tasks import _step

    coalescing = Coalescing(redis_client, 60)
    _, cover = coalescing.join(7, "paid")
    seen_by_the_step = []
    work = _step(7, cover, lambda svc: seen_by_the_step.append(coalescing.join(7, "refunded")))
    work(SimpleNamespace(coalescing=coalescing))
    (send, later), = seen_by_the_step
    assert send and later != cover  # the refund, stored while the step ran, sends a chain of its own
    assert coalescing.covered(cover) == []
    _step(7, cover, lambda svc: None)(SimpleNamespace(coalescing=coalescing))  # a later step of the same chain
    assert coalescing.join(7, "status") == (False, later)  # ...removes no other chain's marker
