"""Order -> invoice plan, on the recorded-looking fixtures and on hand-made variations."""

import dataclasses
import json
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest

from mappings.money import invoice_totals
from mappings.orders import NeedsReview, map_order
from mappings.rules import FixedRates, ItemOverride, TaxRule, load_rules
from mappings.statuses import invoice_action
from mappings.xcart.entities import StatusRef
from mappings.xcart.schemas import parse_event

FIXTURES = Path(__file__).parents[1] / "fixtures" / "xcart"
RULES = load_rules()
TABLE = FixedRates({("EUR", "USD"): D("1.0850"), ("GBP", "USD"): D("1.2700"), ("JPY", "USD"): D("0.0067"),
                    ("CAD", "USD"): D("0.7300")}, "fixed table (edit currency.rates)")


def order_from(name="order_5_5.json", **changes):
    payload = json.loads((FIXTURES / name).read_text(), parse_float=D)
    payload["data"].update(changes)
    return parse_event(payload).data


def freshbooks_total(plan):
    return invoice_totals((line.as_input() for line in plan.lines), D(0), plan.currency).amount


def test_the_5_5_order_maps_line_by_line():
    plan = map_order(order_from(), RULES)
    summary = [(line.kind, line.name, line.qty, line.unit_cost, line.taxes) for line in plan.lines]
    sales_tax = (("Sales Tax 8.875%", D("8.875")),)  # the rate is read from the order
    assert summary == [
        ("item", "Earl Grey, 100 g", D(2), D("12.00"), sales_tax),
        ("item", "Glass kettle", D(1), D("48.00"), sales_tax),
        ("shipping", "Shipping", D(1), D("5.99"), ()),
        ("discount", "Coupon AUTUMN10", D(1), D("-7.20"), sales_tax),
    ]
    assert freshbooks_total(plan) == plan.total == D("76.54")  # 8.875% of 64.80 rounds to X-Cart's 5.75
    assert plan.flags == ()
    assert (plan.invoice_number, plan.po_number, plan.currency) == ("10457", "X-Cart 48213", "USD")
    assert plan.create_date == date(2026, 11, 20)
    assert (plan.action, plan.create_status) == ("paid", 2)
    assert plan.notes.splitlines() == ["X-Cart order #10457 (order id 48213).", "Customer notes: Please ring twice"]
    assert (plan.address.street, plan.address.street2, plan.address.province, plan.address.country) == (
        "12 Beacon St", "Suite 4", "Massachusetts", "United States")


def test_invoice_body_for_freshbooks():
    body = map_order(order_from(), RULES).body(customer_id=42)
    assert body["customerid"] == 42 and body["create_date"] == "2026-11-20" and body["status"] == 2
    assert body["lines"][0] == {"type": 0, "name": "Earl Grey, 100 g", "description": "SKU TEA-EG-100", "qty": "2",
                                "unit_cost": {"amount": "12.00", "code": "USD"}, "taxName1": "Sales Tax 8.875%",
                                "taxAmount1": "8.875"}


def test_a_tax_rounded_per_item_keeps_x_carts_amount():
    order = order_from()
    tax = dataclasses.replace(order.surcharges[2], value=D("5.77"))  # X-Cart rounded per item: 2 cents more
    order = dataclasses.replace(order, surcharges=(*order.surcharges[:2], tax), total=D("76.56"))
    plan = map_order(order, RULES)
    totals = invoice_totals((line.as_input() for line in plan.lines), D(0), plan.currency)
    assert totals.amount == D("76.56") and totals.tax_total == D("5.77")  # the tax is X-Cart's, to the cent
    assert [line.kind for line in plan.lines] == ["item", "item", "shipping", "discount"]  # no adjustment line


def test_a_rate_fixed_in_the_rules_that_does_not_explain_the_tax_goes_to_review():
    rules = dataclasses.replace(RULES, taxes={"CDEV.STAX.1": TaxRule("Sales Tax", D("8"))})
    with pytest.raises(NeedsReview, match="the rules fix CDEV.STAX.1 at 8 %, which does not give X-Cart's 5.75 USD"):
        map_order(order_from(), rules)
    fixed = dataclasses.replace(RULES, taxes={"CDEV.STAX.1": TaxRule("Sales Tax", D("8.875"))})
    assert map_order(order_from(), fixed).taxes[0].name == "Sales Tax"  # an override keeps its exact name


def test_an_order_whose_figures_do_not_add_up_goes_to_review():
    with pytest.raises(NeedsReview) as raised:
        map_order(order_from(total=D("99.99")), RULES)
    assert "do not make the total 99.99" in str(raised.value)
    with pytest.raises(NeedsReview, match="items add up to 72.00, the order's sub_total is 70.00"):
        map_order(order_from(sub_total=D("70.00"), total=D("74.54")), RULES)


def test_rest_addon_order_in_yen_with_unmapped_and_included_taxes():
    plan = map_order(order_from("order_rest_addon.json"), RULES)
    totals = invoice_totals((line.as_input() for line in plan.lines), D(0), plan.currency)
    assert plan.currency == "JPY" and plan.total == D("5530") == totals.amount
    assert totals.tax_total == D(550) and plan.tax_total == D(550)  # 430 excluded + 120 included, both booked
    assert [(line.kind, line.name) for line in plan.lines] == [
        ("item", "Matcha 30 g"), ("item", "Bamboo whisk"), ("shipping", "Shipping")]
    assert plan.lines[0].description == "SKU MATCHA-30; X-Cart: 2 x 1500 = 3000"  # shown net of the VAT
    assert plan.flags == ()
    assert "Prices include VAT 2.875%: 120 JPY" in plan.notes  # the rules name CDEV.STAX.2 "VAT"
    assert (plan.action, plan.create_status) == ("sent", 2)
    assert plan.body(1)["lines"][0]["unit_cost"]["amount"].isdigit()  # yen: no decimals


def test_unmapped_tax_under_the_review_policy():
    rules = dataclasses.replace(RULES, unmapped_tax="review")
    with pytest.raises(NeedsReview, match="tax 'CDEV.STAX.9' has no FreshBooks tax"):
        map_order(order_from("order_rest_addon.json"), rules)


def test_unmapped_items_as_a_line_or_for_review():
    order = order_from()
    plan = map_order(order, RULES, known_skus={"KETTLE-GL"})
    assert [line.name for line in plan.lines[:2]] == ["Unmapped Item", "Glass kettle"]
    assert plan.lines[0].description == "SKU TEA-EG-100: Earl Grey, 100 g"
    assert plan.flags == ("SKU TEA-EG-100 booked as 'Unmapped Item'",)
    with pytest.raises(NeedsReview, match="SKU 'TEA-EG-100' has no FreshBooks item"):
        map_order(order, dataclasses.replace(RULES, unmapped_item="review"), known_skus={"KETTLE-GL"})


def test_sku_overrides_rename_items():
    rules = dataclasses.replace(RULES, sku_overrides={"KETTLE-GL": ItemOverride("Kettle (glass)", "Borosilicate")})
    line = map_order(order_from(), rules).lines[1]
    assert (line.name, line.description) == ("Kettle (glass)", "Borosilicate")


def test_currency_conversion_records_rate_and_source():
    rules = dataclasses.replace(RULES, currency_policy="convert", account_currency="USD", rates=TABLE)
    plan = map_order(order_from("order_rest_addon.json"), rules)
    assert plan.currency == "USD" and plan.total == D("37.05")  # 5530 JPY x 0.0067
    assert freshbooks_total(plan) == D("37.05")  # each converted line rounds; the cents are a named line
    assert all(flag.endswith("(conversion rounding)") for flag in plan.flags)
    assert plan.conversion.rate == D("0.0067")
    assert "Converted from JPY at 0.0067 USD per JPY (source: fixed table (edit currency.rates)); " \
           "X-Cart total 5530 JPY." in plan.notes


def test_conversion_without_a_rate_goes_to_review():
    rules = dataclasses.replace(RULES, currency_policy="convert", account_currency="CHF", rates=TABLE)
    with pytest.raises(NeedsReview, match="no exchange rate JPY->CHF"):
        map_order(order_from("order_rest_addon.json"), rules)


def test_volume_discount_and_fixed_coupon_lines():
    order = order_from()
    volume = dataclasses.replace(order.surcharges[1], code="DISCOUNT", name="Volume discount", value=D("-3.60"))
    coupon = dataclasses.replace(order.surcharges[1], value=D("-5.00"))
    tax = dataclasses.replace(order.surcharges[2], value=D("5.63"))  # 8.875% of 63.40
    order = dataclasses.replace(order, surcharges=(order.surcharges[0], volume, coupon, tax), total=D("75.02"))
    plan = map_order(order, RULES)
    assert [(line.name, line.unit_cost) for line in plan.lines if line.kind == "discount"] == [
        ("Volume discount", D("-3.60")), ("Coupon AUTUMN10", D("-5.00"))]
    assert freshbooks_total(plan) == D("75.02") and plan.flags == ()


@pytest.mark.parametrize("payment, fulfilment, action", [
    (StatusRef("P", 4, "Paid"), StatusRef("N"), "paid"),
    (StatusRef("Q"), StatusRef("S"), "sent"),
    (StatusRef("C"), StatusRef("N"), "void"),
    (StatusRef("R"), StatusRef("D"), "credit"),
    (StatusRef("P"), StatusRef("WND"), "void"),  # a fulfilment override wins
    (StatusRef(None, 42, "Paid via invoice"), StatusRef(None), "review"),  # custom status, no rule
])
def test_status_actions(payment, fulfilment, action):
    assert invoice_action(payment, fulfilment, RULES) == action


def test_custom_statuses_match_by_id_or_name():
    custom = {**RULES.payment_status, "Paid via invoice": "paid", "43": "sent"}
    rules = dataclasses.replace(RULES, payment_status=custom)
    assert invoice_action(StatusRef(None, 42, "Paid via invoice"), StatusRef(None), rules) == "paid"
    assert invoice_action(StatusRef(None, 43, "Pending wire"), StatusRef(None), rules) == "sent"


def test_unknown_status_goes_to_review():
    order = order_from(payment_status={"id": 99, "name": "On hold"})
    with pytest.raises(NeedsReview, match="no status rule for payment status 99"):
        map_order(order, RULES)


def test_create_as_draft_policy():
    rules = dataclasses.replace(RULES, create_as="draft")
    assert map_order(order_from("order_rest_addon.json"), rules).create_status == 1  # unpaid -> draft
    assert map_order(order_from(), rules).create_status == 2  # paid orders are booked
