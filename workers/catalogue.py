"""Customer and product events: the FreshBooks client and item follow the X-Cart profile and product.

(FreshBooks -> X-Cart changes and conflict rules come with bi-directional sync; this is the seam.)"""

from __future__ import annotations

from mappings.customers import client_from_profile
from mappings.products import item_from_product
from mappings.xcart.entities import Product, Profile
from store import binder, ledger, matches
from workers.duplicates import existing_client
from workers.exporter import ensure
from workers.ports import StepPorts


def upsert_client(svc: StepPorts, profile: Profile, event_id: str | None = None) -> int:
    fb = svc.freshbooks
    email = profile.login.strip().lower()
    body = client_from_profile(profile)
    client_id, how = ensure(svc, "client", email,
                            lambda: fb.find_client_by_email(email) or existing_client(svc, email, body,
                                                                                       event_id=event_id),
                            lambda: fb.create_client(body), event_id=event_id)
    if how != "create":
        if matches.bound_by_decision(svc.sessions, email):  # the same customer under another email: keep the
            body = {k: v for k, v in body.items() if k != "email"}  # client's own (one email per client)
        fb.update_client(client_id, body)
        ledger.audit(svc.sessions, "update", "client", client_id, f"client {email}", event_id)
    return client_id


def upsert_item(svc: StepPorts, product: Product, event_id: str | None = None) -> int:
    fb = svc.freshbooks
    body = item_from_product(product, svc.rules, svc.rules.account_currency)
    item_id, how = ensure(svc, "item", product.sku, lambda: fb.find_item_by_sku(product.sku),
                          lambda: fb.create_item(body), event_id=event_id)
    if how != "create":
        fb.update_item(item_id, body)
        ledger.audit(svc.sessions, "update", "item", item_id, f"item {product.sku}", event_id)
    binder.bind(svc.sessions, "product", str(product.id), item_id)
    return item_id


def delete_item(svc: StepPorts, product_id: int, event_id: str | None = None) -> int | None:
    item_id = binder.bound_id(svc.sessions, "product", str(product_id))
    if item_id is None:
        return None  # never synced: nothing to delete
    svc.freshbooks.update_item(item_id, {"vis_state": 1})
    ledger.audit(svc.sessions, "delete", "item", item_id, f"product {product_id} deleted in X-Cart", event_id)
    return item_id

