"""The demo's two-way part: FreshBooks callbacks subscribed through ingest, then people changing clients and items on
both sides at once while orders are being booked (a FreshBooks user through its API, a store admin through X-Cart's
REST API, whose changes the store's add-on sends as webhooks), and the measure of the outcome: both systems
agreeing field group by field group per the ownership rules, each change carried (or undone) by exactly one write,
so no write answering an echo of ours, whether of a sync or of an order's booking."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select

from apis.freshbooks.errors import RateLimited
from apis.xcart.client import XCartClient
from harness.stage import XCART_TOKEN, Stage
from mappings.ownership import client_state_from_freshbooks, client_state_from_xcart, item_state_from_freshbooks
from mappings.xcart.schemas import ProductSchema, ProfileSchema, load
from runtime import callbacks
from store import binder
from store.models import AuditEntry, DeadLetter, Event, SyncState, utcnow
from workers.two_way import HANDLED, item_state

CLIENT_EDITS = ("freshbooks contact", "xcart billing", "both at once")
ITEM_EDITS = ("freshbooks name", "xcart stock", "xcart price")


@dataclass
class Edits:
    count: int
    began: datetime
    in_flight: int  # events accepted and not yet finished when the people began: their changes raced the orders'


@dataclass
class TwoWayReport:
    edits: int = 0
    in_flight_at_edits: int = 0
    sync_writes: int = 0
    echoes_dropped: int = 0  # FreshBooks callbacks that only reported our own write
    xcart_echoes_dropped: int = 0  # X-Cart webhooks that did
    groups: int = 0
    disagreements: list[str] = field(default_factory=list)
    duplicates: int = 0  # near-duplicate customers the store made (ground truth: the same person, a new email)
    duplicates_bound: int = 0  # bound to the client of the person they duplicate
    duplicates_in_review: int = 0
    duplicates_apart: int = 0  # given a client of their own (missed: a duplicate client, never a wrong one)
    duplicates_without_orders: int = 0  # no order yet, so nothing to bind or hold

    @property
    def echo_writes(self) -> int:
        """Writes beyond one per change: what a write answering the echo of our own write would add."""
        return self.sync_writes - self.edits

    @property
    def correct(self) -> bool:
        """Issue 14's done-when: both sides agree, no echo writes, and each near-duplicate customer who ordered is
        bound to their client or held for a person (a missed one is a duplicate client in the books)."""
        return not self.disagreements and self.echo_writes == 0 and self.duplicates_apart == 0


def subscribe(stage: Stage, timeout: float = 60) -> list[str]:
    """Registers FreshBooks callbacks for client and item changes to ingest; waits until each is verified. The
    store sends a webhook for every save through its API from now on (X-Cart's side of the same contract)."""
    stage.send_store_webhooks()
    uri = f"{stage.ingest_server.url}/webhooks/freshbooks"
    ids = [str(callbacks.register(stage.services, event, uri)["id"]) for event in HANDLED]
    deadline = time.monotonic() + timeout
    while not all(stage.services.redis.hexists(callbacks.TRUSTED, i) for i in ids):
        if time.monotonic() > deadline:
            raise TimeoutError("FreshBooks callbacks not verified in time")
        time.sleep(0.2)
    return ids


class People(threading.Thread):
    """A bookkeeper in FreshBooks and a store admin in X-Cart, who start editing as soon as `clients` clients and
    `items` items are bound, while the worker is still booking the orders (`in_flight` says how many events)."""

    def __init__(self, stage: Stage, say: Callable[[str], None], in_flight: Callable[[], int],
                 clients: int = 6, items: int = 3):
        super().__init__(name="people-editing", daemon=True)
        self.stage, self.say, self.in_flight = stage, say, in_flight
        self.clients, self.items = clients, items
        self.edits: Edits | None = None
        self.error: BaseException | None = None
        self._finishing = threading.Event()

    def run(self) -> None:
        try:
            if self._wait_for_bindings():
                self.edits = self._edit()
        except BaseException as exc:  # reported by finish(), in the demo's own thread
            self.error = exc

    def finish(self) -> Edits:
        """Their edits; made now, after the orders, if the orders were booked before the clients were bound."""
        self._finishing.set()
        self.join()
        if self.error is not None:
            raise self.error
        return self.edits or self._edit()

    def _wait_for_bindings(self) -> bool:
        while not self._finishing.wait(0.2):
            if _bound(self.stage, "client") >= self.clients and _bound(self.stage, "item") >= self.items:
                return True
        return False

    def _edit(self) -> Edits:
        in_flight = self.in_flight()
        count, began = change_both_sides(self.stage, self.stage.seed, self.clients, self.items)
        self.say(f"two-way: {count} changes made in FreshBooks and in X-Cart at once, while {in_flight} events were "
                 "still being booked")
        return Edits(count, began, in_flight)


def _bound(stage: Stage, kind: str) -> int:
    with stage.services.sessions() as session:
        return session.scalar(select(func.count()).select_from(SyncState).where(SyncState.kind == kind))


def change_both_sides(stage: Stage, seed: int, clients: int = 6, items: int = 3) -> tuple[int, datetime]:
    """People change synced clients and items on both sides; returns how many changes, and when they began."""
    rng = random.Random(seed)
    fb, store = stage.services.freshbooks, stage.store
    xcart = XCartClient(f"{stage.xcart_server.url}/api", XCART_TOKEN)
    began, edits = utcnow(), 0
    for n, state in enumerate(_states(stage, "client", clients, rng)):
        kind = CLIENT_EDITS[n % len(CLIENT_EDITS)]
        billing = state.fields["addresses"]["billing"]
        if kind != "xcart billing":
            _patiently(fb.update_client, state.freshbooks_id, {"bus_phone": f"+1 555 01{rng.randint(10, 99)} {n:04d}"})
            edits += 1
        if kind != "freshbooks contact":
            current = next(a["city"] for a in store.profiles[state.xcart_id]["addresses"] if a["address_id"] == billing)
            city = rng.choice([c for c in ("Cambridge", "Salem", "Lowell") if c != current])
            xcart.update_address(state.xcart_id, billing, {"city": city})
            edits += 1
    for n, state in enumerate(_states(stage, "item", items, rng)):
        kind = ITEM_EDITS[n % len(ITEM_EDITS)]
        if kind == "freshbooks name":  # X-Cart owns item text: this one is undone
            _patiently(fb.update_item, state.freshbooks_id, {"name": f"Renamed in FreshBooks {n}"})
        elif kind == "xcart stock":
            amount = store.products[state.xcart_id].get("amount") or 0
            xcart.update_product(state.xcart_id, {"amount": amount + rng.randint(1, 50), "inventory_traceable": True})
        else:  # a new price as shops set one: 5 to 25 % up or down (a 55x jump is an anomaly check's business)
            current = Decimal(str(store.products[state.xcart_id]["price"]))
            change = Decimal(rng.choice([-1, 1]) * rng.randint(5, 25)) / 100
            price = max((current * (1 + change)).quantize(Decimal("0.01")), Decimal("0.01"))
            xcart.update_product(state.xcart_id, {"price": str(price if price != current else current + 1)})
        edits += 1
    return edits, began  # the store's add-on sends the X-Cart edits as webhooks (Stage.send_store_webhooks)


def _patiently(call: Callable, *args, attempts: int = 30):
    """A person whom FreshBooks answers 429 (the demo's rate-limit burst) waits and saves again."""
    for attempt in range(1, attempts + 1):
        try:
            return call(*args)
        except RateLimited as exc:
            if attempt == attempts:
                raise
            time.sleep(exc.retry_after or 1.0)
    return None


def _states(stage: Stage, kind: str, count: int, rng: random.Random) -> list[SyncState]:
    with stage.services.sessions() as session:
        states = list(session.scalars(select(SyncState).where(SyncState.kind == kind)
                                      .order_by(SyncState.freshbooks_id)))
    return rng.sample(states, min(count, len(states)))


def wait_quiet(stage: Stage, quiet_for: float = 3.0, timeout: float = 120) -> bool:
    """Until nothing is in flight and no new event arrived for `quiet_for` seconds (callbacks take a moment)."""
    deadline, last, calm_since = time.monotonic() + timeout, None, time.monotonic()
    while time.monotonic() < deadline:
        stage.sandbox.webhooks.drain(timeout=5)
        stage.send_store_webhooks().drain(timeout=5)
        seen = (_event_count(stage), stage.in_flight())
        if seen != last or seen[1]:
            last, calm_since = seen, time.monotonic()
        elif time.monotonic() - calm_since >= quiet_for:
            return True
        time.sleep(0.5)
    return False


def _event_count(stage: Stage) -> int:
    with stage.services.sessions() as session:
        return session.scalar(select(func.count()).select_from(Event))


def measure(stage: Stage, edits: Edits) -> TwoWayReport:
    """Every sync write since the people began counts, whatever caused it: the orders booked meanwhile must cause
    none (an order's client and items are created or bound, never synced), so a write beyond one per change is
    the answer to an echo."""
    report = TwoWayReport(edits=edits.count, in_flight_at_edits=edits.in_flight)
    with stage.services.sessions() as session:
        report.sync_writes = session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "sync", AuditEntry.at >= edits.began))
        echoes = select(func.count()).select_from(Event).where(Event.last_error.like("%echo of the last sync%"))
        report.echoes_dropped = session.scalar(echoes.where(Event.type.like("freshbooks.%")))
        report.xcart_echoes_dropped = session.scalar(echoes.where(Event.type.not_like("freshbooks.%")))
        states = list(session.scalars(select(SyncState)))
        held_orders = set(session.scalars(select(Event.order_id).join(DeadLetter, DeadLetter.event_id == Event.id)
                                          .where(DeadLetter.status == "open",
                                                 DeadLetter.reason.like("%possible duplicate of client%"))))
    _duplicates(stage, report, held_orders)
    for state in states:
        sides = _client_sides(stage, state) if state.kind == "client" else _item_sides(stage, state)
        for group, (xcart, freshbooks) in sides.items():
            report.groups += 1
            if xcart != freshbooks:
                report.disagreements.append(f"{state.kind} {state.freshbooks_id} {group}: X-Cart {xcart} != "
                                            f"FreshBooks {freshbooks}")
    return report


def _duplicates(stage: Stage, report: TwoWayReport, held_orders: set[int]) -> None:
    """Each near-duplicate customer of the store (its ground truth): bound to its person's client, its orders held
    for review, without orders (nothing to bind), or apart: ordered, and neither bound nor held (given a client of
    its own, or its order not booked at all): a failure of the demo."""
    sessions, ordered = stage.services.sessions, {}
    for order in stage.store.orders.values():
        ordered.setdefault(str(order["email"]).strip().lower(), set()).add(order["id"])
    for login, original in stage.store.generator.person_of.items():
        report.duplicates += 1
        client, theirs = binder.bound_id(sessions, "client", login), binder.bound_id(sessions, "client", original)
        if client is not None and client == theirs:
            report.duplicates_bound += 1
        elif ordered.get(login, set()) & held_orders:
            report.duplicates_in_review += 1
        elif not ordered.get(login):
            report.duplicates_without_orders += 1
        else:
            report.duplicates_apart += 1


def _client_sides(stage: Stage, state: SyncState) -> dict[str, tuple]:
    profile = load(ProfileSchema, stage.store.profiles[state.xcart_id])
    xcart = client_state_from_xcart(profile)
    freshbooks = client_state_from_freshbooks(stage.sandbox.books.read("client", state.freshbooks_id))
    return {group: (xcart[group], freshbooks[group]) for group in xcart}


def _item_sides(stage: Stage, state: SyncState) -> dict[str, tuple]:
    xcart = item_state(stage.services, load(ProductSchema, stage.store.products[state.xcart_id]))
    freshbooks = item_state_from_freshbooks(stage.sandbox.books.read("item", state.freshbooks_id))
    return {group: (xcart[group], freshbooks[group]) for group in xcart}


def summary(report: TwoWayReport) -> list[str]:
    lines = [
        f"  two-way changes         {report.edits} made by people on both sides while {report.in_flight_at_edits} "
        f"events were being booked; {report.sync_writes} writes carried or undid them; echo writes "
        f"{report.echo_writes}; dropped as echoes of our writes: FreshBooks callbacks {report.echoes_dropped}, "
        f"X-Cart webhooks {report.xcart_echoes_dropped}",
        f"  both sides agree        {report.groups - len(report.disagreements)} of {report.groups} field groups "
        "(per the ownership rules)",
        f"  duplicate customers     {report.duplicates} (same person, new email): {report.duplicates_bound} bound to "
        f"their client, {report.duplicates_in_review} held for review, {report.duplicates_apart} given a client of "
        f"their own, {report.duplicates_without_orders} without orders",
    ]
    lines += [f"    disagrees: {d}" for d in report.disagreements[:10]]
    return lines
