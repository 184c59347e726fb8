"""The official freshbooks-sdk, pointed at the sandbox with FRESHBOOKS_API_URL: proof that the sandbox
speaks FreshBooks and not a dialect of our own client."""

from decimal import Decimal as D

import pytest
import requests
from freshbooks import Client as SdkClient
from freshbooks import FilterBuilder, IncludesBuilder
from freshbooks.errors import FreshBooksError


@pytest.fixture
def sdk(fb_server, fb_sandbox, monkeypatch):
    monkeypatch.setenv("FRESHBOOKS_API_URL", fb_server.url)
    return SdkClient(client_id="sandbox-client-id", access_token="sandbox-test-token")


def test_sdk_creates_and_reads_client_item_invoice_and_payment(sdk):
    account_id = sdk.current_user().business_memberships[0].business.account_id
    assert account_id == "SANDBOX1"

    client = sdk.clients.create(account_id, {"fname": "Ann", "lname": "Lee", "email": "ann@example.com"})
    assert sdk.clients.get(account_id, client.id).email == "ann@example.com"

    item = sdk.items.create(account_id, {"name": "Mug", "sku": "MUG-1",
                                         "unit_cost": {"amount": "12.50", "code": "USD"}})
    assert sdk.items.get(account_id, item.id).unit_cost.amount == "12.50"

    lines = [{"type": 0, "name": "Mug", "qty": 3, "unit_cost": {"amount": "12.50", "code": "USD"},
              "taxName1": "VAT", "taxAmount1": "20"},
             {"type": 0, "name": "Shipping", "qty": 1, "unit_cost": {"amount": "4.99", "code": "USD"}}]
    invoice = sdk.invoices.create(account_id, {"customerid": client.id, "create_date": "2026-11-26",
                                               "invoice_number": "XC-1001", "lines": lines},
                                  includes=IncludesBuilder().include("lines"))
    assert invoice.invoice_number == "XC-1001"
    assert [line.amount.amount for line in invoice.lines] == ["37.50", "4.99"]

    payment = sdk.payments.create(account_id, {"invoiceid": invoice.id, "amount": {"amount": "20.00"},
                                               "date": "2026-11-26", "type": "Credit Card"})
    assert sdk.payments.get(account_id, payment.id).amount.amount == "20.00"

    read = sdk.invoices.get(account_id, invoice.id, includes=IncludesBuilder().include("lines"))
    # 37.50 + 4.99 + VAT 7.50 = 49.99; 20.00 paid
    assert D(read.amount.amount) == D("49.99") and read.amount.code == "USD"
    assert D(read.outstanding.amount) == D("29.99") and D(read.paid.amount) == D("20.00")
    assert (read.status, read.v3_status, read.payment_status) == (8, "partial", "partial")

    found = sdk.invoices.list(account_id, builders=[FilterBuilder().equals("invoice_number", "XC-1001")])
    assert found.pages.total == 1 and found[0].id == invoice.id


def test_sdk_sees_freshbooks_errors(sdk):
    with pytest.raises(FreshBooksError) as raised:
        sdk.clients.get("SANDBOX1", 987654)
    assert (raised.value.status_code, raised.value.error_code) == (404, 1012)
    assert str(raised.value) == "Client not found."


def test_sdk_oauth_code_exchange_and_single_use_refresh(fb_server, fb_sandbox, monkeypatch):
    monkeypatch.setenv("FRESHBOOKS_API_URL", fb_server.url)
    sdk = SdkClient(client_id="sandbox-client-id", client_secret="sandbox-client-secret",
                    redirect_uri="https://service.test/callback")
    answer = requests.post(f"{fb_server.url}/oauth/authorize", allow_redirects=False, timeout=5, data={
        "client_id": "sandbox-client-id", "response_type": "code", "redirect_uri": "https://service.test/callback",
        "decision": "approve"})  # the consent form's Allow
    code = answer.headers["Location"].split("code=")[1]
    first = sdk.get_access_token(code)
    assert first.access_token and first.refresh_token and first.access_token_expires_at
    used_refresh = first.refresh_token
    second = sdk.refresh_access_token()
    assert second.refresh_token != used_refresh
    assert sdk.current_user().business_memberships[0].business.account_id == "SANDBOX1"
    with pytest.raises(FreshBooksError):
        sdk.refresh_access_token(used_refresh)  # refresh tokens work once
