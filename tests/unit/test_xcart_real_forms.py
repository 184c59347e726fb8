"""X-Cart's real forms: PHP's `[]` for an empty map, `null` for an absent value, money as strings or JSON
numbers with up to 4 decimals; and what X-Cart cannot send (out of range) refused with a field path."""

import copy
import json
from decimal import Decimal as D
from pathlib import Path

import pytest

from mappings.customers import client_from_order, client_from_profile
from mappings.errors import PayloadInvalid
from mappings.jsonio import dumps as to_json
from mappings.xcart.schemas import parse_event

FIXTURES = Path(__file__).parents[1] / "fixtures" / "xcart"
FIXTURE_NAMES = sorted(p.name for p in FIXTURES.glob("*.json"))

# The contract, written out independently of the schemas: required keys of each X-Cart object, and the
# names other X-Cart versions give the same field (an error may name either).
REQUIRED = {
    "envelope": {"id", "type", "created_at", "store", "data"},
    "order": {"id", "order_id", "order_number", "orderNumber", "create_date", "date", "total", "sub_total",
              "subtotal", "currency", "email", "login", "payment_status", "paymentStatus", "items"},
    "item": {"sku", "name", "price", "amount", "quantity"},
    "surcharge": {"type", "value"},
    "coupon": {"code", "value"},
    "customer": {"profile_id", "login"},
    "product": {"product_id", "sku", "name", "price"},
    "payment": {"id", "order_id", "value", "status", "type"},
    "currency": {"code"},
    "tracking": {"value"},
}
SAME_FIELD = [{"id", "order_id", "item_id", "transaction_id"}, {"order_number", "orderNumber"},
              {"create_date", "date"}, {"sub_total", "subtotal"}, {"payment_status", "paymentStatus"},
              {"email", "login"}, {"amount", "quantity"}]
CHILDREN = {  # (object kind, key) -> kind of the object(s) under that key
    ("order", "items"): "item", ("order", "surcharges"): "surcharge", ("item", "surcharges"): "surcharge",
    ("order", "used_coupons"): "coupon", ("order", "currency"): "currency", ("order", "tracking_numbers"): "tracking",
    ("order", "billing_address"): "address", ("order", "shipping_address"): "address",
    ("customer", "addresses"): "address",
}


def leaves(node, path=(), kind="envelope"):
    """(path, value, required) for every value in a payload, objects and lists included."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        if isinstance(node, list):  # an element of an X-Cart list (items...) is never optional
            child_kind, required = kind, kind != "free"
        else:
            required = key in REQUIRED.get(kind, set())
            child_kind = CHILDREN.get((kind, key), "free")
        yield path + (key,), value, required
        yield from leaves(value, path + (key,), child_kind)


def entity_kind(body):
    return body["type"].split(".")[0]


def with_value(body, path, value):
    changed = copy.deepcopy(body)
    node = changed
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return changed


def dotted(path) -> str:
    text = ""
    for key in path:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else key)
    return text


def names_of(path) -> set[str]:
    last = path[-1]
    group = next((g for g in SAME_FIELD if last in g), {last})
    return {dotted(path[:-1] + (name,)) for name in group}


def cases():
    for name in FIXTURE_NAMES:
        body = json.loads((FIXTURES / name).read_text(), parse_float=D)
        root = [(("data",), body["data"], True)]
        walked = [(p, v, r) for p, v, r in leaves(body["data"], ("data",), entity_kind(body))]
        envelope = [(p, v, r) for p, v, r in leaves({k: v for k, v in body.items() if k != "data"})]
        for path, value, required in root + walked + envelope:
            if isinstance(value, dict):
                yield pytest.param(body, path, [], required, id=f"{name}:{dotted(path)}=[]")
            if value is not None:
                yield pytest.param(body, path, None, required, id=f"{name}:{dotted(path)}=null")


@pytest.mark.parametrize("body, path, replacement, required", list(cases()))
def test_empty_array_and_null_anywhere(body, path, replacement, required):
    payload = with_value(body, path, replacement)
    if not required:
        event = parse_event(payload)
        assert event.data is not None
        return
    with pytest.raises(PayloadInvalid) as raised:
        parse_event(payload)
    names = names_of(path)
    paths = [e.path for e in raised.value.errors]
    assert paths and all(any(p == n or p.startswith((n + ".", n + "[")) for n in names) for p in paths), paths


def order_body():
    return json.loads((FIXTURES / "order_5_5.json").read_text(), parse_float=D)


def test_an_empty_map_is_an_empty_dict_for_every_reader():
    body = order_body()
    body["data"]["billing_address"]["custom_fields"] = []
    body["data"]["shipping_address"]["custom_fields"] = []
    body["data"]["shipping_address"]["state"] = []
    order = parse_event(body).data
    assert order.billing_address.custom_fields == {} and order.shipping_address.state == ""
    assert client_from_order(order)["organization"] == ""  # raised AttributeError on a list before


def test_custom_fields_values_become_text_for_freshbooks():
    body = order_body()
    body["data"]["billing_address"]["custom_fields"] = {"company": None}
    assert client_from_order(parse_event(body).data)["organization"] == ""
    body["data"]["billing_address"]["custom_fields"] = {"company": 42}
    assert client_from_order(parse_event(body).data)["organization"] == "42"


def test_empty_optional_objects_mean_absent():
    body = order_body()
    body["data"].update(billing_address=[], shipping_address=None, shipping_status=[], notes=None,
                        shipping_method_name=None, customer_id=None, tracking_numbers=None, used_coupons=None)
    order = parse_event(body).data
    assert order.billing_address is None and order.shipping_address is None
    assert order.shipping_status.code is None and order.customer_id is None
    assert (order.notes, order.shipping_method_name, order.tracking_numbers, order.used_coupons) == ("", "", (), ())


def test_an_empty_required_map_is_named():
    body = order_body()
    body["data"]["payment_status"] = []
    body["data"]["currency"] = {"code": None, "e": 2}
    with pytest.raises(PayloadInvalid) as raised:
        parse_event(body)
    assert {e.path: e.message for e in raised.value.errors} == {
        "data.payment_status": "a status needs a code, an id or a name",
        "data.currency.code": "not a currency code"}


def test_profile_addresses_with_empty_arrays():
    body = json.loads((FIXTURES / "customer.json").read_text(), parse_float=D)
    for address in body["data"]["addresses"]:
        address["custom_fields"] = []
    profile = parse_event(body).data
    assert all(a.custom_fields == {} for a in profile.addresses)
    assert client_from_profile(profile)["organization"] == ""


def test_money_as_json_floats_strings_and_four_decimals():
    body = order_body()
    data = body["data"]
    # a JSON float (parsed as Decimal) for a zero-decimal currency, and sub-cent unit prices
    data.update(currency="JPY", total=D("1500.0"), sub_total=D("1500.0"), surcharges=[], used_coupons=[])
    data["items"] = [{"id": 1, "sku": "A", "name": "Ünïcødé テスト", "price": D("0.333"), "amount": 3,
                      "item_net_price": "0.3330", "discounted_subtotal": D("1"), "surcharges": []},
                     {"id": 2, "sku": "B", "name": "B", "price": "4.1667", "amount": "2.0"},
                     {"id": 3, "sku": "C", "name": "C", "price": D("12.5"), "amount": D("2")}]
    text = to_json(body)  # Decimals written as JSON numbers, digit for digit
    assert '"total": 1500.0,' in text and '"price": 0.333,' in text and '"price": 12.5,' in text
    order = parse_event(text).data
    assert order.total == D(1500)
    assert [(i.price, i.amount) for i in order.items] == [(D("0.333"), 3), (D("4.1667"), 2), (D("12.5"), 2)]
    assert order.items[0].item_net_price == D("0.333") and order.items[0].name == "Ünïcødé テスト"


BIG_ID = 2**64
OUT_OF_RANGE = [  # (where, value, the path named)
    (("total",), D("1e308"), "data.total"),
    (("total",), "1" * 30, "data.total"),
    (("sub_total",), D("-1e10"), "data.sub_total"),
    (("items", 0, "price"), "12345678901.00", "data.items[0].price"),
    (("surcharges", 0, "value"), D("1e308"), "data.surcharges[0].value"),
    (("items", 0, "amount"), D("1e308"), "data.items[0].amount"),
    (("items", 0, "amount"), D("2.5"), "data.items[0].amount"),
    (("items", 0, "amount"), "2.5", "data.items[0].amount"),
    (("items", 0, "amount"), -1, "data.items[0].amount"),
    (("id",), BIG_ID, "data.order_id"),
    (("id",), -5, "data.order_id"),
    (("id",), 2**31, "data.order_id"),
    (("customer_id",), BIG_ID, "data.customer_id"),
    (("items", 0, "product_id"), BIG_ID, "data.items[0].product_id"),
    (("payment_status", "id"), BIG_ID, "data.payment_status.id"),
    (("create_date",), "0001-01-01T00:00:00+0000", "data.create_date"),
    (("create_date",), "9999-12-31T23:59:59+0000", "data.create_date"),
    (("create_date",), 253402300799, "data.create_date"),
    (("create_date",), 1, "data.create_date"),
    (("update_date",), "9999-12-31T23:59:59+0000", "data.update_date"),
    (("order_number",), "9" * 500, "data.order_number"),
    (("items", 0, "sku"), "S" * 256, "data.items[0].sku"),
    (("email",), "a" * 250 + "@example.com", "data.email"),
]


@pytest.mark.parametrize("where, value, named", OUT_OF_RANGE, ids=[f"{w[-1]}={str(v)[:12]}" for w, v, _ in
                                                                  OUT_OF_RANGE])
def test_out_of_range_values_are_refused_with_their_path(where, value, named):
    body = with_value(order_body(), ("data",) + where, value)
    with pytest.raises(PayloadInvalid) as raised:
        parse_event(body)
    assert [e.path for e in raised.value.errors] == [named], raised.value.errors


@pytest.mark.parametrize("amount, expected", [(2, 2), (D("2.0"), 2), ("2", 2), ("2.00", 2)])
def test_whole_quantities_in_any_form(amount, expected):
    body = with_value(order_body(), ("data", "items", 1, "amount"), amount)
    assert parse_event(body).data.items[1].amount == expected


def test_out_of_range_in_other_entities():
    body = json.loads((FIXTURES / "payment.json").read_text(), parse_float=D)
    body["data"].update(id=BIG_ID, value=D("1e308"), order_number="X" * 65, date="9999-01-01T00:00:00Z")
    body["id"] = "e" * 201
    with pytest.raises(PayloadInvalid) as raised:
        parse_event(body)
    assert sorted(e.path for e in raised.value.errors) == [
        "data.date", "data.order_number", "data.transaction_id", "data.value", "id"]
    product = json.loads((FIXTURES / "product.json").read_text(), parse_float=D)
    product["data"].update(amount=D("1e308"), price="99999999999")
    with pytest.raises(PayloadInvalid) as raised:
        parse_event(product)
    assert sorted(e.path for e in raised.value.errors) == ["data.amount", "data.price"]


def test_unix_zero_for_an_optional_date_means_never():
    body = json.loads((FIXTURES / "customer.json").read_text(), parse_float=D)
    body["data"]["added"] = 0
    assert parse_event(body).data.added is None


def test_long_display_text_is_cut_to_freshbooks_limits():
    from mappings.products import item_from_product
    from mappings.rules import load_rules

    body = order_body()
    body["data"]["billing_address"].update(firstname="N" * 300, street="S" * 300 + "\n" + "T" * 300)
    client = client_from_order(parse_event(body).data)
    assert (len(client["fname"]), len(client["p_street"]), len(client["p_street2"])) == (255, 255, 255)
    product = json.loads((FIXTURES / "product.json").read_text(), parse_float=D)
    product["data"].update(name="P" * 300, description="D" * 5000)
    item = item_from_product(parse_event(product).data, load_rules(), "USD")
    assert (len(item["name"]), len(item["description"])) == (255, 255)


@pytest.mark.parametrize("data, path", [({"product_id": BIG_ID}, "data.product_id"), ({"id": "17.5"}, "data.id"),
                                        ({}, "data.product_id"), ({"id": None, "product_id": -1}, "data.product_id")])
def test_a_deleted_products_id_is_checked_too(data, path):
    with pytest.raises(PayloadInvalid) as raised:
        parse_event({"id": "e1", "type": "product.deleted", "created_at": "2026-11-20T00:00:00Z", "store": "s",
                     "data": data})
    assert [e.path for e in raised.value.errors] == [path]
