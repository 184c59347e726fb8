"""The simulated store's state and its history of events (what a store add-on would send as webhooks)."""

from __future__ import annotations

import copy
import random
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from mappings.xcart.fields import FlexibleDateTime
from sandboxes.xcart import anomalies, problems, writes
from sandboxes.xcart.generator import EPOCH, OrderOptions, StoreGenerator, iso, money


@dataclass
class StoreConfig:
    seed: int = 1
    customers: int = 20
    products: int = 15
    currency: str = "USD"
    store_id: str = "simulated-store"
    api_token: str = "xcart-sandbox-token"  # noqa: S105 - the simulator's published full-access test token
    read_only_token: str | None = "xcart-sandbox-read-token"  # noqa: S105 - reads only: writes get 403
    live_clock: bool = False  # stamp activity with the wall clock (polling tests) instead of simulated time
    # The share of paid orders that later give money back: a partial refund, several, a full refund (status R) or
    # a cancellation after payment. Drawn from a stream of its own, so a seed's orders stay the same either way.
    after_sales: float = 0.0
    admin_token: str | None = None  # when set, /_sandbox/ wants it as a bearer token
    anomalies: float = 0.0  # share of orders placed with a labelled anomaly (sandboxes/xcart/anomalies.py)
    anomalies_after: int = 0  # normal orders placed before the first anomaly (a store's history)
    data_problems: float = 0.0  # share of orders placed with a labelled data-quality problem (problems.py)


@dataclass
class SimulatedStore:
    config: StoreConfig = field(default_factory=StoreConfig)

    def __post_init__(self):
        self.lock = threading.RLock()
        self.generator = StoreGenerator(self.config.seed, self.config.currency)
        self.after_sales_rng = random.Random(f"after-sales:{self.config.seed}")
        self._next_refund_id = 900_000_000  # apart from the generator's ids, which stay as the seed makes them
        self.clock = EPOCH
        self.api_requests = 0  # REST API calls served (what catch-up sync costs the store)
        self.profiles: dict[int, dict] = {}
        self.products: dict[int, dict] = {}
        self.orders: dict[int, dict] = {}
        self.transactions: dict[int, list[dict]] = {}
        self.events: list[dict] = []
        self._next_number = 1000
        # Ground truth for the anomaly check, never in a payload: each injected anomaly and the orders it made.
        self.incidents: list[tuple[str, list[int]]] = []
        self._anomaly_rng = random.Random(self.config.seed * 7919 + 1)  # the normal traffic's draws stay as they were
        self.problems: dict[int, tuple[str, str]] = {}  # order id -> (data problem, the field it breaks)
        for profile in self.generator.customers(self.config.customers):
            self._add_profile(profile)
        for product in self.generator.products(self.config.products):
            self.products[product["product_id"]] = product
            self._event("product.created", product)

    def _tick(self, minutes: int = 7) -> datetime:
        if self.config.live_clock:  # now, and never backwards nor twice the same instant
            self.clock = max(datetime.now(UTC), self.clock + timedelta(microseconds=1))
        else:
            self.clock += timedelta(minutes=minutes)
        return self.clock

    def _event(self, event_type: str, data: dict, rng: random.Random | None = None) -> dict:
        event = {"id": f"evt_{uuid.UUID(int=(rng or self.generator.rng).getrandbits(128), version=4).hex}",
                 "type": event_type, "created_at": iso(self.clock).replace("+0000", "Z"),
                 "store": self.config.store_id, "data": copy.deepcopy(data)}
        self.events.append(event)
        return event

    def _add_profile(self, profile: dict) -> None:
        self.profiles[profile["profile_id"]] = profile
        self._event("customer.created", profile)

    # -- activity ------------------------------------------------------------------------------------------

    def place_orders(self, count: int) -> list[dict]:
        """Places `count` orders with their payments; some are edited later or paid later. Returns the events."""
        with self.lock:
            first = len(self.events)
            customers = list(self.profiles.values())
            products = list(self.products.values())
            for _ in range(count):
                rng = self.generator.rng
                customer = rng.choice(customers) if rng.random() < 0.85 else None
                kind = self._anomaly_kind()
                if kind == "refund_spree":
                    self._refund_spree(customers, products)
                self._next_number += 1
                order = self.generator.order(self._next_number, customer, products, self._tick())
                if kind in anomalies.ORDER_KINDS:
                    order = anomalies.inject(self.generator, order, kind, self._anomaly_rng)
                    self.incidents.append((kind, [order["id"]]))
                problem = self._problem_kind()
                if problem:
                    order = problems.inject(order, problem, self._anomaly_rng)
                    self.problems[order["id"]] = (problem, problems.KINDS[problem])
                self._store_order(order)
                self._event("order.created", order)
                for transaction in self.generator.payments_for(order, self._tick(1)):
                    self._add_transaction(order, transaction)
                if rng.random() < 0.05:
                    self.edit_order(order["id"])
                elif order["payment_status"]["code"] == "Q" and rng.random() < 0.3:
                    self.mark_paid(order["id"])
                elif self.after_sales_rng.random() < self.config.after_sales:
                    self._after_sale(order)
            return self.events[first:]

    def _anomaly_kind(self) -> str | None:
        if not self.config.anomalies or len(self.orders) < self.config.anomalies_after:
            return None
        rng = self._anomaly_rng
        return rng.choice(anomalies.KINDS) if rng.random() < self.config.anomalies else None

    def _problem_kind(self) -> str | None:
        rng = self._anomaly_rng
        if not self.config.data_problems or rng.random() >= self.config.data_problems:
            return None
        return rng.choice(sorted(problems.KINDS))

    def _refund_spree(self, customers: list[dict], products: list[dict]) -> None:
        """One customer's orders in a row, each paid then refunded."""
        customer = self._anomaly_rng.choice(customers)
        made = []
        for _ in range(anomalies.SPREE_ORDERS):
            self._next_number += 1
            order = self.generator.order(self._next_number, customer, products, self._tick(),
                                         OrderOptions(coupon=None))
            order["payment_status"] = {"id": 8, "code": "R", "name": "Refunded", "customer_name": "Refunded"}
            self._store_order(order)
            self._event("order.created", order)
            for transaction in self.generator.payments_for(order, self._tick(1)):
                self._add_transaction(order, transaction)
            made.append(order["id"])
        self.incidents.append(("refund_spree", made))

    def labels(self) -> dict[int, str]:
        """Order id -> the anomaly injected into it."""
        return {order_id: kind for kind, ids in self.incidents for order_id in ids}
    def _after_sale(self, order: dict) -> None:
        """Money given back once the order was paid, as X-Cart records it: refund transactions (and the status
        they leave: PP after a partial refund, R after a full one), or the order cancelled after payment."""
        sales = [t for t in self.transactions[order["id"]] if t["type"] == "sale"]
        if order["payment_status"]["code"] != "P" or not sales:
            return
        total, rng = Decimal(str(order["total"])), self.after_sales_rng
        kind = rng.choice(["partial", "several", "full", "cancelled"])
        parts = {"partial": [Decimal("0.3")], "several": [Decimal("0.2"), Decimal("0.15"), Decimal("0.1")],
                 "full": [Decimal(1)], "cancelled": []}[kind]
        when = FlexibleDateTime().deserialize(order["update_date"])
        for n, share in enumerate(parts, start=1):
            value = total if share == 1 else money(total * share, order["currency"])
            self._next_refund_id += 1
            refund = {**sales[0], "transaction_id": self._next_refund_id, "value": str(value),
                      "type": "refund" if share == 1 else ("refundPart", "refundMulti")[(n + 1) % 2],
                      "date": iso(when + timedelta(days=n)), "public_id": f"RF{self._next_refund_id}"}
            self.transactions[order["id"]].append(refund)
            self._event("payment.created", refund, rng)
        code, name = {"partial": ("PP", "Partially paid"), "several": ("PP", "Partially paid"),
                      "full": ("R", "Refunded"), "cancelled": ("C", "Cancelled")}[kind]
        order.update(payment_status={"id": {"PP": 6, "R": 8, "C": 7}[code], "code": code, "name": name,
                                     "customer_name": name},
                     update_date=iso(when + timedelta(days=len(parts) + 1)))
        self._event("order.payment_status_changed", order, rng)

    def edit_order(self, order_id: int) -> dict:
        with self.lock:
            edited = self.generator.edit(self.orders[order_id], self._tick(30))
            self._store_order(edited)
            return self._event("order.updated", edited)

    def mark_paid(self, order_id: int) -> None:
        with self.lock:
            order = self.orders[order_id]
            when = self._tick(60)
            order.update(payment_status={"id": 4, "code": "P", "name": "Paid", "customer_name": "Paid"},
                         update_date=iso(when))
            self._event("order.payment_status_changed", order)
            transaction = self.generator.transaction(order, Decimal(str(order["total"])), "sale", when)
            self._add_transaction(order, transaction)

    def _store_order(self, order: dict) -> None:
        self.orders[order["id"]] = order
        self.transactions.setdefault(order["id"], [])

    def _add_transaction(self, order: dict, transaction: dict) -> None:
        self.transactions[order["id"]].append(transaction)
        self._event("payment.created", transaction)

    def add_product(self, given: dict) -> dict:
        """A product created through the API (POST /api/products): the given fields over the defaults."""
        with self.lock:
            product = {"price": 0, "enabled": True, "description": "", **given, "product_id": self.generator.new_id(),
                       "updateDate": iso(self._tick(1))}
            self.products[product["product_id"]] = product
            self._event("product.created", product)
            return product

    # -- writes through the API (sandboxes/xcart/writes.py validates): each one is an event, as a store add-on
    # records one for every save of a profile, an address or a product ----------------------------------------

    def _now(self) -> str:
        """Writes through the API are stamped with the wall clock, as the store's own saves are."""
        self.clock = max(self.clock, datetime.now(UTC))
        return iso(self.clock)

    def update_profile(self, profile_id: int, given: dict) -> tuple[dict, dict]:
        """(the profile, its event); raises KeyError for an unknown profile, writes.Violations for bad input."""
        with self.lock:
            profile = self.profiles[profile_id]
            others = [p for p in self.profiles.values() if p["profile_id"] != profile_id]
            profile.update(writes.profile_changes(given, others))
            profile["updated"] = self._now()
            return profile, self._event("customer.updated", profile)

    def update_address(self, profile_id: int, address_id: int, given: dict) -> tuple[dict, dict]:
        with self.lock:
            profile = self.profiles[profile_id]
            address = next(a for a in profile["addresses"] if a["address_id"] == address_id)
            address.update(writes.address_changes(given, address))
            profile["updated"] = self._now()
            return address, self._event("customer.updated", profile)

    def update_product(self, product_id: int, given: dict) -> tuple[dict, dict]:
        with self.lock:
            product = self.products[product_id]
            product.update(writes.product_changes(given, product_id, list(self.products.values())))
            product["updateDate"] = self._now()
            return product, self._event("product.updated", product)

    def order_by_number(self, number: str) -> dict | None:
        with self.lock:
            return next((o for o in self.orders.values() if o["order_number"] == number), None)

    def set_payment_status(self, order_id: int, code: str) -> dict:
        names = {"Q": "Awaiting payment", "A": "Authorized", "PP": "Partially paid", "P": "Paid", "D": "Declined",
                 "C": "Cancelled", "R": "Refunded"}
        if code not in names:
            raise ValueError(f"unknown payment status code {code!r}")
        with self.lock:
            order = self.orders[order_id]
            order.update(payment_status={"id": list(names).index(code) + 1, "code": code, "name": names[code],
                                         "customer_name": names[code]},
                         update_date=iso(self._tick(5)))
            self._event("order.payment_status_changed", order)
            return order
