"""A corpus of orders shaped like X-Cart 5.5's real API output, built from ../shared/reference/xcart.md and
nothing of ours: its arithmetic is X-Cart's, written here again, so that a wrong assumption in our
schemas, mapper or simulator cannot hide in it.

X-Cart's arithmetic, as the corpus applies it:
- prices are decimal(14,4) (`0.333` is a price); a line subtotal is price x quantity rounded to the
  currency's places (half up, as PHP's round); sub_total is the sum of the line subtotals;
- discounts (volume discount `DISCOUNT`, coupon `DCOUPON`) are negative surcharges on the sub_total;
- a tax excluded from prices is rate x base, rounded once, the base being the discounted sub_total, plus
  shipping where the zone taxes shipping; one tax code carries a different rate per zone;
- a tax included in prices (VAT) is gross base x rate / (100 + rate), rounded, and not added to the total;
- total = sub_total + shipping + discounts + excluded taxes.

And its forms on the wire: money as JSON strings with 4 decimals ("19.9900"), as JSON numbers, and as
floats ("1500.0" for yen); `[]` for an empty map (PHP's empty array); `null` for absent optional values;
dates as ISO 8601 with `+0000`; unknown keys added by add-ons; non-ASCII names.

Each `CorpusOrder` keeps the ground truth a finance person checks: the total, the tax X-Cart collected and
what was paid.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

PLACES = {"USD": 2, "EUR": 2, "GBP": 2, "CAD": 2, "JPY": 0, "KWD": 3}


@dataclass(frozen=True)
class Zone:
    country: str
    state: str
    currency: str
    taxes: tuple[tuple[str, str, Decimal, bool, bool], ...]  # (code, name, rate, included, taxes shipping)


# One tax code, several rates: CDEV.STAX.1 is the store's "Sales tax" in every US zone.
ZONES = (
    Zone("US", "NY", "USD", (("CDEV.STAX.1", "Sales tax", Decimal("8.875"), False, True),)),
    Zone("US", "CA", "USD", (("CDEV.STAX.1", "Sales tax", Decimal("7.25"), False, False),)),
    Zone("US", "WA", "USD", (("CDEV.STAX.1", "Sales tax", Decimal("9.5"), False, False),)),
    Zone("US", "WI", "USD", (("CDEV.STAX.1", "Sales tax", Decimal("5"), False, True),)),
    Zone("US", "OR", "USD", ()),
    Zone("DE", "BE", "EUR", (("CDEV.STAX.2", "VAT", Decimal("19"), True, True),)),
    Zone("FR", "", "EUR", (("CDEV.STAX.2", "VAT", Decimal("20"), True, True),)),
    Zone("GB", "", "GBP", (("CDEV.STAX.2", "VAT", Decimal("20"), True, False),)),
    Zone("CA", "BC", "CAD", (("CDEV.STAX.3", "GST", Decimal("5"), False, True),
                             ("CDEV.STAX.4", "PST", Decimal("7"), False, False))),
    Zone("JP", "13", "JPY", (("CDEV.STAX.5", "Consumption tax", Decimal("10"), False, True),)),
    Zone("KW", "", "KWD", ()),
)
NAMES = [("María", "García"), ("Zoë", "Lefèvre"), ("Jürgen", "Müller"), ("Søren", "Kierkegaard"),
         ("Łukasz", "Wróbel"), ("美咲", "佐藤"), ("John", "O'Brien"), ("Ana", "Gonçalves")]
PRICES_USD = ["0.333", "4.1667", "19.9900", "12", "48.50", "1.005", "99.99", "7.125", "0.0833", "249"]
SCALE = {"USD": Decimal(1), "EUR": Decimal("0.92"), "GBP": Decimal("0.79"), "CAD": Decimal("1.37"),
         "JPY": Decimal(150), "KWD": Decimal("0.307")}
EPOCH = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def round_to(value: Decimal, currency: str) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-PLACES[currency]), rounding=ROUND_HALF_UP)


@dataclass
class CorpusOrder:
    order_number: str
    order_id: int
    currency: str
    total: Decimal
    tax: Decimal  # what X-Cart collected as tax, included or excluded
    collected: Decimal
    events: list[bytes] = field(default_factory=list)  # the webhook bodies, exactly as sent
    shape: str = ""
    rates: dict[str, Decimal] = field(default_factory=dict)  # tax code -> the zone's rate

    @property
    def outstanding(self) -> Decimal:
        return self.total - self.collected


class _Wire:
    """Writes a document with each Decimal in a chosen X-Cart form, digit for digit."""

    MARK = re.compile(r'"\\u0000(.*?)\\u0000"')

    def __init__(self, rng: random.Random, money_form: str):
        self.rng = rng
        self.form = money_form  # "string4" | "number" | "float" | "mixed"

    def money(self, value: Decimal) -> object:
        form = self.form if self.form != "mixed" else self.rng.choice(["string4", "number", "float"])
        if form == "string4":
            return str(value.quantize(Decimal("0.0001")))
        if form == "float":
            text = format(value.normalize(), "f")
            return _raw(text if "." in text else text + ".0")
        return _raw(format(value, "f"))

    def dumps(self, document: dict) -> bytes:
        text = json.dumps(document, ensure_ascii=self.rng.random() < 0.5)
        return self.MARK.sub(r"\1", text).encode("utf-8")


def _raw(text: str) -> str:
    return f"\u0000{text}\u0000"


class Corpus:
    def __init__(self, seed: int = 2026):
        self.rng = random.Random(seed)
        self.next_id = 7000

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    def orders(self, count: int) -> list[CorpusOrder]:
        return [self.order(n) for n in range(count)]

    def order(self, n: int, *, zone: Zone | None = None, prices: list[str] | None = None, lines: int | None = None,
              payment: str | None = None, coupon: str | None = None, volume: bool | None = None,
              shipping: Decimal | None = None, guest: bool | None = None, money_form: str | None = None) -> CorpusOrder:
        rng = self.rng
        zone = zone or rng.choice(ZONES)
        currency = zone.currency
        wire = _Wire(rng, money_form or rng.choice(["string4", "number", "float", "mixed"]))
        count = lines if lines is not None else rng.choice([1, 1, 2, 3, 4, 6, 60] if n % 7 == 6 else [1, 2, 3, 4])
        items, sub_total = [], Decimal(0)
        for i in range(count):
            price_usd = Decimal(prices[i % len(prices)] if prices else rng.choice(PRICES_USD))
            price = (price_usd * SCALE[currency]).quantize(Decimal("0.0001"))
            if PLACES[currency] == 0:
                price = price.quantize(Decimal(1))
            qty = rng.randint(1, 12)
            subtotal = round_to(price * qty, currency)
            sub_total += subtotal
            items.append({"id": self._id(), "product_id": self._id(), "sku": f"SKU-{i}-{price_usd}", "name":
                          f"Artikel Nº{i} «{price_usd}»", "price": wire.money(price), "item_net_price":
                          wire.money(price), "discounted_subtotal": wire.money(subtotal), "amount": qty,
                          "surcharges": []})
        surcharges, coupons = [], []
        discounts = Decimal(0)
        if volume if volume is not None else rng.random() < 0.3:
            value = -round_to(sub_total * Decimal("0.05"), currency)
            discounts += value
            surcharges.append(self._surcharge(wire, "discount", "DISCOUNT", "Volume discount", value))
        kind = coupon if coupon is not None else rng.choice(["percent", "fixed", "", ""])
        if kind:
            remaining = sub_total + discounts
            if kind == "percent":
                value, coupon_value, coupon_type = -round_to(remaining * Decimal(15) / 100, currency), "15", "%"
            else:
                fixed = round_to(Decimal(5) * SCALE[currency], currency)
                value, coupon_value, coupon_type = -min(fixed, remaining), str(fixed), "$"
            discounts += value
            code = rng.choice(["WELCOME", "BLACKFRIDAY", "ÉTÉ"]) + str(n)
            coupons.append({"id": self._id(), "code": code, "value": wire.money(Decimal(coupon_value)),
                            "type": coupon_type, "coupon_id": self._id()})
            surcharges.append(self._surcharge(wire, "discount", "DCOUPON", "Coupon discount", value))
        ship = shipping if shipping is not None else round_to(
            rng.choice([Decimal("7.25"), Decimal("5.99"), Decimal(0)]) * SCALE[currency], currency)
        if ship:
            surcharges.insert(0, self._surcharge(wire, "shipping", "SHIPPING", "Shipping cost", ship))
        discounted = sub_total + discounts
        tax_total = excluded = Decimal(0)
        for code, name, rate, included, taxes_shipping in zone.taxes:
            base = discounted + (ship if taxes_shipping else 0)
            amount = round_to(base * rate / (100 + rate) if included else base * rate / 100, currency)
            tax_total += amount
            excluded += 0 if included else amount
            surcharges.append(self._surcharge(wire, "tax", code, name, amount, include=included))
        total = sub_total + ship + discounts + excluded
        made = self._emit(n, zone, wire, items, surcharges, coupons, sub_total, total, tax_total,
                          payment or rng.choice(["P", "P", "PP", "Q", "A"]), guest)
        made.rates = {code: rate for code, _, rate, _, _ in zone.taxes}
        return made

    def _surcharge(self, wire: _Wire, kind: str, code: str, name: str, value: Decimal, include: bool = False) -> dict:
        return {"type": kind, "code": code, "class": f"XLite\\Logic\\Order\\Modifier\\{kind.title()}",
                "include": include, "available": True, "value": wire.money(value), "name": name, "weight": 100}

    def _emit(self, n, zone, wire, items, surcharges, coupons, sub_total, total, tax, payment, guest) -> CorpusOrder:
        rng = self.rng
        order_id, number = self._id(), f"{100000 + n}"
        placed = EPOCH + timedelta(minutes=17 * n)
        first, last = rng.choice(NAMES)
        guest = guest if guest is not None else rng.random() < 0.25
        address = {"firstname": first, "lastname": last, "phone": rng.choice(["+49 30 1234567", "", None]),
                   "street": f"{rng.randint(1, 99)} Straße der Einheit", "city": "Zürich", "zipcode": "8001",
                   "country_code": zone.country, "state": zone.state or None, "state_name": None,
                   "custom_fields": rng.choice([[], [], {"company": "Ørsted & Søn"}])}
        statuses = {"P": (4, "Paid"), "PP": (6, "Partially paid"), "Q": (1, "Awaiting payment"),
                    "A": (2, "Authorized")}
        status_id, status_name = statuses[payment]
        order = {
            "id": order_id, "order_number": number, "create_date": placed.strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "update_date": placed.strftime("%Y-%m-%dT%H:%M:%S+0000"), "total": wire.money(total),
            "sub_total": wire.money(sub_total), "currency": zone.currency,
            "email": f"{first.lower()}.{n}@example.org" if first.isascii() else f"kunde{n}@example.org",
            "customer_id": None if guest else self._id(), "order_profile_id": self._id(),
            "payment_status": {"id": status_id, "code": payment, "name": status_name, "customer_name": status_name},
            "shipping_status": {"id": 1, "code": "N", "name": "New", "customer_name": "Awaiting shipping"},
            "shipping_method_name": rng.choice(["UPS Ground", None, "Abholung"]),
            "notes": rng.choice([None, "", "Bitte klingeln"]),
            "billing_address": address, "shipping_address": rng.choice([address, None]),
            "surcharges": surcharges, "items": items, "used_coupons": coupons, "tracking_numbers": [],
            "xpayments_card": rng.choice([[], {"last4": "4242"}]),
        }
        if payment == "P":
            collected = total
        elif payment == "PP":
            collected = round_to(total * Decimal(rng.choice(["0.3", "0.5"])), zone.currency)
        else:
            collected = Decimal(0)
        result = CorpusOrder(number, order_id, zone.currency, total, tax, collected,
                             shape=f"{zone.country}/{zone.state} {zone.currency} {len(items)} lines {wire.form}")
        result.events.append(self._envelope(wire, f"evt-order-{number}", "order.created", placed, order))
        if collected:
            transaction = {"transaction_id": self._id(), "order_id": order_id, "order_number": number,
                           "date": (placed + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%S+0000"),
                           "status": "S", "type": "sale", "value": wire.money(collected), "currency": zone.currency,
                           "method_name": rng.choice(["Credit Card", "PayPal", None]), "note": None,
                           "public_id": f"TX{order_id}"}
            result.events.append(self._envelope(wire, f"evt-payment-{number}", "payment.created",
                                                placed + timedelta(minutes=2), transaction))
        return result

    @staticmethod
    def _envelope(wire: _Wire, event_id: str, kind: str, when: datetime, data: dict) -> bytes:
        return wire.dumps({"id": event_id, "type": kind, "created_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                           "store": "corpus-store", "data": data})
