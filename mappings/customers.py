"""X-Cart customers (profiles, or the addresses on a guest's order) -> FreshBooks clients."""

from __future__ import annotations

from mappings.addresses import StandardAddress, standardise
from mappings.limits import fit
from mappings.validation import e164
from mappings.xcart.entities import Address, Order, Profile


def client_from_profile(profile: Profile) -> dict:
    billing, shipping = profile.address("billing"), profile.address("shipping")
    return _client(profile.login, billing, shipping, note=f"X-Cart profile {profile.id}")


def client_from_order(order: Order) -> dict:
    """The client for an order whose customer has no profile of its own (guest checkout)."""
    return _client(order.email, order.billing_address, order.shipping_address or order.billing_address,
                   note=f"X-Cart customer from order {order.order_number}")


def _client(email: str, billing: Address | None, shipping: Address | None, note: str) -> dict:
    named = billing or shipping or Address()
    client = {"email": email.strip().lower(), "fname": fit(named.firstname), "lname": fit(named.lastname),
              "organization": fit(named.company) or fit(named.custom_fields.get("company")),
              "bus_phone": fit(client_phone((billing or named).phone, (billing or named).country_code)), "note": note}
    client.update(_prefixed("p_", standardise(billing)))
    client.update(_prefixed("s_", standardise(shipping)))
    return client


def client_phone(phone: str | None, country: str | None) -> str:
    """The phone as the client keeps it: E.164 (+16175550199) where the country's numbering plan knows the number;
    otherwise as the customer typed it (the data-quality check flags it). Two-way sync compares phones this way."""
    return e164(phone or "", country or "") or phone or ""


def _prefixed(prefix: str, address: StandardAddress) -> dict:
    return {f"{prefix}street": address.street, f"{prefix}street2": address.street2, f"{prefix}city": address.city,
            f"{prefix}province": address.province, f"{prefix}code": address.code,
            f"{prefix}country": address.country}
