"""`xcfb evaluate`: each assistant measured on the simulator's labelled traffic -- the same evaluations the
tests assert on (tests/unit/test_assistants_accuracy.py).

- anomalies: a store with `ANOMALY_SHARE` of its orders carrying an injected anomaly after `HISTORY` normal
  ones (sandboxes/xcart/anomalies.py), checked order by order as the workers check them, learning as it goes.
  An incident is detected when one of its orders is flagged (a refund spree is several orders); precision
  counts flagged orders that carry an anomaly; "normal flagged" is the share of normal orders flagged.
- validation: a store with `PROBLEM_SHARE` of its orders carrying one labelled data problem
  (sandboxes/xcart/problems.py); a problem is found when a finding of its kind names its field.
- suggestions: a store of 300 orders (a fifth of the paid, cancelled and awaiting ones under custom statuses
  without a code) against two FreshBooks accounts, an empty one (cold start) and one with history (taxes named as
  this service names them, items with the SKU, items of a like name typed by hand, items the store does not
  sell); each suggestion the ground truth covers is right or wrong; precision counts those at the default
  confidence, "found" the subjects proposed right at it.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from mappings import jsonio
from mappings.anomalies import MemoryHistory, examine
from mappings.rules import AnomalySettings, Rules, load_rules, parse_rules
from mappings.suggestions import DEFAULT_CONFIDENCE, BooksData, StoreData, Suggestion, suggest
from mappings.validation import validate_order
from mappings.xcart.entities import Order, PaymentTransaction
from mappings.xcart.schemas import OrderSchema, PaymentTransactionSchema, ProductSchema, load
from sandboxes.xcart.store import SimulatedStore, StoreConfig

ORDERS, HISTORY, ANOMALY_SHARE, PROBLEM_SHARE = 1500, 150, 0.04, 0.1
SEEDS = (1, 2, 3)


@dataclass
class Measure:
    """One assistant's figures over labelled data."""

    assistant: str
    labelled: Counter = field(default_factory=Counter)  # per kind: incidents injected
    found: Counter = field(default_factory=Counter)  # per kind: incidents detected
    flagged: int = 0  # orders (or findings) the assistant flagged
    right: int = 0  # of which carry what was injected
    normal: int = 0  # orders with nothing injected
    normal_flagged: int = 0

    @property
    def recall(self) -> float:
        return sum(self.found.values()) / max(sum(self.labelled.values()), 1)

    @property
    def precision(self) -> float:
        return self.right / self.flagged if self.flagged else 1.0

    @property
    def normal_rate(self) -> float:
        return self.normal_flagged / max(self.normal, 1)

    def add(self, other: Measure) -> Measure:
        return Measure(self.assistant, self.labelled + other.labelled, self.found + other.found,
                       self.flagged + other.flagged, self.right + other.right, self.normal + other.normal,
                       self.normal_flagged + other.normal_flagged)


def orders_of(store: SimulatedStore) -> list[tuple[Order, list[PaymentTransaction]]]:
    """The store's orders as the workers read them, in the order they were placed."""
    return [(load(OrderSchema, jsonio.loads(jsonio.dumps(payload))),
             [load(PaymentTransactionSchema, jsonio.loads(jsonio.dumps(t))) for t in store.transactions[order_id]])
            for order_id, payload in store.orders.items()]


def evaluate_anomalies(seed: int, settings: AnomalySettings, orders: int = ORDERS) -> Measure:
    store = SimulatedStore(StoreConfig(seed=seed, customers=40, products=25, anomalies=ANOMALY_SHARE,
                                       anomalies_after=HISTORY))
    store.place_orders(orders)
    catalogue = {p["sku"]: Decimal(str(p["price"])) for p in store.products.values()}
    history = MemoryHistory(settings.window)
    flagged = set()
    for order, transactions in orders_of(store):
        examination = examine(order, transactions, catalogue, history, settings)
        history.learn(order, examination)
        if examination.findings:
            flagged.add(order.id)
    labels = store.labels()
    measure = Measure("anomalies", flagged=len(flagged), right=len(flagged & set(labels)))
    for kind, ids in store.incidents:
        measure.labelled[kind] += 1
        measure.found[kind] += any(i in flagged for i in ids)
    normal = set(store.orders) - set(labels)
    measure.normal, measure.normal_flagged = len(normal), len(normal & flagged)
    return measure


def evaluate_validation(seed: int, rules: Rules, orders: int = ORDERS // 3) -> Measure:
    store = SimulatedStore(StoreConfig(seed=seed, customers=40, products=25, data_problems=PROBLEM_SHARE))
    store.place_orders(orders)
    measure = Measure("validation")
    for order, _ in orders_of(store):
        findings = validate_order(order, rules)
        label = store.problems.get(order.id)
        measure.flagged += len(findings)
        measure.right += sum(1 for f in findings if label and (f.kind, f.path) == label)
        if label:
            measure.labelled[label[0]] += 1
            measure.found[label[0]] += any((f.kind, f.path) == label for f in findings)
        else:
            measure.normal += 1
            measure.normal_flagged += bool(findings)
    return measure


def evaluate_all(rules: Rules | None = None, seeds: tuple[int, ...] = SEEDS) -> list[Measure]:
    rules = rules or load_rules()
    measures = []
    for assistant in (lambda s: evaluate_anomalies(s, rules.anomalies), lambda s: evaluate_validation(s, rules),
                      evaluate_suggestions):
        runs = [assistant(seed) for seed in seeds]
        total = runs[0]
        for run in runs[1:]:
            total = total.add(run)
        measures.append(total)
    return measures


def table(measures: list[Measure]) -> list[str]:
    lines = ["| assistant | kind | labelled | found | recall | precision | normal orders flagged |",
             "|---|---|---|---|---|---|---|"]
    for m in measures:
        for kind in sorted(m.labelled):
            lines.append(f"| {m.assistant} | {kind} | {m.labelled[kind]} | {m.found[kind]} | "
                         f"{m.found[kind] / m.labelled[kind]:.2f} | | |")
        normal = f"{m.normal_rate:.2%} ({m.normal_flagged}/{m.normal})" if m.normal else "-"
        lines.append(f"| **{m.assistant}** | all | {sum(m.labelled.values())} | {sum(m.found.values())} | "
                     f"**{m.recall:.2f}** | **{m.precision:.2f}** ({m.right}/{m.flagged}) | {normal} |")
    return lines


# -- mapping suggestions ---------------------------------------------------------------------------------------

# Items the store does not sell, some named much like things it does.
DECOY_ITEMS = ("Gift Card", "Consulting hour", "Shipping box", "Coffee beans 1kg", "Mug rack", "Tea Kettle Lid",
               "Desk Lamp Bulb", "Hoodie (used)", "Notebook refill", "Poster frame")
EXISTING_TAXES = ("Sales Tax 8.875%", "Sales Tax 7.25%", "VAT 20%")  # as this service names them in FreshBooks


@dataclass(frozen=True)
class Account:
    """A FreshBooks account and the right answer for each suggestion about it (the ground truth)."""

    books: BooksData
    truth: dict[tuple[str, str], str]  # (kind, subject) -> the right proposal's target


def existing_account(store: SimulatedStore, rng_seed: int) -> Account:
    """Books with years of history: taxes named as this service names them, a third of the SKUs as items, a third
    as items of a like name without a SKU (typed by hand), the rest absent, and items the store does not sell."""
    rng = random.Random(rng_seed)
    items, truth = [], {}
    for n, product in enumerate(sorted(store.products.values(), key=lambda p: p["sku"])):
        item_id = 500 + n
        price = str(product["price"])
        if n % 3 == 0:
            items.append({"id": item_id, "name": product["name"], "sku": product["sku"],
                          "unit_cost": {"amount": price, "code": "USD"}})
            truth[("item", product["sku"])] = f"FreshBooks item {item_id}"
        elif n % 3 == 1:
            name = product["name"]
            cut = rng.randrange(1, len(name))
            typed = rng.choice([name.lower(), name.upper(), name + "s", name.replace(" ", "  "),
                                name[:cut] + name[cut + 1:]])  # cased, plural, spaced, a letter missing
            items.append({"id": item_id, "name": typed, "sku": "", "unit_cost": {"amount": price, "code": "USD"}})
            truth[("item", product["sku"])] = f"FreshBooks item {item_id}"
        else:
            truth[("item", product["sku"])] = "a new FreshBooks item"
    items += [{"id": 900 + n, "name": name, "sku": "", "unit_cost": {"amount": "10.00", "code": "USD"}}
              for n, name in enumerate(DECOY_ITEMS)]
    taxes = [{"id": 70 + n, "name": name} for n, name in enumerate(EXISTING_TAXES)]
    truth |= {("tax", "tax CDEV.STAX.1"): "'Sales Tax'", ("tax", "tax CDEV.STAX.2"): "'VAT'",
              ("tax", "tax CDEV.STAX.3"): "'GST'", ("tax", "tax CDEV.STAX.9"): "'County tax'"}
    return Account(BooksData(items, taxes, []), truth | _status_truth())


def cold_account(store: SimulatedStore) -> Account:
    truth = {("item", p["sku"]): "a new FreshBooks item" for p in store.products.values()}
    truth |= {("tax", "tax CDEV.STAX.1"): "'Sales tax'", ("tax", "tax CDEV.STAX.2"): "'VAT'",
              ("tax", "tax CDEV.STAX.3"): "'GST'", ("tax", "tax CDEV.STAX.9"): "'County tax'"}
    return Account(BooksData([], [], []), truth | _status_truth())


def _status_truth() -> dict[tuple[str, str], str]:
    shipped = load_rules()  # X-Cart's built-in statuses, as the shipped rules map them
    truth = {("status", f"payment status {code}"): action for code, action in shipped.payment_status.items()}
    truth |= {("status", f"fulfilment status {code}"): a for code, a in shipped.fulfilment_status.items()}
    return truth | {("payment_type", method): target for method, target in
                    (("Credit Card", "Credit Card"), ("PayPal", "PayPal"), ("Bank Transfer", "Bank Transfer"))}


def store_data(store: SimulatedStore) -> StoreData:
    loaded = orders_of(store)
    products = [load(ProductSchema, jsonio.loads(jsonio.dumps(p))) for p in store.products.values()]
    return StoreData([o for o, _ in loaded], {o.id: ts for o, ts in loaded}, products)


def is_right(suggestion: Suggestion, truth: dict[tuple[str, str], str]) -> bool | None:
    """None: the ground truth says nothing about it."""
    target = truth.get((suggestion.kind, suggestion.subject))
    if target is None:
        return None
    return suggestion.proposal.endswith(f"-> {target}") or f"-> {target} " in suggestion.proposal \
        or suggestion.proposal.split(" -> ", 1)[-1].startswith(target)


# Statuses a store made itself (no code): a share of the orders of a built-in status carry one instead.
CUSTOM_STATUSES = {"P": ({"id": 21, "code": None, "name": "Paid by bank transfer"}, "paid"),
                   "C": ({"id": 22, "code": None, "name": "Canceled by merchant"}, "void"),
                   "Q": ({"id": 23, "code": None, "name": "Pending approval"}, "sent")}


def with_custom_statuses(store: SimulatedStore, rng: random.Random) -> dict[tuple[str, str], str]:
    truth = {}
    for order in store.orders.values():
        custom = CUSTOM_STATUSES.get(order["payment_status"]["code"])
        if custom and rng.random() < 0.2:
            order["payment_status"] = dict(custom[0])
            truth[("status", f"payment status {custom[0]['id']}")] = custom[1]
    return truth


def evaluate_suggestions(seed: int, min_confidence: float = DEFAULT_CONFIDENCE, orders: int = 300) -> Measure:
    store = SimulatedStore(StoreConfig(seed=seed, customers=40, products=25))
    store.place_orders(orders)
    custom = with_custom_statuses(store, random.Random(seed))
    data = store_data(store)
    empty = parse_rules("version: 1\n")
    measure = Measure("suggestions")
    for account in (cold_account(store), existing_account(store, seed)):
        for suggestion in suggest(data, account.books, empty, {"version": 1}):
            right = is_right(suggestion, account.truth | custom)
            if right is None:
                continue
            measure.labelled[suggestion.kind] += 1
            if suggestion.confidence >= min_confidence:
                measure.flagged += 1
                measure.right += right
                measure.found[suggestion.kind] += right
    return measure
