"""Mapping suggestions (mappings/suggestions.py): measured against the simulator's ground truth, applied to an
empty rules file (the store then books as under the shipped rules, to the cent), never over a person's rule."""

from __future__ import annotations

from decimal import Decimal

import yaml

from harness.evaluate import cold_account, evaluate_suggestions, existing_account, store_data, table
from mappings.orders import map_order
from mappings.rules import load_rules, parse_rules
from mappings.statuses import invoice_action
from mappings.suggestions import DEFAULT_CONFIDENCE, BooksData, apply, suggest
from sandboxes.xcart.store import SimulatedStore, StoreConfig

EMPTY = {"version": 1}


def test_precision_at_the_default_confidence_is_at_least_095():
    measure = evaluate_suggestions(1)
    print("\n" + "\n".join(table([measure])))
    assert set(measure.labelled) == {"status", "tax", "item", "payment_type"} and measure.flagged >= 60
    assert measure.precision >= 0.95
    assert measure.recall >= 0.9


def store(orders: int = 200) -> SimulatedStore:
    made = SimulatedStore(StoreConfig(seed=2, customers=30, products=20))
    made.place_orders(orders)
    return made


def test_from_an_empty_rules_file_the_applied_rules_book_every_order_as_the_shipped_rules_do():
    simulated = store()
    data = store_data(simulated)
    empty = parse_rules("version: 1\n")
    document, applied = apply(EMPTY, suggest(data, cold_account(simulated).books, empty, EMPTY), DEFAULT_CONFIDENCE)
    assert applied and all(s.confidence >= DEFAULT_CONFIDENCE for s in applied)
    rules, shipped = parse_rules(yaml.safe_dump(document)), load_rules()
    booked = 0
    for order in data.orders:
        action = invoice_action(order.payment_status, order.shipping_status, rules)
        assert action == invoice_action(order.payment_status, order.shipping_status, shipped)
        if action in ("void", "review", "credit"):
            continue
        plan = map_order(order, rules)  # raises NeedsReview if it would not book to the cent
        assert plan.total == order.total
        assert plan.tax_total == sum((s.value for s in order.surcharges if s.type == "tax"), Decimal(0))
        booked += 1
    assert booked >= 100


def test_a_rule_a_person_set_is_never_changed():
    simulated = store(60)
    data = store_data(simulated)
    document = {"version": 1, "status": {"payment": {"P": "sent"}}, "taxes": {"map": {"CDEV.STAX.1": {"name": "Mine"}}}}
    rules = parse_rules("version: 1\nstatus: {payment: {P: sent}}\ntaxes: {map: {CDEV.STAX.1: {name: Mine}}}\n")
    suggestions = suggest(data, BooksData([], [], []), rules, document)
    assert not [s for s in suggestions if s.path in (("status", "payment", "P"), ("taxes", "map", "CDEV.STAX.1"))]
    new, _ = apply(document, suggestions, 0.0)
    assert new["status"]["payment"]["P"] == "sent" and new["taxes"]["map"]["CDEV.STAX.1"] == {"name": "Mine"}
    assert document == {"version": 1, "status": {"payment": {"P": "sent"}},
                        "taxes": {"map": {"CDEV.STAX.1": {"name": "Mine"}}}}  # the given one is left alone


def test_an_account_with_history_is_mapped_to_what_it_has():
    simulated = store(60)
    account = existing_account(simulated, 2)
    found = {s.subject: s for s in suggest(store_data(simulated), account.books, parse_rules("version: 1\n"), EMPTY)}
    assert found["tax CDEV.STAX.1"].value == {"name": "Sales Tax"}  # FreshBooks' "Sales Tax 8.875%", not X-Cart's
    by_hand = next(i for i in account.books.items if not i["sku"] and i["id"] < 900)
    sku = next(p["sku"] for p in simulated.products.values() if account.truth[("item", p["sku"])]
               == f"FreshBooks item {by_hand['id']}")
    assert f"FreshBooks item {by_hand['id']}" in found[sku].proposal and found[sku].changes_booking
    assert "Gift Card" not in " ".join(s.proposal for s in found.values())


def test_evidence_says_what_the_orders_show():
    simulated = store(100)
    found = {s.subject: s for s in suggest(store_data(simulated), BooksData([], [], []), parse_rules("version: 1\n"),
                                           EMPTY)}
    assert "orders, rates " in found["tax CDEV.STAX.1"].evidence and "8.875 %" in found["tax CDEV.STAX.1"].evidence
    paid = found["payment status P"]
    assert paid.value == "paid" and paid.changes_booking and "agree in transactions" in paid.evidence
