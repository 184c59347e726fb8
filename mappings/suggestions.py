"""Mapping suggestions (`xcfb suggest`): rules proposed from what the store and the books already hold, each
with a confidence (0-1), the evidence behind it, and whether it changes what would be booked. Pure: the X-Cart
orders, transactions and catalogue and the FreshBooks items, taxes and clients come in as data.

- statuses: each payment status the orders carry -> what the invoice becomes. X-Cart's built-in codes by their
  meaning, confirmed by what the orders' transactions collected; a custom status by its name's likeness to a
  built-in one (rapidfuzz) and its transactions.
- taxes: each tax code -> the FreshBooks name: an existing FreshBooks tax of a like name (the service names its
  taxes "<name> <rate>%"), else X-Cart's own name (cold start: created at first use), with the rates observed.
- items: each catalogue SKU -> the FreshBooks item with that SKU, else one of a like name without a SKU (an
  account with history: map to what exists instead of duplicating it), else created at first use. Not a rule:
  `--apply` binds the SKU to that item (the service then updates it, SKU included, instead of creating another).
- payment methods: each X-Cart method -> a FreshBooks payment type. Reported (the service's table decides).
- clients: an X-Cart customer whose name is a FreshBooks client's under another email. Reported.

`apply(document, suggestions, min_confidence)` adds the rules to a rules document where a person set nothing.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from rapidfuzz import fuzz, process

from mappings.anomalies import charged_taxes
from mappings.payments import PAYMENT_TYPES
from mappings.rules import Rules
from mappings.statuses import invoice_action
from mappings.xcart.entities import Order, PaymentTransaction, Product, StatusRef

DEFAULT_CONFIDENCE = 0.8
# X-Cart 5.x's built-in payment statuses (../shared/reference/xcart.md) and what each means for the invoice.
BUILT_IN_PAYMENT = {"Q": ("Awaiting payment", "sent"), "A": ("Authorized", "sent"), "PP": ("Partially paid", "sent"),
                    "P": ("Paid", "paid"), "D": ("Declined", "void"), "C": ("Cancelled", "void"),
                    "R": ("Refunded", "credit")}
BUILT_IN_FULFILMENT = {"WND": ("Will not deliver", "void")}  # the others leave the payment status to decide
# Words of a custom status's name, and the action they say.
STATUS_WORDS = {"paid": "paid", "complete": "paid", "processed": "paid", "settled": "paid", "awaiting": "sent",
                "pending": "sent", "queued": "sent", "authorized": "sent", "partially": "sent", "declined": "void",
                "cancelled": "void", "canceled": "void", "failed": "void", "void": "void", "refunded": "credit",
                "refund": "credit", "returned": "credit", "chargeback": "credit"}
FRESHBOOKS_PAYMENT_TYPES = ("Check", "Credit", "Cash", "Bank Transfer", "Credit Card", "Debit", "PayPal", "2Checkout",
                            "VISA", "MASTERCARD", "DISCOVER", "AMEX", "DINERS", "JCB", "ACH", "Other")
RATE_SUFFIX = re.compile(r"\s*\d+(?:\.\d+)?\s*%$")


@dataclass(frozen=True)
class Suggestion:
    kind: str  # status | tax | item | payment_type | client
    subject: str  # what it is about: "payment status P", "tax CDEV.STAX.1", "SKU-1004"
    proposal: str  # the rule, in words
    confidence: float
    evidence: str
    changes_booking: bool
    path: tuple[str, ...] = ()  # where it goes in the rules document; () when it is reported only
    value: object = None
    binding: tuple[str, str, int] | None = None  # (kind, X-Cart id, FreshBooks id) --apply binds, where unbound

    @property
    def applicable(self) -> bool:
        return bool(self.path)


@dataclass(frozen=True)
class StoreData:
    orders: Sequence[Order]
    transactions: Mapping[int, Sequence[PaymentTransaction]]
    products: Sequence[Product]


@dataclass(frozen=True)
class BooksData:
    items: Sequence[dict]
    taxes: Sequence[dict]
    clients: Sequence[dict]


def suggest(store: StoreData, books: BooksData, rules: Rules, document: Mapping) -> list[Suggestion]:
    """Everything worth proposing; `document` is the rules file as written (a rule set there is a person's)."""
    return [*_statuses(store, rules, document), *_taxes(store, books, rules, document), *_items(store, books),
            *_payment_types(store), *_clients(store, books)]


def _is_set(document: Mapping, path: tuple[str, ...]) -> bool:
    node = document
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


# -- statuses --------------------------------------------------------------------------------------------------

def _statuses(store: StoreData, rules: Rules, document: Mapping) -> list[Suggestion]:
    seen: dict[str, list[Order]] = defaultdict(list)
    refs: dict[str, StatusRef] = {}
    for order in store.orders:
        key = _status_key(order.payment_status)
        seen[key].append(order)
        refs[key] = order.payment_status
    made = []
    for key, orders in sorted(seen.items()):
        path = ("status", "payment", key)
        if _is_set(document, path):
            continue
        action, confidence, why = _status_action(refs[key], orders, store.transactions)
        if action is None:
            continue
        current = invoice_action(refs[key], StatusRef(None), rules)
        made.append(Suggestion("status", f"payment status {key}", f"{key} ({refs[key].name or '?'}) -> {action}",
                               confidence, f"{len(orders)} orders; {why}", current != action, path, action))
    fulfilment = Counter(o.shipping_status.code for o in store.orders if o.shipping_status.code in BUILT_IN_FULFILMENT)
    for code, count in sorted(fulfilment.items()):
        path = ("status", "fulfilment", code)
        if not _is_set(document, path):
            name, action = BUILT_IN_FULFILMENT[code]
            made.append(Suggestion("status", f"fulfilment status {code}", f"{code} ({name}) -> {action}", 0.95,
                                   f"{count} orders; X-Cart's built-in '{name}'",
                                   rules.fulfilment_status.get(code) != action, path, action))
    return made


def _status_key(status: StatusRef) -> str:
    return status.code or (str(status.id) if status.id is not None else (status.name or "?"))


def _status_action(status: StatusRef, orders: list[Order], transactions) -> tuple[str | None, float, str]:
    collected = _share_collected(orders, transactions)
    if status.code in BUILT_IN_PAYMENT:
        name, action = BUILT_IN_PAYMENT[status.code]
        agrees = {"paid": collected, "credit": _share_refunded(orders, transactions)}.get(action)
        if agrees is None:
            return action, 0.95, f"X-Cart's built-in '{name}'"
        return action, 0.85 + 0.14 * agrees, f"X-Cart's built-in '{name}'; {agrees:.0%} of them agree in transactions"
    words = re.findall(r"[a-z]+", (status.name or "").lower())
    matched = [(w, process.extractOne(w, list(STATUS_WORDS), scorer=fuzz.ratio)) for w in words]
    best = max(matched, key=lambda m: m[1][1], default=None)
    if best is None or best[1][1] < 80:
        return None, 0.0, ""
    action = STATUS_WORDS[best[1][0]]
    confidence = 0.5 + 0.3 * best[1][1] / 100 + (0.15 * collected if action == "paid" else 0)
    return action, round(confidence, 2), f"custom status named {status.name!r} ('{best[1][0]}'); " \
                                         f"{collected:.0%} of its orders collected their total"


def _share_collected(orders: list[Order], transactions) -> float:
    full = sum(1 for o in orders if sum((t.value for t in transactions.get(o.id, ()) if t.succeeded and t.is_sale),
                                        Decimal(0)) >= o.total)
    return full / len(orders) if orders else 0.0


def _share_refunded(orders: list[Order], transactions) -> float:
    refunded = sum(1 for o in orders if any(t.succeeded and t.is_refund for t in transactions.get(o.id, ())))
    return refunded / len(orders) if orders else 0.0


# -- taxes -----------------------------------------------------------------------------------------------------

def _taxes(store: StoreData, books: BooksData, rules: Rules, document: Mapping) -> list[Suggestion]:
    rates: dict[str, Counter] = defaultdict(Counter)
    names: dict[str, str] = {}
    for order in store.orders:
        for tax in charged_taxes(order):
            rates[tax.key][tax.found.percent.normalize()] += 1
            names[tax.key] = tax.name
    existing = sorted({RATE_SUFFIX.sub("", t.get("name") or "").strip() for t in books.taxes} - {""})
    made = []
    for key, counted in sorted(rates.items()):
        path = ("taxes", "map", key)
        if _is_set(document, path):
            continue
        orders = sum(counted.values())
        seen = ", ".join(f"{format(r, 'f')} % ({n})" for r, n in counted.most_common())
        match = process.extractOne(names[key], existing, scorer=fuzz.WRatio,
                                   processor=lambda s: s.lower()) if existing else None
        support = min(1.0, orders / 10)
        if match and match[1] >= 90:
            name, confidence = match[0], 0.7 + 0.25 * support * match[1] / 100
            why = f"FreshBooks has taxes named {match[0]!r}"
        else:
            name, confidence = names[key], 0.7 + 0.25 * support
            why = "no FreshBooks tax of a like name: created at first use as '<name> <rate>%'"
        current = rules.taxes[key].name if key in rules.taxes else names[key]
        made.append(Suggestion("tax", f"tax {key}", f"{key} -> {name!r}", round(confidence, 2),
                               f"{orders} orders, rates {seen}; {why}", current != name, path, {"name": name}))
    return made


# -- items, payment types, clients (reported) ------------------------------------------------------------------

def _items(store: StoreData, books: BooksData) -> list[Suggestion]:
    by_sku = {i.get("sku"): i for i in books.items if i.get("sku")}
    sold = Counter(item.sku for order in store.orders for item in order.items)
    unmatched = [p for p in store.products if p.sku not in by_sku]
    pairs = _name_pairs(unmatched, [i for i in books.items if not i.get("sku")])
    made = []
    for product in store.products:
        on = f"; sold on {sold[product.sku]} orders"
        if product.sku in by_sku:
            found = by_sku[product.sku]
            made.append(Suggestion("item", product.sku, f"{product.sku} -> FreshBooks item {found.get('id')} "
                                   f"{found.get('name')!r}", 1.0, "the same SKU" + on, False))
        elif product.sku in pairs:
            item, score = pairs[product.sku]
            price = (item.get("unit_cost") or {}).get("amount")
            same_price = price is not None and Decimal(str(price)) == product.price
            made.append(Suggestion(
                "item", product.sku, f"{product.sku} -> FreshBooks item {item.get('id')} {item.get('name')!r}",
                round(score / 100 * (1.0 if same_price else 0.75), 2),
                f"name {product.name!r} ~ {item.get('name')!r} ({score:.0f}/100)"
                + (", same price" if same_price else f", price {price} vs {product.price}") + on, True,
                binding=("item", product.sku, int(item["id"]))))
        else:
            made.append(Suggestion("item", product.sku, f"{product.sku} -> a new FreshBooks item {product.name!r}",
                                   0.95, "no FreshBooks item with this SKU or a like name" + on, False))
    return made


def _name_pairs(products: Sequence[Product], items: Sequence[dict]) -> dict[str, tuple[dict, float]]:
    """SKU -> (the FreshBooks item without a SKU whose name is most like the product's, score): each item to one
    product at most, the likest pairs first; names with different numbers in them ("Mug 2", "Mug") never pair."""
    scored = []
    for product in products:
        for item in items:
            mine, theirs = _plain(product.name), _plain(item.get("name") or "")
            if re.findall(r"\d+", mine) != re.findall(r"\d+", theirs):
                continue
            score = fuzz.ratio(mine, theirs)
            if score >= 85:
                scored.append((score, product.sku, item))
    pairs: dict[str, tuple[dict, float]] = {}
    taken: set[int] = set()
    for score, sku, item in sorted(scored, key=lambda s: -s[0]):
        if sku not in pairs and id(item) not in taken:
            pairs[sku] = (item, score)
            taken.add(id(item))
    return pairs


def _plain(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).lower().split())


def _payment_types(store: StoreData) -> list[Suggestion]:
    methods = Counter(t.method_name.strip() for ts in store.transactions.values() for t in ts if t.method_name.strip())
    made = []
    for method, count in sorted(methods.items()):
        known = PAYMENT_TYPES.get(method.lower())
        if known:
            made.append(Suggestion("payment_type", method, f"{method!r} -> {known}", 0.99,
                                   f"{count} transactions; the service's table", False))
            continue
        match = process.extractOne(method, FRESHBOOKS_PAYMENT_TYPES, scorer=fuzz.WRatio, processor=lambda s: s.lower())
        made.append(Suggestion("payment_type", method, f"{method!r} -> {match[0]}", round(match[1] / 100, 2),
                               f"{count} transactions; booked as 'Other' today", True))
    return made


def _clients(store: StoreData, books: BooksData) -> list[Suggestion]:
    by_email = {(c.get("email") or "").strip().lower() for c in books.clients}
    by_name: dict[str, dict] = {}
    for client in books.clients:
        name = f"{client.get('fname') or ''} {client.get('lname') or ''}".strip().lower()
        if name:
            by_name.setdefault(name, client)
    made, done = [], set()
    for order in store.orders:
        email = order.email.strip().lower()
        address = order.billing_address
        if email in by_email or email in done or address is None:
            continue
        name = f"{address.firstname} {address.lastname}".strip().lower()
        client = by_name.get(name)
        if client is None:
            continue
        done.add(email)
        local = fuzz.ratio(email.split("@")[0], (client.get("email") or "").split("@")[0].lower()) / 100
        made.append(Suggestion("client", email, f"{email} is FreshBooks client {client.get('id')} "
                               f"({client.get('email')})", round(0.5 + 0.45 * local, 2),
                               f"the same name {name!r}; emails alike {local:.0%}", True))
    return made


# -- applying --------------------------------------------------------------------------------------------------

def apply(document: Mapping, suggestions: Sequence[Suggestion], min_confidence: float) -> tuple[dict, list]:
    """A copy of the rules document with each applicable suggestion at `min_confidence` or above added where
    nothing is set (a rule a person set is never changed); returns it and the suggestions applied."""
    new = copy.deepcopy(dict(document))
    applied = []
    for s in suggestions:
        if not s.applicable or s.confidence < min_confidence or _is_set(new, s.path):
            continue
        node = new
        for part in s.path[:-1]:
            node = node.setdefault(part, {})
        node[s.path[-1]] = s.value
        applied.append(s)
    return new, applied
