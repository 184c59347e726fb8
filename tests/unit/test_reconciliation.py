"""Reconciliation's classes, totals and formats (mappings/reconciliation.py), and beat's window: pure."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest

from celeryconfig import beat_schedule_for
from core.settings import Settings
from mappings.reconciliation import BookedInvoice, Report, StoreOrder, classify, unexplained
from workers.reconcile import beat_window
from xcfb.cli import main

ORDER = StoreOrder(7, "1007", "USD", D("76.54"), D("76.54"), D("10.00"), True)


def invoice(invoice_id=1, amount="76.54", paid="76.54", currency="USD", client=5, number="1007") -> BookedInvoice:
    return BookedInvoice(invoice_id, number, currency, D(amount), D(paid), client, "2026-11-02")


@pytest.mark.parametrize("order, invoices, credited, klass, repairable, said", [
    (ORDER, [invoice()], "10.00", "matched", False, ""),
    (ORDER, [], "10.00", "missing", True, "no invoice in FreshBooks for 76.54 USD"),
    (ORDER, [invoice(), invoice(2)], "10.00", "duplicate_number", False, "2 invoices numbered 1007: 1, 2"),
    (ORDER, [invoice(currency="EUR")], "10.00", "currency_mismatch", False, "is in EUR, the order in USD"),
    (ORDER, [invoice(client=9)], "10.00", "client_deleted", False, "client 9 is deleted"),
    (ORDER, [invoice(amount="80.00")], "10.00", "amount_differs", False, "totals 80.00 USD, X-Cart's order 76.54"),
    (ORDER, [invoice(paid="30.00")], "10.00", "payments_differ", True, "shows 30.00 USD paid, X-Cart collected 76.54"),
    (ORDER, [invoice(paid="80.00", amount="80.00")], "10.00", "amount_differs", False, "80.00"),
    (ORDER, [invoice()], "0", "refund_missing", True, "credit notes total 0 USD, X-Cart gave back 10.00"),
    (ORDER, [invoice()], "20.00", "refund_missing", False, "credit notes total 20.00 USD"),  # more: a person's
    (StoreOrder(7, "1007", "USD", D(5), D(0), D(0), False), [], "0", "matched", False, "cancelled before payment"),
    (StoreOrder(7, "1007", "USD", D(5), D(0), D(0), False), [invoice()], "0", "not_voided", True, "still open"),
    (StoreOrder(7, "1007", "USD", D(5), D(0), D(0), True, "unknown tax"), [invoice()], "0", "held", False,
     "held for review: unknown tax"),
])
def test_each_order_gets_one_class_naming_the_difference(order, invoices, credited, klass, repairable, said):
    line = classify(order, invoices, D(credited), deleted_clients={9})
    assert (line.klass, line.repairable) == (klass, repairable)
    assert said in line.detail


def test_a_deleted_invoice_is_named_and_a_stray_one_is_freshbooks_only():
    assert "(invoice 3 deleted in FreshBooks)" in classify(ORDER, [], D(0), set(), [3]).detail
    stray = unexplained(invoice(number="STRAY-1", amount="50.00", paid="0"))
    assert (stray.klass, stray.order_number, stray.invoiced) == ("freshbooks_only", "STRAY-1", D("50.00"))


def test_totals_per_currency_exit_on_match_and_the_three_formats():
    report = Report(date(2026, 11, 1), date(2026, 11, 30), [
        classify(ORDER, [invoice()], D("10.00"), set()),
        classify(StoreOrder(8, "1008", "EUR", D("20.00"), D("20.00"), D(0), True),
                 [invoice(2, "20.00", "20.00", "EUR", number="1008")], D(0), set())])
    assert report.matched and report.counts["matched"] == 2
    assert report.totals() == {
        "EUR": {"xcart_total": D("20.00"), "invoiced": D("20.00"), "collected": D("20.00"), "paid": D("20.00"),
                "given_back": D(0), "credited": D(0)},
        "USD": {"xcart_total": D("76.54"), "invoiced": D("76.54"), "collected": D("76.54"), "paid": D("76.54"),
                "given_back": D("10.00"), "credited": D("10.00")}}
    as_json = json.loads(report.as_json())
    assert as_json["totals"]["USD"]["credited"] == "10.00" and as_json["orders"][0]["paid"] == "76.54"
    assert report.as_csv().splitlines()[-1] == "TOTAL,,,USD,76.54,76.54,76.54,76.54,10.00,10.00,"
    assert report.as_table().endswith("RESULT: every order matches")
    report.lines.append(unexplained(invoice(3, number="STRAY")))
    assert not report.matched and "RESULT: 1 differ (0 repairable with --repair)" in report.as_table()


def test_beat_reconciles_the_previous_day_plus_the_overlap_daily():
    assert beat_window(datetime(2026, 12, 2, 3, 0, tzinfo=UTC), 86400, 86400) == (date(2026, 11, 30),
                                                                                    date(2026, 12, 1))
    assert beat_window(datetime(2026, 12, 2, 3, 0, tzinfo=UTC), 600, 0) == (date(2026, 12, 1), date(2026, 12, 1))
    schedule = beat_schedule_for(Settings(reconcile_interval=3600))
    assert schedule["reconcile"] == {"task": "xcfb.reconcile", "schedule": 3600}


def test_the_command_names_a_bad_window(capsys):
    assert main(["reconcile", "--since", "2026-11-05", "--until", "2026-11-01"], plugins=[]) == 2
    assert "xcfb: --since 2026-11-05 is after --until 2026-11-01" in capsys.readouterr().err
    assert main(["reconcile", "--since", "05/11/2026"], plugins=[]) == 2
    assert "'05/11/2026' does not match the format '%Y-%m-%d'" in capsys.readouterr().err
    assert main(["reconcile", "--format", "xml"], plugins=[]) == 2
