"""Catch-up sync: what webhooks never brought is found by polling the X-Cart REST API."""

import random

from harness.books_check import check_books, held_as_duplicates
from sandboxes.serve import BackgroundServer
from store import snapshots
from tests.e2e.pipeline import simulated_store
from workers.tasks import catch_up

NINETY_DAYS = 90 * 86400.0  # the simulated store's clock starts on 2026-11-01


def test_orders_whose_webhooks_were_never_sent_are_recovered(pipeline_factory, fb_sandbox):
    app, store = simulated_store(seed=51)
    events = list(store.events) + store.place_orders(30)
    with BackgroundServer(app) as xcart:
        pipeline = pipeline_factory(xcart_api_url=f"{xcart.url}/api", xcart_api_token="xcart-sandbox-token",
                                    catch_up_start=NINETY_DAYS)
        rng = random.Random(3)
        lost_orders = {order_id for order_id in store.orders if rng.random() < 0.4}
        delivered = [e for e in events if e["data"].get("order_id", e["data"].get("id")) not in lost_orders
                     or e["type"].startswith(("customer", "product"))]  # every webhook of 40% of orders is lost
        pipeline.sender().deliver_all(delivered)
        pipeline.settle()
        assert check_books(store, fb_sandbox, pipeline.services.rules).lost

        outcome = catch_up.apply().get()
        assert "enqueued" in outcome and " 0 orders" not in outcome
        pipeline.settle()
        books = check_books(store, fb_sandbox, pipeline.services.rules, held_as_duplicates(pipeline.services.sessions))
        assert books.correct and books.booked == books.orders, books

        assert snapshots.checkpoint(pipeline.services.sessions, "xcart:orders") is not None
        again = catch_up.apply().get()  # nothing new: the next poll enqueues nothing
        assert again == "enqueued 0 orders, 0 payments, 0 customers, 0 products"


def test_a_payment_before_its_order_syncs_the_order_first(pipeline_factory, fb_sandbox):
    app, store = simulated_store(seed=52)
    events = list(store.events) + store.place_orders(10)
    paid = next(e for e in events if e["type"] == "payment.created"
                and store.orders[e["data"]["order_id"]]["payment_status"]["code"] == "P")
    with BackgroundServer(app) as xcart:
        pipeline = pipeline_factory(xcart_api_url=f"{xcart.url}/api", xcart_api_token="xcart-sandbox-token")
        pipeline.sender().deliver_all([paid])  # the order's own webhook never comes
        assert pipeline.settle() == {"synced": 1}
    invoices = fb_sandbox.books.all("invoice")
    assert [i["invoice_number"] for i in invoices] == [paid["data"]["order_number"]]
    assert invoices[0]["payment_status"] == "paid"
