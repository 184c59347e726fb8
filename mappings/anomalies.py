"""Anomaly detection, learned per store from its own orders with robust statistics. Pure: the history comes
in through `History` (store/observations.py keeps it in the database; the evaluation keeps it in memory).

Each metric keeps the latest `window` values the store has seen (values found anomalous are kept out of
it) and scores a new value by how far it lies from their median, in robust standard deviations (1.4826 x the
median absolute deviation, never less than the metric's floor: a metric most orders give the same value,
like a discount of 0, would otherwise have a spread of 0). A metric says nothing until it has `warm_up`
values, so a new store is not flooded.

    unit_price   ln(unit price / catalogue price), per order currency (its median is the currency's rate
                 against the catalogue: 0 for the catalogue's own); a typo x10 is ln 10 = 2.3 away. Lines agree
                 with the catalogue to the cent, so a currency is warm after a third of `warm_up` lines
    order_total  ln(1 + total in catalogue units), upward only
    discount     discounts / sub-total, upward only; only a discount worth `material_share` of the usual
                 order counts (a 5.00 coupon on a 0.33 order is 100 % of nothing)
    quantity     units per line, upward only
    tax_rate     the rate each tax code was charged at, read back from the amount (mappings/taxes.py); one
                 code carries a rate per zone, so the rates are a set, not a bell: a rate is anomalous when
                 none of the code's usual rates (2 % of its history or more) explains the amount to the cent
    refunds      refunded orders among the customer's latest `refund_orders` orders within
                 `refund_window_days` (a spree: one customer, refund after refund), upward only, against that
                 count at the store's earlier refunds
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Protocol

from mappings.findings import Finding
from mappings.money import currency_places, plain, quantize
from mappings.rules import AnomalySettings
from mappings.taxes import DerivedRate, TaxBase, derive_rate, rate_interval
from mappings.xcart.entities import Order, PaymentTransaction

MAD_TO_SIGMA = Decimal("1.4826")  # the MAD of a normal distribution is 0.6745 sigma
FLOORS = {"unit_price": Decimal("0.05"), "order_total": Decimal("0.1"), "discount": Decimal("0.05"),
          "quantity": Decimal(1), "refunds": Decimal(1)}
CATALOGUE_JUMP = Decimal(5)  # a catalogue price this many times its previous one, or below a fifth of it, is a typo
MODE_SHARE = Decimal("0.02")  # a tax rate seen this often (and at least twice) is one of the code's usual rates
RATE_SLACK = Decimal("0.001")  # percentage points: rates are read back exactly; this only absorbs printing
ONE = Decimal(1)
STORE = "store"  # the key of the metrics kept for the whole store


class History(Protocol):
    def values(self, metric: str, key: str) -> Sequence[Decimal]:
        """The latest values of a metric (not this order's, none found anomalous), newest first."""

    def customer_orders(self, customer: str, since: datetime, until: datetime) -> Sequence[Decimal]:
        """The customer's orders placed within the window, not this one, newest first: 1 refunded, 0 not."""


@dataclass(frozen=True)
class Observation:
    metric: str
    key: str
    value: Decimal
    subject: str  # the field it was read from: items[0].price, total...
    anomalous: bool = False


@dataclass(frozen=True)
class Baseline:
    median: Decimal
    scale: Decimal
    count: int

    def score(self, value: Decimal) -> Decimal:
        return (value - self.median) / self.scale


def baseline(values: Sequence[Decimal], floor: Decimal) -> Baseline:
    ordered = sorted(values)
    middle = _middle(ordered)
    spread = _median_deviation(ordered, middle) * MAD_TO_SIGMA
    return Baseline(middle, max(spread, floor), len(values))


def median(values: Sequence[Decimal]) -> Decimal:
    return _middle(sorted(values))


def _middle(ordered: Sequence[Decimal]) -> Decimal:
    n = len(ordered)
    if n == 0:
        raise ValueError("the median of nothing")
    return ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2


def _median_deviation(ordered: Sequence[Decimal], middle: Decimal) -> Decimal:
    """The median of |v - middle|, without the deviations' own sort: those of the values below the middle, read
    outwards, and those of the values from it up are two ascending runs, and the median is picked from the two
    (a check takes about eight baselines of up to 500 values: the second sort and the list were half their cost)."""
    split = bisect_left(ordered, middle)

    def below(i: int) -> Decimal:
        return middle - ordered[split - 1 - i]

    def above(i: int) -> Decimal:
        return ordered[split + i] - middle

    n = len(ordered)
    kth = partial(_kth_of_two, below, split, above, n - split)
    return kth(n // 2) if n % 2 else (kth(n // 2 - 1) + kth(n // 2)) / 2


def _kth_of_two(a: Callable[[int], Decimal], len_a: int, b: Callable[[int], Decimal], len_b: int, k: int
                ) -> Decimal:
    """The k-th smallest (from 0) of two ascending runs, by binary search on how many of the k + 1 smallest come
    from `a`: the fewest, i, such that a's next one is not below the last one taken from b."""
    lo, hi = max(0, k + 1 - len_b), min(k + 1, len_a)
    while lo < hi:
        i = (lo + hi) // 2
        if a(i) < b(k - i):
            lo = i + 1
        else:
            hi = i
    taken_a, taken_b = lo, k + 1 - lo
    return max([a(taken_a - 1)] * (taken_a > 0) + [b(taken_b - 1)] * (taken_b > 0))


@dataclass(frozen=True)
class Examination:
    observations: tuple[Observation, ...]
    findings: tuple[Finding, ...]


class _Examiner:
    """One order against the store's history; collects what it observed and what it found."""

    def __init__(self, order: Order, history: History, settings: AnomalySettings):
        self.order, self.history, self.settings = order, history, settings
        self.observations: list[Observation] = []
        self.findings: list[Finding] = []
        self._learned: dict[tuple, Baseline | None] = {}  # the unit prices' is asked twice (prices, rate)

    def learned(self, metric: str, key: str, warm_up: int | None = None) -> Baseline | None:
        asked = (metric, key, warm_up)
        if asked not in self._learned:
            values = self.history.values(metric, key)
            warm = len(values) >= (self.settings.warm_up if warm_up is None else warm_up)
            self._learned[asked] = baseline(values, FLOORS.get(metric, ONE)) if warm else None
        return self._learned[asked]

    def observe(self, metric: str, key: str, value: Decimal, subject: str, learned: Baseline | None,
                message=None, *, shown: str = "", two_sided: bool = False) -> None:
        """Records the value; when the metric is warm and the value lies beyond the kind's threshold, a finding.
        `shown`: the field's value as the order has it (Finding.value)."""
        score = None if learned is None else learned.score(value)
        threshold = self.settings.kinds[metric].threshold
        anomalous = score is not None and (abs(score) if two_sided else score) >= threshold
        self.observations.append(Observation(metric, key, value, subject, anomalous))
        if anomalous:
            self.findings.append(Finding("anomaly", metric, subject, message(learned), "anomaly",
                                         quantize(abs(score), 1), shown))

    def prices(self) -> Baseline | None:
        """A currency's unit prices agree with the catalogue to the cent, line after line: they warm up in a
        third of the values the other metrics need."""
        return self.learned("unit_price", self.order.currency, warm_up=max(3, self.settings.warm_up // 3))

    def rate(self) -> Decimal | None:
        """Units of the order's currency per catalogue unit, as learned from its unit prices (0.92 for EUR
        against a USD catalogue); None while the currency's prices are not warm."""
        learned = self.prices()
        return None if learned is None else learned.median.exp()


def history_questions(order: Order) -> list[tuple[str, str]]:
    """The (metric, key) pairs `examine` may ask the history's `values` about for this order, so that a history
    kept in a database can read them at once (store/assistants.SqlHistory); one it did not foresee still works."""
    return ([("unit_price", order.currency), ("order_total", STORE), ("discount", STORE), ("quantity", STORE),
             ("refunds", STORE)] + [("tax_rate", tax.key) for tax in charged_taxes(order)])


def examine(order: Order, transactions: Sequence[PaymentTransaction], catalogue: Mapping[str, Decimal],
            history: History, settings: AnomalySettings) -> Examination:
    """What the order shows on every metric, and what of it is anomalous for this store."""
    examiner = _Examiner(order, history, settings)
    _unit_prices(examiner, catalogue)
    rate = examiner.rate()
    if rate is not None:
        _order_total(examiner, rate)
        _discount(examiner, rate)
    _quantities(examiner)
    _tax_rates(examiner)
    _refunds(examiner, is_refund(order, transactions))
    return Examination(tuple(examiner.observations), tuple(examiner.findings))


def catalogue_change(sku: str, previous: Decimal | None, price: Decimal) -> Finding | None:
    """A product's new price against its previous one: a decimal point slipped in the catalogue itself (orders
    then match the catalogue, so the unit-price metric cannot see it)."""
    if not previous or previous <= 0 or price <= 0:
        return None
    ratio = price / previous
    if ONE / CATALOGUE_JUMP < ratio < CATALOGUE_JUMP:
        return None
    return Finding("anomaly", "catalogue_price", "price",
                   f"catalogue price of {sku} went from {plain(previous)} to "
                   f"{plain(price)}: {_times(ratio)} the previous one", "anomaly",
                   quantize(abs(ratio.ln()), 1))


def is_refund(order: Order, transactions: Sequence[PaymentTransaction]) -> bool:
    return order.payment_status.code == "R" or any(t.is_refund and t.succeeded for t in transactions)


def _unit_prices(ex: _Examiner, catalogue: Mapping[str, Decimal]) -> None:
    currency = ex.order.currency
    learned = ex.prices()
    places = currency_places(currency)
    for n, item in enumerate(ex.order.items):
        listed = catalogue.get(item.sku)
        if not listed or listed <= 0 or item.price <= 0:
            continue
        value = (item.price / listed).ln()

        def message(b: Baseline, item=item, listed=listed, value=value) -> str:
            expected = quantize(listed * b.median.exp(), places)
            shown = plain(listed) + ("" if expected == quantize(listed, places)
                                     else f" ({expected} {currency} at the usual rate)")
            return (f"unit price {plain(item.price)} {currency} of {item.sku} is "
                    f"{_times((value - b.median).exp())} the catalogue's {shown}")
        ex.observe("unit_price", currency, value, f"items[{n}].price", learned, message,
                   shown=f"{item.sku} {plain(item.price)} {currency}", two_sided=True)


def _order_total(ex: _Examiner, rate: Decimal) -> None:
    order = ex.order
    value = (ONE + max(order.total, Decimal(0)) / rate).ln()

    def message(b: Baseline) -> str:
        usual = quantize((b.median.exp() - ONE) * rate, currency_places(order.currency))
        return f"order total {order.total} {order.currency} is {_times((value - b.median).exp())} the usual {usual}"
    ex.observe("order_total", STORE, value, "total", ex.learned("order_total", STORE), message,
               shown=f"{plain(order.total)} {order.currency}")


def _discount(ex: _Examiner, rate: Decimal) -> None:
    order = ex.order
    if order.sub_total <= 0:
        return
    discount = -sum((s.value for s in order.surcharges if s.type == "discount" and s.available), Decimal(0))
    share = min(max(discount / order.sub_total, Decimal(0)), ONE)
    learned = ex.learned("discount", STORE)
    totals = ex.learned("order_total", STORE)
    material = totals is None or discount / rate >= ex.settings.material_share * (totals.median.exp() - ONE)

    def message(b: Baseline) -> str:
        places = currency_places(order.currency)
        return (f"discount {quantize(discount, places)} {order.currency} is {_percent(share)} of the sub-total "
                f"{quantize(order.sub_total, places)} (usually {_percent(b.median)})")
    ex.observe("discount", STORE, share, "surcharges.discount", learned if material else None, message,
               shown=f"{plain(discount)} of {plain(order.sub_total)} {order.currency}")


def _quantities(ex: _Examiner) -> None:
    learned = ex.learned("quantity", STORE)
    for n, item in enumerate(ex.order.items):
        value = Decimal(item.amount)

        def message(b: Baseline, item=item) -> str:
            return f"quantity {item.amount} of {item.sku} is {_times(Decimal(item.amount) / max(b.median, ONE))} " \
                   f"the usual {plain(b.median)}"
        ex.observe("quantity", STORE, value, f"items[{n}].amount", learned, message,
                   shown=f"{item.sku} {plain(Decimal(item.amount))}")


@dataclass(frozen=True)
class ChargedTax:
    """A tax of an order with the rate read back from its amount (mappings/taxes.py)."""

    index: int  # in the order's surcharges
    key: str  # the tax code, or its name
    name: str
    amount: Decimal
    found: DerivedRate
    bases: tuple[TaxBase, ...]
    included: bool


def charged_taxes(order: Order) -> list[ChargedTax]:
    places = currency_places(order.currency)
    goods = sum((i.discounted_subtotal if i.discounted_subtotal is not None else quantize(i.price * i.amount, places)
                 for i in order.items), Decimal(0))
    shipping = sum((s.value for s in order.surcharges if s.type == "shipping" and s.available), Decimal(0))
    charged = []
    for n, tax in enumerate(order.surcharges):
        if tax.type != "tax" or not tax.available or tax.value <= 0:
            continue
        bases = [TaxBase(goods, False)] + ([TaxBase(goods + shipping, True)] if shipping else [])
        if tax.include:
            bases.reverse()
        amount = quantize(tax.value, places)
        found = derive_rate(amount, bases, places, tax.include)
        if found is not None:
            charged.append(ChargedTax(n, tax.code or tax.name, tax.name, amount, found, tuple(bases), tax.include))
    return charged


def _tax_rates(ex: _Examiner) -> None:
    places = currency_places(ex.order.currency)
    for tax in charged_taxes(ex.order):
        history = ex.history.values("tax_rate", tax.key)
        usual = _usual_rates(history)
        explained = [r for base in tax.bases
                     if (interval := rate_interval(tax.amount, base.amount, places, tax.included))
                     for r in usual if interval[0] - RATE_SLACK <= r <= interval[1] + RATE_SLACK]
        anomalous = len(history) >= ex.settings.warm_up and bool(usual) and not explained
        path = f"surcharges[{tax.index}].value"
        ex.observations.append(Observation("tax_rate", tax.key, tax.found.percent, path, anomalous))
        if anomalous:
            nearest = min(usual, key=lambda r: abs(r - tax.found.percent))
            ex.findings.append(Finding(
                "anomaly", "tax_rate", path,
                f"tax {tax.key} of {tax.amount} on {quantize(tax.found.base.amount, places)} is "
                f"{_rate(tax.found.percent)}, none of the rates it usually carries "
                f"({', '.join(_rate(r) for r in usual)})", "anomaly", quantize(abs(tax.found.percent - nearest), 3),
                f"{tax.key} {plain(tax.amount)} on {plain(tax.found.base.amount)}"))


def _usual_rates(history: Sequence[Decimal]) -> list[Decimal]:
    counts = Counter(history)
    least = max(2, MODE_SHARE * len(history))
    return sorted(rate for rate, seen in counts.items() if seen >= least)


def _refunds(ex: _Examiner, refunded: bool) -> None:
    order = ex.order
    customer = order.email.strip().lower()
    ex.observations.append(Observation("customer_order", customer, ONE if refunded else Decimal(0), "payment_status"))
    if not refunded:
        return
    days, latest = ex.settings.refund_window_days, ex.settings.refund_orders
    earlier = ex.history.customer_orders(customer, order.create_date - timedelta(days=days), order.create_date)
    count = ONE + sum(earlier[:latest - 1], Decimal(0))
    of = min(len(earlier) + 1, latest)

    def message(b: Baseline) -> str:
        return (f"{customer}: {count} of their latest {of} orders (within {days} days) refunded (the store's usual "
                f"at a refund: {plain(b.median)})")
    ex.observe("refunds", STORE, count, "payment_status", ex.learned("refunds", STORE, ex.settings.refund_warm_up),
               message, shown=plain(count))


def _times(ratio: Decimal) -> str:
    """2.5 -> "2.5x above"; 0.1 -> "10x below"."""
    if ratio >= 1:
        return f"{_figure(ratio)}x above" if ratio < 100 else f"{_figure(ratio)}x"
    return f"{_figure(ONE / ratio)}x below"


def _figure(value: Decimal) -> str:
    return format(quantize(value, 0 if value >= 10 else 1).normalize(), "f")


def _percent(share: Decimal) -> str:
    return f"{format(quantize(share * 100, 1).normalize(), 'f')} %"


def _rate(percent: Decimal) -> str:
    return f"{plain(percent)} %"


class MemoryHistory:
    """The history in memory, for the evaluation and tests: the same rules as the database's
    (store/observations.py): a window per metric, anomalous values left out, refunds counted per customer."""

    def __init__(self, window: int = 500):
        self.window = window
        self._values: dict[tuple[str, str], list[Decimal]] = {}
        self._orders: dict[str, list[tuple[datetime, Decimal]]] = {}

    def values(self, metric: str, key: str) -> Sequence[Decimal]:
        return self._values.get((metric, key), [])[-self.window:][::-1]

    def customer_orders(self, customer: str, since: datetime, until: datetime) -> Sequence[Decimal]:
        placed = sorted(self._orders.get(customer, ()), key=lambda seen: seen[0], reverse=True)
        return [refunded for moment, refunded in placed if since <= moment <= until]

    def learn(self, order: Order, examination: Examination) -> None:
        for seen in examination.observations:
            if seen.metric == "customer_order":
                self._orders.setdefault(seen.key, []).append((order.create_date, seen.value))
            elif not seen.anomalous:
                self._values.setdefault((seen.metric, seen.key), []).append(seen.value)
