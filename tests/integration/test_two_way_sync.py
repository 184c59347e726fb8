"""Customers and catalogue both ways, over HTTP against both sandboxes: X-Cart's webhooks and FreshBooks' callbacks
are taken in as the workers take them, round by round, so that what each write sends back can be counted.

Every write either side receives is a notification here (the X-Cart simulator's webhooks, the FreshBooks sandbox's
callbacks), so "no further writes" is "the next round brings nothing"."""

from __future__ import annotations

import pytest

from core.settings import Settings
from mappings import jsonio
from mappings.ownership import (
    client_state_from_freshbooks,
    client_state_from_xcart,
    item_state_from_freshbooks,
    item_state_from_xcart,
)
from mappings.xcart.schemas import ProductSchema, ProfileSchema, load
from runtime.bootstrap import Services
from sandboxes.serve import BackgroundServer
from sandboxes.xcart.app import create_app, store_of
from sandboxes.xcart.store import StoreConfig
from store import binder, ledger, sync_state
from workers import events
from workers.two_way import HANDLED


class Webhooks:
    """The simulator's webhook sender, held: what it would send waits for the next round."""

    def __init__(self):
        self.pending: list[dict] = []

    def enqueue(self, sent: list[dict]) -> None:
        self.pending.extend(sent)

    def report(self) -> dict:
        return {}


@pytest.fixture
def xcart():
    webhooks = Webhooks()
    with BackgroundServer(create_app(StoreConfig(seed=7, customers=4, products=3), webhooks)) as server:
        server.webhooks = webhooks
        yield server


@pytest.fixture
def callbacks(fb_sandbox):
    """The FreshBooks sandbox's callbacks (every change made through its API, ours included), held likewise."""
    pending: list[tuple[str, int]] = []
    fb_sandbox.books.on_change = lambda noun, action, object_id: pending.append((f"{noun}.{action}", object_id))
    yield pending
    fb_sandbox.books.on_change = fb_sandbox._notify


@pytest.fixture
def svc(tmp_path, redis_url, database_url, redis_client, sessions, fb_server, fb_sandbox, xcart):
    return Services(Settings(home=tmp_path, redis_url=redis_url, database_url=database_url,
                             freshbooks_api_url=fb_server.url, freshbooks_account_id="SANDBOX1",
                             freshbooks_access_token="sandbox-test-token", xcart_api_url=xcart.url + "/api",
                             xcart_api_token="xcart-sandbox-token"))


def one_round(svc, xcart, callbacks) -> int:
    """Takes in every notification waiting, as the workers do; returns how many it took."""
    taken = list(xcart.webhooks.pending), list(callbacks)
    xcart.webhooks.pending.clear()
    callbacks.clear()
    for event in taken[0]:
        event_id, needed = events.receive(svc, jsonio.dumps(event))
        if needed:
            events.handle(svc, event_id)
    for n, (name, object_id) in enumerate(taken[1]):
        if name in HANDLED:
            event_id = f"freshbooks:test-{len(ledger.counts_by_status(svc.sessions))}-{n}-{name}-{object_id}"
            ledger.record_event(svc.sessions, event_id, f"freshbooks.{name}", f"freshbooks:{object_id}",
                                jsonio.dumps({"name": name, "object_id": str(object_id)}))
            events.handle(svc, event_id)
    return len(taken[0]) + len(taken[1])


def settle(svc, xcart, callbacks, rounds: int = 6) -> list[int]:
    """Notifications taken per round until a round brings none."""
    taken = []
    while rounds and (count := one_round(svc, xcart, callbacks)):
        taken.append(count)
        rounds -= 1
    return taken


def synced_store(svc, xcart, callbacks):
    store = store_of(xcart.app)
    xcart.webhooks.pending.extend(store.events)  # the store's history: customers and products created
    settle(svc, xcart, callbacks)
    return store


def agree(svc, store, profile_id: int) -> bool:
    """The profile's client holds what the profile holds, field group by field group (a near-duplicate customer's
    profile is bound to the client of the profile it duplicates, and agrees through that one)."""
    client_id = binder.bound_id(svc.sessions, "client", store.profiles[profile_id]["login"].lower())
    synced = sync_state.load(svc.sessions, "client", client_id)
    profile = load(ProfileSchema, store.profiles[synced.xcart_id])
    return client_state_from_freshbooks(svc.freshbooks.get_client(client_id)) == client_state_from_xcart(profile)


def test_the_first_sync_settles_with_every_echo_dropped(svc, xcart, callbacks, fb_sandbox):
    store = store_of(xcart.app)
    xcart.webhooks.pending.extend(store.events)
    rounds = settle(svc, xcart, callbacks)
    # round 1: the store's customers and products; round 2: FreshBooks' callbacks for the clients and items made
    made = len(fb_sandbox.books.all("client")) + len(fb_sandbox.books.all("item"))
    assert rounds == [len(store.events), made]
    assert all(agree(svc, store, profile_id) for profile_id in store.profiles)


def test_both_sides_changed_at_the_same_moment_settle_in_one_round_each_with_no_further_writes(
        svc, xcart, callbacks, fb_sandbox):
    store = synced_store(svc, xcart, callbacks)
    profile = next(iter(store.profiles.values()))
    client_id = binder.bound_id(svc.sessions, "client", profile["login"].lower())
    billing = next(a for a in profile["addresses"] if a["is_billing"])
    # Someone edits the client's phone in FreshBooks; someone else the billing city in X-Cart, at the same moment.
    svc.freshbooks.update_client(client_id, {"bus_phone": "+1 617 555 0142"})
    svc.xcart.update_address(profile["profile_id"], billing["address_id"], {"city": "Cambridge"})

    rounds = settle(svc, xcart, callbacks)
    # round 1: the two changes, each bringing one write to the other side; round 2: the two echoes, no write
    assert rounds == [2, 2]
    assert fb_sandbox.books.read("client", client_id)["p_city"] == "Cambridge"
    assert billing["phone"] == "+16175550142"  # the stored address, updated in place by the PUT (phones in E.164)
    assert agree(svc, store, profile["profile_id"])


def test_a_late_or_repeated_callback_changes_nothing(svc, xcart, callbacks, fb_sandbox):
    store = synced_store(svc, xcart, callbacks)
    profile = next(iter(store.profiles.values()))
    client_id = binder.bound_id(svc.sessions, "client", profile["login"].lower())
    svc.freshbooks.update_client(client_id, {"lname": "Renamed"})
    late = list(callbacks)
    assert settle(svc, xcart, callbacks) == [1, 1]  # the change, then the X-Cart echo of its write
    callbacks.extend(late * 2)  # FreshBooks delivers it again, twice, minutes later
    assert settle(svc, xcart, callbacks) == [2]  # read again: the state synced, nothing written
    assert agree(svc, store, profile["profile_id"])


def test_a_freshbooks_edit_of_what_x_cart_owns_is_undone_and_stock_follows_x_cart(svc, xcart, callbacks, fb_sandbox):
    store = synced_store(svc, xcart, callbacks)
    product = next(iter(store.products.values()))
    item_id = binder.bound_id(svc.sessions, "product", str(product["product_id"]))
    svc.freshbooks.update_item(item_id, {"name": "Renamed in FreshBooks", "unit_cost": {"amount": "1.00"}})
    svc.xcart.update_product(product["product_id"], {"amount": 321, "inventory_traceable": True})
    # round 1: both changes; the first taken finds both and makes FreshBooks whole in one write (the second finds
    # nothing left to do); round 2: the echo of that write
    assert settle(svc, xcart, callbacks) == [2, 1]
    item = fb_sandbox.books.read("item", item_id)
    assert item["name"] == product["name"] and item["inventory"] == "321"  # X-Cart owns text, price and stock
    assert store.products[product["product_id"]]["name"] == product["name"]
    read = item_state_from_xcart(load(ProductSchema, store.products[product["product_id"]]), product["name"],
                                 product["description"], "USD")
    assert item_state_from_freshbooks(item) == read
