"""A seeded, realistic X-Cart store: customers, products and orders in the 5.5 API output shape.

Orders add up the way X-Cart adds them up. Prices are decimal(14,4) (some unit prices carry sub-cent
digits, e.g. 0.333); each line's subtotal is price x quantity rounded to the currency's places, and
sub_total is the sum of the lines. Discounts (volume discount, percentage or fixed coupons) are negative
surcharges. A tax is one X-Cart tax (one surcharge code) whose rate depends on the zone: the Sales Tax
module's `CDEV.STAX.1` is 8.875 % in one zone, 7.25 % in another, and taxes shipping in some zones only;
its value is rate x (discounted sub_total [+ shipping]), rounded once. EU VAT is included in the prices:
its value, gross base x rate / (100 + rate), is reported and not added. total = sub_total + shipping +
discounts + excluded taxes.

Everything is sent in the forms real X-Cart versions send: money as JSON strings (`"19.9900"`) or
numbers (`12.5`, `1500.0`), PHP's `[]` for an empty map, `null` for an absent value, non-ASCII names.
The zone applied to each order is kept beside it (`zone_of`), never in the payload.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from mappings.money import currency_places

FIRST = ["John", "Jon", "Anna", "Ana", "Maria", "Mario", "Li", "Lee", "Sofia", "Sophia", "Omar", "Yuki", "Ines",
         "Zoë", "José", "Łukasz", "Søren", "François", "Ayşe"]
LAST = ["Smith", "Smyth", "Garcia", "Nguyen", "Müller", "Mueller", "Tanaka", "O'Brien", "Kowalski", "Dubois",
        "Núñez", "Çelik", "山田"]
CITIES = [("US", "NY", "New York", "10001"), ("US", "MA", "Boston", "02101"), ("CA", "ON", "Toronto", "M5H 2N2"),
          ("GB", "", "London", "SW1A 1AA"), ("DE", "BE", "Berlin", "10115"), ("JP", "13", "Tokyo", "100-0001"),
          ("FR", "", "Paris", "75001"), ("AU", "NSW", "Sydney", "2000")]
PRODUCTS = ["Coffee Mug", "Tea Kettle", "Crème Brûlée Set", "Espresso Cup", "French Press", "Matcha 抹茶",
            "Grinder", "Milk Frother", "Tote Bag", "Notebook", "Desk Lamp", "Water Bottle", "Hoodie", "T-Shirt",
            "Cap", "Sticker Pack", "Poster"]
SHIPPING = [("UPS Ground", Decimal("5.99")), ("FedEx 2Day", Decimal("12.50")), ("Local Pickup", Decimal(0))]
PAYMENT_STATUSES = [("P", 4, "Paid")] * 5 + [("Q", 1, "Awaiting payment")] * 2 + [
    ("PP", 6, "Partially paid"), ("A", 2, "Authorized"), ("C", 7, "Cancelled"), ("D", 3, "Declined"),
    ("R", 8, "Refunded")]
SHIPPING_STATUSES = [("N", 1, "New"), ("P", 2, "Processing"), ("S", 3, "Shipped"), ("D", 4, "Delivered")]


@dataclass(frozen=True)
class Tax:
    """One zone's rate of an X-Cart tax."""

    code: str
    name: str
    percent: Decimal
    included: bool = False  # in the prices (VAT): reported, not added to the total
    on_shipping: bool = False  # the zone taxes shipping too


# A fixed-rate tax per code, as (surcharge code, name, percent, included in prices): shipping untaxed.
TAXES = [None, None, ("CDEV.STAX.1", "Sales tax", Decimal("8.875"), False),
         ("CDEV.STAX.2", "VAT", Decimal("20"), False), ("CDEV.STAX.3", "GST", Decimal("5"), False),
         ("CDEV.STAX.2", "VAT", Decimal("20"), True), ("CDEV.STAX.9", "County tax", Decimal("7"), False)]
# The zones an order falls in: one Sales Tax code with several rates, shipping taxed in some zones only.
ZONES = [None, None,
         Tax("CDEV.STAX.1", "Sales tax", Decimal("8.875"), on_shipping=True),  # New York
         Tax("CDEV.STAX.1", "Sales tax", Decimal("7.25")),  # California
         Tax("CDEV.STAX.1", "Sales tax", Decimal("5")),
         Tax("CDEV.STAX.1", "Sales tax", Decimal("9.5"), on_shipping=True),
         Tax("CDEV.STAX.2", "VAT", Decimal("20"), included=True, on_shipping=True),
         Tax("CDEV.STAX.2", "VAT", Decimal("20"), included=True),
         Tax("CDEV.STAX.3", "GST", Decimal("5")),
         Tax("CDEV.STAX.9", "County tax", Decimal("7"))]
# Factor from a USD price to a price in the currency
CURRENCY_SCALE = {"USD": Decimal(1), "EUR": Decimal("0.92"), "GBP": Decimal("0.79"), "JPY": Decimal(150),
                  "CAD": Decimal("1.37"), "KWD": Decimal("0.307")}
SUB_CENT_PRICES = [Decimal("0.333"), Decimal("4.1667"), Decimal("1.2345"), Decimal("19.9950"), Decimal("0.0833")]
FOUR_PLACES = Decimal("0.0001")
EPOCH = datetime(2026, 11, 1, tzinfo=UTC)


def money(value: Decimal, currency: str) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-currency_places(currency)), rounding=ROUND_HALF_UP)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")  # X-Cart writes +0000, no colon


def as_tax(tax) -> Tax | None:
    """A Tax from a Tax, a TAXES tuple (code, name, percent, included[, on_shipping]) or None."""
    if tax is None or isinstance(tax, Tax):
        return tax
    return Tax(*tax)


@dataclass
class OrderOptions:
    currency: str | None = None
    tax: Tax | tuple | None | bool = True  # True: a zone at random; a Tax or a TAXES tuple: that one
    coupon: str | None | bool = True  # "percent", "fixed", None, or True for random
    volume_discount: bool | None = None
    sub_cent_prices: bool = True  # False: every unit price rounded to the currency's places


@dataclass(frozen=True)
class Figures:
    """An order's arithmetic, as X-Cart does it."""

    line_subtotals: tuple[Decimal, ...]
    discounted_subtotals: tuple[Decimal, ...]
    sub_total: Decimal
    tax: Decimal | None
    total: Decimal


def figures(lines: list[tuple[Decimal, int]], discounts: list[Decimal], shipping: Decimal, tax: Tax | None,
            currency: str) -> Figures:
    """`lines` are (unit price, quantity); `discounts` negative amounts."""
    subtotals = tuple(money(price * quantity, currency) for price, quantity in lines)
    sub_total = sum(subtotals, Decimal(0))
    discounted = sub_total + sum(discounts, Decimal(0))
    shares = _shares(subtotals, discounted, currency)
    tax_value = None
    if tax is not None:
        base = discounted + (shipping if tax.on_shipping else 0)
        tax_value = money(base * tax.percent / (100 + tax.percent) if tax.included else base * tax.percent / 100,
                          currency)
    total = discounted + shipping + (tax_value if tax_value is not None and not tax.included else 0)
    return Figures(subtotals, shares, sub_total, tax_value, total)


def _shares(subtotals: tuple[Decimal, ...], discounted: Decimal, currency: str) -> tuple[Decimal, ...]:
    """Each line's part of the discounted sub_total (X-Cart's discounted_subtotal), adding up exactly."""
    whole = sum(subtotals, Decimal(0))
    if not whole:
        return subtotals
    shares = [money(s * discounted / whole, currency) for s in subtotals[:-1]]
    return (*shares, discounted - sum(shares, Decimal(0)))


class StoreGenerator:
    def __init__(self, seed: int = 1, currency: str = "USD"):
        self.rng = random.Random(seed)
        self.currency = currency
        self._next_id = 100
        self._zones: dict[int, Tax | None] = {}
        # Ground truth for tests, never in a payload: login -> the person's first login (a near-duplicate
        # customer is the same person under another email).
        self.person_of: dict[str, str] = {}

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def zone_of(self, order_id: int) -> Tax | None:
        """The tax zone this generator applied to an order (ground truth for tests; not in the payload)."""
        return self._zones[order_id]

    # -- customers ----------------------------------------------------------------------------------------

    def customers(self, count: int) -> list[dict]:
        """Profiles with one to three addresses; one in five is a near-duplicate of an earlier customer."""
        made: list[dict] = []
        for _ in range(count):
            if made and self.rng.random() < 0.2:
                original = self.rng.choice(made)
                made.append(self._near_duplicate(original))
                self.person_of[made[-1]["login"].lower()] = self.person(original["login"])
            else:
                first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
                login = f"{_ascii(first)}.{_ascii(last)}{self.rng.randint(1, 999)}@example.com".lower()
                made.append(self._profile(first, last, login))
        return made

    def person(self, email: str) -> str:
        """Who an email belongs to (ground truth): its first login for a near-duplicate customer, else itself."""
        return self.person_of.get(email.strip().lower(), email.strip().lower())

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
        local, _, domain = login.partition("@")
        variants = [login.upper(), f"{local.replace('.', '', 1)}@{domain}", f"{local}+shop@{domain}"]
        first = address["firstname"]
        if self.rng.random() < 0.5:  # a typo in the first name: "Jon" for "John"
            first = first[:-1] if len(first) > 3 else first + "n"
        profile = self._profile(first, address["lastname"], self.rng.choice(variants))
        if self.rng.random() < 0.5:  # still living at the same place, with the same phone
            kept = profile["addresses"][0]
            kept.update({k: address[k] for k in ("phone", "street", "city", "zipcode", "country_code", "state")})
        return profile

    def _address(self, first: str, last: str, billing: bool, shipping: bool) -> dict:
        rng = self.rng
        country, state, city, zipcode = rng.choice(CITIES)
        street = f"{rng.randint(1, 999)} {rng.choice(['Main St', 'High St', 'Elm Ave', 'Rue Cler', 'Königstraße'])}"
        if rng.random() < 0.2:
            street += f"\nApt {rng.randint(1, 40)}"
        # PHP's empty array for an address without custom fields; a company for some
        custom_fields = {"company": f"{last} {rng.choice(['GmbH', 'LLC', 'SARL'])}"} if rng.random() < 0.15 else []
        return {"address_id": self.new_id(), "firstname": first, "lastname": last,
                "phone": _phone(country, state, rng.randint(1000, 9999)) if rng.random() < 0.9 else None,
                "street": street, "city": city, "zipcode": zipcode, "country_code": country, "state": state,
                "state_name": rng.choice(["", None]), "custom_fields": custom_fields, "is_billing": billing,
                "is_shipping": shipping}

    # -- products -----------------------------------------------------------------------------------------

    def products(self, count: int) -> list[dict]:
        """A catalogue in USD; one product in four is priced to 4 decimals (X-Cart's decimal(14,4))."""
        made = []
        for n in range(count):
            name = PRODUCTS[n % len(PRODUCTS)] + ("" if n < len(PRODUCTS) else f" {n // len(PRODUCTS) + 1}")
            if self.rng.random() < 0.25:
                price = self.rng.choice(SUB_CENT_PRICES)
            else:
                price = Decimal(self.rng.randint(299, 12999)) / 100
            made.append({"product_id": self.new_id(), "sku": f"SKU-{1000 + n}", "name": name,
                         "price": _money_text(price, self.rng), "amount": self.rng.randint(0, 500), "enabled": True,
                         "description": f"{name}, from the simulated store", "updateDate": iso(EPOCH)})
        return made

    # -- orders -------------------------------------------------------------------------------------------

    def order(self, number: int, customer: dict | None, products: list[dict], placed: datetime,
              options: OrderOptions | None = None) -> dict:
        options = options or OrderOptions()
        rng = self.rng
        currency = options.currency or (self.currency if rng.random() < 0.8 else rng.choice(list(CURRENCY_SCALE)))
        items = []
        for product in rng.sample(products, k=min(len(products), rng.randint(1, 4))):
            price = self._price(Decimal(str(product["price"])), currency, options.sub_cent_prices)
            items.append({"item_id": self.new_id(), "product_id": product["product_id"], "sku": product["sku"],
                          "name": product["name"], "price": price, "item_net_price": price,
                          "amount": rng.randint(1, 4), "surcharges": []})
        sub_total = figures([(i["price"], i["amount"]) for i in items], [], Decimal(0), None, currency).sub_total
        surcharges, coupons = self._discounts(sub_total, currency, options)
        method, shipping_usd = rng.choice(SHIPPING)
        if shipping_usd:
            surcharges.insert(0, {"type": "shipping", "code": "SHIPPING", "class": "XLite\\Logic\\Order\\Modifier\\"
                                  "Shipping", "include": False, "available": True, "name": "Shipping cost",
                                  "value": money(shipping_usd * CURRENCY_SCALE[currency], currency), "weight": 100})
        tax = as_tax(rng.choice(ZONES) if options.tax is True else options.tax or None)
        if tax:
            surcharges.append({"type": "tax", "code": tax.code, "class": "CDEV\\SalesTax\\Logic\\Order\\Modifier\\Tax",
                               "include": tax.included, "available": True, "name": tax.name, "value": None,
                               "weight": 1000})
        payment = rng.choice(PAYMENT_STATUSES)
        fulfilment = rng.choice(SHIPPING_STATUSES)
        # A guest checks out under their own name, as at a real store, not one name shared by every guest (taken
        # from the order number, so that the seeded sequence of everything else stays as it was)
        guest = (FIRST[number % len(FIRST)], LAST[number * 7 % len(LAST)])
        addresses = customer["addresses"] if customer else [self._address(*guest, True, True)]
        billing = next(a for a in addresses if a["is_billing"]) if any(a["is_billing"] for a in addresses) \
            else addresses[0]
        shipping = next((a for a in addresses if a["is_shipping"]), billing)
        order_id = self.new_id()
        self._zones[order_id] = tax
        order = {
            "id": order_id, "order_number": str(number), "create_date": iso(placed), "update_date": iso(placed),
            "total": None, "sub_total": None, "currency": currency,
            "email": customer["login"] if customer else f"guest{number}@example.net",
            "customer_id": customer["profile_id"] if customer else None, "order_profile_id": self.new_id(),
            "payment_status": {"id": payment[1], "code": payment[0], "name": payment[2], "customer_name": payment[2]},
            "shipping_status": {"id": fulfilment[1], "code": fulfilment[0], "name": fulfilment[2],
                                "customer_name": fulfilment[2]},
            "shipping_method_name": method if shipping_usd or rng.random() < 0.5 else None,
            "notes": rng.choice(["", None, None, "Leave at the door", "Gift wrap, please", "Bitte klingeln ☺"]),
            "billing_address": _order_address(billing), "shipping_address": _order_address(shipping),
            "surcharges": surcharges, "items": items, "used_coupons": coupons, "tracking_numbers": [],
        }
        return _as_sent(_recomputed(order, tax), rng)

    def _price(self, usd: Decimal, currency: str, sub_cent: bool) -> Decimal:
        """The unit price in the currency: decimal(14,4) when the catalogue price has sub-cent digits."""
        price = usd * CURRENCY_SCALE[currency]
        if sub_cent and currency_places(currency) >= 2 and usd != money(usd, "USD"):
            return price.quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)
        return money(price, currency)

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
                "date": iso(when), "status": "S", "type": kind,
                "value": _money_as(value, self.rng.choice(MONEY_FORMS), self.rng), "currency": order["currency"],
                "method_name": self.rng.choice(["Credit Card", "PayPal", "Bank Transfer"]),
                "note": self.rng.choice(["", None]), "public_id": f"TX{self.rng.randint(10**7, 10**8 - 1)}"}

    def edit(self, order: dict, when: datetime) -> dict:
        """An edit after placement: one item's quantity goes up by one; the figures are recomputed with the
        order's own tax zone, discounts and shipping kept."""
        edited = {**order, "items": [dict(i) for i in order["items"]],
                  "surcharges": [dict(s) for s in order["surcharges"]]}
        item = self.rng.choice(edited["items"])
        item["amount"] = int(Decimal(str(item["amount"]))) + 1
        edited["update_date"] = iso(when)
        if edited["payment_status"]["code"] == "P":  # paid before the edit: X-Cart now shows it partially paid
            edited["payment_status"] = {"id": 6, "code": "PP", "name": "Partially paid",
                                        "customer_name": "Partially paid"}
        return _as_sent(_recomputed(edited, self._zones[order["id"]]), self.rng)


def _recomputed(order: dict, tax: Tax | None) -> dict:
    """The order with its line, tax and order figures worked out from its items, discounts and shipping."""
    currency = order["currency"]
    items = [{**i, "price": _decimal(i["price"])} for i in order["items"]]
    surcharges = [{**s, "value": None if s["type"] == "tax" else _decimal(s["value"])} for s in order["surcharges"]]
    done = figures([(i["price"], int(_decimal(i["amount"]))) for i in items],
                   [s["value"] for s in surcharges if s["type"] == "discount"],
                   sum((s["value"] for s in surcharges if s["type"] == "shipping"), Decimal(0)), tax, currency)
    for item, share in zip(items, done.discounted_subtotals, strict=True):
        item["discounted_subtotal"] = share
    for surcharge in surcharges:
        if surcharge["type"] == "tax":
            surcharge["value"] = done.tax
    return {**order, "items": items, "surcharges": surcharges, "sub_total": done.sub_total, "total": done.total}


def _decimal(value) -> Decimal:
    return Decimal(str(value))


def _ascii(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().replace("'", "")
    return folded or "customer"


# How customers type their phone in each city's country: national forms mostly, valid in its numbering plan.
PHONES = {("US", "NY"): "(212) 555-{n}", ("US", "MA"): "+1 617-555-{n}", ("CA", "ON"): "416 555 {n}",
          ("GB", ""): "020 7946 {n}", ("DE", "BE"): "030 1234{n}", ("JP", "13"): "03-1234-{n}",
          ("FR", ""): "+33 1 42 68 {n2} {n3}", ("AU", "NSW"): "02 9876 {n}"}


def _phone(country: str, state: str, digits: int) -> str:
    text = str(digits)
    return PHONES[(country, state)].format(n=text, n2=text[:2], n3=text[2:])


def _order_address(address: dict) -> dict:
    keys = ("firstname", "lastname", "phone", "street", "city", "zipcode", "country_code", "state", "state_name",
            "custom_fields")
    return {k: address[k] for k in keys}


def _money_text(value: Decimal, rng: random.Random) -> str:
    """A price as X-Cart writes it in a string: as stored (`"19.9900"`) or trimmed (`"19.99"`)."""
    return str(value.quantize(FOUR_PLACES)) if rng.random() < 0.5 else str(value)


def _php_float(value: Decimal) -> Decimal:
    """The digits PHP's json_encode writes for a float: `12.5` for 12.50, `1500.0` for 1500 (as a JSON
    number; the service reads it back with parse_float=Decimal)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal("0.1"))
    return value.normalize()


MONEY_FORMS = ["string", "string", "number", "float"]


def _money_as(value, form: str, rng: random.Random) -> str | Decimal:
    """Money as one X-Cart version sends it: strings (`"19.9900"` or `"19.99"`), exact JSON numbers, or PHP
    floats (`12.5`, `1500.0`)."""
    value = _decimal(value)
    if form == "string":
        return _money_text(value, rng)
    return _php_float(value) if form == "float" else value


def _as_sent(order: dict, rng: random.Random) -> dict:
    """The order's money in one form throughout, as one X-Cart version sends it."""
    form = rng.choice(MONEY_FORMS)

    def out(value):
        return _money_as(value, form, rng)

    order = dict(order)
    order["total"], order["sub_total"] = out(order["total"]), out(order["sub_total"])
    order["items"] = [{**i, **{k: out(i[k]) for k in ("price", "item_net_price", "discounted_subtotal") if k in i}}
                      for i in order["items"]]
    order["surcharges"] = [{**s, "value": out(s["value"])} for s in order["surcharges"]]
    order["used_coupons"] = [{**c, "value": out(c["value"])} for c in order["used_coupons"]]
    return order
