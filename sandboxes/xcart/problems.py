"""Labelled data-quality problems injected into the simulator's orders: the ground truth the validation is
measured against. Each passes the schema (X-Cart would send it) and is wrong for an invoice."""

from __future__ import annotations

import random

KINDS = {  # kind -> the field it breaks
    "email": "email",
    "country": "billing_address.country_code",
    "subdivision": "billing_address.state",
    "phone": "billing_address.phone",
    "address": "billing_address.street",
}


def inject(order: dict, kind: str, rng: random.Random) -> dict:
    order = {**order, "billing_address": dict(order["billing_address"])}
    billing = order["billing_address"]
    if kind == "email":
        domain = rng.choice(["shop.invalid", "example.test", "localhost.local"])  # special-use: never delivered
        order["email"] = f"{order['email'].split('@')[0]}@{domain}"
    elif kind == "country":
        billing["country_code"] = rng.choice(["XX", "UK", "EU"])  # UK: the common mistake for GB
    elif kind == "subdivision":
        billing["state"] = rng.choice(["ZZ", "XX-1"])
    elif kind == "phone":
        billing["phone"] = f"+1-555-{rng.randint(1000, 9999)}"
    elif kind == "address":
        billing["street"] = ""
    else:
        raise ValueError(f"unknown data problem {kind!r}")
    return order
