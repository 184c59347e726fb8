"""FreshBooks calls per order counted where they arrive, the sandbox's request counter (/_sandbox/stats), over
HTTP with the service's own client, at the default rules (`invoice.look_up_first: true`): the invoice-number
cut-over is read once (a page per 100 invoices), then an order with client and items bound costs the minimum."""

import json
from decimal import Decimal as D
from pathlib import Path

import pytest
import requests

from mappings import jsonio
from mappings.orders import NeedsReview
from mappings.xcart.schemas import OrderSchema, load
from store import snapshots
from workers import orders

FIXTURE = Path(__file__).parents[1] / "fixtures" / "xcart" / "order_5_5.json"


def receive(svc, **changes) -> int:
    order = json.loads(FIXTURE.read_text(), parse_float=D)["data"] | changes
    parsed = load(OrderSchema, order)
    snapshots.keep_order_if_newer(svc.sessions, parsed.id, parsed.order_number, parsed.update_date,
                                  jsonio.dumps(order))
    return parsed.id


def requests_made(fb_server) -> dict[str, int]:
    return requests.get(f"{fb_server.url}/_sandbox/stats", timeout=5).json()["requests"]["by_call"]


def counted(fb_server, work) -> dict[str, int]:
    before = requests_made(fb_server)
    work()
    after = requests_made(fb_server)
    return {call: n - before.get(call, 0) for call, n in after.items() if n != before.get(call, 0)}


def book(svc, order_id: int) -> None:
    for step in (orders.resolve_client, orders.sync_items, orders.create_invoice, orders.reconcile_payment):
        step(svc, order_id)


def test_an_order_with_client_and_items_bound_costs_one_call_unpaid_two_paid(svc, fb_server, fb_sandbox):
    assert svc.rules.look_up_invoices_first is True
    client = fb_sandbox.books.create_client({"fname": "Walk", "lname": "In", "email": "walk-in@example.com"})
    for n in range(130):  # invoices booked before the service: two pages to read at the cut-over
        fb_sandbox.books.create_invoice({"customerid": client["id"], "invoice_number": str(9000 + n),
                                         "create_date": "2026-10-01", "lines": []})
    first = counted(fb_server, lambda: book(svc, receive(svc, id=49000, order_number="20000")))
    assert first["GET invoices/invoices"] == 2  # the cut-over's two pages, and no search
    unpaid, paid = [], []
    for n in range(1, 11):
        status = "Q" if n % 2 else "P"
        calls = counted(fb_server, lambda n=n, status=status: book(svc, receive(
            svc, id=49000 + n, order_number=str(20000 + n), payment_status={"code": status})))
        (unpaid if status == "Q" else paid).append(calls)
    assert unpaid == [{"POST invoices/invoices": 1}] * 5
    assert paid == [{"POST invoices/invoices": 1, "POST payments/payments": 1}] * 5
    print(f"FreshBooks calls per order counted by the sandbox, client and items bound: "
          f"{sum(sum(c.values()) for c in unpaid) / 5:.2f} unpaid, {sum(sum(c.values()) for c in paid) / 5:.2f} "
          "paid (the minimum: 1 and 2)")

    reused = receive(svc, id=49100, order_number="9005")  # a renumbered store: searched, and held for a person
    orders.resolve_client(svc, reused)
    with pytest.raises(NeedsReview, match="invoice number 9005 is taken"):
        counted(fb_server, lambda: orders.create_invoice(svc, reused))
    assert len(fb_sandbox.books.all("invoice")) == 130 + 11  # nothing written
