"""A FreshBooks outage longer than the threshold raises an alert (log and webhook) and recovery clears it."""

import logging
import threading
import time

import pytest
from flask import Flask, request

from apis.freshbooks.errors import Unavailable
from core.settings import Settings
from runtime.bootstrap import Services
from sandboxes.serve import BackgroundServer


@pytest.fixture
def alert_receiver():
    received, lock = [], threading.Lock()
    app = Flask("alerts")

    @app.post("/alerts")
    def alerts():
        with lock:
            received.append(request.get_json())
        return "", 204

    with BackgroundServer(app) as server:
        yield f"{server.url}/alerts", received


def test_outage_alert_raised_once_and_cleared_on_recovery(tmp_path, redis_url, database_url, redis_client, sessions,
                                                          fb_server, fb_sandbox, alert_receiver, caplog):
    url, received = alert_receiver
    svc = Services(Settings(home=tmp_path, redis_url=redis_url, database_url=database_url,
                            freshbooks_api_url=fb_server.url, freshbooks_account_id="SANDBOX1",
                            freshbooks_access_token="sandbox-test-token", alert_webhook_url=url,
                            outage_alert_seconds=0.5))
    caplog.set_level(logging.WARNING, logger="xcfb.alerts")
    fb_sandbox.faults.configure({"outage_seconds": 1.5})
    started = time.monotonic()
    while time.monotonic() - started < 1.2:
        with pytest.raises(Unavailable):
            svc.freshbooks.list_taxes()
        time.sleep(0.1)
    assert [a["state"] for a in received] == ["raised"]  # once, however many failures
    assert received[0]["alert"] == "freshbooks-unavailable" and "unreachable for" in received[0]["message"]
    assert redis_client.exists("xcfb:alert:freshbooks-unavailable")
    time.sleep(0.5)
    assert svc.freshbooks.list_taxes() == []  # the outage is over
    assert [a["state"] for a in received] == ["raised", "cleared"]
    assert not redis_client.exists("xcfb:alert:freshbooks-unavailable")
    assert "ALERT freshbooks-unavailable" in caplog.text and "cleared" in caplog.text


def test_a_short_blip_raises_nothing(tmp_path, redis_url, database_url, redis_client, sessions, fb_server,
                                     fb_sandbox, alert_receiver):
    url, received = alert_receiver
    svc = Services(Settings(home=tmp_path, redis_url=redis_url, database_url=database_url,
                            freshbooks_api_url=fb_server.url, freshbooks_account_id="SANDBOX1",
                            freshbooks_access_token="sandbox-test-token", alert_webhook_url=url,
                            outage_alert_seconds=60))
    fb_sandbox.faults.configure({"fail_next": 2})
    for _ in range(2):
        with pytest.raises(Unavailable):
            svc.freshbooks.list_taxes()
    assert svc.freshbooks.list_taxes() == []
    assert received == [] and not redis_client.exists("xcfb:outage:freshbooks:since")
