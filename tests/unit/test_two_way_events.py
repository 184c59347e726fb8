"""FreshBooks callbacks as the worker takes them (recorded, then workers/events.handle): a change FreshBooks owns goes
to X-Cart with one PUT, its echo (and a repeat) writes nothing, and without an X-Cart API it waits in review."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from mappings import jsonio
from mappings.orders import NeedsReview
from store import ledger, sync_state
from tests.fakes import FakePorts
from workers import events

CUSTOMER = json.loads((Path(__file__).parents[1] / "fixtures" / "xcart" / "customer.json").read_text())


class FakeXCart:
    """The X-Cart REST port over one stored profile: reads it, and PUTs into its addresses as the simulator does."""

    def __init__(self, profile: dict):
        self.profile_doc = copy.deepcopy(profile)
        self.puts: list[tuple[int, dict]] = []

    def profile(self, profile_id: int) -> dict:
        return copy.deepcopy(self.profile_doc)

    def update_address(self, profile_id: int, address_id: int, changes: dict) -> dict:
        self.puts.append((address_id, changes))
        address = next(a for a in self.profile_doc["addresses"] if a["address_id"] == address_id)
        address.update({k: v for k, v in changes.items() if not k.startswith("address")})
        if "address1" in changes:
            address["street"] = "\n".join(changes[k] for k in ("address1", "address2") if changes.get(k))
        self.profile_doc["updated"] = "2027-01-01T00:00:00+0000"
        return address


@pytest.fixture
def ports(ports) -> FakePorts:
    """tests/unit/conftest.py's ports, with the customer's profile taken in."""
    raw = jsonio.dumps(CUSTOMER)
    event_id, _ = events.receive(ports, raw)
    events.handle(ports, event_id)  # the client made from the profile, and the first fingerprint
    return ports


def callback(ports, n: int, name: str, object_id: int) -> str:
    """What workers/tasks.freshbooks_event records for a callback, then hands to events.handle."""
    event_id = f"freshbooks:test-{n}"
    ledger.record_event(ports.sessions, event_id, f"freshbooks.{name}", f"freshbooks-client:{object_id}",
                        jsonio.dumps({"name": name, "object_id": str(object_id)}))
    events.handle(ports, event_id)
    return event_id


def client_id(ports) -> int:
    return ports.freshbooks.books.all("client")[0]["id"]


def test_a_freshbooks_change_goes_to_x_cart_once_and_its_echo_writes_nothing(ports):
    ports.xcart = FakeXCart(CUSTOMER["data"])
    fb_id = client_id(ports)
    ports.freshbooks.update_client(fb_id, {"bus_phone": "+1 617 555 0142"})  # someone, in FreshBooks
    first = callback(ports, 1, "client.update", fb_id)
    assert ports.xcart.puts == [(901, {"firstname": "Maria", "lastname": "Garcia", "phone": "+16175550142"})]
    assert ledger.get_event(ports.sessions, first).status == "synced"
    writes = len(ports.freshbooks.calls)
    callback(ports, 2, "client.update", fb_id)  # FreshBooks sends it again, minutes later
    raw = jsonio.dumps(CUSTOMER | {"id": "evt_echo", "data": ports.xcart.profile(311)})
    echo, _ = events.receive(ports, raw)
    events.handle(ports, echo)  # X-Cart's webhook for our PUT
    assert len(ports.xcart.puts) == 1
    assert [c for c in ports.freshbooks.calls[writes:] if c.startswith(("update", "create"))] == []
    assert "echo of the last sync" in ledger.get_event(ports.sessions, "freshbooks:test-2").last_error
    assert sync_state.load(ports.sessions, "client", fb_id).groups["contact"]["phone"] == "+16175550142"


def test_a_change_for_x_cart_without_an_x_cart_api_waits_in_review(ports):
    fb_id = client_id(ports)
    ports.freshbooks.update_client(fb_id, {"p_city": "Cambridge"})  # billing: newest, so FreshBooks' goes to X-Cart
    with pytest.raises(NeedsReview, match="no X-Cart API is connected"):
        callback(ports, 1, "client.update", fb_id)


def test_a_change_to_what_x_cart_owns_is_undone_in_freshbooks_even_without_an_x_cart_api(ports):
    fb_id = client_id(ports)
    ports.freshbooks.update_client(fb_id, {"s_city": "Montreal"})  # shipping belongs to X-Cart
    callback(ports, 1, "client.update", fb_id)
    assert ports.freshbooks.books.read("client", fb_id)["s_city"] == "Toronto"


def test_a_callback_for_a_client_bound_to_no_profile_only_notes_it(ports):
    guest = ports.freshbooks.create_client({"email": "guest@example.net", "fname": "G"})
    event_id = callback(ports, 1, "client.create", guest["id"])
    assert "bound to nothing in X-Cart" in ledger.get_event(ports.sessions, event_id).last_error
