"""Ownership rules (mappings/ownership.py): which side's change goes where, echoes recognised, and the state
read back from the side written to equals the state written (else every write would come back as a change)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from mappings.ownership import (
    client_state_from_freshbooks,
    client_state_from_xcart,
    freshbooks_client_fields,
    freshbooks_item_fields,
    item_state_from_freshbooks,
    item_state_from_xcart,
    reconcile,
    xcart_address_fields,
    xcart_product_fields,
)
from mappings.rules import DEFAULT_OWNERSHIP
from mappings.xcart.schemas import ProductSchema, ProfileSchema, load
from sandboxes.freshbooks.books import Books
from sandboxes.xcart.generator import StoreGenerator
from sandboxes.xcart.writes import address_changes
from workers.two_way import freshbooks_time

T0, T1, T2 = (datetime(2026, 12, 1, h, tzinfo=UTC) for h in (10, 11, 12))
CONTACT = {"first": "Ann", "last": "Lee", "phone": "555"}
OWNERS = dict(DEFAULT_OWNERSHIP, contact="newest", billing_address="xcart", item_text="freshbooks")


def synced(**groups):
    return groups, {group: T0.isoformat() for group in groups}


def test_a_change_on_the_owning_side_goes_to_the_other_and_becomes_the_fingerprint():
    groups, at = synced(billing_address={"city": "Boston"})
    plan = reconcile({"billing_address": {"city": "Cambridge"}}, groups, groups, at, OWNERS, T1, T0)
    assert plan.to_freshbooks == {"billing_address": {"city": "Cambridge"}} and not plan.to_xcart
    assert plan.synced["billing_address"] == {"city": "Cambridge"}
    assert plan.synced_at["billing_address"] == T1.isoformat()


def test_a_change_on_the_side_that_does_not_own_it_is_undone_there():
    groups, at = synced(billing_address={"city": "Boston"})
    plan = reconcile(groups, {"billing_address": {"city": "Cambridge"}}, groups, at, OWNERS, T0, T2)
    assert plan.to_xcart == {} and plan.to_freshbooks == {"billing_address": {"city": "Boston"}}
    assert plan.synced == groups  # the owner's value stands


def test_newest_takes_the_side_that_changed_whatever_the_clocks_say():
    groups, at = synced(contact=CONTACT)
    changed = {"contact": CONTACT | {"phone": "777"}}
    plan = reconcile(groups, changed, groups, at, OWNERS, T2, T1)  # X-Cart's object is newer, its contact is not
    assert plan.to_xcart == changed and not plan.to_freshbooks


def test_newest_lets_the_later_of_two_changes_win_on_the_systems_own_timestamps():
    groups, at = synced(contact=CONTACT)
    xcart, freshbooks = {"contact": CONTACT | {"phone": "1"}}, {"contact": CONTACT | {"phone": "2"}}
    assert reconcile(xcart, freshbooks, groups, at, OWNERS, T2, T1).to_freshbooks == xcart
    assert reconcile(xcart, freshbooks, groups, at, OWNERS, T1, T2).to_xcart == freshbooks


def test_both_sides_at_the_fingerprint_is_an_echo():
    groups, at = synced(contact=CONTACT, billing_address={"city": "Boston"})
    plan = reconcile(groups, groups, groups, at, OWNERS, T2, T2)
    assert plan.echo and not plan.to_xcart and not plan.to_freshbooks


def test_both_sides_moved_to_the_same_value_is_recorded_without_a_write():
    groups, at = synced(billing_address={"city": "Boston"})
    moved = {"billing_address": {"city": "Cambridge"}}
    plan = reconcile(moved, moved, groups, at, OWNERS, T1, T2)
    assert not plan.to_xcart and not plan.to_freshbooks and plan.synced == moved and not plan.echo


@pytest.mark.parametrize("updated, expected", [
    ("2026-12-01 07:00:00", datetime(2026, 12, 1, 12, tzinfo=UTC)),  # EST, UTC-5
    ("2026-07-01 08:00:00", datetime(2026, 7, 1, 12, tzinfo=UTC)),  # EDT, UTC-4
    ("not a time", None), (None, None)])
def test_freshbooks_updated_is_read_as_us_eastern(updated, expected):
    assert freshbooks_time(updated) == expected


def test_the_sandbox_reports_updated_as_us_eastern_without_a_zone():
    client = Books().create_client({"email": "a@b.co"})
    assert abs((freshbooks_time(client["updated"]) - datetime.now(UTC)).total_seconds()) < 5


def _profiles():
    return [load(ProfileSchema, p) for p in StoreGenerator(seed=5).customers(60)]


def test_a_client_written_from_a_profile_reads_back_as_the_same_state():
    books = Books()
    for profile in _profiles():
        seen = client_state_from_xcart(profile)
        client = books.create_client({"email": profile.login, **freshbooks_client_fields(seen)})
        assert client_state_from_freshbooks(client) == seen, profile.login


def test_a_profile_written_from_a_client_reads_back_as_the_same_state():
    for profile in _profiles():
        wanted = client_state_from_freshbooks({"fname": "Zoë", "lname": "Ødegård", "bus_phone": "+1 212 555 0100",
                                               "p_street": "5 Rue Cler", "p_street2": "Apt 3", "p_city": "Paris",
                                               "p_province": "Île-de-France", "p_code": "75007",
                                               "p_country": "France"})
        raw = {"login": profile.login, "profile_id": profile.id, "addresses": []}
        address = {"address_id": 1, "is_billing": True, "is_shipping": True, "street": "old\nlines"}
        for group in ("contact", "billing_address"):
            address.update(address_changes(xcart_address_fields(group, wanted[group]), address))
        raw["addresses"] = [address]
        read = client_state_from_xcart(load(ProfileSchema, raw))
        assert read["contact"] == wanted["contact"] and read["billing_address"] == wanted["billing_address"]


def test_an_item_written_from_a_product_reads_back_as_the_same_state_at_the_currencys_places():
    books = Books()
    for raw in StoreGenerator(seed=5).products(40):
        product = load(ProductSchema, raw)
        seen = item_state_from_xcart(product, product.name, product.description, "USD")
        item = books.create_item({"sku": product.sku, **freshbooks_item_fields(seen, "USD")})
        assert item_state_from_freshbooks(item) == seen
        assert seen["price"]["amount"] == str(Decimal(str(product.price)).quantize(Decimal("0.01")))


def test_stock_goes_as_inventory_only_when_the_product_tracks_it():
    raw = StoreGenerator(seed=5).products(1)[0]
    traced = item_state_from_xcart(load(ProductSchema, raw | {"amount": 7}), "n", "d", "USD")
    untraced = item_state_from_xcart(load(ProductSchema, raw | {"amount": 7, "inventory_traceable": False}), "n",
                                     "d", "USD")
    assert traced["stock"] == {"inventory": "7"} and untraced["stock"] == {"inventory": ""}
    assert freshbooks_item_fields(traced, "USD")["inventory"] == "7"
    assert "inventory" not in freshbooks_item_fields(untraced, "USD")
    assert xcart_product_fields({"stock": {"inventory": "12"}, "price": {"amount": "3.50"}}) == {"amount": 12,
                                                                                               "price": "3.50"}
