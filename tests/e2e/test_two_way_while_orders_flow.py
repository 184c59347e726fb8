"""Issue 14's demo, as a test: a bookkeeper edits clients and items in FreshBooks and a store admin edits profiles and
products in X-Cart while the worker is still booking orders. Every save on either side is announced (FreshBooks
callbacks, the store add-on's webhooks, the service's own writes included), and all of it, orders and edits, goes
through ingest, the broker and a worker process. Both systems must end agreeing field group by field group per the
ownership rules, each change carried by exactly one write (none answering an echo), every order booked once."""

import time

from harness import two_way_demo
from harness.faultsuite import FAST
from harness.stage import Stage

ORDERS = 60


def test_people_editing_both_sides_while_orders_are_booked_leave_both_systems_agreeing_without_echo_writes(tmp_path):
    with Stage(tmp_path / "stage", seed=5, tuning=FAST) as stage:
        two_way_demo.subscribe(stage)
        sender = stage.sender()
        sender.deliver_all(list(stage.store.events))  # the store's customers and products, then its orders
        sender.deliver_all(stage.store.place_orders(ORDERS))
        people = two_way_demo.People(stage, say=print, in_flight=lambda: stage.unfinished(sender))
        people.start()
        people.join(timeout=60)
        assert not people.is_alive(), "the people never found 6 clients and 3 items bound"
        edits = people.finish()
        assert edits.in_flight > 0  # they edited while events of the orders were still being booked

        settled, _ = stage.converge(timeout=180, started=time.monotonic())
        assert settled, stage.books()
        assert two_way_demo.wait_quiet(stage)
        report = two_way_demo.measure(stage, edits)

    assert report.disagreements == []
    assert report.groups > 0
    assert report.edits == edits.count == 11  # 6 clients (phone, city, or both) and 3 items
    assert report.sync_writes == report.edits  # one write per change, none answering an echo
    assert report.echoes_dropped > 0 and report.xcart_echoes_dropped > 0  # echoes came back on both sides, dropped
    # the store's near-duplicate customers who ordered: bound to their person's client or held, never apart
    assert report.duplicates_bound + report.duplicates_in_review > 0 and report.duplicates_apart == 0, report
    assert report.duplicates == (report.duplicates_bound + report.duplicates_in_review + report.duplicates_apart
                                 + report.duplicates_without_orders)
    assert report.correct
