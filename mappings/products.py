"""X-Cart products -> FreshBooks items."""

from __future__ import annotations

from mappings.limits import fit
from mappings.rules import Rules
from mappings.xcart.entities import Product


def item_from_product(product: Product, rules: Rules, currency: str) -> dict:
    override = rules.sku_overrides.get(product.sku)
    item = {"name": fit((override and override.name) or product.name), "sku": product.sku,
            "description": fit((override and override.description) or product.description),
            "unit_cost": {"amount": str(product.price), "code": product.currency or currency}}
    if product.amount is not None:
        item["inventory"] = str(product.amount)
    return item
