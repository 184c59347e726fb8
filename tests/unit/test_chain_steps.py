"""The order chain's steps in one process, in milliseconds: events taken in as the worker takes them
(workers.events), then resolve client -> sync items -> create invoice -> reconcile payment over SQLite, the
fake FreshBooks (the sandbox's books without HTTP, tests/fakes.py) and threading locks."""

from __future__ import annotations

import dataclasses
import inspect
import json
import threading
from datetime import timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest
from sqlalchemy import update

from apis.freshbooks.client import FreshBooksClient
from apis.freshbooks.errors import RateLimited, Unavailable
from apis.xcart.client import XCartClient
from mappings import jsonio
from mappings.findings import Finding, HeldForReview
from mappings.orders import NeedsReview
from mappings.rules import FixedRates, Rules
from runtime.bootstrap import Services
from store import assistants, binder, ledger, snapshots
from store.locks import LockNotAcquired, Locks, RedisLocks, ThreadLocks
from store.models import Binding, OrderFinding, OrderSnapshot, utcnow
from tests.fakes import FakeFreshBooks, FakePorts
from workers import checks, events, order_reads, orders
from workers.exporter import ensure
from workers.failures import classify
from workers.ports import CatchUpPorts, FreshBooks, StepPorts, XCart

FIXTURES = Path(__file__).parents[1] / "fixtures" / "xcart"
ORDER = json.loads((FIXTURES / "order_5_5.json").read_text(), parse_float=D)
PAYMENT = json.loads((FIXTURES / "payment.json").read_text(), parse_float=D)
ORDER_ID, EMAIL = 48213, "maria.garcia@example.com"  # order 10457: 72.00 of tea and a kettle, 76.54 in all
CHAIN = (orders.resolve_client, orders.sync_items, orders.create_invoice, orders.reconcile_payment)


def deliver(ports, event_id: str, event_type: str = "order.updated", envelope: dict = ORDER, **changes) -> int | None:
    """An X-Cart event taken in as workers.tasks does: recorded, then handled with the body take_in read; the
    order id whose chain must run."""
    raw = jsonio.dumps(envelope | {"id": event_id, "type": event_type, "data": envelope["data"] | changes})
    recorded_id, needed, body = events.take_in(ports, raw)
    assert needed and body is not None
    return events.handle(ports, recorded_id, body)


def pay(ports, event_id: str, transaction_id: int, value: str, order_id: int = ORDER_ID) -> int | None:
    return deliver(ports, event_id, "payment.created", PAYMENT, id=transaction_id, value=value, order_id=order_id)


def run_chain(ports, order_id: int, event_id: str | None = None) -> tuple[int, D]:
    orders.resolve_client(ports, order_id, event_id)
    orders.sync_items(ports, order_id, event_id)
    invoice_id = orders.create_invoice(ports, order_id, event_id)
    return invoice_id, orders.reconcile_payment(ports, order_id, event_id)


def books(ports):
    return ports.freshbooks.books


def invoice(ports, invoice_id: int) -> dict:
    return books(ports).read("invoice", invoice_id, include_lines=True)


def money(obj: dict, key: str) -> D:
    return D(obj[key]["amount"])


def audited(ports, order_id: int) -> list[tuple[str, str]]:
    return [(entry.action, entry.object) for entry in ledger.audit_for_order(ports.sessions, order_id)]


def test_a_paid_order_is_booked_once_to_the_cent(ports):
    order_id = deliver(ports, "evt-1", "order.created")
    invoice_id, booked = run_chain(ports, order_id, "evt-1")
    booked_invoice = invoice(ports, invoice_id)
    assert booked == D("76.54")
    assert (money(booked_invoice, "amount"), money(booked_invoice, "paid")) == (D("76.54"), D("76.54"))
    assert sum(D(tax["amount"]["amount"]) for tax in booked_invoice["taxes"]) == D("5.75")  # X-Cart's tax
    assert (booked_invoice["invoice_number"], booked_invoice["payment_status"]) == ("10457", "paid")
    assert [t["name"] for t in books(ports).all("tax")] == [tax["name"] for tax in booked_invoice["taxes"]]
    assert {i["sku"] for i in books(ports).all("item")} == {"TEA-EG-100", "KETTLE-GL"}
    assert [c["email"] for c in books(ports).all("client")] == [EMAIL]

    before = books(ports).snapshot()
    assert run_chain(ports, order_id, "evt-1") == (invoice_id, D(0))  # a redelivery: all bound, nothing booked
    assert books(ports).snapshot() == before
    assert books(ports).counts() == {"client": 1, "item": 2, "tax": 1, "invoice": 1, "payment": 1, "credit_note": 0,
                                     "callback": 0}


def test_a_partial_payment_then_the_rest(ports):
    order_id = deliver(ports, "evt-1", "order.created", payment_status={"code": "PP"})
    assert pay(ports, "evt-pay-1", 77001, "30.00") == order_id
    invoice_id, booked = run_chain(ports, order_id, "evt-pay-1")
    assert booked == D("30.00")
    assert (money(invoice(ports, invoice_id), "paid"), invoice(ports, invoice_id)["payment_status"]) == (
        D("30.00"), "partial")

    assert pay(ports, "evt-pay-2", 77002, "46.54") == order_id
    assert run_chain(ports, order_id, "evt-pay-2") == (invoice_id, D("46.54"))
    assert sorted(money(p, "amount") for p in books(ports).all("payment")) == [D("30.00"), D("46.54")]
    assert invoice(ports, invoice_id)["payment_status"] == "paid"


@pytest.mark.parametrize("step", CHAIN, ids=lambda step: step.__name__)
def test_a_create_whose_answer_was_lost_is_adopted_not_repeated(ports, step):
    order_id = deliver(ports, "evt-1", "order.created")
    for earlier in CHAIN[:CHAIN.index(step)]:
        earlier(ports, order_id, "evt-1")
    ports.freshbooks.faults.configure({"ghost_creates": 1})
    with pytest.raises(Unavailable):
        step(ports, order_id, "evt-1")
    assert classify(Unavailable("lost", may_have_reached_server=True), "step").retryable  # the task runs it again
    for rest in CHAIN[CHAIN.index(step):]:
        rest(ports, order_id, "evt-1")
    assert books(ports).counts() == {"client": 1, "item": 2, "tax": 1, "invoice": 1, "payment": 1, "credit_note": 0,
                                     "callback": 0}
    assert money(books(ports).all("invoice")[0], "paid") == D("76.54")


def test_each_ghost_created_object_is_adopted_from_its_intent_row(ports):
    order_id = deliver(ports, "evt-1", "order.created")
    ports.freshbooks.faults.configure({"ghost_creates": 1})
    with pytest.raises(Unavailable):
        orders.resolve_client(ports, order_id, "evt-1")
    assert binder.lookup(ports.sessions, "client", EMAIL).freshbooks_id is None  # the intent, on record
    client_id = orders.resolve_client(ports, order_id, "evt-1")
    ports.freshbooks.faults.configure({"ghost_creates": 1})
    with pytest.raises(Unavailable):
        orders.sync_items(ports, order_id, "evt-1")
    orders.sync_items(ports, order_id, "evt-1")
    orders.ensure_taxes(ports, orders.plan_invoice(ports, order_reads.load_order(ports, order_id, "evt-1")))
    ports.freshbooks.faults.configure({"ghost_creates": 1})
    with pytest.raises(Unavailable):
        orders.create_invoice(ports, order_id, "evt-1")
    invoice_id = orders.create_invoice(ports, order_id, "evt-1")

    assert [c["id"] for c in books(ports).all("client")] == [client_id]
    assert [i["id"] for i in books(ports).all("invoice")] == [invoice_id]
    assert audited(ports, order_id) == [("adopt", "client"), ("adopt", "item"), ("create", "item"),
                                        ("create", "tax"), ("adopt", "invoice"), ("update", "invoice")]


def test_a_rate_limit_is_the_clients_retryable_error_and_the_step_runs_again(ports):
    order_id = deliver(ports, "evt-1", "order.created")
    ports.freshbooks.faults.configure({"rate_limit": 0, "rate_window": 60})
    with pytest.raises(RateLimited) as limited:
        orders.resolve_client(ports, order_id, "evt-1")
    assert limited.value.retry_after == 60 and classify(limited.value, "xcfb.resolve_client").retryable
    ports.freshbooks.faults.reset()
    run_chain(ports, order_id, "evt-1")
    assert books(ports).counts()["client"] == 1


def test_a_redelivered_event_is_handled_from_what_was_recorded(ports):
    """take_in hands on the body only when it has just recorded it; a redelivery of an event not finished (its
    worker died after recording it) is read back from the database and gives the same chain."""
    raw = jsonio.dumps(ORDER | {"id": "evt-1", "type": "order.created"})
    first = events.take_in(ports, raw)
    assert first[:2] == ("evt-1", True) and first[2]["data"]["id"] == ORDER_ID
    assert events.take_in(ports, raw) == ("evt-1", True, None)  # recorded, not yet handled: needed, read back
    assert events.handle(ports, "evt-1") == ORDER_ID
    assert run_chain(ports, ORDER_ID, "evt-1")[1] == D("76.54")
    ledger.finish(ports.sessions, "evt-1", "synced")  # as the payment task does
    assert events.take_in(ports, raw) == ("evt-1", False, None)  # finished: nothing to do


def test_an_older_version_arriving_after_a_newer_one_changes_nothing(ports):
    newer = dict(update_date="2026-11-20T16:00:00+0000", payment_status={"code": "Q"}, notes="Leave at the door")
    order_id = deliver(ports, "evt-2", "order.updated", **newer)
    invoice_id, _ = run_chain(ports, order_id, "evt-2")
    before, calls = books(ports).snapshot(), len(ports.freshbooks.calls)

    assert deliver(ports, "evt-1", "order.created") is None  # the paid version of 15:04, late
    assert ledger.get_event(ports.sessions, "evt-1").status == "synced"
    recorded, _ = events.receive(ports, jsonio.dumps(ORDER | {"id": "evt-0"}))  # as catch-up takes one in
    assert events.handle(ports, recorded) is None and ledger.get_event(ports.sessions, "evt-0").status == "synced"
    assert events.handle(ports, "evt-1") == order_id  # a re-run (a replay): the order's chain, on the newest
    assert run_chain(ports, order_id, "evt-2") == (invoice_id, D(0))  # a redelivery of the newer one
    assert books(ports).snapshot() == before
    assert "update_invoice" not in ports.freshbooks.calls[calls:]
    assert "Customer notes: Leave at the door" in invoice(ports, invoice_id)["notes"]  # still the newer version's
    assert books(ports).all("payment") == []  # the late version's "paid" booked nothing


def test_a_chain_for_a_version_already_booked_leaves_create_invoice_out(ports):
    order_id = deliver(ports, "evt-1", "order.created", payment_status={"code": "Q"})
    assert orders.idle_steps(ports, order_id) == set()  # nothing checked or bound yet
    checks.check_order(ports, order_id, "evt-1")
    invoice_id, _ = run_chain(ports, order_id, "evt-1")
    booked = {"check_order", "resolve_client", "sync_items", "create_invoice"}
    assert orders.idle_steps(ports, order_id) == booked
    assert pay(ports, "evt-2", 7001, "76.54") == order_id  # a payment: the order's version is the same
    assert orders.idle_steps(ports, order_id) == booked
    assert orders.reconcile_payment(ports, order_id, "evt-2") == D("76.54")  # the chain sent for it: only this step

    deliver(ports, "evt-3", "order.updated", update_date="2026-11-20T16:00:00+0000", notes="Leave at the door")
    # a newer version: booked, and checked by create_invoice first
    assert orders.idle_steps(ports, order_id) == {"check_order", "resolve_client", "sync_items"}


def test_the_check_is_left_out_ahead_of_the_booking_steps_when_one_of_them_checks_first(ports):
    """check_order is left out ahead of create_invoice and reconcile_payment alone when it passed this very version
    under these rules and refunds, or when create_invoice comes first and checks a version or rules it has not seen.
    It stays a step of its own where a client or items are to be made, for a refund alone (create_invoice books a
    version refunded since), and ahead of reconcile_payment alone (it plans the invoice before it checks)."""
    deliver(ports, "evt-1", "order.created")
    checks.check_order(ports, ORDER_ID, "evt-1")
    assert "check_order" not in orders.idle_steps(ports, ORDER_ID)  # the client and items are still to be made
    run_chain(ports, ORDER_ID, "evt-1")
    assert "check_order" in orders.idle_steps(ports, ORDER_ID)  # passed as it is

    deliver(ports, "evt-refund", "payment.created", PAYMENT, id=77002, type="refund", value="10.00",
            order_id=ORDER_ID)
    assert "check_order" not in orders.idle_steps(ports, ORDER_ID)  # refunded since: the anomaly check asks first
    checks.check_order(ports, ORDER_ID, "evt-refund")
    assert "check_order" in orders.idle_steps(ports, ORDER_ID)

    promoted = dataclasses.replace(ports.rules, anomalies=dataclasses.replace(ports.rules.anomalies, warm_up=31))
    ports.rules, unchanged = promoted, ports.rules
    assert "create_invoice" in orders.idle_steps(ports, ORDER_ID)
    assert "check_order" not in orders.idle_steps(ports, ORDER_ID)  # other rules, and only reconcile_payment to run
    ports.rules = dataclasses.replace(unchanged, validation=dataclasses.replace(unchanged.validation, enabled=False),
                                      anomalies=dataclasses.replace(unchanged.anomalies, enabled=False))
    assert "check_order" in orders.idle_steps(ports, ORDER_ID)  # the checks off: nothing to check
    ports.rules = unchanged

    deliver(ports, "evt-2", "order.updated", update_date="2026-11-20T16:00:00+0000", notes="Leave at the door")
    assert {"check_order", "create_invoice"} & orders.idle_steps(ports, ORDER_ID) == {"check_order"}  # it checks
    ports.rules = promoted
    assert {"check_order", "create_invoice"} & orders.idle_steps(ports, ORDER_ID) == {"check_order"}
    ports.rules = unchanged

    binder.unbind(ports.sessions, "client", EMAIL)
    assert "check_order" not in orders.idle_steps(ports, ORDER_ID)  # resolve_client runs: the check goes first
    orders.resolve_client(ports, ORDER_ID, "evt-2")
    orders.create_invoice(ports, ORDER_ID, "evt-2")
    with ports.sessions.begin() as session:  # as record_check leaves an order a finding holds
        session.execute(update(OrderSnapshot).where(OrderSnapshot.order_id == ORDER_ID).values(checked_version=None))
    assert "check_order" not in orders.idle_steps(ports, ORDER_ID)  # held, and only reconcile_payment to run


def test_an_unchecked_version_the_check_would_hold_is_held_by_create_invoice_before_anything_is_booked(ports,
                                                                                                     monkeypatch):
    order_id = deliver(ports, "evt-1", "order.created", payment_status={"code": "Q"})
    invoice_id, _ = run_chain(ports, order_id, "evt-1")
    deliver(ports, "evt-2", "order.updated", update_date="2026-11-20T16:00:00+0000", notes="Leave at the door")
    flag_orders(monkeypatch, lambda order, transactions: order.notes == "Leave at the door")
    assert {"check_order", "create_invoice"} & orders.idle_steps(ports, order_id) == {"check_order"}
    with pytest.raises(HeldForReview):  # the chain sent: create_invoice, reconcile_payment
        orders.create_invoice(ports, order_id, "evt-2")
    booked = invoice(ports, invoice_id)
    assert "Leave at the door" not in booked["notes"] and len(books(ports).all("invoice")) == 1
    assert snapshots.checked_version(ports.sessions, order_id) is None  # held: nothing passed


def test_a_newer_version_after_create_invoice_was_left_out_is_brought_up_by_the_payment_step(ports):
    order_id = deliver(ports, "evt-1", "order.created", payment_status={"code": "Q"})
    invoice_id, _ = run_chain(ports, order_id, "evt-1")
    assert "create_invoice" in orders.idle_steps(ports, order_id)  # the chain for evt-2 is sent without it...
    deliver(ports, "evt-2", "order.updated", update_date="2026-11-20T16:00:00+0000", notes="Leave at the door")
    assert orders.reconcile_payment(ports, order_id, "evt-2") == D("76.54")  # ...and a paid edit comes in first
    booked = invoice(ports, invoice_id)
    assert "Customer notes: Leave at the door" in booked["notes"] and money(booked, "paid") == D("76.54")


def test_an_invoice_a_repair_forgot_after_create_invoice_was_left_out_is_booked_by_the_payment_step(ports):
    """xcfb reconcile --repair forgets an invoice deleted in FreshBooks (workers/reconcile._forget_deleted) and sends
    the order again; its event may join a payment's chain sent without create_invoice: the payment step books it."""
    order_id = deliver(ports, "evt-1", "order.created", payment_status={"code": "Q"})
    deleted, _ = run_chain(ports, order_id, "evt-1")
    assert pay(ports, "evt-2", 7001, "76.54") == order_id
    assert "create_invoice" in orders.idle_steps(ports, order_id)  # evt-2's chain is sent without it
    books(ports).delete_invoice(deleted)  # by a person, in FreshBooks
    binder.unbind(ports.sessions, "invoice", str(order_id))  # the repair
    assert orders.reconcile_payment(ports, order_id, "evt-2") == D("76.54")
    active = [i for i in books(ports).all("invoice") if i["vis_state"] == 0]
    assert len(active) == 1 and money(active[0], "paid") == D("76.54")


def test_a_cancelled_order_paid_first_whose_invoice_a_repair_forgot_is_booked_by_the_payment_step(ports):
    order_id = deliver(ports, "evt-1", "order.created")
    deleted, booked = run_chain(ports, order_id, "evt-1")
    assert booked == D("76.54")
    cancelled = dict(update_date="2026-11-20T16:00:00+0000", payment_status={"code": "C"})
    deliver(ports, "evt-2", "order.updated", **cancelled)
    orders.create_invoice(ports, order_id, "evt-2")  # the invoice stays: the order was paid
    books(ports).delete_invoice(deleted)
    binder.unbind(ports.sessions, "invoice", str(order_id))
    pay(ports, "evt-3", 7001, "76.54")
    orders.reconcile_payment(ports, order_id, "evt-3")
    assert [money(i, "paid") for i in books(ports).all("invoice") if i["vis_state"] == 0] == [D("76.54")]


def test_the_chain_sent_leaves_the_idle_steps_out():
    from workers.tasks import order_chain

    sent = order_chain(ORDER_ID, "evt-2", None, {"resolve_client", "sync_items", "create_invoice"})
    assert [step.task for step in sent.tasks] == ["xcfb.check_order", "xcfb.reconcile_payment"]
    sent = order_chain(ORDER_ID, "evt-2", "c1", {"check_order", "resolve_client", "sync_items", "create_invoice"})
    assert [(step.task, step.kwargs) for step in sent.tasks] == [("xcfb.reconcile_payment", {"cover": "c1"})]


def test_the_chain_runs_create_invoice_and_reconcile_payment_as_one_task_when_it_runs_both():
    from workers.tasks import order_chain

    sent = order_chain(ORDER_ID, "evt-1", None, ())
    assert [step.task for step in sent.tasks] == ["xcfb.check_order", "xcfb.resolve_client", "xcfb.sync_items",
                                                  "xcfb.invoice_and_payment"]
    sent = order_chain(ORDER_ID, "evt-1", "c1", {"check_order", "resolve_client", "sync_items"})
    assert [(step.task, step.args, step.kwargs) for step in sent.tasks] == [
        ("xcfb.invoice_and_payment", (ORDER_ID, "evt-1"), {"cover": "c1"})]


def test_an_edit_updates_the_same_invoice(ports):
    order_id = deliver(ports, "evt-1", "order.created", payment_status={"code": "Q"})
    invoice_id, booked = run_chain(ports, order_id, "evt-1")
    assert (booked, money(invoice(ports, invoice_id), "amount")) == (D(0), D("76.54"))

    cup = {"id": 90213, "product_id": 31, "sku": "CUP", "name": "Cup", "price": D("10.00"), "amount": 1}
    tax = [dict(s, value=D("6.64")) if s["type"] == "tax" else s for s in ORDER["data"]["surcharges"]]
    deliver(ports, "evt-2", "order.updated", update_date="2026-11-20T16:00:00+0000", payment_status={"code": "P"},
            items=ORDER["data"]["items"] + [cup], sub_total=D("82.00"), total=D("87.43"), surcharges=tax)
    assert run_chain(ports, order_id, "evt-2") == (invoice_id, D("87.43"))
    edited = invoice(ports, invoice_id)
    assert (money(edited, "amount"), money(edited, "paid")) == (D("87.43"), D("87.43"))
    assert sum(D(t["amount"]["amount"]) for t in edited["taxes"]) == D("6.64")
    assert "Cup" in [line["name"] for line in edited["lines"]]
    assert (len(books(ports).all("invoice")), len(books(ports).all("payment"))) == (1, 1)


def test_an_edit_arriving_mid_chain_is_booked_by_the_payment_step_not_sent_to_review(ports):
    """The chain queue runs an order's steps as soon as its event is in, so an edit can be taken in between the
    first chain's create_invoice and its reconcile_payment: the payment is decided against the edited invoice."""
    order_id = deliver(ports, "evt-1", "order.created")
    orders.resolve_client(ports, order_id, "evt-1")
    orders.sync_items(ports, order_id, "evt-1")
    invoice_id = orders.create_invoice(ports, order_id, "evt-1")  # the order as placed: 76.54
    tax = [dict(s, value=D("6.64")) if s["type"] == "tax" else s for s in ORDER["data"]["surcharges"]]
    cup = {"id": 90213, "product_id": 31, "sku": "KETTLE-GL", "name": "Kettle", "price": D("10.00"), "amount": 1}
    deliver(ports, "evt-2", "order.updated", update_date="2026-11-20T16:00:00+0000",
            items=ORDER["data"]["items"] + [cup], sub_total=D("82.00"), total=D("87.43"), surcharges=tax)

    assert orders.reconcile_payment(ports, order_id, "evt-1") == D("87.43")  # was: review, "invoice differs"
    assert run_chain(ports, order_id, "evt-2") == (invoice_id, D(0))  # the edit's own chain: nothing left to do
    edited = invoice(ports, invoice_id)
    assert (money(edited, "amount"), money(edited, "paid")) == (D("87.43"), D("87.43"))
    assert (len(books(ports).all("invoice")), len(books(ports).all("payment"))) == (1, 1)


def test_a_second_order_shares_the_client_and_the_items(ports):
    first = deliver(ports, "evt-1", "order.created")
    first_invoice, _ = run_chain(ports, first, "evt-1")
    second = deliver(ports, "evt-2", "order.created", id=48300, order_number="10458")
    second_invoice, booked = run_chain(ports, second, "evt-2")

    assert second_invoice != first_invoice and booked == D("76.54")
    assert books(ports).counts() == {"client": 1, "item": 2, "tax": 1, "invoice": 2, "payment": 2, "credit_note": 0,
                                     "callback": 0}
    assert {invoice(ports, i)["customerid"] for i in (first_invoice, second_invoice)} == {
        books(ports).all("client")[0]["id"]}
    assert ports.freshbooks.calls.count("find_client_by_email") == 1  # the second order found it bound


def test_an_order_with_client_and_items_bound_costs_the_minimum_of_freshbooks_calls(ports):
    """At the default rules, one create for an unpaid order, a create and a payment for a paid one: no look-up
    before a first create numbered above the invoices FreshBooks held at the cut-over (workers/cut_over.py; only a
    retry after a lost answer looks up), and the payment step uses what the create answered."""
    assert ports.rules.look_up_invoices_first is True  # the default: the cut-over decides
    run_chain(ports, deliver(ports, "evt-0", "order.created"), "evt-0")  # binds the client, the items, the tax
    calls = {}
    for n, status in enumerate(["Q", "P"] * 5):
        order_id = deliver(ports, f"evt-{n + 1}", "order.created", id=49000 + n, order_number=str(20000 + n),
                           payment_status={"code": status})
        before = len(ports.freshbooks.calls)
        run_chain(ports, order_id, f"evt-{n + 1}")
        calls.setdefault(status, []).append(ports.freshbooks.calls[before:])
    assert calls["Q"] == [["create_invoice"]] * 5
    assert calls["P"] == [["create_invoice", "create_payment"]] * 5
    assert money(books(ports).all("invoice")[-1], "paid") == D("76.54")
    print(f"FreshBooks calls per order, client and items bound: {sum(map(len, calls['Q'])) / 5:.2f} unpaid, "
          f"{sum(map(len, calls['P'])) / 5:.2f} paid (the minimum: 1 and 2)")


def test_each_client_item_and_tax_is_looked_up_once_when_it_is_bound(ports):
    ports.rules = dataclasses.replace(ports.rules, create_missing_items=False,  # items must exist in FreshBooks
                                      look_up_invoices_first=False)  # only the bindings' look-ups are counted
    for sku in ("TEA-EG-100", "KETTLE-GL"):
        books(ports).create_item({"name": sku, "sku": sku})
    for n in range(3):
        run_chain(ports, deliver(ports, f"evt-{n}", "order.created", id=49000 + n, order_number=str(20000 + n)),
                  f"evt-{n}")
    looked_up = [call for call in ports.freshbooks.calls if call.startswith("find_")]
    assert sorted(looked_up) == ["find_client_by_email", "find_item_by_sku", "find_item_by_sku", "find_tax_by_name"]


def test_an_answer_too_old_is_not_trusted_the_invoice_is_read(ports):
    order_id = deliver(ports, "evt-1", "order.created")
    for step in CHAIN[:3]:
        step(ports, order_id, "evt-1")
    invoice_id = binder.bound_id(ports.sessions, "invoice", str(order_id))
    books(ports).create_payment({"invoiceid": invoice_id, "amount": {"amount": "76.54", "code": "USD"},
                                 "date": "2026-11-20", "type": "Cash"})  # booked by hand meanwhile
    with ports.sessions.begin() as session:  # the answer the create got, a minute too old
        session.get(Binding, binder.lookup(ports.sessions, "invoice", str(order_id)).id).updated_at = (
            utcnow() - orders.ANSWER_FRESH - timedelta(minutes=1))

    assert orders.reconcile_payment(ports, order_id, "evt-1") == D(0)
    assert ports.freshbooks.calls[-1] == "get_invoice" and len(books(ports).all("payment")) == 1


def test_an_answer_is_used_once_a_redelivery_reads_the_invoice(ports):
    order_id = deliver(ports, "evt-1", "order.created", payment_status={"code": "Q"})
    run_chain(ports, order_id, "evt-1")
    assert "get_invoice" not in ports.freshbooks.calls
    assert binder.lookup(ports.sessions, "invoice", str(order_id)).answer is None  # taken
    orders.reconcile_payment(ports, order_id, "evt-1")
    assert ports.freshbooks.calls[-1] == "get_invoice"


def test_a_retry_never_adopts_an_invoice_of_another_order_with_its_number_it_goes_to_review(ports):
    first_invoice, _ = run_chain(ports, deliver(ports, "evt-1", "order.created"), "evt-1")
    other = deliver(ports, "evt-2", "order.created", id=48999, email="someone.else@example.com")  # same number
    orders.resolve_client(ports, other, "evt-2")
    orders.sync_items(ports, other, "evt-2")
    binder.record_intent(ports.sessions, "invoice", str(other))  # an earlier attempt, killed: this one looks up
    before = books(ports).snapshot()

    with pytest.raises(NeedsReview, match=rf"invoice number 10457 is taken in FreshBooks by invoice {first_invoice} "
                                          r"\(po_number 'X-Cart 48213'.*not this order's \(po_number 'X-Cart 48999'"):
        orders.create_invoice(ports, other, "evt-2")
    assert books(ports).snapshot() == before
    assert binder.bound_id(ports.sessions, "invoice", str(other)) is None
    assert classify(NeedsReview(["x"]), "xcfb.create_invoice").kind == "review"


def test_two_threads_ensuring_one_item_create_it_once(ports):
    fake, results, barrier = ports.freshbooks, [], threading.Barrier(2)

    def worker():
        barrier.wait()
        results.append(ensure(ports, "item", "SKU-1", lambda: fake.find_item_by_sku("SKU-1"),
                              lambda: fake.create_item({"name": "One", "sku": "SKU-1"})))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert sorted(how for _, how in results) == ["bound", "create"]
    assert len(books(ports).all("item")) == 1


def test_thread_locks_wait_then_give_up_with_a_retryable_error():
    locks = ThreadLocks(order_wait=0.05)
    outcomes = []

    def elsewhere():
        try:
            _take(locks, 1)
            outcomes.append("taken")
        except LockNotAcquired as exc:
            outcomes.append(exc)

    with locks.order(1):
        _take(locks, 2)  # another order: its own lock
        other_thread = threading.Thread(target=elsewhere)
        other_thread.start()
        other_thread.join(2)
        with pytest.raises(LockNotAcquired, match="xcfb:lock:order:1 is still held after 0.05 s"):
            _take(locks, 1)  # not reentrant, as Redis' lock is not
    assert len(outcomes) == 1 and isinstance(outcomes[0], LockNotAcquired)
    assert classify(outcomes[0], "xcfb.create_invoice").retryable
    _take(locks, 1)  # released on the way out
    with locks.order(None):  # a step run without an order takes no lock
        pass


def _take(locks, order_id):
    with locks.order(order_id):
        pass


@pytest.mark.parametrize(("port", "implementations"), [
    (StepPorts, [Services, FakePorts]), (CatchUpPorts, [Services]), (Locks, [RedisLocks, ThreadLocks]),
    (FreshBooks, [FreshBooksClient, FakeFreshBooks]), (XCart, [XCartClient])], ids=lambda p: getattr(p, "__name__", ""))
def test_the_service_and_the_fakes_provide_every_member_of_the_ports(port, implementations):
    """What the unit tier gives the steps is what the service gives them: same members, same parameters."""
    for implementation in implementations:
        members = set(dir(implementation)) | set(getattr(implementation, "__dataclass_fields__", ()))
        for name in _protocol_members(port):
            assert name in members, f"{implementation.__name__} lacks {port.__name__}.{name}"
            wanted = getattr(port, name)
            if inspect.isfunction(wanted):
                assert (list(inspect.signature(getattr(implementation, name)).parameters)[:len(
                    inspect.signature(wanted).parameters)] == list(inspect.signature(wanted).parameters)), name


def _protocol_members(port) -> set[str]:
    return {name for name in vars(port) if not name.startswith("_")} | set(getattr(port, "__annotations__", {}))


def test_a_payments_event_without_a_new_version_is_not_checked_again_a_refund_is(ports, monkeypatch):
    """The checks judge a version of the order (and, for the anomaly check, whether it is refunded) once: a sale's
    event brings neither, so the order is not examined again; a refund that came after the chain's check is examined
    by the payment step before anything is booked for it."""
    examined = []
    examine = checks.anomalies.examine
    monkeypatch.setattr(checks.anomalies, "examine", lambda *args: examined.append(args[0].id) or examine(*args))
    deliver(ports, "evt-1")
    checks.check_order(ports, ORDER_ID, "evt-1")
    run_chain(ports, ORDER_ID, "evt-1")
    assert examined == [ORDER_ID]

    pay(ports, "evt-pay", 77001, "76.54")  # the sale's own event: no new version, nothing refunded
    checks.check_order(ports, ORDER_ID, "evt-pay")
    orders.reconcile_payment(ports, ORDER_ID, "evt-pay")
    assert examined == [ORDER_ID]

    deliver(ports, "evt-refund", "payment.created", PAYMENT, id=77002, type="refund", value="10.00",
            order_id=ORDER_ID)
    orders.reconcile_payment(ports, ORDER_ID, "evt-1")  # the first chain's step, after the refund came in
    assert examined == [ORDER_ID, ORDER_ID]
    assert [c["credit_number"] for c in books(ports).all("credit_note")] == ["10457-R1"]
    stored = snapshots.order_payload_and_check(ports.sessions, ORDER_ID)
    assert stored is not None and stored[1].endswith("|refunded")


def test_a_refund_its_own_chain_holds_is_not_booked_by_the_payment_step_of_an_earlier_chain(ports, monkeypatch):
    """The refund arrives while an earlier chain's payment step runs (after it read the order), and the refund's own
    chain's check holds it: the earlier step must not book its credit note (nor then settle the review as synced)."""
    def refund_and_its_check():
        deliver(ports, "evt-refund", "payment.created", PAYMENT, id=77002, type="refund", value="10.00",
                order_id=ORDER_ID)
        with pytest.raises(HeldForReview):
            checks.check_order(ports, ORDER_ID, "evt-refund")

    deliver(ports, "evt-1")
    checks.check_order(ports, ORDER_ID, "evt-1")
    run_chain(ports, ORDER_ID, "evt-1")
    pay(ports, "evt-pay", 77001, "76.54")
    flag_orders(monkeypatch, lambda order, transactions: checks.anomalies.is_refund(order, transactions))
    happened = as_the_payment_step_plans(monkeypatch, refund_and_its_check)

    with pytest.raises(HeldForReview):
        orders.reconcile_payment(ports, ORDER_ID, "evt-pay")
    assert happened and books(ports).all("credit_note") == []


def test_the_checks_judge_again_under_new_rules_and_never_answer_with_findings_that_hold(ports, monkeypatch):
    examined = []
    examine = checks.anomalies.examine
    monkeypatch.setattr(checks.anomalies, "examine", lambda *args: examined.append(args[0].id) or examine(*args))
    deliver(ports, "evt-1")
    checks.check_order(ports, ORDER_ID, "evt-1")
    checks.check_order(ports, ORDER_ID, "evt-1")  # the same version, rules and refunds: the kept answer
    assert examined == [ORDER_ID]

    ports.rules = dataclasses.replace(ports.rules, anomalies=dataclasses.replace(ports.rules.anomalies, warm_up=31))
    checks.check_order(ports, ORDER_ID, "evt-1")  # a promotion of the rules: judged again under them
    unchanged = ports.rules
    ports.rules = dataclasses.replace(ports.rules, currency_policy="convert", account_currency="EUR")
    with pytest.raises(HeldForReview):  # converted to EUR, with no USD rate in the table: an error, held
        checks.check_order(ports, ORDER_ID, "evt-1")
    assert examined == [ORDER_ID, ORDER_ID, ORDER_ID]
    ports.rules = unchanged
    checks.check_order(ports, ORDER_ID, "evt-1")

    with ports.sessions.begin() as session:  # a finding that holds the order, kept beside a passed key
        session.add(OrderFinding(order_id=ORDER_ID, source="anomaly", kind="quantity", path="items[0].amount",
                                 severity="anomaly", score="9", message="held by another check", action="review",
                                 status="open", updated_at=utcnow()))
    checks.check_order(ports, ORDER_ID, "evt-1")  # not answered from it: examined again, and the check decides
    assert examined == [ORDER_ID] * 5
    assert assistants.findings_for_order(ports.sessions, ORDER_ID) == []


def test_a_check_that_holds_the_order_while_the_payment_step_plans_stops_what_that_step_books(ports, monkeypatch):
    """Another chain's check of the same version holds the order (the history moved) after this step read it: what
    the checks passed is read again under the order's lock, so the step books nothing and the order is held."""
    def the_other_chains_check():
        with ports.sessions.begin() as session:  # it started before this version's first check passed it
            session.execute(update(OrderSnapshot).values(checked_version=None))
        holding.append(True)
        with pytest.raises(HeldForReview):
            checks.check_order(ports, ORDER_ID, "evt-1")

    holding = []
    deliver(ports, "evt-1")
    checks.check_order(ports, ORDER_ID, "evt-1")
    orders.resolve_client(ports, ORDER_ID, "evt-1")  # unchecked meanwhile
    orders.create_invoice(ports, ORDER_ID, "evt-1")
    pay(ports, "evt-pay", 77001, "76.54")
    flag_orders(monkeypatch, lambda order, transactions: bool(holding))
    happened = as_the_payment_step_plans(monkeypatch, the_other_chains_check)

    with pytest.raises(HeldForReview):
        orders.reconcile_payment(ports, ORDER_ID, "evt-pay")
    assert happened and books(ports).all("payment") == []


def flag_orders(monkeypatch, when) -> None:
    """The anomaly check also finds a quantity to look at (a kind the rules hold) in an order `when` says."""
    examine = checks.anomalies.examine

    def examine_and_flag(order, transactions, *rest):
        found = examine(order, transactions, *rest)
        if not when(order, transactions):
            return found
        odd = Finding("anomaly", "quantity", "items[0].amount", "a person should look", "anomaly", D(9))
        return checks.anomalies.Examination(found.observations, (*found.findings, odd))
    monkeypatch.setattr(checks.anomalies, "examine", examine_and_flag)


def as_the_payment_step_plans(monkeypatch, happen) -> list:
    """Runs `happen` once as the payment step plans: after it read the order, before it takes the order's lock."""
    happened, plan_invoice = [], orders.plan_invoice

    def plan_and_meanwhile(svc, order):
        if not happened:
            happened.append(happen() or True)
        return plan_invoice(svc, order)
    monkeypatch.setattr(orders, "plan_invoice", plan_and_meanwhile)
    return happened


def test_a_step_whose_checks_keep_changing_under_it_gives_up_for_now_retryably(ports, monkeypatch):
    deliver(ports, "evt-1")
    ran = []
    monkeypatch.setattr(checks, "check_order", lambda *args: ran.append(args[1]))  # never records a pass
    with pytest.raises(orders.ChecksKeepChanging) as gave_up:
        orders.create_invoice(ports, ORDER_ID, "evt-1")
    assert ran == [ORDER_ID] * orders.CHECKED_AGAIN and books(ports).all("invoice") == []
    assert classify(gave_up.value, "xcfb.create_invoice").retryable


def test_the_checks_rules_digest_follows_what_the_checks_read_not_the_rules_object():
    """A task's copy of the rules with the day's rates (runtime/exchange_rates.with_rates) is judged as the version
    it copies; a change to what the checks read is not."""
    from workers.order_reads import _checks_rules

    rules = Rules()
    with_rates = dataclasses.replace(rules, rates=FixedRates({("EUR", "USD"): D("1.085")}, "ecb"))
    assert _checks_rules(with_rates) == _checks_rules(rules)
    stricter = dataclasses.replace(rules, anomalies=dataclasses.replace(rules.anomalies, warm_up=31))
    assert _checks_rules(stricter) != _checks_rules(rules)
    assert _checks_rules(dataclasses.replace(rules, account_currency="EUR")) != _checks_rules(rules)


@pytest.mark.parametrize("step", [orders.resolve_client, orders.sync_items])
def test_a_version_that_came_in_after_the_chains_check_makes_nothing_in_freshbooks_until_checked(ports, monkeypatch,
                                                                                                 step):
    """The client and items are made from the newest version of the order: one the chain's check never saw is
    checked by the step first, and one the check holds makes nothing (a new customer, a new SKU)."""
    deliver(ports, "evt-1", "order.created")
    checks.check_order(ports, ORDER_ID, "evt-1")
    new_sku = dict(ORDER["data"]["items"][0], id=90999, sku="NEW-SKU", name="Something new")
    deliver(ports, "evt-2", "order.updated", update_date="2026-11-20T16:00:00+0000", email="someone.new@example.com",
            items=[new_sku, *ORDER["data"]["items"][1:]])
    flag_orders(monkeypatch, lambda order, transactions: order.email == "someone.new@example.com")

    with pytest.raises(HeldForReview):
        step(ports, ORDER_ID, "evt-1")
    assert books(ports).all("client") == [] and not [i for i in books(ports).all("item") if i["sku"] == "NEW-SKU"]
