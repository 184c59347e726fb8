"""The simulator's signed webhooks, checked by an independent HMAC computation at a real HTTP receiver."""

import hashlib
import hmac
import json
import threading
import time
from collections import Counter

import pytest
from flask import Flask, request

from sandboxes.serve import BackgroundServer
from sandboxes.xcart.app import create_app, store_of
from sandboxes.xcart.store import StoreConfig
from sandboxes.xcart.webhooks import DeliveryOptions, WebhookSender, signature_header

SECRET = "whsec_test_1"


def independent_check(secret: str, header: str, body: bytes) -> bool:
    parts = [p.split("=", 1) for p in header.split(",")]
    timestamp = next(v for k, v in parts if k == "t")
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return any(k == "v1" and hmac.compare_digest(v, expected) for k, v in parts)


class Receiver:
    """Accepts each event id once (202), answers 200 to a repeat, and fails the first `fail_first` calls."""

    def __init__(self, fail_first=0):
        self.fail_first = fail_first
        self.calls = 0
        self.accepted: list[dict] = []
        self.headers: list[str] = []
        self.bodies: list[bytes] = []
        self.lock = threading.Lock()
        app = Flask("receiver")
        app.add_url_rule("/webhooks/xcart", "hook", self.hook, methods=["POST"])
        self.server = BackgroundServer(app).start()
        self.url = self.server.url + "/webhooks/xcart"

    def hook(self):
        with self.lock:
            self.calls += 1
            if self.calls <= self.fail_first:
                return "", 503
            body = request.get_data()
            self.bodies.append(body)
            self.headers.append(request.headers["X-XCart-Signature"])
            event = json.loads(body)
            if any(e["id"] == event["id"] for e in self.accepted):
                return "", 200
            self.accepted.append(event)
            return "", 202


@pytest.fixture
def receiver():
    made = []

    def make(**kwargs):
        made.append(Receiver(**kwargs))
        return made[-1]
    yield make
    for r in made:
        r.server.stop()


def events(count=10, seed=5):
    store = store_of(create_app(StoreConfig(seed=seed, customers=3, products=4)))
    return store.place_orders(count)


def test_every_event_arrives_signed_per_the_contract(receiver):
    target = receiver()
    sent = events()
    report = WebhookSender(target.url, [SECRET]).deliver_all(sent)
    assert report.delivered == len(sent) and not report.gave_up
    assert [e["id"] for e in target.accepted] == [e["id"] for e in sent]
    for header, body in zip(target.headers, target.bodies, strict=True):
        assert independent_check(SECRET, header, body)
        assert not independent_check("another-secret", header, body)
        timestamp = int(header.split(",")[0].removeprefix("t="))
        assert abs(time.time() - timestamp) < 60
    envelope = target.accepted[0]
    assert set(envelope) == {"id", "type", "created_at", "store", "data"}
    assert envelope["created_at"].endswith("Z")


def test_rotation_signs_with_every_secret(receiver):
    target = receiver()
    WebhookSender(target.url, ["old-secret", "new-secret"]).deliver_all(events(1))
    header, body = target.headers[0], target.bodies[0]
    assert header.count("v1=") == 2
    assert independent_check("old-secret", header, body) and independent_check("new-secret", header, body)


def test_failures_are_retried_until_accepted(receiver):
    target = receiver(fail_first=3)
    sent = events(2)
    report = WebhookSender(target.url, [SECRET], DeliveryOptions(backoff=0.01)).deliver_all(sent)
    assert report.delivered == len(sent)
    assert report.answers[503] == 3 and report.attempts == len(sent) + 3
    assert [e["id"] for e in target.accepted] == [e["id"] for e in sent]


def test_an_unreachable_target_is_given_up_after_the_attempt_budget():
    report = WebhookSender("http://127.0.0.1:9/webhooks/xcart", [SECRET],
                           DeliveryOptions(max_attempts=3, backoff=0.01)).deliver_all(events(1)[:1])
    assert report.delivered == 0 and report.attempts == 3 and len(report.gave_up) == 1


def test_a_refusal_is_not_retried(receiver):
    target = receiver()
    sender = WebhookSender(target.url.replace("/webhooks/xcart", "/elsewhere"), [SECRET],
                           DeliveryOptions(backoff=0.01))
    report = sender.deliver_all(events(1)[:1])
    assert report.answers == {404: 1} and len(report.gave_up) == 1


def test_duplicates_and_reordering(receiver):
    target = receiver()
    sent = events(20)
    options = DeliveryOptions(duplicate_rate=0.5, reorder_window=8)
    report = WebhookSender(target.url, [SECRET], options, seed=11).deliver_all(sent)
    assert report.duplicates_sent > 0
    assert report.answers[200] == report.duplicates_sent  # each repeat was recognised as one
    assert sorted(e["id"] for e in target.accepted) == sorted(e["id"] for e in sent)
    assert [e["id"] for e in target.accepted] != [e["id"] for e in sent]  # not in the original order
    assert Counter(json.loads(b)["id"] for b in target.bodies).most_common(1)[0][1] == 2


def test_background_delivery_from_the_admin_endpoint(receiver):
    target = receiver()
    sender = WebhookSender(target.url, [SECRET])
    app = create_app(StoreConfig(seed=2, customers=2, products=3), sender)
    answer = app.test_client().post("/_sandbox/orders", json={"count": 5})
    assert answer.status_code == 200
    assert sender.drain(timeout=10)
    assert len(target.accepted) == answer.get_json()["events"]


def test_signature_header_shape():
    header = signature_header(["k"], b"{}", timestamp=1700000000)
    assert header == "t=1700000000,v1=" + hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()
