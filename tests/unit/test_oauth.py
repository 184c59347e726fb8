"""OAuth refresh and token storage, with `responses` as the token endpoint and fakeredis for the lock."""

import logging
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import fakeredis
import pytest
import requests
import responses
from cryptography.fernet import Fernet

from apis.freshbooks.client import FreshBooksClient
from apis.freshbooks.errors import AuthFailed, Unavailable
from apis.freshbooks.oauth import OAuthApp, OAuthTokens, TokenPair, redis_refresh_lock
from store.db import make_engine, migrate, session_factory
from store.models import OAuthToken
from store.tokens import SqlTokenStore

TOKEN_URL = "https://fb.test/auth/oauth/token"
APP = OAuthApp(client_id="cid", client_secret="csecret", redirect_uri="https://svc.test/cb", token_url=TOKEN_URL)


@pytest.fixture
def store(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'tokens.sqlite3'}")
    migrate(engine)
    return SqlTokenStore(session_factory(engine), Fernet.generate_key())


@pytest.fixture
def tokens(store):
    return OAuthTokens(APP, store, redis_refresh_lock(fakeredis.FakeRedis()))


def token_answer(access, refresh, expires_in=43200):
    return {"access_token": access, "token_type": "Bearer", "expires_in": expires_in, "refresh_token": refresh,
            "scope": "user:profile:read", "created_at": int(time.time())}


def pair(access, refresh, expires_in):
    return TokenPair(access, refresh, datetime.now(UTC) + timedelta(seconds=expires_in))


@responses.activate
def test_code_exchange_stores_the_first_pair(tokens, store):
    responses.post(TOKEN_URL, json=token_answer("A1", "R1"))
    tokens.connect("the-code")
    form = parse_qs(responses.calls[0].request.body)
    assert form["grant_type"] == ["authorization_code"] and form["code"] == ["the-code"]
    assert form["client_id"] == ["cid"] and form["client_secret"] == ["csecret"]
    assert form["redirect_uri"] == ["https://svc.test/cb"]
    assert store.load().access_token == "A1"
    assert tokens.access_token() == "A1"
    assert len(responses.calls) == 1  # a fresh token is used as is


@responses.activate
def test_refresh_before_expiry_rotates_and_persists_the_pair(tokens, store):
    store.save(pair("A1", "R1", expires_in=60))  # inside the five-minute margin
    responses.post(TOKEN_URL, json=token_answer("A2", "R2"))
    assert tokens.access_token() == "A2"
    form = parse_qs(responses.calls[0].request.body)
    assert form["grant_type"] == ["refresh_token"] and form["refresh_token"] == ["R1"]
    saved = store.load()
    assert (saved.access_token, saved.refresh_token) == ("A2", "R2")
    assert saved.expires_at > datetime.now(UTC) + timedelta(hours=11)


@responses.activate
def test_a_401_refreshes_once_and_the_call_goes_through(tokens, store):
    store.save(pair("A1", "R1", expires_in=3600))
    responses.post(TOKEN_URL, json=token_answer("A2", "R2"))
    url = "https://fb.test/accounting/account/ACC/users/clients/1"
    responses.get(url, status=401, json={"response": {"errors": [{"errno": 1003, "message": "no"}]}},
                  match=[responses.matchers.header_matcher({"Authorization": "Bearer A1"})])
    responses.get(url, json={"response": {"result": {"client": {"id": 1}}}},
                  match=[responses.matchers.header_matcher({"Authorization": "Bearer A2"})])
    client = FreshBooksClient(tokens, base_url="https://fb.test", account_id="ACC")
    assert client.get_client(1) == {"id": 1}
    assert store.load().refresh_token == "R2"


@responses.activate
def test_a_rejection_of_an_already_replaced_token_does_not_refresh_again(tokens, store):
    store.save(pair("A2", "R2", expires_in=3600))  # another worker refreshed after we sent A1
    assert tokens.refresh_after_rejection("A1") == "A2"
    assert len(responses.calls) == 0


@responses.activate
def test_invalid_grant_is_an_auth_failure_that_names_no_token(tokens, store, caplog):
    store.save(pair("A1", "R-SECRET", expires_in=0))
    responses.post(TOKEN_URL, status=400, json={"error": "invalid_grant", "error_description": "revoked"})
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AuthFailed) as raised:
        tokens.access_token()
    assert "invalid_grant" in str(raised.value)
    for secret in ("R-SECRET", "A1", "csecret"):
        assert secret not in str(raised.value)
        assert secret not in caplog.text


@responses.activate
def test_unreachable_token_endpoint_is_unavailable(tokens, store):
    store.save(pair("A1", "R1", expires_in=0))
    responses.post(TOKEN_URL, body=requests.ConnectionError("refused"))
    with pytest.raises(Unavailable) as raised:
        tokens.access_token()
    assert raised.value.may_have_reached_server is False
    assert store.load().refresh_token == "R1"  # the pair is kept for the next attempt


def test_not_connected_is_a_clear_auth_failure(tokens):
    with pytest.raises(AuthFailed, match="not connected"):
        tokens.access_token()


def test_tokens_are_encrypted_at_rest(store):
    store.save(pair("ACCESS-PLAIN", "REFRESH-PLAIN", 100))
    with store._sessions() as session:
        row = session.get(OAuthToken, "default")
    assert b"ACCESS-PLAIN" not in row.ciphertext and b"REFRESH-PLAIN" not in row.ciphertext
    assert store.load().refresh_token == "REFRESH-PLAIN"


def test_token_pair_repr_hides_the_tokens():
    text = repr(pair("ACCESS-PLAIN", "REFRESH-PLAIN", 100)) + repr(APP)
    assert "PLAIN" not in text and "csecret" not in text


def test_wrong_key_is_named(store, tmp_path):
    store.save(pair("A", "R", 100))
    other = SqlTokenStore(store._sessions, Fernet.generate_key())
    with pytest.raises(AuthFailed, match="XCFB_TOKEN_KEY"):
        other.load()


def test_authorization_url_carries_the_app_and_state():
    url = APP.authorization_url("st4te", ["user:invoices:write"])
    assert url.startswith("https://auth.freshbooks.com/oauth/authorize?client_id=cid&response_type=code")
    assert "state=st4te" in url and "user%3Ainvoices%3Awrite" in url
