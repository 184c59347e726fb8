"""`xcfb evaluate`: each assistant measured on the simulator's labelled traffic -- the same evaluations the
tests assert on (tests/unit/test_assistants_accuracy.py).

- anomalies: a store with `ANOMALY_SHARE` of its orders carrying an injected anomaly after `HISTORY` normal
  ones (sandboxes/xcart/anomalies.py), checked order by order as the workers check them, learning as it goes.
  An incident is detected when one of its orders is flagged (a refund spree is several orders); precision
  counts flagged orders that carry an anomaly; "normal flagged" is the share of normal orders flagged.
- validation: a store with `PROBLEM_SHARE` of its orders carrying one labelled data problem
  (sandboxes/xcart/problems.py); a problem is found when a finding of its kind names its field.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from mappings import jsonio
from mappings.anomalies import MemoryHistory, examine
from mappings.rules import AnomalySettings, Rules, load_rules
from mappings.validation import validate_order
from mappings.xcart.entities import Order, PaymentTransaction
from mappings.xcart.schemas import OrderSchema, PaymentTransactionSchema, load
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
    for assistant in (lambda s: evaluate_anomalies(s, rules.anomalies), lambda s: evaluate_validation(s, rules)):
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
        lines.append(f"| **{m.assistant}** | all | {sum(m.labelled.values())} | {sum(m.found.values())} | "
                     f"**{m.recall:.2f}** | **{m.precision:.2f}** ({m.right}/{m.flagged}) | "
                     f"{m.normal_rate:.2%} ({m.normal_flagged}/{m.normal}) |")
    return lines
