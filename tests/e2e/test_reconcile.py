"""`xcfb reconcile` over the real pipeline: the books the service made match X-Cart order by order (credit notes
included); FreshBooks edited behind the service's back is named order by order; `--repair` books again what is
the service's to book, and leaves what a person changed for a person."""

import json

import pytest
from sqlalchemy import select

from harness.books_check import check_books
from runtime.metrics import ServiceCollector
from sandboxes.serve import BackgroundServer
from store import ledger, reconcile_runs
from store.models import Event
from tests.e2e.pipeline import simulated_store
from workers.app import app as celery_app
from workers.tasks import reconcile_books
from xcfb import reconcile as command
from xcfb.cli import main

WINDOW = ["--since", "2026-10-01", "--until", "2026-12-31"]


def reconcile(capsys, *options: str) -> tuple[int, dict]:
    status = main(["reconcile", *WINDOW, "--format", "json", *options], plugins=[])
    out = capsys.readouterr().out
    return status, json.loads(out[out.rindex('{\n  "since"'):])  # with --repair: the report after the repair


def classes(report: dict) -> dict[str, str]:
    return {line["order_number"]: line["klass"] for line in report["orders"]}


@pytest.fixture
def booked(pipeline_factory, fb_sandbox, monkeypatch):
    app, store = simulated_store(seed=61)
    events = list(store.events) + store.place_orders(40)
    with BackgroundServer(app) as xcart:
        pipeline = pipeline_factory(xcart_api_url=f"{xcart.url}/api", xcart_api_token="xcart-sandbox-token")
        monkeypatch.setattr(command, "_sender", lambda: lambda name, args: celery_app.send_task(name, args=args))
        pipeline.sender().deliver_all(events)
        pipeline.settle()
        books = check_books(store, fb_sandbox, pipeline.services.rules)
        assert books.correct and books.credit_notes > 0, books
        yield pipeline, store


def test_the_service_books_match_the_store_credit_notes_included(booked, capsys):
    pipeline, store = booked
    status, report = reconcile(capsys)
    assert status == 0 and report["matched"], [li["detail"] for li in report["orders"] if li["klass"] != "matched"]
    assert report["counts"]["matched"] == len(store.orders) and report["counts"]["freshbooks_only"] == 0
    credited = sum(float(t["credited"]) for t in report["totals"].values())
    assert credited > 0 and report["totals"]["USD"]["credited"] == report["totals"]["USD"]["given_back"]
    assert main(["reconcile", *WINDOW], plugins=[]) == 0
    table = capsys.readouterr().out
    assert "RESULT: every order matches" in table and "\nTOTAL" in table
    outcome = reconcile_books.apply().get()  # beat's run: yesterday and the day before, none of the store's orders
    assert outcome.startswith("reconciliation ") and "matched" not in outcome.split(":", 1)[1]
    assert [r.trigger for r in reconcile_runs.history(pipeline.services.sessions)] == ["beat", "cli", "cli"]


def test_edits_behind_the_services_back_are_named_and_repaired_when_they_are_the_services(booked, capsys, fb_sandbox):
    pipeline, store = booked
    books = fb_sandbox.books
    invoices = {i["invoice_number"]: i for i in books.all("invoice")}
    codes = {o["order_number"]: o["payment_status"]["code"] for o in store.orders.values()}
    paid = [n for n, code in codes.items() if code == "P" and n in invoices]
    unpaid = next(n for n, code in codes.items() if code == "Q" and n in invoices)
    refunded = next(n for n, code in codes.items() if code == "R")

    edited = invoices[unpaid]  # a person adds a line to an invoice: never "fixed" back
    books.update_invoice(edited["id"], {"lines": edited["lines"] + [{"name": "Extra", "qty": "1",
                                                                     "unit_cost": {"amount": "1.00"}}]})
    payment = next(p for p in books.all("payment") if p["invoiceid"] == invoices[paid[0]]["id"])
    books.update_payment(payment["id"], {"vis_state": 1})  # a payment deleted
    books.delete_invoice(invoices[paid[1]]["id"])  # an invoice deleted
    credit = next(c for c in books.all("credit_note") if c["credit_number"].startswith(f"{refunded}-"))
    books.update_credit_note(credit["id"], {"vis_state": 1})  # a credit note deleted
    books.create_invoice({"customerid": edited["customerid"], "create_date": "2026-11-02",  # a stray invoice
                          "invoice_number": "STRAY-1", "lines": [{"name": "Consulting", "qty": "1",
                                                                  "unit_cost": {"amount": "50.00"}}]})

    status, report = reconcile(capsys)
    assert status == 1 and not report["matched"]
    found = classes(report)
    assert (found[unpaid], found[paid[0]], found[paid[1]], found[refunded], found["STRAY-1"]) == (
        "amount_differs", "payments_differ", "missing", "refund_missing", "freshbooks_only")
    assert report["counts"]["matched"] == len(store.orders) - 4
    lines = {line["order_number"]: line for line in report["orders"]}
    assert f"totals {edited['amount']['amount']}" not in lines[unpaid]["detail"]  # the edited amount is shown
    assert "deleted in FreshBooks" in lines[paid[1]]["detail"]
    assert main(["reconcile", *WINDOW], plugins=[]) == 1
    table = capsys.readouterr().out
    with capsys.disabled():
        print(table)  # pytest -s shows the report (README: how money flows)
    assert "RESULT: 5 differ (3 repairable with --repair)" in table

    status, report = reconcile(capsys, "--repair", "--wait", "90")
    found = classes(report)
    assert status == 1  # what a person changed stays for a person
    assert {n: k for n, k in found.items() if k != "matched"} == {unpaid: "amount_differs",
                                                                  "STRAY-1": "freshbooks_only"}
    active = [i for i in books.all("invoice") if i["vis_state"] == 0]
    assert [i["invoice_number"] for i in active].count(paid[1]) == 1  # booked again, once
    notes = [c["credit_number"] for c in books.all("credit_note") if c["vis_state"] == 0]
    assert len(notes) == len(set(notes)) and credit["credit_number"] in notes

    runs = reconcile_runs.history(pipeline.services.sessions)
    assert [r.trigger for r in runs[:3]] == ["repair", "cli", "cli"] and not runs[0].matched
    assert main(["reconcile", "history"], plugins=[]) == 0
    assert "DIFFERS" in capsys.readouterr().out
    gauges = {s.labels["class"]: s.value for family in ServiceCollector(pipeline.services).collect()
              if family.name == "xcfb_reconcile_orders" for s in family.samples}
    assert (gauges["amount_differs"], gauges["freshbooks_only"], gauges["missing"]) == (1, 1, 0)
    assert pipeline.services.redis.get("xcfb:alert:reconcile") is not None


def test_an_order_held_for_review_before_its_invoice_is_held_not_missing(booked, capsys, fb_sandbox):
    pipeline, store = booked
    sessions = pipeline.services.sessions
    invoices = {i["invoice_number"]: i for i in fb_sandbox.books.all("invoice")}
    order = next(o for o in store.orders.values() if o["payment_status"]["code"] == "Q"
                 and o["order_number"] in invoices)
    # as if the anomaly check had held the order before any invoice: no invoice, an open review entry
    fb_sandbox.books.delete_invoice(invoices[order["order_number"]]["id"])
    with sessions() as session:
        event_id = session.scalars(select(Event.id).where(Event.order_id == order["id"])).first()
    ledger.dead_letter(sessions, event_id, "review", "xcfb.check_order", "anomaly: quantity 1000 of SKU-1 is 400x")
    status, report = reconcile(capsys)
    line = next(line for line in report["orders"] if line["order_number"] == order["order_number"])
    assert status == 1 and line["klass"] == "held"  # a person must look; not booked, not lost
    assert "anomaly: quantity 1000" in line["detail"]
