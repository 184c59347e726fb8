"""The declarative rules file: the shipped defaults load; every mistake is named by its path."""

from decimal import Decimal as D

import pytest

from mappings.rules import DEFAULT_RULES, RulesInvalid, load_rules, parse_rules


def errors(text: str) -> dict[str, str]:
    with pytest.raises(RulesInvalid) as raised:
        parse_rules(text)
    return {e.path: e.message for e in raised.value.errors}


def test_the_shipped_defaults_load():
    rules = load_rules(DEFAULT_RULES)
    assert rules.taxes["CDEV.STAX.1"].name == "Sales Tax" and rules.taxes["CDEV.STAX.1"].percent is None  # derived
    assert rules.tax_shipping is None and rules.unmapped_tax == "book"
    assert rules.payment_status["P"] == "paid" and rules.fulfilment_status["WND"] == "void"
    assert rules.rates_from == "ecb" and rules.rates.table == {}  # the ECB's rates; the table only overrides
    table = parse_rules("version: 1\ncurrency: {rates: {EUR/USD: 1.0850}}").rates
    assert table.rate("EUR", "USD") == (D("1.0850"), "fixed table")
    assert rules.adjustment_review_above == D("1.00")


def test_a_tax_rate_override_is_exact():
    rules = parse_rules("version: 1\ntaxes: {map: {CDEV.STAX.1: {name: NY Sales Tax, percent: 8.875, shipping: true}}}")
    assert rules.taxes["CDEV.STAX.1"].percent == D("8.875")  # exact: read from the text, never a float
    assert rules.taxes["CDEV.STAX.1"].shipping is True


def test_a_minimal_file_gets_defaults():
    rules = parse_rules("version: 1")
    assert (rules.currency_policy, rules.unmapped_item, rules.create_as, rules.unknown_status) == (
        "keep", "line", "sent", "review")


def test_invoices_are_looked_up_before_a_first_create_unless_the_rules_say_not():
    assert parse_rules("version: 1").look_up_invoices_first is True  # safe: a hand-made invoice goes to review
    assert parse_rules("version: 1\ninvoice: {look_up_first: false}").look_up_invoices_first is False


def test_mistakes_are_named_by_path():
    assert errors("""
version: 2
status:
  payment: {P: paidd}
  unknown: later
taxes:
  map:
    CDEV.STAX.1: {name: Sales Tax, percent: 120}
    CDEV.STAX.2: {percent: 5}
  unmapped: ignore
  tax_shipping: sometimes
currency: {account_currency: usd, policy: convert, rates: {EURUSD: 1.1, EUR/USD: -1}}
invoice: {store_timezone: Mars/Olympus, due_offset_days: -1}
colour: blue
""") == {
        "version": "only version 1 exists",
        "status.payment.P": "must be one of: draft, sent, paid, void, credit, review",
        "status.unknown": "must be one of: draft, sent, paid, void, credit, review",
        "taxes.map.CDEV.STAX.1.percent": "must be greater than 0 and less than or equal to 100",
        "taxes.map.CDEV.STAX.2.name": "missing data for required field",
        "taxes.unmapped": "must be one of: book, review",
        "taxes.tax_shipping": "must be one of: auto, true, false",
        "currency.account_currency": "unknown currency 'usd'",
        "currency.rates": "rate keys are FROM/TO currency codes, e.g. EUR/USD: EURUSD",
        "invoice.store_timezone": "unknown time zone 'Mars/Olympus'",
        "invoice.due_offset_days": "must be greater than or equal to 0 and less than or equal to 365",
        "colour": "unknown field",
    }


def test_not_yaml_or_not_a_mapping():
    assert list(errors("version: [1")) == ["(file)"]
    assert errors("- 1\n- 2") == {"(file)": "the rules file must be a mapping"}


def test_inverse_rates_are_derived_and_said_so():
    rules = parse_rules("version: 1\ncurrency: {rates: {EUR/USD: 1.25}}")
    assert rules.rates.rate("USD", "EUR") == (D("0.8"), "fixed table (inverse)")
    with pytest.raises(LookupError):
        rules.rates.rate("GBP", "EUR")


def test_the_assistants_are_switched_and_tuned_in_the_rules():
    shipped = load_rules(DEFAULT_RULES)
    assert shipped.anomalies.enabled and shipped.validation.enabled
    kinds = shipped.anomalies.kinds
    assert kinds["unit_price"].action == "review" and kinds["refunds"].action == "flag"
    assert shipped.validation.actions == {"error": "review", "warning": "flag", "info": "flag"}
    rules = parse_rules("version: 1\nanomalies: {enabled: false, kinds: {order_total: {action: review}}}\n"
                        "validation: {enabled: false, actions: {warning: review}, currencies: [EUR]}")
    assert not rules.anomalies.enabled and not rules.validation.enabled
    assert rules.anomalies.kinds["order_total"].action == "review"
    assert rules.anomalies.kinds["order_total"].threshold == shipped.anomalies.kinds["order_total"].threshold
    assert rules.validation.actions["warning"] == "review" and rules.validation.actions["error"] == "review"
    assert rules.validation.currencies == ("EUR",)


def test_assistant_mistakes_are_named_by_path():
    assert errors("""
version: 1
anomalies: {warm_up: 1, kinds: {quantity: {action: hold}, colour: {action: flag}}}
validation: {actions: {warning: ignore}, currencies: [ABC]}
""") == {
        "anomalies.warm_up": "must be greater than or equal to 3",
        "anomalies.kinds.quantity.action": "must be one of: flag, review",
        "anomalies.kinds.colour.key": ("must be one of: unit_price, order_total, discount, quantity, tax_rate, "
                                       "refunds"),
        "validation.actions.warning": "must be one of: flag, review",
        "validation.currencies": "unknown currency ABC",
    }
