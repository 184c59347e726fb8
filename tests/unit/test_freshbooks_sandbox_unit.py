"""Sandbox behaviours that need no network: Flask's test client over the app, and the books directly."""

from decimal import Decimal as D

import pytest

from sandboxes.freshbooks.app import SandboxConfig, create_app
from sandboxes.freshbooks.books import Books
from sandboxes.freshbooks.errors import ApiError
from sandboxes.freshbooks.faults import Faults
from sandboxes.freshbooks.oauth import OAuthSettings
from sandboxes.xcart.app import create_app as create_store
from sandboxes.xcart.store import StoreConfig

AUTH = {"Authorization": "Bearer t"}


def app_with(**config):
    return create_app(SandboxConfig(oauth=OAuthSettings(static_tokens=("t",)), **config)).test_client()


@pytest.mark.parametrize("status", [400, 422])
def test_validation_status_is_configurable(status):
    answer = app_with(validation_status=status).post("/accounting/account/SANDBOX1/users/clients",
                                                     json={"client": {"email": "bad"}}, headers=AUTH)
    assert answer.status_code == status
    assert answer.get_json()["response"]["errors"][0] == {
        "errno": 1004, "field": "email", "message": "Invalid email address for field email.", "object": "client",
        "value": "bad"}


def test_unknown_account_is_refused():
    answer = app_with().get("/accounting/account/OTHER/users/clients", headers=AUTH)
    assert answer.status_code == 403


def test_unique_invoice_numbers_when_asked():
    books = Books(unique_invoice_numbers=True)
    client = books.create_client({"email": "a@b.c"})
    books.create_invoice({"customerid": client["id"], "create_date": "2026-01-02", "invoice_number": "7"})
    with pytest.raises(ApiError) as raised:
        books.create_invoice({"customerid": client["id"], "create_date": "2026-01-02", "invoice_number": "7"})
    assert raised.value.field == "invoice_number"


def test_duplicate_invoice_numbers_are_accepted_by_default():
    books = Books()
    client = books.create_client({"email": "a@b.c"})
    for _ in range(2):
        books.create_invoice({"customerid": client["id"], "create_date": "2026-01-02", "invoice_number": "7"})
    assert books.counts()["invoice"] == 2


def test_deleting_a_payment_reopens_the_invoice():
    books = Books()
    client = books.create_client({"email": "a@b.c"})
    invoice = books.create_invoice({"customerid": client["id"], "create_date": "2026-01-02", "status": 2,
                                    "lines": [{"name": "x", "qty": "1", "unit_cost": {"amount": "10"}}]})
    payment = books.create_payment({"invoiceid": invoice["id"], "amount": {"amount": "10"}, "date": "2026-01-02",
                                    "type": "Cash"})
    assert books.read("invoice", invoice["id"])["v3_status"] == "paid"
    books.update_payment(payment["id"], {"vis_state": 1})
    reopened = books.read("invoice", invoice["id"])
    assert (reopened["v3_status"], reopened["outstanding"]["amount"]) == ("sent", "10.00")


def test_zero_decimal_currency_invoice():
    books = Books(currency="JPY")
    client = books.create_client({"email": "a@b.c"})
    invoice = books.create_invoice({"customerid": client["id"], "create_date": "2026-01-02", "lines": [
        {"name": "x", "qty": "3", "unit_cost": {"amount": "1999"}, "taxName1": "JCT", "taxAmount1": "10"}]})
    assert invoice["amount"] == {"amount": "6597", "code": "JPY"}
    assert D(invoice["lines"][0]["amount"]["amount"]) == D("5997")


def test_faults_rate_window_resets_with_the_clock():
    now = [0.0]
    faults = Faults(clock=lambda: now[0])
    faults.configure({"rate_limit": 1, "rate_window": 10})
    assert faults.check_request() is None
    verdict = faults.check_request()
    assert (verdict.status, verdict.retry_after) == (429, 10)
    now[0] = 10.5
    assert faults.check_request() is None


def test_faults_outage_ends_by_itself():
    now = [100.0]
    faults = Faults(clock=lambda: now[0])
    faults.configure({"outage_seconds": 60})
    assert faults.check_request().status == 503
    now[0] = 161.0
    assert faults.check_request() is None


def test_admin_endpoints_want_the_admin_token_when_one_is_set():
    client = app_with(admin_token="adm1n")
    assert client.post("/_sandbox/reset").status_code == 401
    assert client.get("/_sandbox/faults", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.post("/_sandbox/reset", headers={"Authorization": "Bearer adm1n"}).status_code == 200
    assert client.get("/auth/api/v1/users/me", headers=AUTH).status_code == 200  # the API itself is unaffected


def test_xcart_simulator_admin_token():
    client = create_store(StoreConfig(customers=1, products=1, admin_token="adm1n")).test_client()
    assert client.post("/_sandbox/orders", json={"count": 1}).status_code == 401
    assert client.post("/_sandbox/orders", json={"count": 1},
                       headers={"Authorization": "Bearer adm1n"}).status_code == 200
