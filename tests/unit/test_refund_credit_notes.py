"""Refunds and cancellations after payment booked as FreshBooks credit notes by the order chain, over SQLite and
the fake FreshBooks (the sandbox's books without HTTP): full, partial and several refunds, replays and lost answers
that never book twice, cancellations that keep the paid invoice, the rules' review and ignore, and one open review
per order."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest

from apis.freshbooks.errors import Unavailable
from mappings import jsonio
from mappings.exchange_rates import EcbDay, EcbRates
from mappings.orders import NeedsReview
from store import ledger
from workers import events, orders

FIXTURES = Path(__file__).parents[1] / "fixtures" / "xcart"
ORDER = json.loads((FIXTURES / "order_5_5.json").read_text(), parse_float=D)  # order 10457, 76.54, paid
PAYMENT = json.loads((FIXTURES / "payment.json").read_text(), parse_float=D)  # its sale, 76.54
ORDER_ID = 48213
CANCELLED = {"id": 3, "code": "C", "name": "Cancelled", "customer_name": "Cancelled"}
REFUNDED = {"id": 5, "code": "R", "name": "Refunded", "customer_name": "Refunded"}


def deliver(ports, event_id: str, event_type: str = "order.updated", envelope: dict = ORDER, **changes) -> int:
    raw = jsonio.dumps(envelope | {"id": event_id, "type": event_type, "data": envelope["data"] | changes})
    recorded_id, needed = events.receive(ports, raw)
    assert needed
    return events.handle(ports, recorded_id)


def transaction(ports, event_id: str, transaction_id: int, value: str, kind: str = "sale",
                date: str = "2026-11-20T15:04:08+0000") -> int:
    return deliver(ports, event_id, "payment.created", PAYMENT, id=transaction_id, value=value, type=kind, date=date)


def status(ports, event_id: str, payment_status: dict, update_date: str) -> int:
    return deliver(ports, event_id, payment_status=payment_status, update_date=update_date)


def run_chain(ports, event_id: str | None = None):
    orders.resolve_client(ports, ORDER_ID, event_id)
    orders.sync_items(ports, ORDER_ID, event_id)
    invoice_id = orders.create_invoice(ports, ORDER_ID, event_id)
    return invoice_id, orders.reconcile_payment(ports, ORDER_ID, event_id)


def credit_notes(ports, active_only: bool = True) -> dict[str, D]:
    return {c["credit_number"]: D(c["amount"]["amount"]) for c in ports.freshbooks.books.all("credit_note")
            if c["vis_state"] == 0 or not active_only}


def paid_invoice(ports) -> dict:
    (invoice,) = [i for i in ports.freshbooks.books.all("invoice") if i["vis_state"] == 0]
    return invoice


def test_a_full_refund_is_one_credit_note_with_the_invoices_lines_booked_once(ports):
    deliver(ports, "evt-1", "order.created")
    transaction(ports, "evt-2", 77001, "76.54")
    transaction(ports, "evt-3", 77002, "76.54", "refund", "2026-11-22T10:00:00+0000")
    invoice_id, booked = run_chain(ports, "evt-3")
    assert booked == D("76.54") and D(paid_invoice(ports)["paid"]["amount"]) == D("76.54")  # the invoice stays paid
    (credit,) = ports.freshbooks.books.all("credit_note")
    assert (credit["credit_number"], D(credit["amount"]["amount"]), credit["currency_code"]) == (
        "10457-R1", D("76.54"), "USD")
    assert credit["clientid"] == paid_invoice(ports)["customerid"] and credit["create_date"] == "2026-11-22"
    assert "transaction 77002 (refund" in credit["notes"] and "10457" in credit["notes"]
    invoice_lines = ports.freshbooks.books.read("invoice", invoice_id, include_lines=True)["lines"]
    assert [(li["name"], li.get("taxName1")) for li in credit["lines"]] == [
        (li["name"], li.get("taxName1")) for li in invoice_lines]  # the tax is reversed too
    assert credit["taxes"] == paid_invoice(ports)["taxes"]
    for replay in ("evt-3", "evt-2", "evt-1", None):  # redeliveries, replays, a step run by hand
        run_chain(ports, replay)
    assert credit_notes(ports) == {"10457-R1": D("76.54")} and len(ports.freshbooks.books.all("payment")) == 1
    assert ("create", "credit_note") in [(e.action, e.object) for e in ledger.audit_for_order(ports.sessions,
                                                                                                 ORDER_ID)]


def test_partial_and_several_refunds_each_book_their_own_credit_note(ports):
    deliver(ports, "evt-1", "order.created")
    transaction(ports, "evt-2", 77001, "76.54")
    run_chain(ports, "evt-2")
    transaction(ports, "evt-3", 77002, "10.00", "refundPart", "2026-11-21T09:00:00+0000")
    run_chain(ports, "evt-3")
    assert credit_notes(ports) == {"10457-R1": D("10.00")}
    (line,) = ports.freshbooks.books.all("credit_note")[0]["lines"]
    assert (line["name"], D(line["qty"]), "taxName1" in line) == ("Refund", 1, False)  # one untaxed line
    # a second refund made later, and one made earlier but delivered last: numbered in the order X-Cart made them
    transaction(ports, "evt-4", 77004, "5.50", "refundPart", "2026-11-23T09:00:00+0000")
    run_chain(ports, "evt-4")
    transaction(ports, "evt-5", 77003, "0.54", "refundMulti", "2026-11-21T09:00:00+0000")
    run_chain(ports, "evt-5")
    assert sum(credit_notes(ports).values()) == D("16.04")
    assert len(credit_notes(ports)) == 3
    for replay in ("evt-5", "evt-3", "evt-4"):
        run_chain(ports, replay)
    assert len(ports.freshbooks.books.all("credit_note")) == 3  # none booked twice, none lost


def test_a_credit_note_whose_answer_was_lost_is_adopted_not_booked_again(ports):
    deliver(ports, "evt-1", "order.created")
    transaction(ports, "evt-2", 77001, "76.54")
    transaction(ports, "evt-3", 77002, "20.00", "refundPart", "2026-11-22T10:00:00+0000")
    orders.resolve_client(ports, ORDER_ID, "evt-3")
    orders.sync_items(ports, ORDER_ID, "evt-3")
    orders.create_invoice(ports, ORDER_ID, "evt-3")
    ports.freshbooks.faults.configure({"ghost_creates": 2})  # the payment's answer is lost, then the credit note's
    with pytest.raises(Unavailable):
        orders.reconcile_payment(ports, ORDER_ID, "evt-3")
    with pytest.raises(Unavailable):
        orders.reconcile_payment(ports, ORDER_ID, "evt-3")
    assert orders.reconcile_payment(ports, ORDER_ID, "evt-3") == 0  # the retry: both found, nothing booked twice
    assert credit_notes(ports) == {"10457-R1": D("20.00")} and len(ports.freshbooks.books.all("payment")) == 1
    assert "find_credit_note_by_number" in ports.freshbooks.calls


def test_a_refunded_status_before_its_transactions_books_nothing_until_they_arrive(ports):
    # X-Cart's total may have been edited after the payment: the status alone does not say what was collected
    deliver(ports, "evt-1", "order.created", payment_status=REFUNDED)
    with pytest.raises(NeedsReview, match="none of its payment transactions has arrived"):
        run_chain(ports, "evt-1")
    assert D(paid_invoice(ports)["paid"]["amount"]) == 0 and credit_notes(ports) == {}
    transaction(ports, "evt-2", 77001, "70.00")  # collected before an edit raised the total to 76.54
    transaction(ports, "evt-3", 77002, "70.00", "refund", "2026-11-22T10:00:00+0000")
    run_chain(ports, "evt-3")
    assert D(paid_invoice(ports)["paid"]["amount"]) == D("70.00")
    assert credit_notes(ports) == {"10457-R1": D("70.00")} and len(ports.freshbooks.books.all("payment")) == 1


def test_cancelled_after_payment_keeps_the_invoice_and_credits_what_was_paid(ports):
    deliver(ports, "evt-1", "order.created")
    transaction(ports, "evt-2", 77001, "76.54")
    run_chain(ports, "evt-2")
    status(ports, "evt-3", CANCELLED, "2026-11-21T08:00:00+0000")
    run_chain(ports, "evt-3")
    invoice = paid_invoice(ports)  # not deleted: accountants do not delete paid invoices
    assert D(invoice["paid"]["amount"]) == D("76.54")
    assert credit_notes(ports) == {"10457-C": D("76.54")}
    run_chain(ports, "evt-3")
    assert len(ports.freshbooks.books.all("credit_note")) == 1
    # the gateway's refund of the same money arrives afterwards: it is the credit, the cancellation's is withdrawn
    transaction(ports, "evt-4", 77002, "76.54", "refund", "2026-11-21T09:00:00+0000")
    run_chain(ports, "evt-4")
    assert credit_notes(ports) == {"10457-R1": D("76.54")}
    assert credit_notes(ports, active_only=False) == {"10457-R1": D("76.54"), "10457-C": D("76.54")}
    run_chain(ports, "evt-4")
    assert credit_notes(ports) == {"10457-R1": D("76.54")}


def test_cancelled_after_a_paid_status_without_transactions_credits_what_the_books_show_paid(ports):
    deliver(ports, "evt-1", "order.created")
    run_chain(ports, "evt-1")  # status P, no transaction: the total is booked as paid
    status(ports, "evt-2", {"id": 7, "code": "D", "name": "Declined"}, "2026-11-21T08:00:00+0000")
    run_chain(ports, "evt-2")
    assert D(paid_invoice(ports)["paid"]["amount"]) == D("76.54")
    assert credit_notes(ports) == {"10457-C": D("76.54")}


def test_cancelled_before_any_payment_is_voided_as_before(ports):
    deliver(ports, "evt-1", "order.created", payment_status={"id": 1, "code": "Q", "name": "Awaiting payment"})
    invoice_id, _ = run_chain(ports, "evt-1")
    status(ports, "evt-2", CANCELLED, "2026-11-21T08:00:00+0000")
    assert run_chain(ports, "evt-2") == (invoice_id, 0)
    assert ports.freshbooks.books.read("invoice", invoice_id)["vis_state"] == 1
    assert credit_notes(ports, active_only=False) == {}


@pytest.mark.parametrize("policy", ["review", "ignore"])
def test_the_rules_say_review_or_ignore(ports, policy):
    ports.rules = dataclasses.replace(ports.rules, refund_policy=policy, cancelled_after_payment=policy)
    deliver(ports, "evt-1", "order.created")
    transaction(ports, "evt-2", 77001, "76.54")
    transaction(ports, "evt-3", 77002, "6.54", "refundPart", "2026-11-22T10:00:00+0000")
    if policy == "review":
        with pytest.raises(NeedsReview) as held:
            run_chain(ports, "evt-3")
        assert "refunded 6.54 USD" in str(held.value) and "refunds.refund: review" in str(held.value)
    else:
        run_chain(ports, "evt-3")
    assert credit_notes(ports, active_only=False) == {}
    assert D(paid_invoice(ports)["paid"]["amount"]) == D("76.54")  # the payment is booked either way


def test_a_refund_beyond_what_was_paid_is_held_and_not_credited(ports):
    deliver(ports, "evt-1", "order.created", payment_status={"id": 6, "code": "PP", "name": "Partially paid"})
    transaction(ports, "evt-2", 77001, "30.00")
    transaction(ports, "evt-3", 77002, "10.00", "refundPart", "2026-11-22T10:00:00+0000")
    transaction(ports, "evt-4", 77003, "25.00", "refundPart", "2026-11-23T10:00:00+0000")
    with pytest.raises(NeedsReview) as held:
        run_chain(ports, "evt-4")
    assert "X-Cart refunded 25.00 USD (transaction 77003" in str(held.value) and "20.00 the invoice" in str(held.value)
    assert credit_notes(ports) == {"10457-R1": D("10.00")}


def test_an_order_keeps_one_open_review_which_later_events_update_and_its_sync_settles(ports):
    deliver(ports, "evt-1", "order.created")
    transaction(ports, "evt-2", 77001, "76.54")
    first = ledger.dead_letter(ports.sessions, "evt-1", "review", "xcfb.create_invoice", "first reason")
    second = ledger.dead_letter(ports.sessions, "evt-2", "review", "xcfb.reconcile_payment", "second reason",
                                [{"path": "(order)", "message": "second reason"}])
    assert first == second
    (letter,) = ledger.dead_letters(ports.sessions)
    assert (letter.event_id, letter.reason) == ("evt-2", "second reason")
    assert {"path": ledger.EARLIER_EVENT, "message": "evt-1"} in letter.errors
    assert {ledger.get_event(ports.sessions, e).status for e in ("evt-1", "evt-2")} == {"review"}
    other = ledger.dead_letter(ports.sessions, "evt-2", "invalid", "xcfb.process_event", "not a review")
    assert other != first  # only reviews are merged per order
    ledger.dead_letter(ports.sessions, "evt-2", "review", "xcfb.reconcile_payment", "third reason")
    assert [letter.kind for letter in ledger.dead_letters(ports.sessions)] == ["review"]
    assert ledger.settle_reviews(ports.sessions, ORDER_ID, "evt-3") == 3  # the letter, the two events
    assert ledger.dead_letters(ports.sessions) == []
    assert {ledger.get_event(ports.sessions, e).status for e in ("evt-1", "evt-2")} == {"synced"}


def test_a_converted_invoice_names_its_ecb_rate_and_day_in_the_notes_and_the_audit(ports):
    ecb = EcbRates(lambda: [EcbDay(date(2026, 11, 19), {"USD": D("1.0500"), "CHF": D("0.9400")})])
    ports.rules = dataclasses.replace(ports.rules, currency_policy="convert", account_currency="CHF", rates=ecb)
    deliver(ports, "evt-1", "order.created")  # placed 2026-11-20: the ECB's rates of the 19th are the latest
    invoice_id, _ = run_chain(ports, "evt-1")
    invoice = ports.freshbooks.books.read("invoice", invoice_id)
    said = "ECB euro reference rates of 2026-11-19 (ecb.europa.eu)"
    assert invoice["currency_code"] == "CHF" and f"at 0.8952380952 CHF per USD (source: {said})" in invoice["notes"]
    (created,) = [e for e in ledger.audit_for_order(ports.sessions, ORDER_ID) if e.object == "invoice"]
    assert said in created.detail and "converted from 76.54 USD" in created.detail
