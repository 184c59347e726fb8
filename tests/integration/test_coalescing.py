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
    send, later = coalescing.join(7, "refunded")  # after the start: a chain of its own, held back while it runs
    assert not send and later != cover
    assert coalescing.join(7, "shipped") == (False, later)  # rides on the held-back chain
    assert coalescing.covered(cover) == ["paid", "status"] and coalescing.covered(later) == ["shipped"]
    coalescing.release(cover)
    assert coalescing.covered(cover) == []
    assert coalescing.end(7, cover) == (later, "refunded")  # the running chain ends: it sends the held-back one
    assert coalescing.end(7, cover) == (later, "refunded")  # until that one is confirmed sent
    coalescing.sent(7, later)
    assert coalescing.end(7, cover) is None
    assert coalescing.join(7, "refunded") == (True, later)  # the held-back chain's event again: send it again
    coalescing.start(7, later)
    assert coalescing.end(7, later) is None
    assert coalescing.join(7, "cancelled")[0]  # nothing runs: a chain of its own, sent at once


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
    coalescing.drop(7, "some-other-chain")  # not the marker's: left alone
    assert coalescing.join(7, "paid")[1] != cover


def test_an_order_has_one_chain_running_and_the_next_is_sent_when_it_ends(redis_client):
    coalescing = Coalescing(redis_client, 60)
    _, first = coalescing.join(7, "created")
    coalescing.start(7, first)
    send, held = coalescing.join(7, "paid")
    assert not send
    assert coalescing.end(7, "another chain") is None  # only the running chain hands the held-back one on
    assert coalescing.end(7, first) == (held, "paid")
    coalescing.sent(7, held)
    coalescing.start(7, held)
    send, third = coalescing.join(7, "refunded")
    assert not send and third not in (first, held)
    assert coalescing.end(7, held) == (third, "refunded")
    coalescing.drop(7, third)  # could not be sent: nothing is held back any more, later events send their own
    assert coalescing.end(7, held) is None
    assert coalescing.join(7, "shipped")[0]


def test_keys_expire(redis_client):
    coalescing = Coalescing(redis_client, 60)
    _, cover = coalescing.join(7, "created")
    coalescing.join(7, "paid")
    assert 0 < redis_client.ttl("xcfb:chain:queued:7") <= 60
    assert 0 < redis_client.ttl(f"xcfb:chain:covers:{cover}") <= 60
    coalescing.start(7, cover)
    coalescing.join(7, "refunded")
    assert 0 < redis_client.ttl("xcfb:chain:running:7") <= 60
    assert 0 < redis_client.ttl("xcfb:chain:waiting:7") <= 60


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
