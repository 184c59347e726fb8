"""Near-real-time without the add-on: a store connected by URL and key, no webhook at all, and celery beat
polling every 2 s: the orders placed in the store are invoiced in FreshBooks through polling alone."""

import time
from datetime import timedelta

from celery.beat import EmbeddedService

from celeryconfig import beat_schedule_for
from harness.books_check import check_books, expected_books, held_as_duplicates
from sandboxes.serve import BackgroundServer
from tests.e2e.pipeline import simulated_store
from workers.app import app as celery_app
from xcfb.connect_xcart import connect_store

INTERVAL = 2.0


def test_orders_reach_freshbooks_by_polling_alone_within_the_interval(pipeline_factory, fb_sandbox, tmp_path):
    app, store = simulated_store(seed=61, live_clock=True)
    with BackgroundServer(app) as xcart:
        pipeline = pipeline_factory(catch_up_interval=INTERVAL)  # no XCART_API_URL: the connection is used
        connect_store(pipeline.services, f"{xcart.url}/api", store.config.api_token, timedelta(0))
        saved, celery_app.conf.beat_schedule = celery_app.conf.beat_schedule, beat_schedule_for(
            pipeline.services.settings)
        beat = EmbeddedService(celery_app, thread=True, schedule_filename=str(tmp_path / "beat-schedule"))
        beat.start()
        try:
            for batch in (4, 3):  # two batches: the second is found by a later poll, past the checkpoint
                placed = time.monotonic()
                store.place_orders(batch)
                due = set(expected_books(store, pipeline.services.rules))  # not the voided, nor those for review
                # the next poll, then the chain: within the interval and the chain's own time
                booked = wait_for_invoices(fb_sandbox, due, deadline=placed + INTERVAL + 10)
                assert booked == due, f"not invoiced within the deadline: {sorted(due - booked)}"
        finally:
            beat.stop()
            celery_app.conf.beat_schedule = saved
        pipeline.settle()
    books = check_books(store, fb_sandbox, pipeline.services.rules, held_as_duplicates(pipeline.services.sessions))
    assert books.correct and books.booked == books.orders == len(due) >= 5, books


def wait_for_invoices(fb_sandbox, numbers: set[str], deadline: float) -> set[str]:
    """The invoice numbers among `numbers` in FreshBooks, once all are there or the deadline has passed."""
    while True:
        booked = {i["invoice_number"] for i in fb_sandbox.books.all("invoice")} & numbers
        if booked == numbers or time.monotonic() > deadline:
            return booked
        time.sleep(0.2)
