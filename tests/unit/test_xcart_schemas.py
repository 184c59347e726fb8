"""X-Cart payloads of every supported shape, and broken ones with every error named by its path."""

import json
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest

from mappings.errors import PayloadInvalid
from mappings.xcart.entities import Order, PaymentTransaction, Product, Profile
from mappings.xcart.schemas import parse_event

FIXTURES = Path(__file__).parents[1] / "fixtures" / "xcart"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(), parse_float=D)


def errors_of(payload) -> dict[str, str]:
    with pytest.raises(PayloadInvalid) as raised:
        parse_event(payload)
    return {e.path: e.message for e in raised.value.errors}


def test_order_in_the_5_5_api_shape():
    event = parse_event((FIXTURES / "order_5_5.json").read_bytes())
    order = event.data
    assert isinstance(order, Order) and event.type == "order.created" and event.store == "teashop-prod"
    assert event.created_at == datetime(2026, 11, 20, 15, 4, 12, tzinfo=UTC)
    assert (order.id, order.order_number, order.currency, order.total, order.sub_total) == (
        48213, "10457", "USD", D("76.54"), D("72.00"))
    assert isinstance(order.total, D) and order.items[0].price == D("12.00")
    assert order.create_date == datetime(2026, 11, 20, 15, 4, 5, tzinfo=UTC)
    assert (order.payment_status.code, order.shipping_status.code) == ("P", "N")
    assert [s.type for s in order.surcharges] == ["shipping", "discount", "tax"]
    assert order.surcharges[1].value == D("-7.20")
    assert order.used_coupons[0].code == "AUTUMN10"
    assert order.billing_address.custom_fields == {"company": "Garcia Design LLC"}
    assert order.extra == {"xpayments_card": {"last4": "4242"}}  # an add-on's key, kept


def test_order_in_the_rest_addon_shape():
    order = parse_event((FIXTURES / "order_rest_addon.json").read_text()).data
    assert (order.id, order.order_number, order.currency) == (731, "731", "JPY")
    assert order.total == D("5530") and order.sub_total == D("4300")
    assert order.create_date == datetime.fromtimestamp(1763720400, UTC)
    assert order.update_date == datetime(2026, 11, 21, 14, 29, 58, tzinfo=UTC)  # -05:00 with a colon
    assert order.email == "Yuki.Tanaka@Example.jp"
    assert (order.payment_status.code, order.shipping_status.code) == ("Q", "WFA")
    assert [(i.sku, i.amount, i.id) for i in order.items] == [("MATCHA-30", 2, 11), ("WHISK", 1, 12)]
    assert order.surcharges[0].include is False and order.surcharges[2].include is True
    assert order.surcharges[0].value == D("800.0000")
    address = order.billing_address
    assert (address.street, address.zipcode, address.country_code, address.state, address.state_name) == (
        "1-1 Chiyoda\nChiyoda-ku", "100-0001", "JP", "13", "Tokyo")
    assert order.shipping_address is None and order.customer_id is None
    assert order.tracking_numbers == ("JP123456789",)


def test_customer_profile_with_addresses():
    profile = parse_event(fixture("customer.json")).data
    assert isinstance(profile, Profile) and profile.id == 311 and profile.login == "maria.garcia@example.com"
    assert profile.added == datetime.fromtimestamp(1700000000, UTC)
    assert profile.address("billing").id == 901 and profile.address("shipping").city == "Toronto"
    assert profile.extra == {"membership": None, "loyalty_points": 120}


def test_product():
    product = parse_event(fixture("product.json")).data
    assert isinstance(product, Product)
    assert (product.id, product.sku, product.price, product.amount) == (17, "TEA-EG-100", D("12.0000"), 240)
    assert product.extra == {"weight": "0.1000", "meta_title": "Earl Grey"}


def test_payment_transaction():
    payment = parse_event(fixture("payment.json")).data
    assert isinstance(payment, PaymentTransaction)
    assert (payment.id, payment.order_id, payment.value, payment.public_id) == (77001, 48213, D("76.54"), "XP-8F2K1")
    assert payment.succeeded and not payment.is_refund


def test_product_deleted_needs_only_the_id():
    event = parse_event({"id": "e1", "type": "product.deleted", "created_at": "2026-11-20T00:00:00Z",
                         "store": "s", "data": {"product_id": 17}})
    assert event.data == {"id": 17}


def test_every_bad_field_is_named_at_once():
    payload = fixture("order_5_5.json")
    order = payload["data"]
    order["items"][1]["price"] = "twelve"
    order["items"][0]["amount"] = 0
    del order["items"][0]["sku"]
    order["email"] = "not-an-email"
    order["currency"] = "ABC"
    order["surcharges"][0]["type"] = "fee"
    order["create_date"] = "yesterday"
    assert errors_of(payload) == {
        "data.items[1].price": "not a number: 'twelve'",
        "data.items[0].amount": "must be at least 1",
        "data.items[0].sku": "missing data for required field",
        "data.email": "not a valid email address",
        "data.currency": "unknown currency 'ABC'",
        "data.surcharges[0].type": "must be one of: shipping, tax, discount, handling",
        "data.create_date": "not an ISO 8601 date: 'yesterday'",
    }


def test_totals_must_fit_the_currency_and_prices_decimal_14_4():
    payload = fixture("order_rest_addon.json")
    payload["data"]["total"] = "5530.5"
    payload["data"]["sub_total"] = "4300.00"  # trailing zeros are fine
    payload["data"]["items"][0]["price"] = "1500.25"  # decimal(14,4): valid X-Cart, even in JPY
    payload["data"]["items"][1]["price"] = "1300.12345"
    payload["data"]["surcharges"][0]["value"] = "800.00001"
    assert errors_of(payload) == {
        "data.total": "5530.5 has more decimal places than JPY allows (0)",
        "data.items[1].price": "1300.12345 has more than 4 decimal places",
        "data.surcharges[0].value": "800.00001 has more than 4 decimal places",
    }


def test_floats_are_refused():
    payload = fixture("order_5_5.json")
    payload["data"]["total"] = 76.54  # a Python float: a JSON parser without parse_float=Decimal
    assert errors_of(payload)["data.total"].startswith("not a number (floats are refused")


def test_envelope_errors():
    assert errors_of({"type": "order.shipped", "data": ["not", "a", "map"]}) == {
        "id": "missing data for required field",
        "created_at": "missing data for required field",
        "store": "missing data for required field",
        "type": "must be one of: " + ", ".join([
            "order.created", "order.updated", "order.payment_status_changed", "customer.created",
            "customer.updated", "product.created", "product.updated", "product.deleted", "payment.created"]),
        "data": "not a valid mapping type",
    }


@pytest.mark.parametrize("body, message", [(b"{nope", "not JSON"), (b"[1, 2]", "not a JSON object")])
def test_body_that_is_not_an_object(body, message):
    assert errors_of(body)["(body)"].startswith(message)


def test_missing_entity_fields():
    assert errors_of({"id": "e", "type": "payment.created", "created_at": "2026-11-20T00:00:00Z", "store": "s",
                      "data": {"id": 1, "status": "X", "type": "sale", "value": "1.00"}}) == {
        "data.order_id": "missing data for required field",
        "data.status": "must be one of: I, P, S, W, F, C, V",
    }


def test_payload_invalid_lists_errors_for_the_dead_letter_queue():
    with pytest.raises(PayloadInvalid) as raised:
        parse_event({"id": "e", "type": "customer.created", "created_at": "x", "store": "s", "data": {}})
    assert raised.value.as_dicts() == [
        {"path": "created_at", "message": "not an ISO 8601 date: 'x'"},
        {"path": "data.login", "message": "missing data for required field"},
        {"path": "data.profile_id", "message": "missing data for required field"},
    ]
