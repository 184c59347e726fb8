"""Customer and product events: the FreshBooks client and item follow the X-Cart profile and product.

The first time, whole; after that, the groups of fields X-Cart owns, by the ownership rules (workers/two_way.py,
which also carries FreshBooks' changes back)."""

from __future__ import annotations

from mappings.customers import client_from_profile
from mappings.products import item_from_product
from mappings.xcart.entities import Product, Profile
from store import binder, ledger, matches, sync_state
from workers import two_way
from workers.duplicates import existing_client, new_clients_one_at_a_time
from workers.exporter import ensure
from workers.ports import StepPorts


def upsert_client(svc: StepPorts, profile: Profile, event_id: str | None = None) -> int:
    fb = svc.freshbooks
    email = profile.login.strip().lower()
    body = client_from_profile(profile)
    with new_clients_one_at_a_time(svc, email):
        client_id, how = ensure(svc, "client", email,
                                lambda: fb.find_client_by_email(email) or existing_client(svc, email, body,
                                                                                           event_id=event_id),
                                lambda: fb.create_client(body), event_id=event_id)
    if matches.bound_by_decision(svc.sessions, email):
        # The same customer under another email (workers/duplicates.py): the profile is bound to the client, which
        # stays in sync with the profile it was made from (this one may carry a typo, and one client has one email).
        return client_id
    if how == "bound" and sync_state.load(svc.sessions, "client", client_id) is not None:
        two_way.client_from_xcart(svc, client_id, profile, event_id)  # what X-Cart owns, unless an echo
        return client_id
    if how != "create":  # first seen from this profile: the client is brought to it whole
        fb.update_client(client_id, body)
        ledger.audit(svc.sessions, "update", "client", client_id, f"client {email}", event_id)
    two_way.start_client(svc, client_id, profile)
    return client_id


def upsert_item(svc: StepPorts, product: Product, event_id: str | None = None) -> int:
    fb = svc.freshbooks
    body = item_from_product(product, svc.rules, svc.rules.account_currency)
    item_id, how = ensure(svc, "item", product.sku, lambda: fb.find_item_by_sku(product.sku),
                          lambda: fb.create_item(body), event_id=event_id)
    if how == "bound" and sync_state.load(svc.sessions, "item", item_id) is not None:
        two_way.item_from_xcart(svc, item_id, product, event_id)  # what X-Cart owns, unless an echo
    else:
        if how != "create":
            fb.update_item(item_id, body)
            ledger.audit(svc.sessions, "update", "item", item_id, f"item {product.sku}", event_id)
        two_way.start_item(svc, item_id, product)
    binder.bind(svc.sessions, "product", str(product.id), item_id)
    return item_id


def delete_item(svc: StepPorts, product_id: int, event_id: str | None = None) -> int | None:
    item_id = binder.bound_id(svc.sessions, "product", str(product_id))
    if item_id is None:
        return None  # never synced: nothing to delete
    svc.freshbooks.update_item(item_id, {"vis_state": 1})
    ledger.audit(svc.sessions, "delete", "item", item_id, f"product {product_id} deleted in X-Cart", event_id)
    return item_id

