"""Connecting FreshBooks for real, end to end, with no hand-set token: `xcfb connect freshbooks` as a process
with its one-shot local listener; ingest's callback over HTTP; then the pipeline booking across several
access-token expiries (the sandbox's tokens live 2 s) with nobody there, its callbacks verified, the status
shown; and an authorization revoked at FreshBooks raising the auth alert until the operator reconnects and the
waiting order is booked."""

import os
import subprocess
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
import requests

from core import redis_keys
from core.settings import Settings
from harness.books_check import check_books, held_as_duplicates
from runtime import freshbooks_connect as flow
from runtime.bootstrap import Services
from store import ledger
from tests.browser import consent
from tests.e2e.pipeline import simulated_store
from tests.e2e.processes import ROOT, XCFB, free_port
from xcfb.cli import main

OAUTH_APP = {"freshbooks_client_id": "sandbox-client-id", "freshbooks_client_secret": "sandbox-client-secret",
             "freshbooks_access_token": None, "freshbooks_account_id": None,
             "freshbooks_redirect_uri": "https://xcfb.test/oauth/freshbooks/callback"}
AUTH_ALERT = redis_keys.ALERT.format(key="freshbooks-auth")


def wait_for(condition, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not (outcome := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
    return outcome


def test_the_cli_connects_through_its_one_shot_local_listener(tmp_path, redis_url, database_url, redis_client,
                                                               sessions, fb_server, fb_sandbox):
    redirect = f"http://127.0.0.1:{free_port()}/callback"
    env = {**os.environ, "XCFB_HOME": str(tmp_path), "REDIS_URL": redis_url, "DATABASE_URL": database_url,
           "FRESHBOOKS_API_URL": fb_server.url, "FRESHBOOKS_CLIENT_ID": "sandbox-client-id",
           "FRESHBOOKS_CLIENT_SECRET": "sandbox-client-secret", "FRESHBOOKS_REDIRECT_URI": redirect,
           "FRESHBOOKS_ACCESS_TOKEN": "", "FRESHBOOKS_ACCOUNT_ID": "", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([*XCFB, "connect", "freshbooks", "--timeout", "30"], cwd=ROOT, env=env, text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = wait_for(lambda: next((line.strip() for line in iter(process.stdout.readline, "")
                                     if "/oauth/authorize?" in line), None), what="the authorization URL")
        wait_for(lambda: "Waiting for the redirect on" in process.stdout.readline(), what="the listener")
        assert requests.get(f"{redirect}?code=stolen&state=guessed", timeout=5).status_code == 400  # not ours
        location = consent(url)
        assert location.startswith(redirect)
        answer = requests.get(location, timeout=5)  # the browser follows the redirect to the listener
        assert answer.status_code == 200 and "You may close this page" in answer.text
        output, _ = process.communicate("SANDBOX1\n", timeout=30)  # the business, asked for: there are two
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0, output
    assert "Second Sandbox Shop (account SANDBOX2" in output
    assert "connected to Sandbox Books (account SANDBOX1" in output
    svc = Services(Settings(home=tmp_path, redis_url=redis_url, database_url=database_url,
                            freshbooks_api_url=fb_server.url, freshbooks_redirect_uri=redirect,
                            **{k: v for k, v in OAUTH_APP.items() if k != "freshbooks_redirect_uri"}))
    assert svc.token_store.load().access_token not in output
    created = svc.freshbooks.create_client({"email": "listener@example.com"})
    assert fb_sandbox.books.read("client", created["id"])["email"] == "listener@example.com"


@pytest.fixture
def short_tokens(fb_sandbox):
    """The sandbox's access tokens live 2 s from now on (FreshBooks': 12 h)."""
    settings = fb_sandbox.oauth.settings
    before = settings.access_token_lifetime
    settings.access_token_lifetime = 2
    yield 2
    settings.access_token_lifetime = before


def connect_through_ingest(pipeline, **choices) -> str:
    """The operator starts (as `xcfb connect freshbooks --no-wait` does), approves in the browser, and the
    browser arrives at ingest's callback (the redirect URI names ingest's public host; here it listens on a
    local port)."""
    url, _ = flow.start(pipeline.services, account_id="SANDBOX1", **choices)
    where = urlsplit(consent(url))
    page = requests.get(f"{pipeline.ingest_url}{where.path}?{where.query}", timeout=10)
    assert page.status_code == 200, page.text
    return page.text


def deliver_orders(pipeline, store, count: int) -> list[dict]:
    events = store.place_orders(count)
    report = pipeline.sender().deliver_all(events)
    assert report.delivered == len(events) and not report.gave_up
    return events


def token_expired(svc) -> bool:
    return svc.token_store.load().expires_at < datetime.now(UTC)


def test_pipeline_books_across_token_expiries_with_verified_callbacks(pipeline_factory, fb_sandbox, short_tokens,
                                                                      capsys):
    pipeline = pipeline_factory(**OAUTH_APP)
    svc = pipeline.services
    page = connect_through_ingest(pipeline, callbacks_uri=f"{pipeline.ingest_url}/webhooks/freshbooks")
    assert "The service now books into Sandbox Books (account SANDBOX1" in page
    _, store = simulated_store(seed=61)
    store_events = list(store.events)
    pipeline.sender().deliver_all(store_events)
    refreshes_before, booked = fb_sandbox.oauth.refreshes, [0]
    for _ in range(3):  # each batch after the previous access token expired
        wait_for(lambda: token_expired(svc), timeout=10, what="the access token's expiry")
        deliver_orders(pipeline, store, 4)
        pipeline.settle(timeout=90)
        books = check_books(store, fb_sandbox, svc.rules, held_as_duplicates(svc.sessions))
        assert books.correct and books.booked == books.orders > booked[-1], books  # this batch booked too
        booked.append(books.booked)
    assert fb_sandbox.oauth.refreshes - refreshes_before >= 3
    assert {letter.kind for letter in ledger.dead_letters(svc.sessions)} <= {"review"}

    registered = svc.connections.get("freshbooks")["callbacks"]
    assert [cb["event"] for cb in registered] == list(flow.CALLBACK_EVENTS)
    wait_for(lambda: all(svc.redis.hexists("xcfb:freshbooks:verifiers", str(cb["id"])) for cb in registered),
             what="the callbacks' verification")
    assert main(["connect", "status"]) == 0
    status = capsys.readouterr().out
    assert "reachable: yes" in status and f"{len(flow.NEEDED_SCOPES)} of {len(flow.NEEDED_SCOPES)} needed" in status
    assert f"callback {registered[0]['id']}: invoice -> {pipeline.ingest_url}/webhooks/freshbooks, verified" in status
    last = status.split("last successful call: ")[1].split("\n")[0]
    assert (datetime.now(UTC) - datetime.fromisoformat(last)).total_seconds() < 60


def test_a_revoked_authorization_alerts_until_reconnected_then_the_waiting_order_books(pipeline_factory,
                                                                                        fb_sandbox, fb_server):
    pipeline = pipeline_factory(max_retries=60, **OAUTH_APP)  # ~1 min of retries: time for the operator
    svc = pipeline.services
    connect_through_ingest(pipeline)
    _, store = simulated_store(seed=67)
    pipeline.sender().deliver_all(list(store.events))
    deliver_orders(pipeline, store, 2)
    pipeline.settle()
    requests.post(f"{fb_server.url}/_sandbox/oauth/revoke", timeout=5)  # the user removed the app in FreshBooks
    waiting = paid_order(store)
    assert pipeline.sender().deliver_all(waiting).delivered == len(waiting)
    alert = wait_for(lambda: svc.redis.get(AUTH_ALERT), what="the freshbooks-auth alert")
    assert b"invalid_grant" in alert
    connect_through_ingest(pipeline)  # the operator reconnects
    wait_for(lambda: not svc.redis.exists(AUTH_ALERT), timeout=60, what="the alert to clear")
    pipeline.settle(timeout=90)
    books = check_books(store, fb_sandbox, svc.rules, held_as_duplicates(svc.sessions))
    assert books.correct and books.booked == books.orders, books
    number = next(e["data"]["order_number"] for e in waiting if is_paid_order(e, store))
    assert number in {invoice["invoice_number"] for invoice in fb_sandbox.books.all("invoice")}


def is_paid_order(event: dict, store) -> bool:
    """A paid order, of a customer who is not a near-duplicate of another (whose order may wait for a person)."""
    email = (event["data"].get("email") or "").lower() if event["type"] == "order.created" else ""
    return (event["type"] == "order.created" and event["data"]["payment_status"]["code"] == "P"
            and store.generator.person(email) == email)


def paid_order(store) -> list[dict]:
    """The events of new orders, up to the first paid one (which must become an invoice)."""
    events = []
    while not any(is_paid_order(e, store) for e in events):
        assert len(events) < 100
        events += store.place_orders(1)
    return events
