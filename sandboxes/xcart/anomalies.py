"""Labelled anomalies injected into the simulator's otherwise normal traffic: the ground truth the anomaly
check is measured against (`xcfb evaluate`, tests/unit/test_assistants_accuracy.py).

Each changes an order the way a real mistake or abuse would, and the order still adds up as X-Cart adds it up
(the figures are recomputed): a store's own arithmetic never reveals these, only its history does.

    price_x10, price_div10  a unit price typed with the decimal point one place off
    full_coupon             a 100 % coupon
    wrong_tax               a tax charged at a rate with the decimal point one place off (8.875 % -> 0.8875 %)
    quantity_1000           1000 units of one item
    refund_spree            one customer, five orders in a row, all refunded (placed by the store itself)
"""

from __future__ import annotations

import random
from dataclasses import replace
from decimal import Decimal

from sandboxes.xcart.generator import (
    FOUR_PLACES,
    ZONES,
    StoreGenerator,
    _as_sent,
    _decimal,
    _recomputed,
    money,
)

KINDS = ("price_x10", "price_div10", "full_coupon", "wrong_tax", "quantity_1000", "refund_spree")
ORDER_KINDS = KINDS[:-1]  # those made out of one order; the spree is several
SPREE_ORDERS = 5
TEN = Decimal(10)


def inject(generator: StoreGenerator, order: dict, kind: str, rng: random.Random) -> dict:
    """The order with one anomaly of `kind`, as X-Cart would total it."""
    order = {**order, "items": [dict(i) for i in order["items"]], "surcharges": [dict(s) for s in order["surcharges"]],
             "used_coupons": [dict(c) for c in order["used_coupons"]]}
    tax = generator.zone_of(order["id"])
    item = rng.choice(order["items"])
    if kind in ("price_x10", "price_div10"):
        price = _decimal(item["price"]) * TEN if kind == "price_x10" else _decimal(item["price"]) / TEN
        item["price"] = item["item_net_price"] = max(price.quantize(FOUR_PLACES), Decimal("0.01"))
    elif kind == "quantity_1000":
        item["amount"] = 1000
    elif kind == "full_coupon":
        order["used_coupons"] = [{"id": generator.new_id(), "code": f"FREE{rng.randint(1, 99)}", "value": Decimal(100),
                                  "type": "%", "coupon_id": generator.new_id()}]
    elif kind == "wrong_tax":
        tax = tax or rng.choice([z for z in ZONES if z])
        slipped = tax.percent * TEN if tax.percent * TEN < 100 else tax.percent / TEN
        tax = replace(tax, percent=slipped)
        _set_tax_surcharge(order, tax)
        generator._zones[order["id"]] = tax
    else:
        raise ValueError(f"unknown anomaly {kind!r}")
    _discounts_again(order)
    return _as_sent(_recomputed(order, tax), rng)


def _discounts_again(order: dict) -> None:
    """Discounts worked out again from the new sub-total, as X-Cart does: the volume discount (5 %), then the
    coupons (a percentage of what remains, or a fixed amount at most what remains)."""
    currency = order["currency"]
    sub_total = sum((money(_decimal(i["price"]) * int(_decimal(i["amount"])), currency) for i in order["items"]),
                    Decimal(0))
    remaining = sub_total
    for surcharge in order["surcharges"]:
        if surcharge["code"] == "DISCOUNT":
            surcharge["value"] = -money(sub_total * Decimal("0.05"), currency)
            remaining += surcharge["value"]
    coupons = order["used_coupons"]
    off = Decimal(0)
    for coupon in coupons:
        value = _decimal(coupon["value"])
        off += money(remaining * value / 100, currency) if coupon["type"] == "%" else min(remaining, value)
    order["surcharges"] = [s for s in order["surcharges"] if s["code"] != "DCOUPON"]
    if coupons:
        order["surcharges"].append({"type": "discount", "code": "DCOUPON", "class": "CDev\\Coupons\\Logic\\Order\\"
                                    "Modifier\\Discount", "include": False, "available": True,
                                    "name": "Coupon discount", "value": -min(off, remaining), "weight": 60})


def _set_tax_surcharge(order: dict, tax) -> None:
    order["surcharges"] = [s for s in order["surcharges"] if s["type"] != "tax"]
    order["surcharges"].append({"type": "tax", "code": tax.code, "class": "CDEV\\SalesTax\\Logic\\Order\\Modifier\\Tax",
                                "include": tax.included, "available": True, "name": tax.name, "value": None,
                                "weight": 1000})
