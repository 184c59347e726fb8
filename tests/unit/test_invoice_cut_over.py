"""The invoice-number cut-over: at the default rules (`invoice.look_up_first: true`) a first create searches its
number only when an invoice FreshBooks held at the cut-over may carry it; the clashes still go to review, and a
retry after a lost answer still searches and adopts."""

from __future__ import annotations

import dataclasses

import pytest

from apis.freshbooks.errors import Unavailable
from mappings.invoice_numbers import high_marks, may_clash, split
from mappings.orders import NeedsReview
from store import cut_overs
from tests.unit.test_chain_steps import books, deliver, run_chain
from workers import cut_over, orders


def order(ports, n: int, number: str, status: str = "Q") -> int:
    return deliver(ports, f"evt-{n}", "order.created", id=49000 + n, order_number=number,
                   payment_status={"code": status})


def calls_of(ports, work) -> list[str]:
    before = len(ports.freshbooks.calls)
    work()
    return ports.freshbooks.calls[before:]


def hand_made(ports, number: str) -> dict:
    """An invoice booked in FreshBooks another way (by hand, another tool), for a client of its own."""
    client = books(ports).create_client({"fname": "Walk", "lname": "In", "email": f"walk-in-{number}@example.com"})
    return books(ports).create_invoice({"customerid": client["id"], "invoice_number": number,
                                        "create_date": "2026-11-01", "lines": []})


# -- the numbers (pure) ---------------------------------------------------------------------------------------

def test_a_number_is_a_prefix_and_the_value_of_its_trailing_digits():
    assert split("10457") == ("", "10457")
    assert split("XC-00042") == ("xc-", "42")
    assert split("2026-001") == ("2026-", "1")
    assert split("0") == ("", "0") and split("000") == ("", "0")
    assert split("INV") is None and split("") is None and split("10457 ") is None and split("10457\n") is None
    assert split("١٢٣") is None  # digits of another script are not read as a value


def test_marks_compare_values_not_text():
    marks = high_marks(["999", "1000", "0042", "INV-7", "inv-12", None, "", "DRAFT"])
    assert marks == {"": "1000", "inv-": "12"}  # "999" > "1000" as text; not as numbers
    assert may_clash("1000", marks) and may_clash("999", marks) and may_clash("42", marks)
    assert not may_clash("1001", marks) and not may_clash("10000", marks)
    assert may_clash("INV-12", marks) and may_clash("Inv-3", marks) and not may_clash("INV-13", marks)
    assert not may_clash("XC-1", marks)  # no invoice had the prefix: none can equal it
    assert may_clash("DRAFT", marks) and may_clash("10457-A", marks)  # no trailing digits: always searched
    assert may_clash("1", None)  # the cut-over unknown: searched


def test_values_longer_than_any_integer_are_compared_exactly():
    long = "9" * 5000  # beyond Python's int() limit for text, and any column's integer
    marks = high_marks([long, "1" + "0" * 5000])
    assert marks == {"": "1" + "0" * 5000}
    assert may_clash(long, marks) and not may_clash("1" + "0" * 4999 + "1", marks)


# -- the chain at the default rules -----------------------------------------------------------------------------

def test_at_the_default_rules_an_order_with_client_and_items_bound_costs_the_minimum(ports):
    assert ports.rules.look_up_invoices_first is True
    for n in range(150):  # two pages of invoices booked before the service
        hand_made(ports, str(1000 + n))
    first = calls_of(ports, lambda: run_chain(ports, order(ports, 0, "20000"), "evt-0"))
    assert first.count("list_invoices") == 2  # the cut-over, read once: ceil(150 / 100) pages
    assert "find_invoice_by_number" not in first
    assert cut_overs.get(ports.sessions, books(ports).account_id).marks == {"": "1149"}

    unpaid = [calls_of(ports, lambda n=n: run_chain(ports, order(ports, n, str(20000 + n)), f"evt-{n}"))
              for n in range(1, 6)]
    paid = [calls_of(ports, lambda n=n: run_chain(ports, order(ports, n, str(20000 + n), "P"), f"evt-{n}"))
            for n in range(6, 11)]
    assert unpaid == [["create_invoice"]] * 5
    assert paid == [["create_invoice", "create_payment"]] * 5


def test_a_renumbered_store_reusing_an_old_number_is_searched_and_the_clash_goes_to_review(ports):
    old = hand_made(ports, "10457")  # booked before the store started again from 10000
    run_chain(ports, order(ports, 0, "20000"), "evt-0")  # the cut-over read: highest number 10457
    reused = order(ports, 1, "10457")
    before = books(ports).snapshot()
    with pytest.raises(NeedsReview, match=rf"invoice number 10457 is taken in FreshBooks by invoice {old['id']} "
                                          r"\(po_number ''"):
        orders.create_invoice(ports, reused, "evt-1")
    assert ports.freshbooks.calls[-1] == "find_invoice_by_number" and books(ports).snapshot() == before
    below = calls_of(ports, lambda: run_chain(ports, order(ports, 2, "10000"), "evt-2"))
    assert below == ["find_invoice_by_number", "create_invoice"]  # at or below the mark: searched, none found


def test_numbers_with_a_prefix_or_leading_zeros_are_searched_unless_above_their_prefix_mark(ports):
    hand_made(ports, "XC-0042")
    run_chain(ports, order(ports, 0, "1"), "evt-0")  # no plain number held: "1" is above nothing, created
    assert "find_invoice_by_number" not in ports.freshbooks.calls
    assert calls_of(ports, lambda: orders.create_invoice(ports, order(ports, 1, "XC-42"), "evt-1"))[0] == \
        "find_invoice_by_number"  # 42 = 0042: searched (not the same string: none found, created)
    assert calls_of(ports, lambda: orders.create_invoice(ports, order(ports, 2, "xc-43"), "evt-2")) == \
        ["create_invoice"]
    assert calls_of(ports, lambda: orders.create_invoice(ports, order(ports, 3, "ORDER-A"), "evt-3"))[0] == \
        "find_invoice_by_number"  # no trailing digits: always searched


def test_an_invoice_typed_in_by_hand_after_the_cut_over_refused_as_a_number_taken_goes_to_review(ports):
    books(ports).unique_invoice_numbers = True  # FreshBooks keeping numbers unique (unverified: the sandbox can)
    run_chain(ports, order(ports, 0, "20000"), "evt-0")
    typed = hand_made(ports, "20001")  # after the cut-over, a number the store had not reached
    with pytest.raises(NeedsReview, match=rf"invoice number 20001 is taken in FreshBooks by invoice {typed['id']}"):
        orders.create_invoice(ports, order(ports, 1, "20001"), "evt-1")
    assert ports.freshbooks.calls[-2:] == ["create_invoice", "find_invoice_by_number"]
    assert [i["invoice_number"] for i in books(ports).all("invoice")] == ["20000", "20001"]


def test_a_retry_after_a_lost_answer_searches_whatever_the_cut_over_and_adopts(ports):
    run_chain(ports, order(ports, 0, "20000"), "evt-0")
    lost = order(ports, 1, "20001")
    orders.resolve_client(ports, lost, "evt-1")
    orders.sync_items(ports, lost, "evt-1")
    ports.freshbooks.faults.configure({"ghost_creates": 1})
    with pytest.raises(Unavailable):
        orders.create_invoice(ports, lost, "evt-1")
    retry = calls_of(ports, lambda: orders.create_invoice(ports, lost, "evt-1"))
    assert retry[:1] == ["find_invoice_by_number"] and "create_invoice" not in retry
    assert [i["invoice_number"] for i in books(ports).all("invoice")] == ["20000", "20001"]


def test_when_the_cut_over_cannot_be_read_the_order_is_searched_and_the_read_tried_again(ports, monkeypatch):
    def unreachable(params=None):
        ports.freshbooks.calls.append("list_invoices")
        raise Unavailable("list_invoices: HTTP 503", may_have_reached_server=False, status=503)

    monkeypatch.setattr(ports.freshbooks, "list_invoices", unreachable)
    assert calls_of(ports, lambda: orders.create_invoice(ports, order(ports, 0, "20000"), "evt-0"))[-3:] == \
        ["list_invoices", "find_invoice_by_number", "create_invoice"]
    assert cut_overs.get(ports.sessions, books(ports).account_id) is None
    monkeypatch.undo()
    assert calls_of(ports, lambda: orders.create_invoice(ports, order(ports, 1, "20001"), "evt-1"))[-2:] == \
        ["list_invoices", "create_invoice"]  # read this time, and 20001 is above every number held


def test_look_up_first_false_never_reads_the_cut_over(ports):
    ports.rules = dataclasses.replace(ports.rules, look_up_invoices_first=False)
    run_chain(ports, order(ports, 0, "20000"), "evt-0")
    assert "list_invoices" not in ports.freshbooks.calls and "find_invoice_by_number" not in ports.freshbooks.calls


def test_the_first_reading_is_kept_and_a_forgotten_one_is_read_again(ports):
    account = books(ports).account_id
    first = cut_overs.keep(ports.sessions, account, {"": "10"}, 10)
    assert cut_overs.keep(ports.sessions, account, {"": "12"}, 12) == first  # a later reading can only be higher
    assert cut_over.marks(ports) == {"": "10"} and "list_invoices" not in ports.freshbooks.calls
    hand_made(ports, "15")
    assert cut_overs.forget(ports.sessions, account) and cut_over.marks(ports) == {"": "15"}


def test_a_number_the_service_booked_since_the_cut_over_for_another_order_is_searched(ports):
    first, _ = run_chain(ports, order(ports, 0, "20000"), "evt-0")  # above the cut-over: created, not searched
    again = order(ports, 1, "20000")  # the store renumbered since, or a test order: another order, the same number
    with pytest.raises(NeedsReview, match=rf"invoice number 20000 is taken in FreshBooks by invoice {first} "
                                          r"\(po_number 'X-Cart 49000'.*not this order's \(po_number 'X-Cart 49001'"):
        orders.create_invoice(ports, again, "evt-1")
    assert len(books(ports).all("invoice")) == 1
