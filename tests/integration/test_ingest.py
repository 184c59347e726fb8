"""The ingest endpoint against the webhook contract, over a real Redis, with the task sender recorded."""

import base64
import hashlib
import hmac
import json
import time

import pytest
from werkzeug.datastructures import MultiDict

from ingest.app import create_app
from ingest.signatures import verify
from xcfb.bootstrap import Services
from xcfb.settings import Settings

SECRETS = ("whsec_new", "whsec_old")
METRICS_TOKEN = "scrape-me"


class Recorder:
    def __init__(self, fail=False):
        self.sent, self.fail = [], fail

    def __call__(self, name, args):
        if self.fail:
            raise ConnectionError("broker down")
        self.sent.append((name, args))


@pytest.fixture
def services(tmp_path, redis_url, database_url, redis_client, sessions):
    return Services(Settings(home=tmp_path, redis_url=redis_url, database_url=database_url,
                             xcart_webhook_secrets=SECRETS, max_body_bytes=4096, metrics_token=METRICS_TOKEN))


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
def client(services, recorder):
    return create_app(services, recorder).test_client()


def event(event_id="evt_1", **changes):
    return {"id": event_id, "type": "order.created", "created_at": "2026-11-26T10:00:00Z", "store": "s",
            "data": {"id": 1}, **changes}


def signed(body, secret="whsec_new", timestamp=None, extra=""):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + raw, hashlib.sha256).hexdigest()
    return raw, {"X-XCart-Signature": f"t={t},v1={mac}{extra}", "Content-Type": "application/json"}


def post(client, body, **kwargs):
    raw, headers = signed(body, **kwargs)
    return client.post("/webhooks/xcart", data=raw, headers=headers)


def test_accepted_event_is_queued_raw(client, recorder):
    answer = post(client, event())
    assert answer.status_code == 202 and answer.get_json() == {"status": "accepted", "id": "evt_1"}
    name, args = recorder.sent[0]
    assert name == "xcfb.process_event" and json.loads(args[0])["id"] == "evt_1"


def test_same_id_again_is_a_duplicate_and_not_queued(client, recorder):
    post(client, event())
    answer = post(client, event())
    assert answer.status_code == 200 and answer.get_json()["status"] == "duplicate"
    assert len(recorder.sent) == 1


def test_rotated_secret_and_several_v1_entries(client, recorder):
    assert post(client, event("a"), secret="whsec_old").status_code == 202
    raw, headers = signed(event("b"), secret="unknown")
    good = hmac.new(b"whsec_new", headers["X-XCart-Signature"].split(",")[0][2:].encode() + b"." + raw,
                    hashlib.sha256).hexdigest()
    headers["X-XCart-Signature"] += f",v1={good}"
    assert client.post("/webhooks/xcart", data=raw, headers=headers).status_code == 202


@pytest.mark.parametrize("headers", [{}, {"X-XCart-Signature": "garbage"}, {"X-XCart-Signature": "t=1,v1=00"}])
def test_bad_or_missing_signature_is_401(client, recorder, headers):
    answer = client.post("/webhooks/xcart", data=json.dumps(event()), headers=headers)
    assert answer.status_code == 401 and not recorder.sent


def test_wrong_secret_and_stale_or_future_timestamps_are_401(client, recorder):
    assert post(client, event(), secret="nope").status_code == 401
    assert post(client, event(), timestamp=int(time.time()) - 301).status_code == 401
    assert post(client, event(), timestamp=int(time.time()) + 301).status_code == 401
    assert post(client, event(), timestamp=int(time.time()) - 290).status_code == 202


def test_tampered_body_is_401(client):
    raw, headers = signed(event())
    assert client.post("/webhooks/xcart", data=raw.replace(b"evt_1", b"evt_2"), headers=headers).status_code == 401


def test_malformed_json_or_envelope_is_400_naming_the_fields(client, recorder):
    assert post(client, b"{not json").status_code == 400
    answer = post(client, {"id": "", "type": "order.shipped", "data": []})
    assert answer.status_code == 400
    assert {f["path"] for f in answer.get_json()["fields"]} == {"id", "type", "created_at", "store", "data"}
    assert not recorder.sent


def test_too_large_is_413(client):
    answer = post(client, event(data={"blob": "x" * 5000}))
    assert answer.status_code == 413


def test_broker_unavailable_is_503_and_the_retry_is_not_a_duplicate(services):
    failing = Recorder(fail=True)
    assert post(create_app(services, failing).test_client(), event()).status_code == 503
    working = Recorder()
    assert post(create_app(services, working).test_client(), event()).status_code == 202
    assert len(working.sent) == 1


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"] == {"broker": "ok", "database": "ok"}


def test_metrics_are_off_without_a_token(tmp_path, redis_url, database_url, redis_client, sessions):
    open_service = Services(Settings(home=tmp_path, redis_url=redis_url, database_url=database_url))
    answer = create_app(open_service, Recorder()).test_client().get("/metrics")
    assert answer.status_code == 403 and "XCFB_METRICS_TOKEN" in answer.get_json()["error"]


def test_readiness_fails_when_the_broker_is_down(tmp_path, database_url, sessions):
    down = Services(Settings(home=tmp_path, redis_url="redis://127.0.0.1:1/0", database_url=database_url))
    answer = create_app(down, Recorder()).test_client().get("/readyz")
    assert answer.status_code == 503 and answer.get_json()["checks"]["broker"].startswith("failed")


def test_metrics_count_outcomes(client):
    post(client, event("m1"))
    post(client, event("m1"))
    post(client, event("m2"), secret="nope")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    text = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).get_data(as_text=True)
    assert 'xcfb_webhooks_total{outcome="accepted"} 1.0' in text
    assert 'xcfb_webhooks_total{outcome="duplicate"} 1.0' in text
    assert 'xcfb_webhooks_total{outcome="bad_signature"} 1.0' in text
    assert "xcfb_events" in text and "xcfb_dead_letters" in text


def test_signature_verification_unit():
    body = b'{"a":1}'
    mac = hmac.new(b"k", b"1000." + body, hashlib.sha256).hexdigest()
    assert verify(f"t=1000,v1={mac}", body, ("k",), now=1000) is None
    assert verify(f"t=1000,v1={mac}", body, ("k",), now=1301) == "timestamp outside the tolerance"
    assert verify("v1=abc", body, ("k",), now=1000) == "malformed X-XCart-Signature"


def test_freshbooks_handshake_is_queued_and_signed_events_are_checked(client, recorder, services):
    handshake = client.post("/webhooks/freshbooks", data={"name": "callback.verify", "object_id": "7",
                                                          "verifier": "v-secret"})
    assert handshake.status_code == 200
    assert recorder.sent == [("xcfb.confirm_freshbooks_callback", ["7", "v-secret"])]
    services.redis.hset("xcfb:freshbooks:verifiers", "7", "v-secret")  # what that task stores
    form = [("name", "invoice.update"), ("object_id", "42"), ("account_id", "SANDBOX1"), ("business_id", "1"),
            ("identity_id", "1"), ("user_id", "1")]
    message = json.dumps(dict(form)).encode()
    signature = base64.b64encode(hmac.new(b"v-secret", message, hashlib.sha256).digest()).decode()
    accepted = client.post("/webhooks/freshbooks", data=MultiDict(form),
                           headers={"X-FreshBooks-Hmac-SHA256": signature})
    assert accepted.status_code == 202 and recorder.sent[-1][0] == "xcfb.freshbooks_event"
    forged = client.post("/webhooks/freshbooks", data=MultiDict(form), headers={"X-FreshBooks-Hmac-SHA256": "bad"})
    assert forged.status_code == 401
