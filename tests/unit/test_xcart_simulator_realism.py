"""The simulated store's orders add up under X-Cart's own arithmetic (written out here independently of the
generator), and the store sends every form real X-Cart sends."""

import json
import re
from collections import Counter
from decimal import ROUND_HALF_UP
from decimal import Decimal as D

import pytest

from mappings.jsonio import dumps as to_json
from mappings.xcart.schemas import OrderSchema, PaymentTransactionSchema, ProductSchema, ProfileSchema, load
from sandboxes.xcart.store import SimulatedStore, StoreConfig

PLACES = {"JPY": 0, "KWD": 3}  # every other currency the simulator uses has 2


def rounded(value: D, currency: str) -> D:
    return value.quantize(D(1).scaleb(-PLACES.get(currency, 2)), rounding=ROUND_HALF_UP)


def wire(document):
    """What the service receives: the JSON text, read back with exact decimals."""
    return json.loads(to_json(document), parse_float=D)


@pytest.fixture(scope="module")
def store():
    made = SimulatedStore(StoreConfig(seed=11, customers=40, products=15))
    made.place_orders(400)
    return made


def check_arithmetic(order: dict, zone) -> None:
    """X-Cart's arithmetic: each line rounded to the currency, sub_total their sum; discounts negative;
    one tax at the zone's rate on the discounted sub_total (plus shipping where the zone taxes it),
    rounded once, included (VAT in the prices: gross x rate / (100 + rate)) or added."""
    currency = order["currency"]
    lines = [rounded(D(str(i["price"])) * D(str(i["amount"])), currency) for i in order["items"]]
    sub_total = D(str(order["sub_total"]))
    assert sub_total == sum(lines), order["id"]
    kinds = Counter()
    by_type: dict[str, D] = {}
    for s in order["surcharges"]:
        by_type[s["type"]] = by_type.get(s["type"], D(0)) + D(str(s["value"]))
        kinds[s["type"]] += 1
    discounts, shipping = by_type.get("discount", D(0)), by_type.get("shipping", D(0))
    assert all(D(str(s["value"])) < 0 for s in order["surcharges"] if s["type"] == "discount")
    discounted = sub_total + discounts
    assert sum(D(str(i["discounted_subtotal"])) for i in order["items"]) == discounted
    taxes = [s for s in order["surcharges"] if s["type"] == "tax"]
    assert len(taxes) == (zone is not None)
    added = D(0)
    for tax in taxes:
        assert (tax["code"], tax["include"]) == (zone.code, zone.included)
        base = discounted + (shipping if zone.on_shipping else 0)
        rate = zone.percent
        expected = base * rate / (100 + rate) if zone.included else base * rate / 100
        assert D(str(tax["value"])) == rounded(expected, currency), (order["id"], zone)
        added += 0 if tax["include"] else D(str(tax["value"]))
    assert D(str(order["total"])) == sub_total + shipping + discounts + added
    assert D(str(order["total"])) == rounded(D(str(order["total"])), currency)


def test_every_order_adds_up_the_x_cart_way(store):
    for order in store.orders.values():
        check_arithmetic(wire(order), store.generator.zone_of(order["id"]))


def test_edits_keep_the_orders_own_rate(store):
    taxed = [o for o in store.orders.values() if store.generator.zone_of(o["id"])][:60]
    for order in taxed:
        edited = wire(store.generator.edit(order, store.clock))
        assert sum(D(str(i["amount"])) for i in edited["items"]) == sum(D(str(i["amount"])) for i in
                                                                        order["items"]) + 1
        check_arithmetic(edited, store.generator.zone_of(order["id"]))


def test_everything_reads_with_the_service_schemas(store):
    for event in store.events:
        data = wire(event)["data"]
        schema = {"order": OrderSchema, "customer": ProfileSchema, "product": ProductSchema,
                  "payment": PaymentTransactionSchema}[event["type"].split(".")[0]]
        load(schema, data)


def test_the_mix_holds_every_real_form(store):
    orders = [wire(o) for o in store.orders.values()]
    texts = [to_json(o) for o in store.orders.values()]
    addresses = [o["billing_address"] for o in orders] + [a for p in store.profiles.values() for a in p["addresses"]]
    assert any(a["custom_fields"] == [] for a in addresses), "PHP's [] for empty custom fields"
    assert any(a["custom_fields"] and isinstance(a["custom_fields"], dict) for a in addresses)
    for key in ("customer_id", "notes", "shipping_method_name"):
        assert any(o[key] is None for o in orders), f"null {key}"
    assert any(a["phone"] is None for a in addresses) and any(a["state_name"] is None for a in addresses)

    assert any(isinstance(o["total"], str) for o in orders) and any(isinstance(o["total"], D) for o in orders)
    payments = [wire(t) for ts in store.transactions.values() for t in ts]
    assert any(isinstance(t["value"], str) for t in payments) and any(isinstance(t["value"], D) for t in payments)
    assert any(re.search(r'"total": \d+\.0[,}]', t) for o, t in zip(orders, texts, strict=True)
               if o["currency"] == "JPY"), "JPY as a PHP float, 1500.0"
    assert any(re.search(r'"price": \d+\.\d[,}]', t) for t in texts), "a PHP float like 12.5"
    assert any(re.search(r'"price": "\d+\.\d\d00"', t) for t in texts), 'a price as stored, "19.9900"'
    prices = [D(str(i["price"])) for o in orders if o["currency"] == "USD" for i in o["items"]]
    assert any(p != rounded(p, "USD") for p in prices), "sub-cent unit prices"
    assert any(ord(c) > 127 for o in orders for c in o["billing_address"]["lastname"] + o["billing_address"]
               ["firstname"]), "non-ASCII customer names"
    assert any(ord(c) > 127 for o in orders for i in o["items"] for c in i["name"]), "non-ASCII product names"

    zones = [store.generator.zone_of(o["id"]) for o in orders]
    rates = {z.percent for z in zones if z and z.code == "CDEV.STAX.1"}
    assert len(rates) >= 3, rates
    shipped = [z for z, o in zip(zones, orders, strict=True) if z and not z.included
               and any(s["type"] == "shipping" for s in o["surcharges"])]
    assert {z.on_shipping for z in shipped} == {True, False}, "shipping taxed in some zones, not in others"
    included = [z for z in zones if z and z.included]
    assert {z.on_shipping for z in included} == {True, False}, "VAT included, on shipping and not"
    assert any(s["include"] for o in orders for s in o["surcharges"] if s["type"] == "tax")
