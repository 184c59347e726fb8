"""Customers and catalogue both ways: an X-Cart profile or product event, or a FreshBooks client or item callback,
brings the other side up to date with the groups of fields its side owns (mappings/ownership.py decides).

Each binding keeps the state last synced (store/sync_state.py). A notification that reports only that state is
the echo of our own write and is dropped without a call; the writes a notification causes and the fingerprint
are made under one lock per binding, so that the echo of a write, however fast it comes back, is compared with
the fingerprint that write left."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from mappings.orders import NeedsReview
from mappings.ownership import (
    Plan,
    State,
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
from mappings.products import item_from_product
from mappings.xcart.entities import Product, Profile
from mappings.xcart.schemas import ProductSchema, ProfileSchema, load
from store import ledger, sync_state
from store.sync_state import Synced
from workers.ports import StepPorts

FRESHBOOKS_ZONE = ZoneInfo("America/New_York")  # FreshBooks' `updated` is a zone-less US/Eastern time


def freshbooks_time(updated: str | None) -> datetime | None:
    """FreshBooks' `updated` ("2026-12-01 12:00:00", US/Eastern, no zone) as an aware UTC time."""
    try:
        return datetime.fromisoformat(str(updated)).replace(tzinfo=FRESHBOOKS_ZONE).astimezone(UTC)
    except ValueError:
        return None


def _utc(moment: datetime | None) -> datetime | None:
    return moment.astimezone(UTC) if moment else None


# -- clients ----------------------------------------------------------------------------------------------------

def start_client(svc: StepPorts, client_id: int, profile: Profile) -> None:
    """The client was just written whole from the profile: that state is the first fingerprint."""
    seen = client_state_from_xcart(profile)
    at = (_utc(profile.updated) or datetime.now(UTC)).isoformat()
    sync_state.save(svc.sessions, "client", Synced(client_id, profile.id, seen, dict.fromkeys(seen, at),
                                                   _address_ids(profile)))


def client_from_xcart(svc: StepPorts, client_id: int, profile: Profile, event_id: str | None = None) -> Plan:
    """An X-Cart profile event for a client synced before: the profile as X-Cart has it now (the event's copy
    when no X-Cart API is connected) against the client as FreshBooks has it now."""
    with svc.locks.binding("sync-client", str(client_id)):
        synced = sync_state.load(svc.sessions, "client", client_id) or Synced(client_id)
        if svc.xcart is not None:
            profile = load(ProfileSchema, svc.xcart.profile(profile.id))
        synced.xcart_id, synced.addresses = profile.id, _address_ids(profile)
        return _sync_client(svc, synced, client_state_from_xcart(profile), _utc(profile.updated), event_id)


def client_from_freshbooks(svc: StepPorts, client_id: int, event_id: str | None = None) -> Plan | None:
    """A FreshBooks callback for a client: None when it is bound to no X-Cart profile (a guest's)."""
    with svc.locks.binding("sync-client", str(client_id)):
        synced = sync_state.load(svc.sessions, "client", client_id)
        if synced is None or synced.xcart_id is None:
            return None
        if svc.xcart is None:  # X-Cart cannot be read: it stands as last synced
            return _sync_client(svc, synced, synced.groups, None, event_id)
        profile = load(ProfileSchema, svc.xcart.profile(synced.xcart_id))
        synced.addresses = _address_ids(profile)
        return _sync_client(svc, synced, client_state_from_xcart(profile), _utc(profile.updated), event_id)


def _sync_client(svc: StepPorts, synced: Synced, xcart: State, xcart_at: datetime | None,
                 event_id: str | None) -> Plan:
    client = svc.freshbooks.get_client(synced.freshbooks_id)
    plan = reconcile(xcart, client_state_from_freshbooks(client), synced.groups, synced.at, svc.rules.ownership,
                     xcart_at, freshbooks_time(client.get("updated")))
    if plan.to_freshbooks:
        svc.freshbooks.update_client(synced.freshbooks_id, freshbooks_client_fields(plan.to_freshbooks))
        ledger.audit(svc.sessions, "sync", "client", synced.freshbooks_id,
                     f"from X-Cart profile {synced.xcart_id}: {_groups(plan.to_freshbooks)}", event_id)
    if plan.to_xcart:
        _require_xcart(svc)
        for address_id, fields in _address_writes(synced, plan.to_xcart).items():
            svc.xcart.update_address(synced.xcart_id, address_id, fields)
        ledger.audit(svc.sessions, "sync", "profile", synced.freshbooks_id,
                     f"to X-Cart profile {synced.xcart_id}: {_groups(plan.to_xcart)}", event_id)
    synced.groups, synced.at = plan.synced, plan.synced_at
    sync_state.save(svc.sessions, "client", synced)
    return plan


def _address_writes(synced: Synced, groups: State) -> dict[int, dict]:
    """Contact and billing go to the billing address, shipping to the shipping address (one PUT per address)."""
    writes: dict[int, dict] = {}
    for group, values in groups.items():
        address_id = synced.addresses.get("shipping" if group == "shipping_address" else "billing")
        if address_id is not None:
            writes.setdefault(int(address_id), {}).update(xcart_address_fields(group, values))
    return writes


def _address_ids(profile: Profile) -> dict[str, int | None]:
    billing, shipping = profile.address("billing"), profile.address("shipping")
    return {"billing": billing.id if billing else None, "shipping": shipping.id if shipping else None}


# -- items ------------------------------------------------------------------------------------------------------

def item_state(svc: StepPorts, product: Product) -> State:
    """The item's groups as X-Cart's product gives them (the rules' SKU overrides applied, as on the item)."""
    body = item_from_product(product, svc.rules, svc.rules.account_currency)
    return item_state_from_xcart(product, body["name"], body["description"],
                                 product.currency or svc.rules.account_currency)


def start_item(svc: StepPorts, item_id: int, product: Product) -> None:
    seen = item_state(svc, product)
    at = (_utc(product.updated) or datetime.now(UTC)).isoformat()
    sync_state.save(svc.sessions, "item", Synced(item_id, product.id, seen, dict.fromkeys(seen, at)))


def item_from_xcart(svc: StepPorts, item_id: int, product: Product, event_id: str | None = None) -> Plan:
    with svc.locks.binding("sync-item", str(item_id)):
        synced = sync_state.load(svc.sessions, "item", item_id) or Synced(item_id)
        if svc.xcart is not None:
            product = load(ProductSchema, svc.xcart.product(product.id))
        synced.xcart_id = product.id
        return _sync_item(svc, synced, item_state(svc, product), _utc(product.updated), event_id)


def item_from_freshbooks(svc: StepPorts, item_id: int, event_id: str | None = None) -> Plan | None:
    with svc.locks.binding("sync-item", str(item_id)):
        synced = sync_state.load(svc.sessions, "item", item_id)
        if synced is None or synced.xcart_id is None:
            return None
        if svc.xcart is None:
            return _sync_item(svc, synced, synced.groups, None, event_id)
        product = load(ProductSchema, svc.xcart.product(synced.xcart_id))
        return _sync_item(svc, synced, item_state(svc, product), _utc(product.updated), event_id)


def _sync_item(svc: StepPorts, synced: Synced, xcart: State, xcart_at: datetime | None, event_id: str | None) -> Plan:
    item = svc.freshbooks.get_item(synced.freshbooks_id)
    plan = reconcile(xcart, item_state_from_freshbooks(item), synced.groups, synced.at, svc.rules.ownership,
                     xcart_at, freshbooks_time(item.get("updated")))
    if plan.to_freshbooks:
        currency = (item.get("unit_cost") or {}).get("code") or svc.rules.account_currency
        svc.freshbooks.update_item(synced.freshbooks_id, freshbooks_item_fields(plan.to_freshbooks, currency))
        ledger.audit(svc.sessions, "sync", "item", synced.freshbooks_id,
                     f"from X-Cart product {synced.xcart_id}: {_groups(plan.to_freshbooks)}", event_id)
    if plan.to_xcart:
        _require_xcart(svc)
        svc.xcart.update_product(synced.xcart_id, xcart_product_fields(plan.to_xcart))
        ledger.audit(svc.sessions, "sync", "product", synced.freshbooks_id,
                     f"to X-Cart product {synced.xcart_id}: {_groups(plan.to_xcart)}", event_id)
    synced.groups, synced.at = plan.synced, plan.synced_at
    sync_state.save(svc.sessions, "item", synced)
    return plan


# -- FreshBooks callbacks ---------------------------------------------------------------------------------------

HANDLED = {"client.create": client_from_freshbooks, "client.update": client_from_freshbooks,
           "item.create": item_from_freshbooks, "item.update": item_from_freshbooks}


def freshbooks_changed(svc: StepPorts, name: str, object_id: int, event_id: str | None = None) -> str:
    """A FreshBooks callback (ids only: the object is read now, so a late or repeated one sees today's state)."""
    handler = HANDLED.get(name)
    if handler is None:
        return f"{name}: kept in the audit trail only"
    plan = handler(svc, object_id, event_id)
    if plan is None:
        return f"{name} {object_id}: bound to nothing in X-Cart"
    return outcome(f"{name} {object_id}", plan)


def outcome(subject: str, plan: Plan) -> str:
    """What a notification did, for its event's row (`xcfb events show`; the demo counts the echoes)."""
    if plan.echo:
        return f"{subject}: echo of the last sync, nothing to write"
    return (f"{subject}: to X-Cart {_groups(plan.to_xcart) or 'nothing'}, "
            f"to FreshBooks {_groups(plan.to_freshbooks) or 'nothing'}")


def _groups(state: State) -> str:
    return ", ".join(state)


def _require_xcart(svc: StepPorts) -> None:
    if svc.xcart is None:  # a person must connect the store; the change waits, visible, replayable
        raise NeedsReview(["a change FreshBooks owns must go to X-Cart, but no X-Cart API is connected (xcfb "
                           "connect xcart with a full key, or XCART_API_URL): connect it, then replay"])
