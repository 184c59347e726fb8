"""Each fault mode of the sandbox, switched at run time through its admin endpoint, seen by the client."""

import time

import pytest
import requests

from apis.freshbooks.client import FreshBooksClient, StaticToken
from apis.freshbooks.errors import RateLimited, Unavailable


@pytest.fixture
def faults(fb_server, fb_sandbox):
    def switch(**settings):
        answer = requests.post(f"{fb_server.url}/_sandbox/faults", json=settings, timeout=5)
        assert answer.status_code == 200, answer.text
        return answer.json()
    return switch


def test_rate_limit_answers_429_with_retry_after(fb_client, faults):
    assert fb_client.account_id  # the identity look-up is a request too
    faults(rate_limit=2, rate_window=30)
    fb_client.list_taxes()
    fb_client.list_taxes()
    with pytest.raises(RateLimited) as raised:
        fb_client.list_taxes()
    assert 1 <= raised.value.retry_after <= 30
    assert faults(rate_limit=None)["injected"]["rate_limited"] == 1
    fb_client.list_taxes()


def test_rate_limit_without_retry_after(fb_client, faults):
    faults(rate_limit=0, retry_after=False)
    with pytest.raises(RateLimited) as raised:
        fb_client.list_taxes()
    assert raised.value.retry_after is None


def test_5xx_burst(fb_client, faults):
    faults(fail_next=2, fail_status=502)
    for _ in range(2):
        with pytest.raises(Unavailable) as raised:
            fb_client.list_taxes()
        assert raised.value.status == 502
    assert fb_client.list_taxes() == []


def test_outage_window_then_recovery(fb_client, faults):
    described = faults(outage_seconds=0.5)
    assert 0 < described["outage_remaining"] <= 0.5
    with pytest.raises(Unavailable) as raised:
        fb_client.list_taxes()
    assert raised.value.status == 503
    time.sleep(0.6)
    assert fb_client.list_taxes() == []


def test_added_latency_trips_a_short_client_timeout(fb_server, faults):
    faults(latency_ms=500)
    impatient = FreshBooksClient(StaticToken("sandbox-test-token"), base_url=fb_server.url,
                                 account_id="SANDBOX1", timeout=(1.0, 0.1))
    with pytest.raises(Unavailable) as raised:
        impatient.list_taxes()
    assert raised.value.may_have_reached_server


@pytest.mark.parametrize("mode", ["error", "timeout"])
def test_ghost_create_books_the_invoice_but_loses_the_answer(fb_server, fb_client, faults, mode):
    customer = fb_client.create_client({"email": "ghost@example.com"})
    faults(ghost_creates=1, ghost_mode=mode, ghost_delay=1.0)
    impatient = FreshBooksClient(StaticToken("sandbox-test-token"), base_url=fb_server.url,
                                 account_id="SANDBOX1", timeout=(1.0, 0.3))
    with pytest.raises(Unavailable) as raised:
        impatient.create_invoice({"customerid": customer["id"], "create_date": "2026-11-26",
                                  "invoice_number": "GHOST-1"})
    assert raised.value.may_have_reached_server  # so the caller must look before creating again
    found = fb_client.find_invoice_by_number("GHOST-1")
    assert found is not None
    fb_client.create_invoice({"customerid": customer["id"], "create_date": "2026-11-26",
                              "invoice_number": "OTHER-1"})  # the ghost was used up
    assert fb_server.app.extensions["fb_sandbox"].books.counts()["invoice"] == 2


def test_admin_endpoint_rejects_unknown_settings(fb_server, fb_sandbox):
    answer = requests.post(f"{fb_server.url}/_sandbox/faults", json={"explode": True}, timeout=5)
    assert answer.status_code == 400 and "explode" in answer.json()["error"]


def test_reset_empties_the_books(fb_server, fb_client):
    fb_client.create_client({"email": "x@example.com"})
    assert requests.post(f"{fb_server.url}/_sandbox/reset", timeout=5).status_code == 200
    stats = requests.get(f"{fb_server.url}/_sandbox/stats", timeout=5).json()
    assert stats["objects"]["client"] == 0
