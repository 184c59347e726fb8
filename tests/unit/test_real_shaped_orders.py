"""Orders shaped like X-Cart's real output (tests/corpus) map to invoices that FreshBooks totals to the cent:
invoice amount = order total, invoice tax = X-Cart's tax (included or excluded), quantities as sold."""

import json
from collections import defaultdict
from decimal import Decimal as D

import pytest

from mappings.money import invoice_totals
from mappings.orders import map_order
from mappings.rules import load_rules
from mappings.xcart.entities import Order
from mappings.xcart.schemas import parse_event
from tests.corpus.real_orders import ZONES, Corpus

RULES = load_rules()
CORPUS = Corpus(seed=2026).orders(400)


def mapped(body: bytes):
    order = parse_event(body).data
    assert isinstance(order, Order)
    plan = map_order(order, RULES)
    return order, plan, invoice_totals((line.as_input() for line in plan.lines), D(0), plan.currency)


@pytest.mark.parametrize("case", CORPUS, ids=lambda c: f"{c.order_number} {c.shape}")
def test_every_real_shaped_order_books_to_the_cent(case):
    order, plan, freshbooks = mapped(case.events[0])
    assert (plan.currency, plan.total, freshbooks.amount) == (case.currency, case.total, case.total)
    assert freshbooks.tax_total == plan.tax_total == case.tax
    assert all(amount == D(0) or name in {t.name for t in plan.taxes} for name, amount in freshbooks.taxes.items())
    sold, booked = defaultdict(D), defaultdict(D)
    for item in order.items:
        sold[item.sku] += item.amount
    for line in plan.lines:
        if line.kind == "item":
            booked[line.sku] += line.qty
    assert booked == sold
    adjustments = [line for line in plan.lines if line.kind == "adjustment"]
    assert all(abs(line.unit_cost) <= D("0.02") for line in adjustments)  # rounding, a cent or two


def test_derived_rates_name_the_zone_rate(capsys):
    """The amounts are exact by construction; the rate in a tax's name is inferred, and measured here."""
    named = right = 0
    for case in CORPUS:
        _, plan, _ = mapped(case.events[0])
        for tax in plan.taxes:
            named += 1
            right += tax.percent == case.rates[tax.code]
    with capsys.disabled():
        print(f"\nderived tax rates: {right}/{named} name the zone's rate ({right / named:.1%})")
    assert right / named >= 0.95


def test_the_corpus_has_every_shape():
    shapes = " ".join(c.shape for c in CORPUS)
    for needle in ("JPY", "KWD", "EUR", "CAD", "60 lines", "string4", "float", "number", "mixed"):
        assert needle in shapes
    bodies = b"".join(c.events[0] for c in CORPUS)
    assert b'"custom_fields": []' in bodies and b'"customer_id": null' in bodies and b'"0.3330"' in bodies
    assert sum(len(c.events) > 1 for c in CORPUS) > 100  # orders with a payment.created event


def test_one_tax_code_with_a_rate_per_zone():
    corpus = Corpus(seed=5)
    rates = set()
    for zone in ZONES[:4]:
        _, plan, _ = mapped(corpus.order(1, zone=zone, prices=["48.50"], lines=1, coupon="", volume=False).events[0])
        rates |= {(t.code, t.name, t.percent) for t in plan.taxes}
    assert rates == {("CDEV.STAX.1", "Sales Tax 8.875%", D("8.875")), ("CDEV.STAX.1", "Sales Tax 7.25%", D("7.25")),
                     ("CDEV.STAX.1", "Sales Tax 9.5%", D("9.5")), ("CDEV.STAX.1", "Sales Tax 5%", D("5"))}


def order_event(items, surcharges, total, sub_total, currency="USD"):
    return json.dumps({"id": "e1", "type": "order.created", "created_at": "2026-11-20T10:00:00Z", "store": "s",
                       "data": {"id": 1, "order_number": "1", "create_date": "2026-11-20T10:00:00+0000",
                                "total": total, "sub_total": sub_total, "currency": currency,
                                "email": "a@example.com", "payment_status": {"code": "Q"},
                                "items": [{"sku": f"S{i}", "name": "Thing", "price": price, "amount": qty}
                                          for i, (price, qty) in enumerate(items)],
                                "surcharges": [{"type": t, "code": c, "value": v, "include": inc}
                                               for t, c, v, inc in surcharges]}})


def test_shipping_tax_is_booked_as_tax_not_as_an_adjustment():
    """The issue's case: 104.85 of goods + 7.25 shipping taxed at 8.875 % = 9.95 of tax."""
    body = order_event([("104.85", 1)], [("shipping", "SHIPPING", "7.25", False),
                                         ("tax", "CDEV.STAX.1", "9.95", False)], "122.05", "104.85")
    _, plan, freshbooks = mapped(body)
    assert freshbooks.taxes == {"Sales Tax 8.875%": D("9.95")} and freshbooks.amount == D("122.05")
    assert [line.kind for line in plan.lines] == ["item", "shipping"]
    assert all(line.taxes == (("Sales Tax 8.875%", D("8.875")),) for line in plan.lines)


def test_vat_included_in_prices_is_booked_as_net_lines_plus_the_tax():
    """69.00 with 20 % VAT included: 57.50 net + 11.50 VAT, and the invoice still totals 69.00."""
    body = order_event([("23.00", 3)], [("tax", "CDEV.STAX.2", "11.50", True)], "69.00", "69.00", "EUR")
    _, plan, freshbooks = mapped(body)
    assert freshbooks.amount == D("69.00") and freshbooks.taxes == {"VAT 20%": D("11.50")}
    assert freshbooks.subtotal == D("57.50")
    assert "Prices include VAT 20%: 11.50 EUR" in plan.notes


def test_a_sub_cent_unit_price_keeps_quantity_and_subtotal():
    """3 x 0.333 is 1.00 in X-Cart: two lines of the same item, 2 x 0.33 and 1 x 0.34."""
    body = order_event([("0.333", 3)], [], "1.00", "1.00")
    _, plan, freshbooks = mapped(body)
    assert [(line.qty, line.unit_cost) for line in plan.lines] == [(D(2), D("0.33")), (D(1), D("0.34"))]
    assert freshbooks.amount == D("1.00")
    assert "X-Cart: 3 x 0.333 = 1.00" in plan.lines[0].description


def test_yen_sent_as_json_floats():
    body = order_event([(1500.0, 2)], [("tax", "CDEV.STAX.5", 300.0, False)], 3300.0, 3000.0, "JPY")
    _, plan, freshbooks = mapped(body.encode())
    assert plan.body(1)["lines"][0]["unit_cost"] == {"amount": "1500", "code": "JPY"}
    assert freshbooks.amount == D(3300) and freshbooks.tax_total == D(300)
