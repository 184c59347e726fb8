"""The assistants' step (workers/checks.py) over SQLite and the fake FreshBooks: the history in the database
learns as orders flow and flags what the in-memory evaluation flags; findings are kept, held or booked as the
rules say, shown to the operator, and accepted by a person."""

from __future__ import annotations

import dataclasses
import random
from decimal import Decimal as D

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from mappings import jsonio
from mappings.anomalies import MemoryHistory, examine
from mappings.findings import HeldForReview
from mappings.xcart.schemas import OrderSchema, load
from sandboxes.xcart import anomalies
from sandboxes.xcart.store import SimulatedStore, StoreConfig
from store import assistants, ledger, snapshots
from store.models import OrderFinding
from workers import checks, events, orders
from workers.failures import classify
from xcfb import operations


def take_in(ports, event: dict) -> int | None:
    recorded, needed = events.receive(ports, jsonio.dumps(event))
    assert needed
    return events.handle(ports, recorded)


def check(ports, order_id: int, event_id: str | None = None):
    try:
        return checks.check_order(ports, order_id, event_id)
    except HeldForReview as held:
        return held


def first_versions(store: SimulatedStore) -> list[dict]:
    return [e for e in store.events if e["type"] in ("product.created", "order.created")]


def test_the_database_history_flags_what_the_evaluation_flags(ports):
    assert_database_flags_what_the_evaluation_flags(ports)


def test_with_windows_kept_the_database_history_still_flags_what_the_evaluation_flags(ports, monkeypatch):
    """The claim behind store/assistants.RecentWindows, on a store whose windows fill early (40 values), each
    window kept far beyond its bounds (for the whole run), brought up to date only with the rows since."""
    ports.rules = dataclasses.replace(ports.rules, anomalies=dataclasses.replace(ports.rules.anomalies, window=40))
    reused = ReuseCounted(reuse=3600)
    monkeypatch.setattr(assistants, "recent_windows", reused)
    assert_database_flags_what_the_evaluation_flags(ports)
    assert reused.answered > 100  # checks were answered from kept windows


class ReuseCounted(assistants.RecentWindows):
    answered = 0

    def get(self, sessions, question):
        window = super().get(sessions, question)
        self.answered += window is not None
        return window


def assert_database_flags_what_the_evaluation_flags(ports):
    store = SimulatedStore(StoreConfig(seed=6, customers=30, products=15, anomalies=0.08, anomalies_after=50))
    store.place_orders(150)
    catalogue = {p["sku"]: D(str(p["price"])) for p in store.products.values()}
    memory = MemoryHistory(ports.rules.anomalies.window)
    from_db, from_memory = set(), set()
    for each in first_versions(store):
        order_id = take_in(ports, each)
        if order_id is None:
            continue
        outcome = check(ports, order_id, each["id"])
        if isinstance(outcome, HeldForReview) or outcome:
            from_db.add(order_id)
        order = load(OrderSchema, jsonio.loads(jsonio.dumps(each["data"])))
        found = examine(order, [], catalogue, memory, ports.rules.anomalies)
        memory.learn(order, found)
        if found.findings:
            from_memory.add(order_id)
    assert store.incidents and from_memory  # something was injected and found
    assert from_db == from_memory


def warm_ports(ports, orders: int = 45) -> SimulatedStore:
    store = SimulatedStore(StoreConfig(seed=9, customers=20, products=12))
    store.place_orders(orders)
    for each in first_versions(store):
        order_id = take_in(ports, each)
        if order_id is not None:
            check(ports, order_id, each["id"])
    return store


def new_order(ports, store: SimulatedStore, kind: str | None, **changes) -> tuple[int, str]:
    payload = store.generator.order(8800, next(iter(store.profiles.values())), list(store.products.values()),
                                    store.clock)
    if kind:
        payload = anomalies.inject(store.generator, payload, kind, random.Random(1))
    payload = {**payload, **changes}
    event_id = f"evt_new_{kind}"
    take_in(ports, {"id": event_id, "type": "order.created", "created_at": "2026-11-02T00:00:00Z",
                    "store": "simulated-store", "data": payload})
    return payload["id"], event_id


def test_an_anomaly_the_rules_hold_goes_to_review_naming_the_field_until_a_person_accepts_it(ports):
    store = warm_ports(ports)
    order_id, event_id = new_order(ports, store, "price_x10")
    held = check(ports, order_id, event_id)
    assert isinstance(held, HeldForReview)
    failure = classify(held, "xcfb.check_order")
    assert failure.kind == "review"
    assert any(d["path"].startswith("items[") and d["path"].endswith("].price")
               and "10x above the catalogue's" in d["message"] for d in failure.details)
    shown = "\n".join(operations.findings_lines(ports, order_id))
    assert "anomaly unit_price" in shown and "[held for review]" in shown
    assert assistants.accept_findings(ports.sessions, order_id) >= 1
    findings = check(ports, order_id, event_id)
    assert not isinstance(findings, HeldForReview) and any(f.kind == "unit_price" for f in findings)
    assert "[accepted by a person]" in "\n".join(operations.findings_lines(ports, order_id))


def test_an_acceptance_covers_the_value_a_person_saw_not_a_later_one_under_the_same_field(ports):
    """Accepted at ten times the catalogue price; a later version at a hundred times is held again, naming the
    field, while a version that leaves the price alone (paid since) stays covered."""
    store = warm_ports(ports)
    order_id, _ = new_order(ports, store, "price_x10")
    first = stored_payload(ports, order_id)
    assert isinstance(check(ports, order_id), HeldForReview)
    assert assistants.accept_findings(ports.sessions, order_id) >= 1

    # paid since, and X-Cart sends the same amounts in another form (626.4 for 626.4000)
    paid = {**first, "payment_status": {**first["payment_status"], "code": "P"},
            "items": [{**item, "price": str(D(str(item["price"])).normalize())} for item in first["items"]]}
    assert paid["items"] != first["items"]
    new_version(ports, order_id, paid, "evt_paid", minutes=1)
    assert not isinstance(check(ports, order_id), HeldForReview)  # the same price: still the accepted one

    repriced = anomalies.inject(store.generator, first, "price_x10", random.Random(1))  # the same line, x10 again
    new_version(ports, order_id, repriced, "evt_repriced", minutes=2)
    held = check(ports, order_id)
    assert isinstance(held, HeldForReview)
    repriced_line = [f.path for f in held.findings if f.kind == "unit_price"]
    assert repriced_line and [d["path"] for d in held.details if "unit_price" in d["message"]] == repriced_line
    assert "[held for review]" in "\n".join(operations.findings_lines(ports, order_id))


def test_an_acceptance_kept_before_values_were_recorded_is_judged_again_by_its_message(ports):
    """Rows accepted before migration 0014 have no judged value: one whose finding now reads otherwise (another
    value, or the history moved) holds the order again rather than carrying the acceptance over unseen."""
    store = warm_ports(ports)
    order_id, _ = new_order(ports, store, "price_x10")
    assert isinstance(check(ports, order_id), HeldForReview)
    assert assistants.accept_findings(ports.sessions, order_id) >= 1
    with ports.sessions.begin() as session:
        for row in session.scalars(select(OrderFinding).where(OrderFinding.order_id == order_id)):
            row.judged, row.message = None, row.message + " (as worded before)"
    repriced = anomalies.inject(store.generator, stored_payload(ports, order_id), "price_x10", random.Random(1))
    new_version(ports, order_id, repriced, "evt_repriced", minutes=2)
    assert isinstance(check(ports, order_id), HeldForReview)


def stored_payload(ports, order_id: int) -> dict:
    """The order's newest version, as stored."""
    return jsonio.loads(snapshots.order_payload(ports.sessions, order_id))


def new_version(ports, order_id: int, payload: dict, event_id: str, minutes: int) -> None:
    later = {**payload, "update_date": f"2026-11-01T12:{minutes:02d}:00+0000"}
    assert take_in(ports, {"id": event_id, "type": "order.updated", "created_at": "2026-11-02T00:10:00Z",
                           "store": "simulated-store", "data": later}) == order_id


def test_a_finding_the_rules_flag_is_kept_and_the_order_goes_on(ports):
    store = warm_ports(ports, orders=5)
    billing = {**store.generator._address("Ana", "Núñez", True, True), "phone": "+1-555-0100"}
    order_id, event_id = new_order(ports, store, None, billing_address=billing)
    findings = check(ports, order_id, event_id)
    assert not isinstance(findings, HeldForReview)
    assert [(f.kind, f.path, f.severity) for f in findings] == [("phone", "billing_address.phone", "warning")]
    assert "[booked, flagged]" in "\n".join(operations.findings_lines(ports, order_id))


def test_a_data_error_holds_the_order_and_checking_again_finds_it_once(ports):
    store = warm_ports(ports, orders=10)
    billing = {**store.generator._address("Li", "Tanaka", True, True), "country_code": "UK"}
    order_id, event_id = new_order(ports, store, None, billing_address=billing)
    for _ in range(2):
        held = check(ports, order_id, event_id)
        assert isinstance(held, HeldForReview)
        assert held.details == [{"path": "billing_address.country_code",
                                 "message": "validation country: 'UK' is not an ISO 3166 country code"}]
    assert len(assistants.findings_for_order(ports.sessions, order_id)) == 1


def test_both_checks_switched_off_in_the_rules_do_nothing(ports):
    store = warm_ports(ports, orders=5)
    ports.rules = dataclasses.replace(ports.rules,
                                      anomalies=dataclasses.replace(ports.rules.anomalies, enabled=False),
                                      validation=dataclasses.replace(ports.rules.validation, enabled=False))
    billing = {**store.generator._address("Li", "Tanaka", True, True), "country_code": "UK"}
    order_id, event_id = new_order(ports, store, "quantity_1000", billing_address=billing)
    assert checks.check_order(ports, order_id, event_id) == []
    assert assistants.findings_for_order(ports.sessions, order_id) == []


def test_product_events_give_the_catalogue_prices(ports):
    store = warm_ports(ports, orders=1)
    product = next(iter(store.products.values()))
    assert assistants.catalogue_prices(ports.sessions, [product["sku"]]) == {product["sku"]: D(str(product["price"]))}


def test_customers_and_products_are_checked_as_their_events_arrive(ports):
    store = SimulatedStore(StoreConfig(seed=9, customers=3, products=3))
    profile = next(iter(store.profiles.values()))
    bad_profile = {**profile, "login": "ana@shop.invalid",
                   "addresses": [{**profile["addresses"][0], "phone": "+1-555-0100"}]}
    product = next(iter(store.products.values()))
    envelope = {"created_at": "2026-11-02T00:00:00Z", "store": "simulated-store"}
    take_in(ports, {**envelope, "id": "evt_customer", "type": "customer.created", "data": bad_profile})
    take_in(ports, {**envelope, "id": "evt_product", "type": "product.created", "data": product})
    tenfold = {**product, "price": str(D(str(product["price"])) * 10)}
    take_in(ports, {**envelope, "id": "evt_product_2", "type": "product.updated", "data": tenfold})
    found = {(f.entity, f.kind, f.path) for f in assistants.entity_findings(ports.sessions)}
    assert found == {("customer", "email", "login"), ("customer", "phone", "addresses[0].phone"),
                     ("product", "catalogue_price", "price")}
    listed = "\n".join(operations.list_findings(ports))
    assert f"catalogue price of {product['sku']} went from" in listed and "10x above the previous one" in listed
    take_in(ports, {**envelope, "id": "evt_product_3", "type": "product.updated", "data": {**tenfold}})
    assert [f.kind for f in assistants.entity_findings(ports.sessions) if f.entity == "product"] == []


def test_a_concurrent_first_insert_of_a_catalogue_price_is_taken_over_not_failed(ports, monkeypatch):
    real = assistants._remember_price
    calls = []

    def beaten_once(sessions, sku, price):
        calls.append(sku)
        if len(calls) == 1:  # another worker inserts the same SKU first
            real(sessions, sku, D("1.00"))
            raise IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed: catalogue_prices.sku"))
        return real(sessions, sku, price)

    monkeypatch.setattr(assistants, "_remember_price", beaten_once)
    assert assistants.remember_price(ports.sessions, "SKU-X", D("2.50")) == D("1.00")
    assert assistants.catalogue_prices(ports.sessions, ["SKU-X"]) == {"SKU-X": D("2.50")}


def test_a_version_that_came_in_after_the_chains_check_is_booked_only_once_the_checks_pass_it(ports):
    """A chain's check passed version 1; version 2 (ten times the catalogue price) came in before the chain's
    create_invoice, which reads the newest snapshot, and version 2's own chain held it. Booking it would pass a held
    order by. The order's one review names the event parked last (version 1's): its replay, a version superseded,
    runs the order's chain on version 2, which books it once a person accepted the finding."""
    store = warm_ports(ports)
    payload = store.generator.order(8801, next(iter(store.profiles.values())), list(store.products.values()),
                                    store.clock)
    take_in(ports, {"id": "evt_v1", "type": "order.created", "created_at": "2026-11-02T00:00:00Z",
                    "store": "simulated-store", "data": payload})
    assert not isinstance(check(ports, payload["id"], "evt_v1"), HeldForReview)
    edited = {**anomalies.inject(store.generator, payload, "price_x10", random.Random(1)),
              "update_date": "2026-11-02T00:05:00Z"}
    take_in(ports, {"id": "evt_v2", "type": "order.updated", "created_at": "2026-11-02T00:05:00Z",
                    "store": "simulated-store", "data": edited})
    park(ports, "evt_v2", "xcfb.check_order", check(ports, payload["id"], "evt_v2"))  # version 2's chain

    with pytest.raises(HeldForReview):  # the first chain's resolve_client, on version 2: no client made from it
        orders.resolve_client(ports, payload["id"], "evt_v1")
    assert ports.freshbooks.books.all("client") == []
    with pytest.raises(HeldForReview) as held:  # the first chain's create_invoice, on version 2
        orders.create_invoice(ports, payload["id"], "evt_v1")
    assert any(d["path"].endswith("].price") for d in held.value.details)
    assert ports.freshbooks.books.all("invoice") == []
    park(ports, "evt_v1", "xcfb.create_invoice", held.value)
    [review] = ledger.dead_letters(ports.sessions)
    assert review.event_id == "evt_v1" and ledger.get_event(ports.sessions, "evt_v2").status == "review"

    assert assistants.accept_findings(ports.sessions, payload["id"]) >= 1  # a person looked, then replays it
    assert events.handle(ports, review.event_id) == payload["id"]
    assert not isinstance(check(ports, payload["id"], review.event_id), HeldForReview)
    invoice_id = orders.create_invoice(ports, payload["id"], review.event_id)
    booked = ports.freshbooks.books.read("invoice", invoice_id)
    assert D(str(booked["amount"]["amount"])) == D(str(edited["total"]))


def park(ports, event_id: str, task: str, held: HeldForReview) -> None:
    """What workers/tasks.guarded does with the step's HeldForReview: the event parked for a person."""
    assert isinstance(held, HeldForReview)
    failure = classify(held, task)
    ledger.dead_letter(ports.sessions, event_id, failure.kind, task, failure.reason, failure.details)
