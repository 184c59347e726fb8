"""Credit notes in the FreshBooks sandbox, read by the official freshbooks-sdk (so the sandbox speaks FreshBooks'
paths, envelope and fields, not a dialect of our client) and by our client under the sandbox's faults."""

from decimal import Decimal as D

import pytest
import requests
from freshbooks import Client as SdkClient
from freshbooks import FilterBuilder, IncludesBuilder
from freshbooks.errors import FreshBooksError

from apis.freshbooks.errors import RateLimited, Unavailable, ValidationFailed

ACCOUNT = "SANDBOX1"


@pytest.fixture
def sdk(fb_server, fb_sandbox, monkeypatch):
    monkeypatch.setenv("FRESHBOOKS_API_URL", fb_server.url)
    return SdkClient(client_id="sandbox-client-id", access_token="sandbox-test-token")


def _credit(clientid, number="XC-1001-CR1"):
    return {"credit_number": number, "clientid": clientid, "currency_code": "USD", "create_date": "2026-11-28",
            "credit_type": "goodwill", "notes": "Refund of X-Cart order XC-1001", "terms": "Refunded to card",
            "lines": [{"name": "Mug", "description": "returned", "qty": "2",
                       "unit_cost": {"amount": "12.50", "code": "USD"}, "taxName1": "VAT", "taxAmount1": "20"},
                      {"name": "Shipping", "qty": "1", "unit_cost": {"amount": "4.99", "code": "USD"}}]}


def test_sdk_creates_reads_lists_updates_and_soft_deletes_credit_notes(sdk):
    client = sdk.clients.create(ACCOUNT, {"fname": "Ann", "lname": "Lee", "email": "ann@example.com"})
    created = sdk.credit_notes.create(ACCOUNT, _credit(client.id), includes=IncludesBuilder().include("lines"))
    # 2 x 12.50 = 25.00, VAT 20 % = 5.00, shipping 4.99: 34.99
    assert created.creditid == created.id and created.credit_number == "XC-1001-CR1"
    assert (D(created.amount.amount), created.amount.code) == (D("34.99"), "USD")
    assert D(created.paid.amount) == 0 and created.vis_state == 0
    assert (created.status, created.credit_type, created.clientid) == ("created", "goodwill", client.id)
    assert [line.amount.amount for line in created.lines] == ["25.00", "4.99"]

    read = sdk.credit_notes.get(ACCOUNT, created.id)
    assert read.notes == "Refund of X-Cart order XC-1001" and str(read.create_date) == "2026-11-28"

    sdk.credit_notes.create(ACCOUNT, _credit(client.id, "XC-1002-CR1"))
    found = sdk.credit_notes.list(ACCOUNT, builders=[FilterBuilder().equals("credit_number", "XC-1001-CR1")])
    assert found.pages.total == 1 and found[0].id == created.id

    updated = sdk.credit_notes.update(ACCOUNT, created.id, {"lines": [
        {"name": "Refund", "qty": "1", "unit_cost": {"amount": "10.00", "code": "USD"}}]})
    assert D(updated.amount.amount) == D("10.00")

    deleted = sdk.credit_notes.delete(ACCOUNT, created.id)  # the SDK deletes credit notes with vis_state 1
    assert deleted.vis_state == 1
    remaining = sdk.credit_notes.list(ACCOUNT)
    assert [c.credit_number for c in remaining] == ["XC-1002-CR1"]


def test_sdk_sees_credit_note_errors(sdk):
    with pytest.raises(FreshBooksError) as raised:
        sdk.credit_notes.get(ACCOUNT, 987654)
    assert (raised.value.status_code, raised.value.error_code) == (404, 1012)
    with pytest.raises(FreshBooksError) as raised:
        sdk.credit_notes.create(ACCOUNT, {"credit_number": "X", "lines": []})
    assert (raised.value.status_code, raised.value.error_code) == (422, 1001)
    client = sdk.clients.create(ACCOUNT, {"email": "bob@example.com"})
    with pytest.raises(FreshBooksError) as raised:
        sdk.credit_notes.create(ACCOUNT, {"clientid": client.id, "credit_type": "gift"})
    assert raised.value.error_code == 1004 and raised.value.error_details[0]["field"] == "credit_type"


def test_client_finds_creates_and_deletes_credit_notes(fb_client):
    client = fb_client.create_client({"email": "cat@example.com"})
    assert fb_client.find_credit_note_by_number("XC-1-CR1") is None
    created = fb_client.create_credit_note(_credit(client["id"], "XC-1-CR1"))
    assert D(created["amount"]["amount"]) == D("34.99")
    assert fb_client.find_credit_note_by_number("XC-1-CR1")["id"] == created["id"]
    assert fb_client.get_credit_note(created["id"])["lines"][0]["name"] == "Mug"
    fb_client.delete_credit_note(created["id"])
    assert fb_client.find_credit_note_by_number("XC-1-CR1") is None
    assert fb_client.list_credit_notes() == []
    with pytest.raises(ValidationFailed) as raised:
        fb_client.create_credit_note({"credit_number": "XC-1-CR2"})
    assert raised.value.details[0].field == "clientid"


def test_faults_apply_to_credit_note_creates(fb_server, fb_client):
    client = fb_client.create_client({"email": "dan@example.com"})

    def faults(**settings):
        assert requests.post(f"{fb_server.url}/_sandbox/faults", json=settings, timeout=5).status_code == 200

    faults(rate_limit=0)
    with pytest.raises(RateLimited):
        fb_client.create_credit_note(_credit(client["id"], "XC-2-CR1"))
    faults(rate_limit=None, ghost_creates=1)
    with pytest.raises(Unavailable) as raised:  # stored, and the answer lost
        fb_client.create_credit_note(_credit(client["id"], "XC-2-CR1"))
    assert raised.value.may_have_reached_server
    ghost = fb_client.find_credit_note_by_number("XC-2-CR1")
    assert ghost is not None and D(ghost["amount"]["amount"]) == D("34.99")
    faults(fail_next=1, fail_status=503)
    with pytest.raises(Unavailable):
        fb_client.find_credit_note_by_number("XC-2-CR1")
    assert len(fb_client.list_credit_notes()) == 1
