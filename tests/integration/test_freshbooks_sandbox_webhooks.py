"""FreshBooks-style webhooks from the sandbox: verifier handshake, then signed event forms."""

import base64
import hashlib
import hmac
import json
import threading
import time

import pytest
from flask import Flask, request

from apis.freshbooks.errors import ValidationFailed
from apis.freshbooks.signatures import verify_webhook_signature
from sandboxes.serve import BackgroundServer


@pytest.fixture
def receiver():
    received = []
    arrived = threading.Condition()
    app = Flask("receiver")

    @app.post("/fb")
    def hook():
        with arrived:
            received.append((list(request.form.items(multi=True)), request.headers.get("X-FreshBooks-Hmac-SHA256")))
            arrived.notify_all()
        return "", 200

    def wait_for(count, timeout=5.0):
        deadline = time.monotonic() + timeout
        with arrived:
            while len(received) < count and time.monotonic() < deadline:
                arrived.wait(0.05)
        return received

    with BackgroundServer(app) as server:
        yield server.url + "/fb", wait_for


def independent_signature(verifier, form_items):
    message = json.dumps(dict(form_items))
    return base64.b64encode(hmac.new(verifier.encode(), message.encode(), hashlib.sha256).digest()).decode()


def test_handshake_then_signed_events(fb_client, fb_sandbox, receiver):
    uri, wait_for = receiver
    callback = fb_client.register_callback("client", uri)
    assert callback["verified"] is False and "verifier" not in callback

    verify_form, verify_signature = wait_for(1)[0]
    fields = dict(verify_form)
    assert fields["name"] == "callback.verify" and fields["object_id"] == str(callback["id"])
    verifier = fields["verifier"]
    assert verify_signature == independent_signature(verifier, verify_form)

    # Nothing is delivered before the callback is verified.
    fb_client.create_client({"email": "early@example.com"})
    assert fb_sandbox.webhooks.drain()
    assert len(wait_for(1, timeout=0.2)) == 1

    assert fb_client.verify_callback(callback["id"], verifier)["verified"] is True
    created = fb_client.create_client({"email": "late@example.com"})
    fb_client.update_client(created["id"], {"fname": "Late"})
    events = wait_for(3)[1:]
    assert [dict(form)["name"] for form, _ in events] == ["client.create", "client.update"]
    for form, signature in events:
        fields = dict(form)
        assert fields["object_id"] == str(created["id"]) and fields["account_id"] == "SANDBOX1"
        assert set(fields) == {"name", "object_id", "account_id", "business_id", "identity_id", "user_id"}
        assert signature == independent_signature(verifier, form)
        assert verify_webhook_signature(verifier, form, signature)
        assert not verify_webhook_signature("wrong-verifier", form, signature)


def test_wrong_verifier_is_refused(fb_client, receiver):
    uri, wait_for = receiver
    callback = fb_client.register_callback("invoice.create", uri)
    wait_for(1)
    with pytest.raises(ValidationFailed) as raised:
        fb_client.verify_callback(callback["id"], "not-the-verifier")
    assert raised.value.details[0].field == "verifier"
    assert fb_client.list_callbacks()[0]["verified"] is False


def test_payment_events_reach_payment_and_invoice_callbacks(fb_client, fb_sandbox, receiver):
    uri, wait_for = receiver
    for event in ("payment.create", "invoice.update"):
        callback = fb_client.register_callback(event, uri)
        verifier = dict(wait_for(len(fb_client.list_callbacks()))[-1][0])["verifier"]
        fb_client.verify_callback(callback["id"], verifier)
    customer = fb_client.create_client({"email": "pay@example.com"})
    invoice = fb_client.create_invoice({"customerid": customer["id"], "create_date": "2026-11-26",
                                        "lines": [{"name": "x", "qty": "1", "unit_cost": {"amount": "9.00"}}]})
    fb_client.create_payment({"invoiceid": invoice["id"], "amount": {"amount": "9.00"}, "date": "2026-11-26",
                              "type": "Cash"})
    names = [dict(form)["name"] for form, _ in wait_for(4)[2:]]
    assert names == ["payment.create", "invoice.update"]
