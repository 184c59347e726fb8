"""Fuzzing the ingest endpoint: whatever arrives, the answer is one the contract documents (never a 5xx
but the 503 of an unavailable broker), and every accepted event is queued exactly once."""

import hashlib
import hmac
import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.app import create_app
from mappings.xcart import EVENT_TYPES
from xcfb.bootstrap import Services
from xcfb.settings import Settings

SECRET = "whsec_fuzz"
DOCUMENTED = {200, 202, 400, 401, 413, 503}

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                        max_size=4), max_leaves=12)
envelopes = st.fixed_dictionaries(
    {},
    optional={"id": st.text(max_size=30) | st.integers(), "type": st.sampled_from(EVENT_TYPES) | st.text(max_size=12),
              "created_at": st.text(max_size=25), "store": st.text(max_size=10) | st.none(), "data": json_values})
bodies = st.one_of(envelopes.map(lambda e: json.dumps(e).encode()), st.binary(max_size=300),
                   st.text(max_size=300).map(str.encode))
signatures = st.sampled_from(["valid", "missing", "garbage", "stale", "wrong-secret"])


class Recorder:
    def __init__(self):
        self.sent = []

    def __call__(self, name, args):
        self.sent.append(args[0])


@pytest.fixture(scope="module")
def app_and_recorder(tmp_path_factory, redis_url, database_url):
    recorder = Recorder()
    svc = Services(Settings(home=tmp_path_factory.mktemp("fuzz"), redis_url=redis_url, database_url=database_url,
                            xcart_webhook_secrets=(SECRET,), max_body_bytes=2048))
    return create_app(svc, recorder).test_client(), recorder, svc


def header(kind, body):
    now = int(time.time())
    t, secret = {"stale": (now - 1000, SECRET), "wrong-secret": (now, "other")}.get(kind, (now, SECRET))
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return {"missing": {}, "garbage": {"X-XCart-Signature": "t=x,v1=%%%"}}.get(
        kind, {"X-XCart-Signature": f"t={t},v1={mac}"})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, signature=signatures)
def test_every_answer_is_documented_and_every_accepted_event_is_queued_once(app_and_recorder, body, signature):
    client, recorder, svc = app_and_recorder
    before = len(recorder.sent)
    answer = client.post("/webhooks/xcart", data=body, headers={"Content-Type": "application/json",
                                                                **header(signature, body)})
    assert answer.status_code in DOCUMENTED, (answer.status_code, answer.get_data()[:200])
    queued = recorder.sent[before:]
    if answer.status_code == 202:
        assert queued == [body.decode()]
        assert json.loads(queued[0])["id"] == answer.get_json()["id"]
    else:
        assert queued == []
    if signature != "valid":
        assert answer.status_code in (401, 413)


def test_oversized_bodies_are_refused_whatever_their_signature(app_and_recorder):
    client, recorder, _ = app_and_recorder
    body = json.dumps({"id": "big", "type": "order.created", "created_at": "x", "store": "s",
                       "data": {"x": "y" * 5000}}).encode()
    assert client.post("/webhooks/xcart", data=body, headers=header("valid", body)).status_code == 413
