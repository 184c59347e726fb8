"""Connecting FreshBooks against the sandbox, with a real Redis and database and no hand-set token: ingest's
/oauth/freshbooks/callback, the CLI with a pasted redirect, the state checked once, the account chosen among
several businesses, --revoke, the status section, and the auth alert raised by a revoked authorization and
cleared by the next accepted call."""

import io
import sys
from urllib.parse import urlsplit

import pytest
import requests

from apis.freshbooks.errors import AuthFailed
from core import redis_keys
from core.settings import Settings
from ingest.app import create_app as create_ingest
from runtime import bootstrap, callbacks
from runtime import freshbooks_connect as flow
from runtime.bootstrap import Services
from tests.browser import consent
from tests.queued import Recorder, queued_tasks_dropped  # noqa: F401 - a fixture
from xcfb.cli import main

pytestmark = pytest.mark.usefixtures("queued_tasks_dropped")

REDIRECT = "https://svc.test/oauth/freshbooks/callback"
AUTH_ALERT = redis_keys.ALERT.format(key="freshbooks-auth")


@pytest.fixture
def settings(tmp_path, redis_url, database_url, fb_server):
    return Settings(home=tmp_path, redis_url=redis_url, database_url=database_url, freshbooks_api_url=fb_server.url,
                    freshbooks_client_id="sandbox-client-id", freshbooks_client_secret="sandbox-client-secret",
                    freshbooks_redirect_uri=REDIRECT)


@pytest.fixture
def svc(settings, redis_client, sessions, fb_sandbox):
    services = Services(settings)
    bootstrap.use(services)
    yield services
    bootstrap.use(None)


@pytest.fixture
def ingest(svc):
    return create_ingest(svc, Recorder(svc.redis)).test_client()


def follow(ingest, location: str):
    """The browser arriving at the redirect URI, which is ingest's callback route."""
    where = urlsplit(location)
    assert where.path == "/oauth/freshbooks/callback"
    return ingest.get(f"{where.path}?{where.query}")


def nothing_stored(svc) -> bool:
    return svc.connections.get("freshbooks") is None and svc.token_store.load() is None


def test_ingest_callback_connects_the_chosen_business_once(svc, ingest, fb_sandbox, settings):
    url, _ = flow.start(svc, account_id="SANDBOX1")
    location = consent(url)
    page = follow(ingest, location)
    text = page.get_data(as_text=True)
    assert page.status_code == 200, text
    assert "FreshBooks connected" in text and "Sandbox Books (account SANDBOX1" in text
    pair = svc.token_store.load()
    assert pair.access_token not in text and pair.refresh_token not in text
    assert svc.connections.get("freshbooks")["scopes"] == list(flow.NEEDED_SCOPES)
    # Another process of the service (no FRESHBOOKS_ACCESS_TOKEN) books with the stored connection.
    created = Services(settings).freshbooks.create_client({"email": "connected@example.com"})
    assert fb_sandbox.books.read("client", created["id"])["email"] == "connected@example.com"
    again = follow(ingest, location)  # the same redirect a second time: its state was used
    assert again.status_code == 400 and "unknown or expired" in again.get_data(as_text=True)


def test_a_bad_or_expired_state_is_a_400_with_no_side_effect(svc, ingest, redis_client):
    url, state = flow.start(svc, account_id="SANDBOX1")
    location = consent(url)
    forged = follow(ingest, location.replace(f"state={state}", "state=forged"))
    assert forged.status_code == 400 and "unknown or expired" in forged.get_data(as_text=True)
    assert nothing_stored(svc)
    key = redis_keys.FRESHBOOKS_OAUTH_STATE.format(state=state)
    assert 0 < redis_client.ttl(key) <= flow.STATE_TTL
    redis_client.delete(key)  # as when it expired
    expired = follow(ingest, location)
    assert expired.status_code == 400 and nothing_stored(svc)
    code = location.split("code=")[1].split("&")[0]
    assert flow.app_of(svc).exchange_code(code).access_token  # the refused redirects did not spend the code


def test_several_businesses_and_none_chosen_stores_nothing_and_names_them(svc, ingest):
    url, _ = flow.start(svc)
    page = follow(ingest, consent(url))
    text = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "Sandbox Books (account SANDBOX1" in text and "Second Sandbox Shop (account SANDBOX2" in text
    assert nothing_stored(svc)


def test_a_denied_consent_connects_nothing(svc, ingest):
    url, _ = flow.start(svc, account_id="SANDBOX1")
    page = follow(ingest, consent(url, decision="deny"))
    assert page.status_code == 400 and "access_denied" in page.get_data(as_text=True)
    assert nothing_stored(svc)


def test_cli_takes_the_pasted_redirect_and_asks_which_business(svc, capsys, monkeypatch, fb_sandbox):
    url, _ = flow.start(svc)
    location = consent(url)
    monkeypatch.setattr(sys, "stdin", io.StringIO("SANDBOX1\n"))
    assert main(["connect", "freshbooks", "--code", location]) == 0
    out = capsys.readouterr().out
    assert "Second Sandbox Shop (account SANDBOX2" in out  # offered
    assert "connected to Sandbox Books (account SANDBOX1" in out and "MISSING" not in out
    assert svc.token_store.load().access_token not in out
    assert svc.connections.get("freshbooks")["account_id"] == "SANDBOX1"
    assert main(["connect", "freshbooks", "--code", location]) == 2  # its state was used
    assert "unknown or expired" in capsys.readouterr().err


def connect(svc, **choices):
    url, _ = flow.start(svc, **choices)
    location = consent(url)
    pair, found = flow.exchange(svc, location.split("code=")[1].split("&")[0])
    flow.save(svc, pair, flow.choose(found, "SANDBOX1"))
    return found


def test_status_then_revoke(svc, capsys, fb_sandbox):
    assert main(["connect", "status"]) == 0
    assert "freshbooks:\n  not connected" in capsys.readouterr().out
    connect(svc)
    flow.register_callbacks(svc, "http://127.0.0.1:9/webhooks/freshbooks")  # nobody there: stays unverified
    svc.freshbooks.list_taxes()
    assert main(["connect", "status"]) == 0
    status = capsys.readouterr().out
    assert "account: Sandbox Books (account SANDBOX1, business 1001)" in status
    assert "reachable: yes, as owner@sandbox.invalid" in status
    assert f"scopes: {len(flow.NEEDED_SCOPES)} of {len(flow.NEEDED_SCOPES)} needed granted\n" in status
    assert "(in 720 min); refreshed automatically" in status
    assert "last successful call: 20" in status
    assert "callback 1: invoice -> http://127.0.0.1:9/webhooks/freshbooks, waiting for verification" in status
    assert "callback 2: payment -> " in status
    assert len(fb_sandbox.books.all("callback")) == len(flow.CALLBACK_EVENTS) == 6  # invoice, payment; client, item

    assert main(["connect", "freshbooks", "--revoke"]) == 0
    said = capsys.readouterr().out
    assert "deleted callback 1 (invoice) at FreshBooks" in said and "deleted the stored FreshBooks tokens" in said
    assert "forgot the connection to Sandbox Books (account SANDBOX1)" in said
    assert fb_sandbox.books.all("callback") == [] and nothing_stored(svc)
    assert not svc.redis.hlen("xcfb:freshbooks:pending")
    assert main(["connect", "status"]) == 0
    assert "not connected" in capsys.readouterr().out
    assert main(["connect", "freshbooks", "--revoke"]) == 0
    assert "FreshBooks was not connected: nothing to do" in capsys.readouterr().out


def test_scopes_not_granted_are_shown_missing(svc, capsys, fb_sandbox, monkeypatch):
    monkeypatch.setattr(fb_sandbox.oauth.settings, "scopes", tuple(s for s in flow.NEEDED_SCOPES
                                                                   if s != "user:taxes:write"))
    connect(svc)
    assert main(["connect", "status"]) == 0
    status = capsys.readouterr().out
    assert f"scopes: {len(flow.NEEDED_SCOPES) - 1} of {len(flow.NEEDED_SCOPES)} needed granted; MISSING " \
           "user:taxes:write" in status


def test_a_revoked_authorization_raises_the_auth_alert_and_an_accepted_call_clears_it(svc, fb_server, capsys):
    connect(svc)
    svc.freshbooks.list_taxes()
    requests.post(f"{fb_server.url}/_sandbox/oauth/revoke", timeout=5)  # the user removed the app's access
    with pytest.raises(AuthFailed, match="invalid_grant"):
        svc.freshbooks.list_taxes()
    assert b"invalid_grant" in svc.redis.get(AUTH_ALERT)
    assert main(["connect", "status"]) == 0
    status = capsys.readouterr().out
    assert "reachable: no (AuthFailed" in status and "ALERT freshbooks-auth:" in status
    connect(svc)  # the operator connects again
    assert svc.redis.exists(AUTH_ALERT)  # nothing was accepted yet
    assert svc.freshbooks.list_taxes() == []
    assert not svc.redis.exists(AUTH_ALERT)


def test_status_says_when_the_connection_cannot_be_read(svc, settings, capsys):
    connect(svc)
    bootstrap.use(Services(settings.replace(token_key="kZ6uUBZ0Xq7w2yVwX4y8c3oS1Jt9aU5l0b2d4f6h8jA=")))
    assert main(["connect", "status"]) == 0
    assert "the stored freshbooks connection cannot be decrypted" in capsys.readouterr().out


def test_connect_callbacks_registers_only_what_is_missing_and_reports_each_verified(svc, capsys, fb_sandbox):
    uri = "http://127.0.0.1:9/webhooks/freshbooks"  # nobody there: verification is stood in for below
    assert main(["connect", "callbacks", "--uri", uri, "--timeout", "0"]) == 2
    assert "FreshBooks is not connected" in capsys.readouterr().err
    connect(svc)
    older = [{"id": int(callbacks.register(svc, event, uri)["id"]), "event": event, "uri": uri}
             for event in ("invoice", "payment")]  # what an install before two-way sync registered
    svc.connections.put("freshbooks", {**svc.connections.get("freshbooks"), "callbacks": older})
    assert main(["connect", "callbacks", "--uri", uri, "--timeout", "0.2"]) == 1
    out = capsys.readouterr().out
    assert "registered 4 new callbacks (client.create, client.update, item.create, item.update)" in out
    assert out.count("waiting for verification") == 6 and len(fb_sandbox.books.all("callback")) == 6
    for callback in fb_sandbox.books.all("callback"):  # what a worker does once FreshBooks accepts the verifier
        svc.redis.hset(callbacks.TRUSTED, str(callback["id"]), callback["verifier"])
    assert main(["connect", "callbacks", "--uri", uri, "--timeout", "5"]) == 0
    out = capsys.readouterr().out
    assert "registered 0 new callbacks (none missing)" in out and out.count(", verified") == 6
    assert len(fb_sandbox.books.all("callback")) == 6
