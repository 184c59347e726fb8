"""Every client operation against the running FreshBooks sandbox, over real HTTP."""

from decimal import Decimal as D

import pytest
import requests

from apis.freshbooks.client import FreshBooksClient, StaticToken
from apis.freshbooks.errors import AuthFailed, NotFound, ValidationFailed

TODAY = "2026-11-26"


def make_invoice(fb, client_id, number="1001", **extra):
    lines = [
        {"type": 0, "name": "Mug", "qty": "2", "unit_cost": {"amount": "12.50", "code": "USD"},
         "taxName1": "VAT", "taxAmount1": "20"},
        {"type": 0, "name": "Shipping", "qty": "1", "unit_cost": {"amount": "5.00", "code": "USD"}},
    ]
    return fb.create_invoice({"customerid": client_id, "create_date": TODAY, "invoice_number": number,
                              "currency_code": "USD", "lines": lines, **extra})


def test_identity_gives_the_account(fb_client):
    assert fb_client.account_id == "SANDBOX1"
    assert fb_client.me()["business_memberships"][0]["business"]["id"] == 1001


def test_clients_create_get_search_update(fb_client):
    created = fb_client.create_client({"fname": "Ann", "lname": "Lee", "email": "Ann@Example.com",
                                       "organization": "Lee Ltd", "p_street": "1 Main St", "p_country": "US",
                                       "s_city": "Boston", "bus_phone": "555-0100"})
    assert created["id"] == created["userid"]
    assert fb_client.get_client(created["id"])["s_city"] == "Boston"
    assert fb_client.find_client_by_email("ann@example.com")["id"] == created["id"]
    assert fb_client.find_client_by_email("nobody@example.com") is None
    updated = fb_client.update_client(created["id"], {"p_city": "Salem"})
    assert updated["p_city"] == "Salem" and updated["fname"] == "Ann"


def test_client_errors_are_typed(fb_client):
    with pytest.raises(NotFound) as raised:
        fb_client.get_client(424242)
    assert raised.value.errno == 1012
    with pytest.raises(ValidationFailed) as raised:
        fb_client.create_client({"email": "not-an-email"})
    assert raised.value.details[0].field == "email" and raised.value.errno == 1004


def test_items_create_search_update(fb_client):
    item = fb_client.create_item({"name": "Mug", "sku": "MUG-1", "unit_cost": {"amount": "12.50", "code": "USD"},
                                  "inventory": "40", "description": "Blue"})
    assert item["itemid"] == item["id"] and item["unit_cost"] == {"amount": "12.50", "code": "USD"}
    assert fb_client.find_item_by_sku("MUG-1")["id"] == item["id"]
    assert fb_client.find_item_by_sku("MUG") is None
    assert fb_client.update_item(item["id"], {"inventory": "39"})["inventory"] == "39"


def test_taxes_list_and_search_by_name(fb_client):
    vat = fb_client.create_tax({"name": "VAT", "amount": "20"})
    fb_client.create_tax({"name": "GST", "amount": "5", "number": "GST-123"})
    assert {t["name"] for t in fb_client.list_taxes()} == {"VAT", "GST"}
    assert fb_client.find_tax_by_name("VAT")["taxid"] == vat["id"]
    assert fb_client.find_tax_by_name("HST") is None


def test_invoice_maths_status_and_lines(fb_client):
    client = fb_client.create_client({"email": "b@example.com"})
    invoice = make_invoice(fb_client, client["id"], discount_value="10")
    # subtotal 30.00, discount 3.00, VAT 25.00 * 0.9 * 20% = 4.50, amount 31.50
    assert invoice["amount"] == {"amount": "31.50", "code": "USD"}
    assert invoice["discount_total"]["amount"] == "3.00"
    assert invoice["outstanding"]["amount"] == "31.50" and invoice["paid"]["amount"] == "0.00"
    assert (invoice["status"], invoice["v3_status"], invoice["payment_status"]) == (1, "draft", "unpaid")
    assert [line["amount"]["amount"] for line in invoice["lines"]] == ["25.00", "5.00"]
    assert fb_client.get_invoice(invoice["id"])["lines"][0]["taxAmount1"] == "20"


def test_invoice_number_search_update_mark_sent_and_delete(fb_client):
    client = fb_client.create_client({"email": "c@example.com"})
    invoice = make_invoice(fb_client, client["id"], number="XC-77")
    make_invoice(fb_client, client["id"], number="XC-78")
    assert fb_client.find_invoice_by_number("XC-77")["id"] == invoice["id"]
    assert fb_client.find_invoice_by_number("XC-7") is None
    updated = fb_client.update_invoice(invoice["id"], {"lines": [
        {"name": "Mug", "qty": "1", "unit_cost": {"amount": "12.50"}}], "po_number": "order 77"})
    assert updated["amount"]["amount"] == "12.50" and len(updated["lines"]) == 1  # lines replaced
    assert fb_client.mark_invoice_sent(invoice["id"])["v3_status"] == "sent"
    fb_client.delete_invoice(invoice["id"])
    assert fb_client.get_invoice(invoice["id"])["vis_state"] == 1
    assert fb_client.find_invoice_by_number("XC-77") is None


def test_auto_invoice_numbers(fb_client):
    client = fb_client.create_client({"email": "d@example.com"})
    first = fb_client.create_invoice({"customerid": client["id"], "create_date": TODAY})
    second = fb_client.create_invoice({"customerid": client["id"], "create_date": TODAY})
    assert (first["invoice_number"], second["invoice_number"]) == ("0000001", "0000002")


def test_invoice_validation_names_the_field(fb_client):
    with pytest.raises(ValidationFailed) as raised:
        fb_client.create_invoice({"create_date": TODAY})
    assert (raised.value.errno, raised.value.details[0].field) == (1001, "customerid")
    client = fb_client.create_client({"email": "e@example.com"})
    with pytest.raises(ValidationFailed) as raised:
        fb_client.create_invoice({"customerid": client["id"], "create_date": TODAY,
                                  "lines": [{"name": "x", "qty": "two", "unit_cost": {"amount": "1"}}]})
    assert raised.value.details[0].field == "qty"


def test_payments_move_paid_outstanding_and_status(fb_client):
    client = fb_client.create_client({"email": "f@example.com"})
    invoice = make_invoice(fb_client, client["id"])  # amount 35.00
    assert D(invoice["amount"]["amount"]) == D("35.00")
    fb_client.create_payment({"invoiceid": invoice["id"], "amount": {"amount": "10.00"}, "date": TODAY,
                              "type": "Credit Card", "note": "xcart txn 501"})
    partial = fb_client.get_invoice(invoice["id"])
    assert (partial["paid"]["amount"], partial["outstanding"]["amount"]) == ("10.00", "25.00")
    assert (partial["status"], partial["v3_status"], partial["payment_status"]) == (8, "partial", "partial")
    fb_client.create_payment({"invoiceid": invoice["id"], "amount": {"amount": "25.00"}, "date": TODAY,
                              "type": "PayPal", "note": "xcart txn 502"})
    paid = fb_client.get_invoice(invoice["id"])
    assert (paid["outstanding"]["amount"], paid["v3_status"], paid["payment_status"]) == ("0.00", "paid", "paid")
    payments = fb_client.list_payments_for_invoice(invoice["id"])
    assert [p["note"] for p in payments] == ["xcart txn 501", "xcart txn 502"]


def test_payment_on_unknown_invoice_is_not_found(fb_client):
    with pytest.raises(NotFound):
        fb_client.create_payment({"invoiceid": 999999, "amount": {"amount": "1.00"}, "date": TODAY, "type": "Cash"})


def test_bad_token_is_401_with_errno_1003(fb_server, fb_sandbox):
    bad = FreshBooksClient(StaticToken("wrong"), base_url=fb_server.url, account_id="SANDBOX1")
    with pytest.raises(AuthFailed):
        bad.list_taxes()
    answer = requests.get(f"{fb_server.url}/accounting/account/SANDBOX1/users/clients", timeout=5)
    assert answer.status_code == 401 and answer.json()["response"]["errors"][0]["errno"] == 1003


def test_list_paging_envelope(fb_server, fb_client):
    for n in range(17):
        fb_client.create_client({"email": f"p{n}@example.com"})
    headers = {"Authorization": "Bearer sandbox-test-token"}
    url = f"{fb_server.url}/accounting/account/SANDBOX1/users/clients"
    first = requests.get(url, headers=headers, timeout=5).json()["response"]["result"]
    assert (first["page"], first["pages"], first["per_page"], first["total"], len(first["clients"])) == (
        1, 2, 15, 17, 15)
    capped = requests.get(url, params={"per_page": 500}, headers=headers, timeout=5).json()["response"]["result"]
    assert capped["per_page"] == 100 and len(capped["clients"]) == 17
    past = requests.get(url, params={"page": 9}, headers=headers, timeout=5).json()["response"]["result"]
    assert past["clients"] == []
    empty = requests.get(url, params={"search[email]": "none@x.y"}, headers=headers, timeout=5).json()
    assert empty["response"]["result"]["pages"] == 0


def test_invoices_without_include_have_no_lines(fb_server, fb_client):
    client = fb_client.create_client({"email": "g@example.com"})
    make_invoice(fb_client, client["id"])
    headers = {"Authorization": "Bearer sandbox-test-token"}
    url = f"{fb_server.url}/accounting/account/SANDBOX1/invoices/invoices"
    assert "lines" not in requests.get(url, headers=headers, timeout=5).json()["response"]["result"]["invoices"][0]
    with_lines = requests.get(url, params={"include[]": "lines"}, headers=headers, timeout=5).json()
    assert len(with_lines["response"]["result"]["invoices"][0]["lines"]) == 2


def test_malformed_json_is_a_parse_error(fb_server, fb_sandbox):
    answer = requests.post(f"{fb_server.url}/accounting/account/SANDBOX1/users/clients", data="{nope",
                           headers={"Authorization": "Bearer sandbox-test-token"}, timeout=5)
    assert answer.status_code == 400 and answer.json()["response"]["errors"][0]["errno"] == 1005


@pytest.mark.parametrize("call, field", [
    (lambda fb, c: fb.create_item({"name": "Big", "unit_cost": {"amount": "1e308", "code": "USD"}}), "unit_cost"),
    (lambda fb, c: fb.create_item({"name": "Big", "inventory": "1" + "0" * 29}), "inventory"),
    (lambda fb, c: fb.create_invoice({"customerid": c, "create_date": TODAY, "lines": [
        {"name": "x", "qty": "1000000000", "unit_cost": {"amount": "1000000000", "code": "USD"}}]}), "amount"),
    (lambda fb, c: fb.create_invoice({"customerid": c, "create_date": TODAY, "lines": [
        {"name": "x", "qty": "1", "unit_cost": {"amount": "1" + "0" * 29}}]}), "unit_cost"),
    (lambda fb, c: fb.create_invoice({"customerid": c, "create_date": TODAY, "lines": [
        {"name": "x", "qty": "1", "unit_cost": {"amount": "1"}, "taxName1": "T", "taxAmount1": "1e20"}]}),
     "taxAmount1"),
])
def test_amounts_the_sandbox_cannot_hold_are_validation_errors(fb_client, call, field):
    """Not a 500 (an outage the worker retries eleven times): a 422 naming the field, errno 1004."""
    client = fb_client.create_client({"email": "big@example.com"})
    with pytest.raises(ValidationFailed) as raised:
        call(fb_client, client["id"])
    assert (raised.value.errno, raised.value.details[0].field) == (1004, field)


def test_a_payment_the_sandbox_cannot_hold_is_a_validation_error(fb_client):
    client = fb_client.create_client({"email": "pay@example.com"})
    invoice = make_invoice(fb_client, client["id"], number="BIG-1")
    with pytest.raises(ValidationFailed) as raised:
        fb_client.create_payment({"invoiceid": invoice["id"], "amount": {"amount": "1e308", "code": "USD"},
                                  "date": TODAY, "type": "Cash"})
    assert (raised.value.errno, raised.value.details[0].field) == (1004, "amount")


def test_a_client_search_reads_every_page(fb_client, fb_sandbox):
    """A common name start finds more than a page of clients: the duplicate check must see them all."""
    for n in range(130):
        fb_sandbox.books.create_client({"fname": "Mariano", "lname": f"Smith{n}", "email": f"m{n}@example.com"})
    found = fb_client.search_clients({"fname_like": "mar"})
    assert sorted(c["email"] for c in found) == sorted(f"m{n}@example.com" for n in range(130))
    assert fb_client.search_clients({"fname_like": "zzz"}) == []
