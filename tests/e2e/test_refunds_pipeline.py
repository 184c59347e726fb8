"""Refunds (partial, several, full) and cancellations after payment through ingest, the broker, a worker and the
FreshBooks sandbox, delivered twice and out of order, with lost answers: each credit note booked once, none lost,
nothing left in review."""

from harness.books_check import check_books, held_as_duplicates
from store import ledger
from tests.e2e.pipeline import simulated_store


def test_refunds_and_cancellations_become_credit_notes_once(pipeline_factory, fb_sandbox):
    pipeline = pipeline_factory(max_retries=20)
    _, store = simulated_store(seed=71, after_sales=0.6)
    events = list(store.events) + store.place_orders(40)
    kinds = {t["type"] for ts in store.transactions.values() for t in ts}
    assert {"refund", "refundPart", "refundMulti"} <= kinds  # the store gave money back every way
    fb_sandbox.faults.configure({"ghost_creates": 8, "ghost_mode": "error"})
    pipeline.sender(duplicate_rate=0.5, reorder_window=12).deliver_all(events)
    pipeline.settle(timeout=120)
    books = check_books(store, fb_sandbox, pipeline.services.rules, held_as_duplicates(pipeline.services.sessions))
    assert books.correct and books.booked == books.orders, books
    numbers = [c["credit_number"] for c in fb_sandbox.books.all("credit_note") if c["vis_state"] == 0]
    assert any(n.endswith("-C") for n in numbers) and any(n.endswith("-R2") for n in numbers), numbers
    assert books.credit_notes == len(numbers) == len(set(numbers)) and not books.lost_refunds
    assert fb_sandbox.faults.describe()["injected"]["ghost"] == 8
    # a refund seen before its sale is settled: the only orders waiting for a person are near-duplicate customers
    letters = ledger.dead_letters(pipeline.services.sessions)
    assert all("possible duplicate of client" in letter.reason for letter in letters), letters
