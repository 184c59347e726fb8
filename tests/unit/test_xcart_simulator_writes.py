"""The simulator's write endpoints behave as X-Cart 5.5's (../shared/reference/xcart.md): PUT keeps the fields it does
not name, names live on addresses, `login` is a unique email, a SKU is 1-32 characters and unique, a read-only key
writes nothing, and every change made through them is an event sent as a webhook."""

from __future__ import annotations

import pytest

from mappings.xcart.schemas import ProductSchema, ProfileSchema, load
from sandboxes.xcart.app import create_app, store_of
from sandboxes.xcart.store import StoreConfig

FULL = {"X-Auth-Token": "xcart-sandbox-token"}


class Sender:
    def __init__(self):
        self.sent = []

    def enqueue(self, events):
        self.sent.extend(events)

    def report(self):
        return {}


@pytest.fixture
def sender():
    return Sender()


@pytest.fixture
def api(sender):
    return create_app(StoreConfig(seed=3, customers=6, products=4), sender).test_client()


def first(api, path):
    return api.get(path, headers=FULL).get_json()[0]


def test_an_address_put_keeps_what_it_does_not_name_and_is_sent_as_a_customer_event(api, sender):
    profile = first(api, "/api/profiles")
    address = profile["addresses"][0]
    answer = api.put(f"/api/profiles/{profile['profile_id']}/addresses/{address['address_id']}", headers=FULL,
                     json={"firstname": "Zoë", "address1": "1 New Road"})
    assert answer.status_code == 200
    stored = answer.get_json()
    assert stored["firstname"] == "Zoë" and stored["street"].split("\n")[0] == "1 New Road"
    assert {k: stored[k] for k in ("lastname", "city", "zipcode", "phone")} == {
        k: address[k] for k in ("lastname", "city", "zipcode", "phone")}
    event = sender.sent[-1]
    assert event["type"] == "customer.updated" and event["data"]["profile_id"] == profile["profile_id"]
    assert load(ProfileSchema, event["data"]).addresses[0].firstname == "Zoë"
    assert event["data"]["updated"] > profile["updated"]


def test_a_profile_put_validates_the_login_as_a_unique_email(api, sender):
    profiles = api.get("/api/profiles", headers=FULL).get_json()
    one, other = profiles[0], profiles[1]
    bad = api.put(f"/api/profiles/{one['profile_id']}", headers=FULL, json={"login": "not-an-email"})
    taken = api.put(f"/api/profiles/{one['profile_id']}", headers=FULL, json={"login": other["login"].upper()})
    assert bad.status_code == taken.status_code == 422
    assert bad.get_json()["violations"] == [{"propertyPath": "login",
                                             "message": "This value is not a valid email address."}]
    assert taken.get_json()["violations"][0]["message"] == "This email is already used by another profile."
    ok = api.put(f"/api/profiles/{one['profile_id']}", headers=FULL,
                 json={"login": "new@example.org", "firstname": "X"})
    assert ok.status_code == 200 and ok.get_json()["login"] == "new@example.org"
    assert "firstname" not in ok.get_json()  # profiles carry no names: an unknown field is ignored
    assert ok.get_json()["addresses"] == one["addresses"]
    assert len(sender.sent) == 1


def test_a_product_put_validates_the_sku_and_keeps_unnamed_fields(api, sender):
    products = api.get("/api/products", headers=FULL).get_json()
    one, other = products[0], products[1]
    path = f"/api/products/{one['product_id']}"
    for body, field in [({"sku": ""}, "sku"), ({"sku": "x" * 33}, "sku"), ({"sku": other["sku"]}, "sku"),
                        ({"name": " "}, "name"), ({"price": "-1"}, "price"), ({"price": "1.23456"}, "price"),
                        ({"amount": 2.5}, "amount"), ({"inventory_traceable": "yes"}, "inventory_traceable")]:
        answer = api.put(path, headers=FULL, json=body)
        assert answer.status_code == 422, body
        assert [v["propertyPath"] for v in answer.get_json()["violations"]] == [field]
    assert sender.sent == []  # nothing refused is an event
    answer = api.put(path, headers=FULL, json={"price": "12.3450", "amount": 9, "inventory_traceable": True})
    stored = answer.get_json()
    assert answer.status_code == 200 and stored["sku"] == one["sku"] and stored["name"] == one["name"]
    product = load(ProductSchema, sender.sent[-1]["data"])
    assert (str(product.price), product.amount, sender.sent[-1]["type"]) == ("12.3450", 9, "product.updated")


def test_unknown_objects_and_bad_bodies_are_refused(api):
    assert api.put("/api/products/999999", headers=FULL, json={"name": "x"}).status_code == 404
    assert api.put("/api/profiles/999999/addresses/1", headers=FULL, json={}).status_code == 404
    profile = first(api, "/api/profiles")
    assert api.put(f"/api/profiles/{profile['profile_id']}/addresses/999999", headers=FULL, json={}).status_code == 404
    assert api.put(f"/api/profiles/{profile['profile_id']}", headers=FULL, data="[]",
                   content_type="application/json").status_code == 400
    address = profile["addresses"][0]
    answer = api.put(f"/api/profiles/{profile['profile_id']}/addresses/{address['address_id']}", headers=FULL,
                     json={"country_code": "XX", "phone": 5})
    assert sorted(v["propertyPath"] for v in answer.get_json()["violations"]) == ["country_code", "phone"]


def test_a_read_only_key_writes_nothing(api, sender):
    product = first(api, "/api/products")
    answer = api.put(f"/api/products/{product['product_id']}", json={"name": "Changed"},
                     headers={"X-Auth-Token": "xcart-sandbox-read-token"})
    assert answer.status_code == 403 and sender.sent == []
    assert store_of(api.application).products[product["product_id"]]["name"] == product["name"]
