"""A seeded, realistic X-Cart store: customers, products and orders in the 5.5 API output shape.

Orders add up the way X-Cart adds them up: sub_total is the sum of the items; discounts (volume discount,
percentage or fixed coupons) are negative surcharges; an excluded tax is a percentage of the discounted
sub_total; an included tax (VAT in the prices) is reported but not added; total = sub_total + shipping +
discounts + excluded taxes. Amounts are strings or numbers at random, as different X-Cart versions send.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from apis.freshbooks.invoice_math import currency_places

FIRST = ["John", "Jon", "Anna", "Ana", "Maria", "Mario", "Li", "Lee", "Sofia", "Sophia", "Omar", "Yuki", "Ines"]
LAST = ["Smith", "Smyth", "Garcia", "Nguyen", "Müller", "Mueller", "Tanaka", "O'Brien", "Kowalski", "Dubois"]
CITIES = [("US", "NY", "New York", "10001"), ("US", "MA", "Boston", "02101"), ("CA", "ON", "Toronto", "M5H 2N2"),
          ("GB", "", "London", "SW1A 1AA"), ("DE", "BE", "Berlin", "10115"), ("JP", "13", "Tokyo", "100-0001"),
          ("FR", "", "Paris", "75001"), ("AU", "NSW", "Sydney", "2000")]
PRODUCTS = ["Coffee Mug", "Tea Kettle", "Espresso Cup", "French Press", "Grinder", "Milk Frother", "Tote Bag",
            "Notebook", "Desk Lamp", "Water Bottle", "Hoodie", "T-Shirt", "Cap", "Sticker Pack", "Poster"]
SHIPPING = [("UPS Ground", Decimal("5.99")), ("FedEx 2Day", Decimal("12.50")), ("Local Pickup", Decimal(0))]
PAYMENT_STATUSES = [("P", 4, "Paid")] * 5 + [("Q", 1, "Awaiting payment")] * 2 + [
    ("PP", 6, "Partially paid"), ("A", 2, "Authorized"), ("C", 7, "Cancelled"), ("D", 3, "Declined"),
    ("R", 8, "Refunded")]
SHIPPING_STATUSES = [("N", 1, "New"), ("P", 2, "Processing"), ("S", 3, "Shipped"), ("D", 4, "Delivered")]
# (surcharge code, name, percent, included in prices)
TAXES = [None, None, ("CDEV.STAX.1", "Sales tax", Decimal("8.875"), False),
         ("CDEV.STAX.2", "VAT", Decimal("20"), False), ("CDEV.STAX.3", "GST", Decimal("5"), False),
         ("CDEV.STAX.2", "VAT", Decimal("20"), True), ("CDEV.STAX.9", "County tax", Decimal("7"), False)]
# Factor from a USD price to a price in the currency, rounded to its places
CURRENCY_SCALE = {"USD": Decimal(1), "EUR": Decimal("0.92"), "GBP": Decimal("0.79"), "JPY": Decimal(150),
                  "CAD": Decimal("1.37"), "KWD": Decimal("0.307")}
EPOCH = datetime(2026, 11, 1, tzinfo=UTC)


def money(value: Decimal, currency: str) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-currency_places(currency)), rounding=ROUND_HALF_UP)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")  # X-Cart writes +0000, no colon


@dataclass
class OrderOptions:
    currency: str | None = None
    tax: tuple | None | bool = True  # True: pick at random
    coupon: str | None | bool = True  # "percent", "fixed", None, or True for random
    volume_discount: bool | None = None


class StoreGenerator:
    def __init__(self, seed: int = 1, currency: str = "USD"):
        self.rng = random.Random(seed)
        self.currency = currency
        self._next_id = 100

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    # -- customers ----------------------------------------------------------------------------------------

    def customers(self, count: int) -> list[dict]:
        """Profiles with one to three addresses; one in five is a near-duplicate of an earlier customer."""
        made: list[dict] = []
        for _ in range(count):
            if made and self.rng.random() < 0.2:
                made.append(self._near_duplicate(self.rng.choice(made)))
            else:
                first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
                login = f"{first}.{last}{self.rng.randint(1, 999)}@example.com".lower().replace("'", "")
                made.append(self._profile(first, last, login))
        return made

    def _profile(self, first: str, last: str, login: str) -> dict:
        profile_id = self.new_id()
        addresses = [self._address(first, last, billing=(i == 0), shipping=(i == self.rng.randint(0, 1)))
                     for i in range(self.rng.choice([1, 1, 2, 3]))]
        if not any(a["is_shipping"] for a in addresses):
            addresses[0]["is_shipping"] = True
        added = EPOCH - timedelta(days=self.rng.randint(1, 400))
        return {"profile_id": profile_id, "login": login, "status": "E", "added": iso(added), "updated": iso(added),
                "addresses": addresses}

    def _near_duplicate(self, original: dict) -> dict:
        address = original["addresses"][0]
        login = original["login"]
        variants = [login.upper(), login.replace(".", "", 1), login.replace("@", "+shop@")]
        first = address["firstname"]
        if self.rng.random() < 0.5:  # a typo in the first name: "Jon" for "John"
            first = first[:-1] if len(first) > 3 else first + "n"
        return self._profile(first, address["lastname"], self.rng.choice(variants))

    def _address(self, first: str, last: str, billing: bool, shipping: bool) -> dict:
        country, state, city, zipcode = self.rng.choice(CITIES)
        street = f"{self.rng.randint(1, 999)} {self.rng.choice(['Main St', 'High St', 'Elm Ave', 'Rue Cler'])}"
        if self.rng.random() < 0.2:
            street += f"\nApt {self.rng.randint(1, 40)}"
        return {"address_id": self.new_id(), "firstname": first, "lastname": last,
                "phone": f"+1-555-{self.rng.randint(1000, 9999)}", "street": street, "city": city,
                "zipcode": zipcode, "country_code": country, "state": state, "state_name": "",
                "custom_fields": {}, "is_billing": billing, "is_shipping": shipping}

    # -- products -----------------------------------------------------------------------------------------

    def products(self, count: int) -> list[dict]:
        made = []
        for n in range(count):
            name = PRODUCTS[n % len(PRODUCTS)] + ("" if n < len(PRODUCTS) else f" {n // len(PRODUCTS) + 1}")
            price = Decimal(self.rng.randint(299, 12999)) / 100
            made.append({"product_id": self.new_id(), "sku": f"SKU-{1000 + n}", "name": name,
                         "price": str(price), "amount": self.rng.randint(0, 500), "enabled": True,
                         "description": f"{name}, from the simulated store", "updateDate": iso(EPOCH)})
        return made

    # -- orders -------------------------------------------------------------------------------------------

    def order(self, number: int, customer: dict | None, products: list[dict], placed: datetime,
              options: OrderOptions | None = None) -> dict:
        options = options or OrderOptions()
        rng = self.rng
        currency = options.currency or (self.currency if rng.random() < 0.8 else rng.choice(list(CURRENCY_SCALE)))
        scale = CURRENCY_SCALE[currency]
        items = []
        for product in rng.sample(products, k=min(len(products), rng.randint(1, 4))):
            price = money(Decimal(product["price"]) * scale, currency)
            items.append({"item_id": self.new_id(), "product_id": product["product_id"], "sku": product["sku"],
                          "name": product["name"], "price": price, "amount": rng.randint(1, 4), "surcharges": []})
        sub_total = sum((i["price"] * i["amount"] for i in items), Decimal(0))
        surcharges, coupons = self._discounts(sub_total, currency, options)
        discounted = sub_total + sum((s["value"] for s in surcharges), Decimal(0))
        method, shipping_usd = rng.choice(SHIPPING)
        if shipping_usd:
            surcharges.insert(0, {"type": "shipping", "code": "SHIPPING", "class": "XLite\\Logic\\Order\\Modifier\\"
                                  "Shipping", "include": False, "available": True, "name": "Shipping cost",
                                  "value": money(shipping_usd * scale, currency), "weight": 100})
        tax = rng.choice(TAXES) if options.tax is True else options.tax
        if tax:
            code, name, percent, included = tax
            base = discounted * percent / (100 + percent) if included else discounted * percent / 100
            surcharges.append({"type": "tax", "code": code, "class": "CDEV\\SalesTax\\Logic\\Order\\Modifier\\Tax",
                               "include": included, "available": True, "name": name,
                               "value": money(base, currency), "weight": 1000})
        total = sub_total + sum((s["value"] for s in surcharges if not s["include"]), Decimal(0))
        payment = rng.choice(PAYMENT_STATUSES)
        fulfilment = rng.choice(SHIPPING_STATUSES)
        addresses = customer["addresses"] if customer else [self._address("Guest", "Buyer", True, True)]
        billing = next(a for a in addresses if a["is_billing"]) if any(a["is_billing"] for a in addresses) \
            else addresses[0]
        shipping = next((a for a in addresses if a["is_shipping"]), billing)
        order = {
            "id": self.new_id(), "order_number": str(number), "create_date": iso(placed), "update_date": iso(placed),
            "total": total, "sub_total": sub_total, "currency": currency,
            "email": customer["login"] if customer else f"guest{number}@example.net",
            "customer_id": customer["profile_id"] if customer else None, "order_profile_id": self.new_id(),
            "payment_status": {"id": payment[1], "code": payment[0], "name": payment[2], "customer_name": payment[2]},
            "shipping_status": {"id": fulfilment[1], "code": fulfilment[0], "name": fulfilment[2],
                                "customer_name": fulfilment[2]},
            "shipping_method_name": method, "notes": rng.choice(["", "", "Leave at the door", "Gift wrap, please"]),
            "billing_address": _order_address(billing), "shipping_address": _order_address(shipping),
            "surcharges": surcharges, "items": items, "used_coupons": coupons, "tracking_numbers": [],
        }
        return _as_sent(order, rng)

    def _discounts(self, sub_total: Decimal, currency: str, options: OrderOptions) -> tuple[list, list]:
        rng = self.rng
        surcharges: list[dict] = []
        coupons: list[dict] = []
        volume = options.volume_discount if options.volume_discount is not None else rng.random() < 0.15
        if volume:
            surcharges.append({"type": "discount", "code": "DISCOUNT", "class": "CDev\\VolumeDiscounts\\Logic\\Order"
                               "\\Modifier\\Discount", "include": False, "available": True, "name": "Volume discount",
                               "value": -money(sub_total * Decimal("0.05"), currency), "weight": 50})
        kind = rng.choice(["percent", "fixed", None, None]) if options.coupon is True else options.coupon
        remaining = sub_total + sum((s["value"] for s in surcharges), Decimal(0))
        if kind:
            if kind == "percent":
                percent = Decimal(rng.choice([10, 15, 20]))
                value, coupon_value, coupon_type = money(remaining * percent / 100, currency), percent, "%"
            else:
                value = min(remaining, money(Decimal(5) * CURRENCY_SCALE[currency], currency))
                coupon_value, coupon_type = value, "$"
            code = rng.choice(["WELCOME", "SAVE", "BLACKFRIDAY", "VIP"]) + str(rng.randint(1, 99))
            coupons.append({"id": self.new_id(), "code": code, "value": coupon_value, "type": coupon_type,
                            "coupon_id": self.new_id()})
            surcharges.append({"type": "discount", "code": "DCOUPON", "class": "CDev\\Coupons\\Logic\\Order\\"
                               "Modifier\\Discount", "include": False, "available": True, "name": "Coupon discount",
                               "value": -value, "weight": 60})
        return surcharges, coupons

    def payments_for(self, order: dict, when: datetime) -> list[dict]:
        """Transactions that match the order's payment status: sale, partial sale, or sale then refund."""
        code = order["payment_status"]["code"]
        total = Decimal(str(order["total"]))
        currency = order["currency"]
        if code in ("Q", "D", "C", "A") or total == 0:
            return []
        if code == "PP":
            parts = [money(total * Decimal(self.rng.choice(["0.3", "0.5"])), currency)]
        else:
            parts = [total]
        made = [self.transaction(order, value, "sale", when) for value in parts]
        if code == "R":
            made.append(self.transaction(order, total, "refund", when + timedelta(days=2)))
        return made

    def transaction(self, order: dict, value: Decimal, kind: str, when: datetime) -> dict:
        return {"transaction_id": self.new_id(), "order_id": order["id"], "order_number": order["order_number"],
                "date": iso(when), "status": "S", "type": kind, "value": str(value), "currency": order["currency"],
                "method_name": self.rng.choice(["Credit Card", "PayPal", "Bank Transfer"]), "note": "",
                "public_id": f"TX{self.rng.randint(10**7, 10**8 - 1)}"}

    def edit(self, order: dict, when: datetime) -> dict:
        """An edit after placement: one item's quantity goes up by one; the figures are recomputed."""
        edited = {**order, "items": [dict(i) for i in order["items"]]}
        item = self.rng.choice(edited["items"])
        item["amount"] = int(item["amount"]) + 1
        price = Decimal(str(item["price"]))
        currency = edited["currency"]
        sub_total = Decimal(str(edited["sub_total"])) + price
        surcharges = [dict(s) for s in edited["surcharges"]]
        for s in surcharges:
            if s["type"] == "tax" and not s["include"]:
                # keep the tax rate: recompute on the new discounted base
                discounted = sub_total + sum((Decimal(str(d["value"])) for d in surcharges
                                              if d["type"] == "discount"), Decimal(0))
                percent = next(t[2] for t in TAXES if t and t[0] == s["code"] and not t[3])
                s["value"] = money(discounted * percent / 100, currency)
            elif s["type"] == "tax":
                s["value"] = money(Decimal(str(s["value"])) + price * 20 / 120, currency)
        total = sub_total + sum((Decimal(str(s["value"])) for s in surcharges if not s["include"]), Decimal(0))
        edited.update(sub_total=sub_total, total=total, surcharges=surcharges, update_date=iso(when))
        if edited["payment_status"]["code"] == "P":  # paid before the edit: X-Cart now shows it partially paid
            edited["payment_status"] = {"id": 6, "code": "PP", "name": "Partially paid",
                                        "customer_name": "Partially paid"}
        return _as_sent(edited, self.rng)


def _order_address(address: dict) -> dict:
    keys = ("firstname", "lastname", "phone", "street", "city", "zipcode", "country_code", "state", "state_name",
            "custom_fields")
    return {k: address[k] for k in keys}


def _as_sent(order: dict, rng: random.Random) -> dict:
    """Money as a JSON number or a string, as different X-Cart versions send it."""
    as_string = rng.random() < 0.3

    def out(value):
        return str(value) if as_string or not isinstance(value, Decimal) else value

    order = dict(order)
    order["total"], order["sub_total"] = out(Decimal(str(order["total"]))), out(Decimal(str(order["sub_total"])))
    order["items"] = [{**i, "price": out(Decimal(str(i["price"])))} for i in order["items"]]
    order["surcharges"] = [{**s, "value": out(Decimal(str(s["value"])))} for s in order["surcharges"]]
    order["used_coupons"] = [{**c, "value": out(Decimal(str(c["value"])))} for c in order["used_coupons"]]
    return order
