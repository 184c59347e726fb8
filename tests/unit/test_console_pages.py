"""The console's dead letters and orders pages: filters, the bad fields by path, an edited payload checked by
the workers' readers before it is replayed, replay and discard one or many with who did it in the audit trail;
orders found by number, email or date, with their timeline."""

from __future__ import annotations

import json

import pytest

from mappings import jsonio, money
from mappings.xcart.schemas import OrderSchema, load
from store import ledger, snapshots
from tests.console_support import console_app, console_services, sign_in
from tests.e2e.pipeline import simulated_store


@pytest.fixture
def svc(tmp_path):
    return console_services(tmp_path)


def park(svc, event: dict, kind: str = "invalid", errors=None) -> int:
    """Records the event as a worker would and parks it (a dead letter)."""
    raw = json.dumps(event, default=str)
    data = event["data"]
    ledger.record_event(svc.sessions, event["id"], event["type"], f"order:{data['id']}", raw, data["id"],
                        data["order_number"])
    return ledger.dead_letter(svc.sessions, event["id"], kind, "xcfb.process_event", "bad price", errors or [])


def order_events(count=6, seed=4):
    _, store = simulated_store(seed=seed)
    return [e for e in store.place_orders(count) if e["type"] == "order.created"]


def test_an_edited_payload_is_checked_by_path_before_it_is_replayed(svc):
    sent = []
    client = console_app(svc, sent).test_client()
    token = sign_in(client, "operator")
    good = order_events()[0]
    bad = json.loads(json.dumps(good, default=str))
    bad["data"]["items"][0]["price"] = "twelve"
    letter = park(svc, bad, errors=[{"path": "data.items[0].price", "message": "not a number: 'twelve'"}])
    page = client.get(f"/dead-letters/{letter}").get_data(as_text=True)
    assert "data.items[0].price" in page and "not a number: &#39;twelve&#39;" in page

    still_bad = json.loads(json.dumps(bad))
    still_bad["data"]["currency"] = "XYZ"
    replay = f"/dead-letters/{letter}/replay"
    refused = client.post(replay, data={"csrf_token": token, "payload": json.dumps(still_bad)})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "data.currency</span>: unknown currency &#39;XYZ&#39;" in text and "data.items[0].price" in text
    assert sent == [] and ledger.get_dead_letter(svc.sessions, letter).status == "open"

    other_id = json.loads(json.dumps(good, default=str)) | {"id": "another-event"}
    kept_id = client.post(replay, data={"csrf_token": token, "payload": json.dumps(other_id)})
    assert kept_id.status_code == 422 and "must keep the event id" in kept_id.get_data(as_text=True)

    fixed = json.dumps(good, default=str)
    assert client.post(replay, data={"csrf_token": token, "payload": fixed}).status_code == 302
    assert sent == [("xcfb.handle_event", [good["id"]])]
    assert ledger.get_event(svc.sessions, good["id"]).payload == fixed
    assert ledger.get_dead_letter(svc.sessions, letter).status == "replayed"
    entry = ledger.recent_audit(svc.sessions, people_only=True)[0]
    assert (entry.actor, entry.action, entry.order_id) == ("operator@example.com", "replay", good["data"]["id"])


def test_many_are_replayed_or_discarded_at_once_and_the_list_filters(svc):
    sent = []
    client = console_app(svc, sent).test_client()
    token = sign_in(client, "operator")
    events = order_events(10)
    letters = [park(svc, e, kind="review" if i % 2 else "invalid") for i, e in enumerate(events[:4])]
    listed = client.get("/dead-letters?kind=review").get_data(as_text=True)
    assert f'href="/dead-letters/{letters[1]}"' in listed and f'href="/dead-letters/{letters[0]}"' not in listed
    client.post("/dead-letters/bulk", data={"csrf_token": token, "action": "replay", "ids": letters[:2]})
    client.post("/dead-letters/bulk", data={"csrf_token": token, "action": "discard", "ids": letters[2:]})
    assert sorted(args[0] for _, args in sent) == sorted(e["id"] for e in events[:2])
    assert [ledger.get_dead_letter(svc.sessions, i).status for i in letters] == ["replayed", "replayed",
                                                                                 "discarded", "discarded"]
    assert ledger.get_event(svc.sessions, events[3]["id"]).status == "skipped"
    again = client.post("/dead-letters/bulk", data={"csrf_token": token, "action": "replay", "ids": letters[:1]})
    assert again.status_code == 302
    assert "refused" in client.get("/dead-letters").get_data(as_text=True)  # already replayed: said, not redone
    assert client.get("/dead-letters?status=discarded").get_data(as_text=True).count('name="ids"') == 2


def test_orders_are_found_by_number_email_and_date_and_show_their_timeline(svc):
    client = console_app(svc).test_client()
    sign_in(client, "viewer")
    events = order_events(5)
    orders = []
    for event in events:
        payload = jsonio.dumps(event["data"])
        order = load(OrderSchema, jsonio.loads(payload))
        snapshots.keep_order_if_newer(svc.sessions, order.id, order.order_number, order.update_date, payload)
        ledger.record_event(svc.sessions, event["id"], event["type"], f"order:{order.id}",
                            json.dumps(event, default=str), order.id, order.order_number)
        orders.append(order)
    target = orders[2]
    by_number = client.get(f"/orders?q={target.order_number}").get_data(as_text=True)
    assert f'href="/orders/{target.order_number}"' in by_number
    by_email = client.get(f"/orders?q={target.email.upper()}").get_data(as_text=True)
    assert {o.order_number for o in orders if o.email.lower() == target.email.lower()} == \
        {o.order_number for o in orders if f'href="/orders/{o.order_number}"' in by_email}
    by_day = client.get(f"/orders?date={target.update_date:%Y-%m-%d}").get_data(as_text=True)
    assert f'href="/orders/{target.order_number}"' in by_day
    assert "is not a date" in client.get("/orders?date=31/12/2026").get_data(as_text=True)
    shown = client.get(f"/orders/{target.order_number}").get_data(as_text=True)
    assert events[2]["id"] in shown and "No FreshBooks invoice for this order." in shown
    assert f"<td class=\"num\">{money.shown(target.total, target.currency)}</td>" in shown
    assert client.get("/orders/no-such-order").status_code == 404


def test_side_by_side_reads_four_decimals_in_the_currency_without_hiding_a_fraction_of_a_cent():
    from decimal import Decimal as D

    from console.orders import side_by_side

    event = order_events(1)[0]
    order = load(OrderSchema, {**event["data"], "total": "34.6800", "currency": "USD"})
    invoice = {"amount": {"amount": "34.68"}, "paid": {"amount": "0.00"}, "outstanding": {"amount": "34.68"},
               "currency_code": "USD", "invoice_number": order.order_number}
    total = side_by_side(order, invoice, D("0"))[0]
    assert (str(total["xcart"]), str(total["freshbooks"]), total["differs"]) == ("34.68", "34.68", False)
    total = side_by_side(order, {**invoice, "amount": {"amount": "34.6849"}}, D("0"))[0]
    assert (str(total["xcart"]), str(total["freshbooks"]), total["differs"]) == ("34.68", "34.6849", True)
