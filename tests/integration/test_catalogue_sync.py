"""Customer and product events, handled by the plain step functions against the FreshBooks sandbox."""

import json
from decimal import Decimal
from pathlib import Path

from mappings.xcart.schemas import parse_event
from workers.catalogue import delete_item, upsert_client, upsert_item

FIXTURES = Path(__file__).parents[1] / "fixtures" / "xcart"


def entity(name, **changes):
    payload = json.loads((FIXTURES / name).read_text(), parse_float=Decimal)
    payload["data"].update(changes)
    return parse_event(payload).data


def test_a_customer_update_reaches_the_same_client(svc, fb_sandbox):
    first = upsert_client(svc, entity("customer.json")).freshbooks_id
    payload = json.loads((FIXTURES / "customer.json").read_text())
    payload["data"]["addresses"][0]["city"] = "Cambridge"
    second = upsert_client(svc, parse_event(payload).data).freshbooks_id
    assert first == second
    clients = fb_sandbox.books.all("client")
    assert len(clients) == 1 and clients[0]["p_city"] == "Cambridge"


def test_an_existing_freshbooks_client_with_the_email_is_adopted(svc, fb_sandbox):
    existing = svc.freshbooks.create_client({"email": "Maria.Garcia@example.com", "fname": "M."})
    assert upsert_client(svc, entity("customer.json")).freshbooks_id == existing["id"]
    clients = fb_sandbox.books.all("client")
    assert len(clients) == 1 and clients[0]["fname"] == "Maria"  # brought up to date


def test_a_second_profile_with_the_same_email_does_not_pull_the_client_away_from_the_first(svc, fb_sandbox):
    first = upsert_client(svc, entity("customer.json"))
    payload = json.loads((FIXTURES / "customer.json").read_text())
    payload["data"].update(profile_id=payload["data"]["profile_id"] + 1, login=payload["data"]["login"].upper())
    payload["data"]["addresses"][0].update(firstname="Mary", city="Cambridge")
    second = upsert_client(svc, parse_event(payload).data)

    assert second.freshbooks_id == first.freshbooks_id
    assert "follows X-Cart profile" in second.outcome and "not synced" in second.outcome
    clients = fb_sandbox.books.all("client")
    assert len(clients) == 1 and (clients[0]["fname"], clients[0]["p_city"]) == ("Maria", "Boston")
    again = upsert_client(svc, entity("customer.json"))  # the profile it follows still reaches it
    assert again.freshbooks_id == first.freshbooks_id and "not synced" not in again.outcome


def test_product_create_update_delete(svc, fb_sandbox):
    item_id = upsert_item(svc, entity("product.json")).freshbooks_id
    assert upsert_item(svc, entity("product.json", price="13.50", amount=200)).freshbooks_id == item_id
    item = fb_sandbox.books.read("item", item_id)
    assert item["unit_cost"]["amount"] == "13.50" and item["inventory"] == "200"
    assert delete_item(svc, 17) == item_id
    assert fb_sandbox.books.read("item", item_id)["vis_state"] == 1
    assert delete_item(svc, 999) is None  # never synced: nothing to delete
