"""Two-way sync of customers and catalogue: which system is right about each group of fields, and what to write.

Each side's object is read into the same vocabulary, group by group (a client's contact, billing and shipping
address; an item's text, price and stock), so that the two can be compared with the last state synced (the
fingerprint kept per binding, store/sync_state.py). A notification whose groups all equal the fingerprint is the
echo of a write of ours and changes nothing. A changed group goes to the other side when its side owns it
(`sync.ownership` in the rules: xcart, freshbooks, or newest by the systems' own timestamps); a change to a field
the other side owns is undone, so that both end holding the owner's value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from mappings.addresses import country_name, standardise
from mappings.customers import client_phone
from mappings.limits import fit
from mappings.money import currency_places, quantize
from mappings.xcart.entities import Address, Product, Profile

CLIENT_GROUPS = ("contact", "billing_address", "shipping_address")
ITEM_GROUPS = ("item_text", "price", "stock")
OWNERS = ("xcart", "freshbooks", "newest")

State = dict[str, dict[str, str]]  # group -> field -> value, in the shared vocabulary


@dataclass
class Plan:
    """What a notification calls for: groups to write to FreshBooks and to X-Cart, and the new fingerprint."""

    to_freshbooks: State = field(default_factory=dict)
    to_xcart: State = field(default_factory=dict)
    synced: State = field(default_factory=dict)
    synced_at: dict[str, str] = field(default_factory=dict)
    echo: bool = False  # both sides held the last synced state: the notice was the echo of a write (or a repeat)


def reconcile(xcart: State, freshbooks: State, synced: State, synced_at: dict[str, str], owners: dict[str, str],
              xcart_at: datetime | None, freshbooks_at: datetime | None) -> Plan:
    """Both sides' groups as they are now, against the fingerprint (`synced`, and when each group was set).

    Where the sides differ, the owner's value goes to the other side. `newest`: the side that changed the group
    since the last sync; when both did (or nothing was synced yet), the later of the systems' own timestamps.
    Reading both sides now, not trusting a notice's snapshot, is what makes a late, repeated or reordered notice
    harmless: it can only find the state as it is."""
    plan = Plan(synced=dict(synced), synced_at=dict(synced_at))
    stamps = {"xcart": xcart_at.isoformat() if xcart_at else "", "freshbooks": freshbooks_at.isoformat()
              if freshbooks_at else ""}
    for group in dict.fromkeys([*xcart, *freshbooks]):
        x, f, last = xcart.get(group), freshbooks.get(group), synced.get(group)
        if x == f:
            if x != last:  # both moved to the same value (or the first sync found them equal)
                plan.synced[group], plan.synced_at[group] = x, max(stamps.values())
            continue
        winner = _winner(owners[group], x != last, f != last, stamps)
        value = x if winner == "xcart" else f
        (plan.to_freshbooks if winner == "xcart" else plan.to_xcart)[group] = value
        plan.synced[group], plan.synced_at[group] = value, stamps[winner]
    plan.echo = not plan.to_freshbooks and not plan.to_xcart and plan.synced == synced
    return plan


def _winner(owner: str, xcart_changed: bool, freshbooks_changed: bool, stamps: dict[str, str]) -> str:
    if owner != "newest":
        return owner
    if xcart_changed != freshbooks_changed:
        return "xcart" if xcart_changed else "freshbooks"
    return "xcart" if stamps["xcart"] >= stamps["freshbooks"] else "freshbooks"


# -- clients ----------------------------------------------------------------------------------------------------

def client_state_from_xcart(profile: Profile) -> State:
    billing, shipping = profile.address("billing"), profile.address("shipping")
    named = billing or shipping or Address()
    return {"contact": {"first": fit(named.firstname), "last": fit(named.lastname),
                        "phone": fit(client_phone(named.phone, named.country_code))},
            "billing_address": _xcart_address(billing), "shipping_address": _xcart_address(shipping)}


def _xcart_address(address: Address | None) -> dict[str, str]:
    standard = standardise(address)
    return {"street": standard.street, "street2": standard.street2, "city": standard.city,
            "province": standard.province, "code": standard.code, "country": standard.country_code}


def client_state_from_freshbooks(client: dict) -> State:
    return {"contact": {"first": fit(client.get("fname")), "last": fit(client.get("lname")),
                        "phone": fit(client_phone(client.get("bus_phone"), _country_code(client, "p_")))},
            "billing_address": _freshbooks_address(client, "p_"),
            "shipping_address": _freshbooks_address(client, "s_")}


def _country_code(client: dict, prefix: str) -> str:
    return country_name((client.get(prefix + "country") or "").strip())[1] or ""


def _freshbooks_address(client: dict, prefix: str) -> dict[str, str]:
    def text(name: str) -> str:
        return fit((client.get(prefix + name) or "").strip())
    return {"street": text("street"), "street2": text("street2"), "city": text("city"), "province": text("province"),
            "code": text("code").upper(), "country": country_name(text("country"))[1] or text("country")}


def freshbooks_client_fields(state: State) -> dict[str, str]:
    """The FreshBooks client fields carrying these groups."""
    fields: dict[str, str] = {}
    if "contact" in state:
        contact = state["contact"]
        fields.update(fname=contact["first"], lname=contact["last"], bus_phone=contact["phone"])
    for group, prefix in (("billing_address", "p_"), ("shipping_address", "s_")):
        if group in state:
            address = state[group]
            fields.update({prefix + k: address[k] for k in ("street", "street2", "city", "province", "code")})
            fields[prefix + "country"] = country_name(address["country"])[0]
    return fields


def xcart_address_fields(group: str, values: dict[str, str]) -> dict[str, str]:
    """The X-Cart address input fields (PUT /api/profiles/{id}/addresses/{address_id}) carrying a group."""
    if group == "contact":
        return {"firstname": values["first"], "lastname": values["last"], "phone": values["phone"]}
    return {"address1": values["street"], "address2": values["street2"], "city": values["city"],
            "state_name": values["province"], "zipcode": values["code"], "country_code": values["country"]}


# -- items ------------------------------------------------------------------------------------------------------

def item_state_from_xcart(product: Product, name: str, description: str, currency: str) -> State:
    """`name`/`description`: as the item carries them (the rules' SKU overrides applied)."""
    traced = product.extra.get("inventory_traceable", True) is not False and product.amount is not None
    return {"item_text": {"name": fit(name), "description": fit(description)},
            "price": {"amount": _price(product.price, product.currency or currency)},
            "stock": {"inventory": str(product.amount) if traced else ""}}


def item_state_from_freshbooks(item: dict) -> State:
    cost = item.get("unit_cost") or {}
    inventory = item.get("inventory")
    return {"item_text": {"name": fit(item.get("name")), "description": fit(item.get("description"))},
            "price": {"amount": _price(Decimal(str(cost.get("amount") or 0)), cost.get("code") or "USD")},
            "stock": {"inventory": str(int(Decimal(str(inventory)))) if inventory not in (None, "") else ""}}


def _price(amount: Decimal, currency: str) -> str:
    """At the currency's places: FreshBooks keeps 2 for USD where X-Cart keeps 4 (0.333 is 0.33 there)."""
    return str(quantize(Decimal(amount), currency_places(currency)))


def freshbooks_item_fields(state: State, currency: str) -> dict:
    fields: dict = {}
    if "item_text" in state:
        fields.update(name=state["item_text"]["name"], description=state["item_text"]["description"])
    if "price" in state:
        fields["unit_cost"] = {"amount": state["price"]["amount"], "code": currency}
    if "stock" in state and state["stock"]["inventory"] != "":
        fields["inventory"] = state["stock"]["inventory"]
    return fields


def xcart_product_fields(state: State) -> dict:
    fields: dict = {}
    if "item_text" in state:
        fields.update(name=state["item_text"]["name"], description=state["item_text"]["description"])
    if "price" in state:
        fields["price"] = state["price"]["amount"]
    if "stock" in state and state["stock"]["inventory"] != "":
        fields["amount"] = int(state["stock"]["inventory"])
    return fields
