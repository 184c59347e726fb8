"""The ingest endpoint against the webhook contract, over a real Redis, with the task sender recorded."""

import base64
import hashlib
import hmac
import json
import time

import pytest
import requests
from werkzeug.datastructures import MultiDict

from apis.freshbooks.errors import ValidationFailed
from core.settings import Settings
from ingest.app import create_app
from ingest.signatures import verify
from runtime import callbacks
from runtime.bootstrap import Services
from sandboxes.serve import BackgroundServer
from tests.queued import Recorder, queued_tasks_dropped  # noqa: F401 - a fixture

pytestmark = pytest.mark.usefixtures("queued_tasks_dropped")

SECRETS = ("whsec_new", "whsec_old")
METRICS_TOKEN = "scrape-me"


@pytest.fixture
def services(tmp_path, redis_url, database_url, redis_client, sessions):
    return Services(Settings(home=tmp_path, redis_url=redis_url, database_url=database_url,
                             xcart_webhook_secrets=SECRETS, max_body_bytes=4096, metrics_token=METRICS_TOKEN))


@pytest.fixture
def recorder(services):
    return Recorder(services.redis)


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
    answer = post(client, {"id": "", "type": "order.shipped", "data": "an order"})
    assert answer.status_code == 400
    assert {f["path"] for f in answer.get_json()["fields"]} == {"id", "type", "created_at", "store", "data"}
    assert not recorder.sent


def test_too_large_is_413(client):
    answer = post(client, event(data={"blob": "x" * 5000}))
    assert answer.status_code == 413


def test_broker_unavailable_is_503_and_the_retry_is_not_a_duplicate(services):
    failing = Recorder(services.redis, fail=True)
    assert post(create_app(services, failing).test_client(), event()).status_code == 503
    working = Recorder(services.redis)
    assert post(create_app(services, working).test_client(), event()).status_code == 202
    assert len(working.sent) == 1


def test_an_event_the_broker_refused_is_counted_unavailable_not_accepted(services):
    post(create_app(services, Recorder(services.redis, fail=True)).test_client(), event("u1"))
    client = create_app(services, Recorder(services.redis)).test_client()
    post(client, event("u1"))
    post(client, event("u1"))
    text = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).get_data(as_text=True)
    assert 'xcfb_webhooks_total{outcome="accepted"} 1.0' in text
    assert 'xcfb_webhooks_total{outcome="unavailable"} 1.0' in text
    assert 'xcfb_webhooks_total{outcome="duplicate"} 1.0' in text


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"] == {"broker": "ok", "database": "ok"}


def test_metrics_are_off_without_a_token(tmp_path, redis_url, database_url, redis_client, sessions):
    open_service = Services(Settings(home=tmp_path, redis_url=redis_url, database_url=database_url))
    answer = create_app(open_service, Recorder(open_service.redis)).test_client().get("/metrics")
    assert answer.status_code == 403 and "XCFB_METRICS_TOKEN" in answer.get_json()["error"]


def test_readiness_fails_when_the_broker_is_down(tmp_path, database_url, sessions):
    down = Services(Settings(home=tmp_path, redis_url="redis://127.0.0.1:1/0", database_url=database_url))
    answer = create_app(down, Recorder(down.redis)).test_client().get("/readyz")
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


FB_FORM = [("name", "invoice.update"), ("object_id", "42"), ("account_id", "SANDBOX1"), ("business_id", "1"),
           ("identity_id", "1"), ("user_id", "1")]


def fb_signature(verifier, form=FB_FORM):
    message = json.dumps(dict(form)).encode()
    return base64.b64encode(hmac.new(verifier.encode(), message, hashlib.sha256).digest()).decode()


def fb_post(client, form, signature=None):
    return client.post("/webhooks/freshbooks", data=MultiDict(form),
                       headers={"X-FreshBooks-Hmac-SHA256": signature} if signature else {})


def verification(callback_id, verifier):
    return [("name", "callback.verify"), ("object_id", callback_id), ("verifier", verifier)]


class FakeFreshBooks:
    """FreshBooks' side of the handshake: it accepts only the verifier it sent for the callback."""

    def __init__(self, verifiers):
        self.verifiers, self.calls = verifiers, []

    def verify_callback(self, callback_id, verifier):
        self.calls.append(callback_id)
        if self.verifiers.get(callback_id) != verifier:
            raise ValidationFailed("Verifier does not match", status=422)
        return {"id": callback_id, "verified": True}


def test_verification_of_a_callback_never_registered_is_404_without_a_trace(client, recorder, services):
    answer = fb_post(client, verification("999", "planted"))
    assert answer.status_code == 404
    assert recorder.sent == [] and list(services.redis.scan_iter("xcfb:freshbooks:*")) == []
    assert fb_post(client, FB_FORM, fb_signature("planted")).status_code == 401  # the planted key opens nothing
    assert fb_post(client, verification("abc", "planted")).status_code == 404


def test_a_registered_callback_is_trusted_only_once_freshbooks_accepts_its_verifier(client, recorder, services):
    services.redis.hset(callbacks.PENDING, "7", "invoice")  # what callbacks.register records
    fake = FakeFreshBooks({7: "v-real"})
    services.__dict__["freshbooks"] = fake

    assert fb_post(client, verification("7", "v-forged")).status_code == 200
    assert recorder.sent == [("xcfb.confirm_freshbooks_callback", ["7"])]  # the id only, never the verifier
    assert fb_post(client, FB_FORM, fb_signature("v-forged")).status_code == 401  # offered is not trusted
    assert callbacks.confirm(services, "7") == "callback 7: no offered verifier was accepted by FreshBooks"
    assert services.redis.hget(callbacks.TRUSTED, "7") is None

    assert fb_post(client, verification("7", "v-real")).status_code == 200
    assert fb_post(client, verification("7", "v-real")).status_code == 200  # a resend: not queued again
    assert len(recorder.sent) == 2
    assert callbacks.confirm(services, "7") == "callback 7 verified"
    assert fb_post(client, FB_FORM, fb_signature("v-real")).status_code == 202
    assert recorder.sent[-1] == ("xcfb.freshbooks_event", [dict(FB_FORM)])

    assert fb_post(client, verification("7", "v-overwrite")).status_code == 404  # verified: no longer pending
    assert services.redis.hget(callbacks.TRUSTED, "7") == b"v-real"
    assert fb_post(client, FB_FORM, fb_signature("v-overwrite")).status_code == 401
    assert fake.calls == [7, 7]


def test_offers_for_a_pending_callback_are_bounded(client, recorder, services):
    services.redis.hset(callbacks.PENDING, "8", "client")
    answers = [fb_post(client, verification("8", f"guess-{n}")).status_code for n in range(callbacks.MAX_OFFERS + 3)]
    assert answers == [200] * callbacks.MAX_OFFERS + [400] * 3
    assert len(recorder.sent) == callbacks.MAX_OFFERS


@pytest.mark.parametrize("form", [verification("7", "v"), FB_FORM])
def test_freshbooks_webhook_with_redis_down_is_503(tmp_path, database_url, sessions, redis_client, form):
    down = Services(Settings(home=tmp_path, redis_url="redis://127.0.0.1:1/0", database_url=database_url))
    recorder = Recorder(redis_client, fail=True)
    answer = fb_post(create_app(down, recorder).test_client(), form, fb_signature("v"))
    assert answer.status_code == 503 and recorder.sent == []


@pytest.mark.parametrize("signature", ["bad", "é" * 44, "\u00b2\u00e9=", "ÿ" * 3])
def test_any_freshbooks_signature_header_is_401_not_500(client, services, signature):
    services.redis.hset(callbacks.TRUSTED, "7", "v-real")
    assert fb_post(client, FB_FORM, signature).status_code == 401


def test_freshbooks_body_that_is_not_a_utf8_form_is_400(client):
    assert client.post("/webhooks/freshbooks", data=b"name=%FF%FE",
                       content_type="application/x-www-form-urlencoded").status_code == 400
    assert client.post("/webhooks/freshbooks", data=b"{}", content_type="application/json").status_code == 400


@pytest.mark.parametrize("header", ["t={now},v1=é", "t={now},v1=" + "é" * 64, "t=²,v1=00", "t=" + "1" * 5000 + ",v1=00",
                                    "t=١٢٣,v1=00", "t={now},v1=\xff\xfe"])
def test_odd_signature_headers_are_401_not_500(client, recorder, header):
    answer = client.post("/webhooks/xcart", data=json.dumps(event()),
                         headers={"X-XCart-Signature": header.format(now=int(time.time()))})
    assert answer.status_code == 401 and not recorder.sent


POISON = {
    "a UTF-8 byte order mark": (b"\xef\xbb\xbf" + json.dumps(event("bom")).encode(), "(body)"),
    "UTF-16": (json.dumps(event("utf16")).encode("utf-16"), "(body)"),
    "UTF-16 without BOM": (json.dumps(event("utf16le")).encode("utf-16-le"), "(body)"),
    "Infinity": (json.dumps(event("inf")).replace('"inf"', "Infinity").encode(), "id"),
    "NaN in the data": (json.dumps(event("nan", data={"id": 1, "total": "x"})).replace('"x"', "NaN").encode(),
                        "data.total"),
    "a lone surrogate": (json.dumps(event("\ud800")).encode(), "id"),
    "a NUL character": (json.dumps(event("a\u0000b")).encode(), "id"),
    "an over-long id": (json.dumps(event("x" * 201)).encode(), "id"),
    "a control character in the id": (json.dumps(event("a\nb")).encode(), "id"),
    "nesting 1,500 deep": (json.dumps(event("deep")).replace('{"id": 1}', "[" * 1500 + "]" * 1500).encode(),
                           "(body)"),
    "nesting 70 deep": (json.dumps(event("deep70", data={"x": json.loads("[" * 70 + "]" * 70)})).encode(),
                        "data.x" + "[0]" * 62),
    "a 5,000-digit integer": (json.dumps(event("big", data={"id": 1})).replace('"id": 1}', '"id": ' + "9" * 5000 + "}")
                              .encode(), "data.id"),
    "a bad created_at": (json.dumps(event("date", created_at="yesterday")).encode(), "created_at"),
}


@pytest.mark.parametrize("case", POISON)
def test_bodies_the_worker_could_not_read_are_400_naming_the_field(services, recorder, case):
    body, path = POISON[case]
    roomy = Services(services.settings.replace(max_body_bytes=1 << 20))
    answer = post(create_app(roomy, recorder).test_client(), body)
    assert answer.status_code == 400, answer.get_data()
    assert path in {field["path"] for field in answer.get_json()["fields"]}
    assert recorder.sent == []


def test_nesting_100000_deep_is_400(services, recorder):
    roomy = Services(services.settings.replace(max_body_bytes=1 << 20))
    answer = post(create_app(roomy, recorder).test_client(), b'{"id": "d", "data": ' + b"[" * 100_000 + b"]" * 100_000
                  + b"}")
    assert answer.status_code == 400 and recorder.sent == []


def test_chunked_body_over_the_limit_is_413_and_under_it_is_read_whole(services, recorder):
    with BackgroundServer(create_app(services, recorder)) as server:
        def chunks(size):
            yield from (b"x" * 1024 for _ in range(size // 1024))
        over = requests.post(f"{server.url}/webhooks/xcart", data=chunks(2 << 20), timeout=10,
                             headers={"X-XCart-Signature": "t=1,v1=00"})
        assert over.status_code == 413
        raw, headers = signed(event(data={"blob": "x" * 3000}))
        assert len(raw) <= services.settings.max_body_bytes
        exact = requests.post(f"{server.url}/webhooks/xcart", data=iter([raw[:1000], raw[1000:]]), headers=headers,
                              timeout=10)
        assert exact.status_code == 202, exact.text
    assert recorder.sent[0][1][0] == raw.decode()
