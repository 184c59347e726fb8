"""What polling costs the store (harness/polling_load.py; bench/catch_up_requests.py prints it per hour): one
request per collection per poll when nothing changed, and one more per order changed since the last poll."""

from harness.polling_load import measure


def test_an_idle_poll_is_one_request_per_collection_and_an_order_costs_one_more(tmp_path):
    load = measure(tmp_path, idle_polls=4, load_polls=4, orders_per_poll=3)
    assert load.idle == [3, 3, 3, 3]  # orders, profiles, products; the orders the overlap lists again cost nothing
    assert load.load == [6, 6, 6, 6]  # and each new order's payment transactions, once
    assert load.per_hour(load.idle, 30) == 360
