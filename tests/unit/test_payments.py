"""What of X-Cart's collected money is booked on a FreshBooks invoice (mappings/payments.py)."""

import json
from decimal import Decimal as D
from pathlib import Path

import pytest

from mappings.orders import map_order
from mappings.payments import Collected, collected_and_refunded, decide, payment_type
from mappings.rules import load_rules
from mappings.xcart.schemas import PaymentTransactionSchema, load, parse_event

FIXTURES = Path(__file__).parents[1] / "fixtures" / "xcart"
ORDER = parse_event(json.loads((FIXTURES / "order_5_5.json").read_text(), parse_float=D)).data  # 76.54, paid
PLAN = map_order(ORDER, load_rules())


def transaction(value, kind="sale", status="S", method="PayPal"):
    return load(PaymentTransactionSchema, {"id": 1, "order_id": ORDER.id, "value": value, "status": status,
                                           "type": kind, "method_name": method})


@pytest.mark.parametrize("collected, paid, book, review", [
    ("76.54", "0", "76.54", None),                      # paid in full
    ("30.00", "0", "30.00", None),                      # a partial payment
    ("76.54", "30.00", "46.54", None),                  # the rest, later
    ("76.54", "76.54", "0", None),                      # already booked: nothing twice
    ("80.00", "0", "76.54", "more than the invoice's 76.54"),  # never paid > amount
    ("20.00", "30.00", "0", "FreshBooks has 30.00 USD paid, X-Cart collected 20.00"),
])
def test_what_is_booked(collected, paid, book, review):
    decision = decide(PLAN, Collected(D(collected), D(0)), D("76.54"), D(paid), 9, "10457")
    assert decision.book == D(book)
    assert (review is None and decision.reasons == ()) or any(review in r for r in decision.reasons)


def test_nothing_is_booked_on_an_invoice_that_differs_from_the_order():
    decision = decide(PLAN, Collected(D("76.54"), D(0)), D("10.00"), D(0), 9, "10457")
    assert decision.book == 0 and "totals 10.00 USD, the order 76.54" in decision.reasons[0]


def test_a_refund_leaves_the_sale_booked_and_holds_nothing():
    """The refund is a credit note (mappings/refunds.py), not a reason to hold the payment."""
    money = collected_and_refunded(ORDER, PLAN, [transaction("76.54"), transaction("76.54", "refund")])
    assert money == Collected(D("76.54"), D("76.54"))
    decision = decide(PLAN, money, D("76.54"), D(0), 9, "10457")
    assert decision.book == D("76.54") and decision.reasons == ()


def test_collected_from_transactions_or_from_a_paid_status():
    assert collected_and_refunded(ORDER, PLAN, []).collected == D("76.54")  # status P, no transactions
    failed = collected_and_refunded(ORDER, PLAN, [transaction("76.54", status="F")])
    assert failed.collected == D("76.54")  # no successful transaction: the status speaks
    assert collected_and_refunded(ORDER, PLAN, [transaction("10.00")]).collected == D("10.00")
    assert payment_type([transaction("1", method="PayPal")]) == "PayPal"
    assert payment_type([transaction("1", method="Carrier pigeon")]) == "Other"
