"""The X-Cart store simulator: its 5.5 REST API over HTTP, and the realism of the store it makes."""

import json
from collections import Counter
from decimal import Decimal as D

import pytest
import requests

from mappings.xcart.schemas import OrderSchema, PaymentTransactionSchema, ProductSchema, ProfileSchema, load
from sandboxes.serve import BackgroundServer
from sandboxes.xcart.app import create_app, store_of
from sandboxes.xcart.store import StoreConfig

TOKEN = {"X-Auth-Token": "xcart-sandbox-token"}


@pytest.fixture(scope="module")
def xcart():
    app = create_app(StoreConfig(seed=7, customers=30, products=12))
    store_of(app).place_orders(200)
    with BackgroundServer(app) as server:
        yield server


def get(server, path, **params):
    answer = requests.get(f"{server.url}{path}", params=params, headers=TOKEN, timeout=5)
    answer.raise_for_status()
    return json.loads(answer.text, parse_float=D)


def test_token_is_required(xcart):
    answer = requests.get(f"{xcart.url}/api/orders", timeout=5)
    assert answer.status_code == 401 and "message" in answer.json()
    wrong = requests.get(f"{xcart.url}/api/orders", headers={"X-Auth-Token": "nope"}, timeout=5)
    assert wrong.status_code == 401


def test_paging(xcart):
    answer = requests.get(f"{xcart.url}/api/orders", headers=TOKEN, timeout=5)
    assert len(answer.json()) == 30 and answer.headers["X-Total-Count"] == "200"
    assert len(get(xcart, "/api/orders", itemsPerPage=500)) == 100
    last = get(xcart, "/api/orders", itemsPerPage=60, page=4)
    assert len(last) == 20
    assert get(xcart, "/api/orders", page=99) == []


def every_page(server, path, **params):
    found, page = [], 1
    while batch := get(server, path, itemsPerPage=100, page=page, **params):
        found += batch
        page += 1
    return found


def all_orders(server):
    return every_page(server, "/api/orders")


def test_date_and_last_renew_filters(xcart):
    every = all_orders(xcart)
    middle = sorted(o["create_date"] for o in every)[100]
    after = every_page(xcart, "/api/orders", **{"date[after]": middle})
    before = every_page(xcart, "/api/orders", **{"date[before]": middle})
    assert after and all(o["create_date"] >= middle for o in after)
    assert before and all(o["create_date"] <= middle for o in before)
    assert {o["id"] for o in after} | {o["id"] for o in before} == {o["id"] for o in every}

    edited = [o for o in every if o["update_date"] != o["create_date"]]
    assert edited, "the simulated store edits some orders after placement"
    since = edited[0]["update_date"]
    renewed = {o["id"] for o in every_page(xcart, "/api/orders", **{"lastRenewDate[after]": since})}
    assert renewed == {o["id"] for o in every if o["update_date"] >= since}
    assert edited[0]["id"] in renewed


def test_sorting_and_status_filters(xcart):
    newest_first = get(xcart, "/api/orders", **{"order[date]": "desc"})
    dates = [o["create_date"] for o in newest_first]
    assert dates == sorted(dates, reverse=True)
    paid = get(xcart, "/api/orders", **{"paymentStatus.code[]": ["P", "PP"], "itemsPerPage": 100})
    assert paid and {o["payment_status"]["code"] for o in paid} <= {"P", "PP"}
    shipped = get(xcart, "/api/orders", **{"shippingStatus.code[]": "S"})
    assert all(o["shipping_status"]["code"] == "S" for o in shipped)
    login = paid[0]["email"]
    assert all(o["email"].lower() == login.lower() for o in get(xcart, "/api/orders", **{"profile.login": login}))


def test_one_order_by_id_and_by_number_with_transactions(xcart):
    order = next(o for o in get(xcart, "/api/orders", itemsPerPage=100) if o["payment_status"]["code"] == "P")
    assert get(xcart, f"/api/orders/{order['id']}") == order
    assert get(xcart, f"/api/orders/by_number/{order['order_number']}")["id"] == order["id"]
    transactions = get(xcart, f"/api/orders/{order['id']}/payment_transactions")
    assert sum(D(t["value"]) for t in transactions if t["type"] == "sale") == D(str(order["total"]))
    assert requests.get(f"{xcart.url}/api/orders/999999", headers=TOKEN, timeout=5).status_code == 404


def test_payment_status_can_be_read_and_set(xcart):
    order = get(xcart, "/api/orders", **{"paymentStatus.code[]": "Q"})[0]
    url = f"{xcart.url}/api/orders/{order['id']}/payment_status"
    assert requests.get(url, headers=TOKEN, timeout=5).json()["code"] == "Q"
    assert requests.put(url, json={"code": "P"}, headers=TOKEN, timeout=5).json()["code"] == "P"
    assert get(xcart, f"/api/orders/{order['id']}")["payment_status"]["code"] == "P"
    assert requests.put(url, json={"code": "ZZ"}, headers=TOKEN, timeout=5).status_code == 400


def test_profiles_addresses_and_products(xcart):
    profiles = get(xcart, "/api/profiles", itemsPerPage=100)
    assert len(profiles) == 30
    several = next(p for p in profiles if len(p["addresses"]) > 1)
    assert get(xcart, f"/api/profiles/{several['profile_id']}/addresses") == several["addresses"]
    products = get(xcart, "/api/products")
    assert len(products) == 12 and len({p["sku"] for p in products}) == 12


def test_everything_served_reads_with_the_service_schemas(xcart):
    for order in all_orders(xcart):
        load(OrderSchema, order)
        for transaction in get(xcart, f"/api/orders/{order['id']}/payment_transactions"):
            load(PaymentTransactionSchema, transaction)
    for profile in get(xcart, "/api/profiles", itemsPerPage=100):
        load(ProfileSchema, profile)
    for product in get(xcart, "/api/products"):
        load(ProductSchema, product)


def test_the_store_is_realistic(xcart):
    store = store_of(xcart.app)
    orders = list(store.orders.values())
    assert any(o["customer_id"] is None for o in orders), "guest checkouts"
    assert any(len(p["addresses"]) > 1 for p in store.profiles.values()), "customers with several addresses"
    logins = [p["login"].lower().replace("+shop", "").replace(".", "") for p in store.profiles.values()]
    assert len(set(logins)) < len(logins), "near-duplicate customers"
    assert any(o["currency"] == "JPY" for o in orders), "zero-decimal currency"
    surcharges = Counter((s["type"], s["code"], s["include"]) for o in orders for s in o["surcharges"])
    for kind in [("discount", "DCOUPON", False), ("discount", "DISCOUNT", False), ("tax", "CDEV.STAX.2", True),
                 ("tax", "CDEV.STAX.1", False), ("shipping", "SHIPPING", False)]:
        assert surcharges[kind], kind
    coupon_types = {c["type"] for o in orders for c in o["used_coupons"]}
    assert coupon_types == {"%", "$"}
    assert any(len(o["items"]) > 1 for o in orders)
    kinds = Counter(t["type"] for ts in store.transactions.values() for t in ts)
    assert kinds["sale"] and kinds["refund"]
    partial = [o for o in orders if o["payment_status"]["code"] == "PP"]
    assert partial and all(sum(D(t["value"]) for t in store.transactions[o["id"]]) < D(str(o["total"]))
                           for o in partial)
    types = Counter(e["type"] for e in store.events)
    assert types["order.updated"] and types["order.payment_status_changed"] and types["payment.created"]


def test_the_same_seed_gives_the_same_store():
    first, second = (store_of(create_app(StoreConfig(seed=3))) for _ in range(2))
    first.place_orders(20)
    second.place_orders(20)
    assert first.events == second.events
