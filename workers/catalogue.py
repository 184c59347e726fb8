"""Customer and product events: the FreshBooks client and item follow the X-Cart profile and product.

The first time, whole; after that, the groups of fields X-Cart owns, by the ownership rules (workers/two_way.py,
which also carries FreshBooks' changes back)."""

from __future__ import annotations

from typing import NamedTuple

from mappings.customers import client_from_profile
from mappings.products import item_from_product
from mappings.xcart.entities import Product, Profile
from store import binder, ledger, matches, sync_state
from workers import two_way
from workers.duplicates import client_look_up
from workers.exporter import ensure
from workers.ports import StepPorts


class Upserted(NamedTuple):
    freshbooks_id: int
    outcome: str  # what the event's row says it did: the echo of our own write is told apart


def upsert_client(svc: StepPorts, profile: Profile, event_id: str | None = None) -> Upserted:
    fb = svc.freshbooks
    email = profile.login.strip().lower()
    body = client_from_profile(profile)
    with client_look_up(svc, email, body, event_id=event_id) as find:
        client_id, how = ensure(svc, "client", email, find, lambda: fb.create_client(body), event_id=event_id)
    if matches.bound_by_decision(svc.sessions, email):
        # The same customer under another email (workers/duplicates.py): the profile is bound to the client, which
        # stays in sync with the profile it was made from (this one may carry a typo, and one client has one email).
        return Upserted(client_id, f"client {client_id}: bound by decision to another profile's client")
    with svc.locks.binding("client-profile", str(client_id)):  # two profiles of one email, at once: one at a time
        return _follow_profile(svc, client_id, how, profile, body, event_id)


def _follow_profile(svc: StepPorts, client_id: int, how: str, profile: Profile, body: dict,
                    event_id: str | None) -> Upserted:
    """The client follows the profile it was first brought to: whole the first time, by ownership after."""
    followed = sync_state.load(svc.sessions, "client", client_id)
    if followed is not None and followed.xcart_id not in (None, profile.id):
        # Two profiles, one email (case aside: X-Cart compares logins as its database collates them, and guests
        # reuse emails): one client follows one profile, else the later event of either would undo the other's.
        return Upserted(client_id, f"client {client_id} follows X-Cart profile {followed.xcart_id}; profile "
                                   f"{profile.id} has the same email: not synced to it")
    if followed is not None:
        plan = two_way.client_from_xcart(svc, client_id, profile, event_id)  # what X-Cart owns, unless an echo
        return Upserted(client_id, two_way.outcome(f"client {client_id}", plan))
    if how != "create":  # first seen from this profile: the client is brought to it whole
        svc.freshbooks.update_client(client_id, body)
        ledger.audit(svc.sessions, "update", "client", client_id, f"client {profile.login.strip().lower()}", event_id)
    two_way.start_client(svc, client_id, profile)
    return Upserted(client_id, f"client {client_id}: {how}, whole from the profile")


def upsert_item(svc: StepPorts, product: Product, event_id: str | None = None) -> Upserted:
    fb = svc.freshbooks
    body = item_from_product(product, svc.rules, svc.rules.account_currency)
    item_id, how = ensure(svc, "item", product.sku, lambda: fb.find_item_by_sku(product.sku),
                          lambda: fb.create_item(body), event_id=event_id)
    if how == "bound" and sync_state.load(svc.sessions, "item", item_id) is not None:
        plan = two_way.item_from_xcart(svc, item_id, product, event_id)  # what X-Cart owns, unless an echo
        outcome = two_way.outcome(f"item {item_id}", plan)
    else:
        if how != "create":
            fb.update_item(item_id, body)
            ledger.audit(svc.sessions, "update", "item", item_id, f"item {product.sku}", event_id)
        two_way.start_item(svc, item_id, product)
        outcome = f"item {item_id}: {how}, whole from the product"
    binder.bind(svc.sessions, "product", str(product.id), item_id)
    return Upserted(item_id, outcome)


def delete_item(svc: StepPorts, product_id: int, event_id: str | None = None) -> int | None:
    item_id = binder.bound_id(svc.sessions, "product", str(product_id))
    if item_id is None:
        return None  # never synced: nothing to delete
    svc.freshbooks.update_item(item_id, {"vis_state": 1})
    ledger.audit(svc.sessions, "delete", "item", item_id, f"product {product_id} deleted in X-Cart", event_id)
    return item_id

