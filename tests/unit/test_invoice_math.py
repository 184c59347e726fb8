from decimal import Decimal as D

from mappings.money import LineInput, currency_places, invoice_totals, line_amount, shown


def test_line_amount_rounds_half_up_to_the_currency():
    assert line_amount(D("3"), D("3.335"), 2) == D("10.01")
    assert line_amount(D("2"), D("0.125"), 2) == D("0.25")
    assert line_amount(D("3"), D("333.5"), 0) == D("1001")


def test_currency_places():
    assert currency_places("USD") == 2
    assert currency_places("jpy") == 0
    assert currency_places("KWD") == 3


def test_totals_with_discount_and_taxes_per_name():
    lines = [
        LineInput(D("2"), D("10.00"), (("VAT", D("20")),)),
        LineInput(D("1"), D("5.55"), (("VAT", D("20")), ("ECO", D("1.5")))),
        LineInput(D("1"), D("-3.00")),
    ]
    totals = invoice_totals(lines, D("10"), "USD")
    assert totals.line_amounts == (D("20.00"), D("5.55"), D("-3.00"))
    assert totals.subtotal == D("22.55")
    assert totals.discount_total == D("2.26")  # 2.255 rounds half up
    # VAT: (20.00 + 5.55) * 0.9 * 0.20 = 4.599 -> 4.60 ; ECO: 5.55 * 0.9 * 0.015 = 0.0749 -> 0.07
    assert totals.taxes == {"VAT": D("4.60"), "ECO": D("0.07")}
    assert totals.amount == D("22.55") - D("2.26") + D("4.60") + D("0.07")


def test_zero_decimal_currency_total():
    totals = invoice_totals([LineInput(D("3"), D("1999"), (("JCT", D("10")),))], D("0"), "JPY")
    assert totals.amount == D("6597")  # 5997 + 599.7 -> 600


def test_shown_uses_the_currencys_places_and_never_rounds():
    assert [str(shown(D(v), c)) for v, c in [("34.6800", "USD"), ("34.6849", "USD"), ("1200.000", "JPY"),
                                             ("5", "KWD"), ("34.6", "EUR")]] == \
        ["34.68", "34.6849", "1200", "5.000", "34.60"]
