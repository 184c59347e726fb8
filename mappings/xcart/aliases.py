"""One home for the other names X-Cart gives a field. Ours are the 5.5 API output's (and the schemas'
data keys); the 5.x REST add-on and older senders use the others. {our name: their name}, per entity."""

from __future__ import annotations

from typing import Any

ALIASES: dict[str, dict[str, str]] = {
    "address": {"id": "address_id", "country_code": "country", "zipcode": "zip"},
    "item": {"item_id": "id", "amount": "quantity"},
    "order": {"order_id": "id", "order_number": "orderNumber", "create_date": "date", "update_date": "lastRenewDate",
              "sub_total": "subtotal", "payment_status": "paymentStatus", "shipping_status": "shippingStatus",
              "email": "login"},
    "customer": {"profile_id": "id", "login": "email", "updated": "lastRenewDate"},
    "product": {"product_id": "id", "updated": "updateDate"},
    "payment": {"transaction_id": "id", "public_id": "publicId"},
}


def field(data: dict, entity: str, name: str) -> Any:
    """`data[name]`, or the same field under its other name; None when neither is there."""
    value = data.get(name)
    if value is None:
        value = data.get(ALIASES[entity].get(name, name))
    return value


def renamed(data: dict, entity: str) -> dict:
    """A copy of `data` with every other name moved to ours; ours wins."""
    data = dict(data)
    for ours, theirs in ALIASES[entity].items():
        if data.get(ours) is None and data.get(theirs) is not None:
            data[ours] = data.pop(theirs)
    return data
