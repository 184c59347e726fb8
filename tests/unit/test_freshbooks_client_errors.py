"""The client's error mapping, with `responses` standing in for FreshBooks."""

import pytest
import requests
import responses

from apis.freshbooks.client import FreshBooksClient, StaticToken
from apis.freshbooks.errors import (
    AuthFailed,
    Conflict,
    NotFound,
    RateLimited,
    Unavailable,
    ValidationFailed,
)
from core.errors import Fatal, Retryable

BASE = "https://fb.test"
CLIENTS = f"{BASE}/accounting/account/ACC1/users/clients"
SECRET_TOKEN = "tok-SECRET-123"


def error_body(errno, field, message, obj="client", value=None):
    return {"response": {"errors": [{"errno": errno, "field": field, "message": message, "object": obj,
                                     "value": value}]}}


@pytest.fixture
def client():
    return FreshBooksClient(StaticToken(SECRET_TOKEN), base_url=BASE, account_id="ACC1")


@responses.activate
def test_create_sends_envelope_with_bearer_token_and_returns_the_object(client):
    responses.post(CLIENTS, json={"response": {"result": {"client": {"id": 7, "email": "a@b.c"}}}},
                   match=[responses.matchers.json_params_matcher({"client": {"email": "a@b.c"}}),
                          responses.matchers.header_matcher({"Authorization": f"Bearer {SECRET_TOKEN}"})])
    assert client.create_client({"email": "a@b.c"}) == {"id": 7, "email": "a@b.c"}


@responses.activate
def test_429_is_rate_limited_with_retry_after_seconds(client):
    responses.get(CLIENTS, status=429, headers={"Retry-After": "7"}, json={})
    with pytest.raises(RateLimited) as raised:
        client.find_client_by_email("a@b.c")
    assert raised.value.retry_after == 7.0
    assert isinstance(raised.value, Retryable)


@responses.activate
def test_429_without_retry_after_leaves_the_wait_to_the_worker(client):
    responses.get(CLIENTS, status=429, body="")
    with pytest.raises(RateLimited) as raised:
        client.find_client_by_email("a@b.c")
    assert raised.value.retry_after is None


@responses.activate
@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_unavailable_and_may_have_reached_the_server(client, status):
    responses.post(CLIENTS, status=status, body="upstream trouble")
    with pytest.raises(Unavailable) as raised:
        client.create_client({"email": "a@b.c"})
    assert raised.value.may_have_reached_server is True
    assert raised.value.status == status


@responses.activate
def test_read_timeout_may_have_reached_the_server(client):
    responses.post(CLIENTS, body=requests.ReadTimeout("read timed out"))
    with pytest.raises(Unavailable) as raised:
        client.create_client({"email": "a@b.c"})
    assert raised.value.may_have_reached_server is True


@responses.activate
def test_connect_timeout_did_not_reach_the_server(client):
    responses.post(CLIENTS, body=requests.ConnectTimeout("connect timed out"))
    with pytest.raises(Unavailable) as raised:
        client.create_client({"email": "a@b.c"})
    assert raised.value.may_have_reached_server is False


def test_refused_connection_did_not_reach_the_server():
    client = FreshBooksClient(StaticToken("t"), base_url="http://127.0.0.1:9", account_id="A", timeout=1)
    with pytest.raises(Unavailable) as raised:
        client.create_client({"email": "a@b.c"})
    assert raised.value.may_have_reached_server is False


@responses.activate
@pytest.mark.parametrize("status", [400, 422])
def test_validation_errors_carry_errno_field_and_message(client, status):
    responses.post(CLIENTS, status=status, json=error_body(1001, "email", "Field required: email."))
    with pytest.raises(ValidationFailed) as raised:
        client.create_client({})
    error = raised.value
    assert error.errno == 1001
    assert error.details[0].field == "email"
    assert "client.email: Field required: email. (errno 1001)" in str(error)
    assert isinstance(error, Fatal) and not isinstance(error, Retryable)


@responses.activate
@pytest.mark.parametrize("status", [401, 403])
def test_auth_errors(client, status):
    responses.get(f"{CLIENTS}/1", status=status, json=error_body(1003, None, "Access denied.", None))
    with pytest.raises(AuthFailed):
        client.get_client(1)


@responses.activate
def test_not_found_by_status_or_errno_1012(client):
    responses.get(f"{CLIENTS}/1", status=404, json=error_body(1012, "userid", "Client not found.", value="1"))
    with pytest.raises(NotFound) as raised:
        client.get_client(1)
    assert raised.value.errno == 1012
    responses.get(f"{CLIENTS}/2", status=422, json=error_body(1012, "userid", "Client not found."))
    with pytest.raises(NotFound):
        client.get_client(2)


@responses.activate
def test_409_is_a_retryable_conflict(client):
    responses.post(f"{BASE}/accounting/account/ACC1/invoices/invoices", status=409,
                   json=error_body(None, None, "Conflict", "invoice"))
    with pytest.raises(Conflict) as raised:
        client.create_invoice({"customerid": 1})
    assert isinstance(raised.value, Retryable)


@responses.activate
def test_no_error_message_contains_the_token(client):
    responses.post(CLIENTS, status=500, body=f"echoing Bearer {SECRET_TOKEN}")
    responses.get(CLIENTS, status=422, json=error_body(1004, "email", "bad"))
    for call in (lambda: client.create_client({}), lambda: client.find_client_by_email("x")):
        with pytest.raises(Exception) as raised:
            call()
        assert SECRET_TOKEN not in str(raised.value) and SECRET_TOKEN not in repr(raised.value)


@responses.activate
def test_post_is_never_retried_inside_the_client(client):
    responses.post(CLIENTS, status=503, body="")
    with pytest.raises(Unavailable):
        client.create_client({"email": "a@b.c"})
    assert len(responses.calls) == 1


class CountingRefresh:
    def __init__(self):
        self.rejected = []

    def access_token(self):
        return "old"

    def refresh_after_rejection(self, rejected_token):
        self.rejected.append(rejected_token)
        return "new"


@responses.activate
def test_a_401_refreshes_the_token_and_resends_once():
    tokens = CountingRefresh()
    client = FreshBooksClient(tokens, base_url=BASE, account_id="ACC1")
    responses.get(f"{CLIENTS}/1", status=401, json=error_body(1003, None, "expired", None),
                  match=[responses.matchers.header_matcher({"Authorization": "Bearer old"})])
    responses.get(f"{CLIENTS}/1", json={"response": {"result": {"client": {"id": 1}}}},
                  match=[responses.matchers.header_matcher({"Authorization": "Bearer new"})])
    assert client.get_client(1) == {"id": 1}
    assert tokens.rejected == ["old"]


@responses.activate
def test_a_second_401_after_refresh_is_an_auth_failure():
    tokens = CountingRefresh()
    client = FreshBooksClient(tokens, base_url=BASE, account_id="ACC1")
    responses.get(f"{CLIENTS}/1", status=401, json=error_body(1003, None, "denied", None))
    with pytest.raises(AuthFailed):
        client.get_client(1)
    assert len(responses.calls) == 2


@responses.activate
def test_account_id_comes_from_the_identity_endpoint():
    client = FreshBooksClient(StaticToken("t"), base_url=BASE)
    responses.get(f"{BASE}/auth/api/v1/users/me", json={"response": {"business_memberships": [
        {"business": {"id": 5, "account_id": "XyZ"}}]}})
    responses.get(f"{BASE}/accounting/account/XyZ/taxes/taxes",
                  json={"response": {"result": {"taxes": [], "page": 1, "pages": 0, "per_page": 100, "total": 0}}})
    assert client.list_taxes() == []
    assert client.account_id == "XyZ"


def test_the_environments_proxy_and_ca_bundle_are_honoured_as_read_once_for_the_server(monkeypatch):
    """pooled_session reads them once (requests would for every request): the same answers, NO_PROXY included."""
    from apis.freshbooks.client import pooled_session

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "sandbox.local")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/company.pem")
    remote = pooled_session("https://api.freshbooks.com")
    assert remote.proxies.get("https") == "http://proxy.internal:3128"
    assert remote.verify == "/etc/ssl/company.pem" and remote.trust_env is False
    assert pooled_session("https://sandbox.local:8443").proxies == {}  # NO_PROXY names it
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    assert pooled_session("https://api.freshbooks.com").verify is True
