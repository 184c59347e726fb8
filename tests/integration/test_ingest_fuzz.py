"""Fuzzing the ingest endpoint: whatever arrives (bodies, header values in any script or as raw bytes, nesting
of any depth), the answer is one the contract documents (never a 5xx but the 503 of an unavailable broker),
and every accepted event is queued exactly once."""

import hashlib
import hmac
import json
import time
import uuid
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.settings import Settings
from ingest.app import create_app
from mappings.xcart.schemas import EVENT_TYPES
from runtime.bootstrap import Services
from tests import queued
from tests.queued import queued_tasks_dropped  # noqa: F401 - a fixture

pytestmark = pytest.mark.usefixtures("queued_tasks_dropped")

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
# Header values as a client may send them: any text (CR/LF end a header; a surrogate is no character) and any
# bytes, which a WSGI server hands over decoded as latin-1; and signature-shaped ones, with a fresh timestamp
# so that the candidates get compared.
header_text = st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",))
signature_part = st.text(st.characters(blacklist_characters="\r\n,", blacklist_categories=("Cs",)), max_size=70)
header_values = st.one_of(
    st.text(header_text, max_size=80),
    st.binary(max_size=80).filter(lambda raw: not {13, 10} & set(raw)).map(lambda raw: raw.decode("latin-1")),
    st.builds(lambda t, v1: f"t={t},v1={v1}", signature_part, signature_part),
    st.builds(lambda v1: f"t={int(time.time())},v1={v1}", signature_part),
)


class Recorder(queued.Recorder):
    @property
    def sent(self) -> list[str]:
        """The bodies queued, oldest first."""
        return [args[0] for _, args in super().sent]


@pytest.fixture(scope="module")
def app_and_recorder(tmp_path_factory, redis_url, database_url):
    svc = Services(Settings(home=tmp_path_factory.mktemp("fuzz"), redis_url=redis_url, database_url=database_url,
                            xcart_webhook_secrets=(SECRET,), max_body_bytes=2048))
    recorder = Recorder(svc.redis)
    for key in svc.redis.scan_iter("xcfb:freshbooks:*"):  # callbacks an earlier test registered
        svc.redis.delete(key)
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


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, value=header_values)
def test_any_signature_header_value_gets_a_documented_answer(app_and_recorder, body, value):
    client, recorder, _ = app_and_recorder
    before = len(recorder.sent)
    answer = client.post("/webhooks/xcart", data=body, headers={"X-XCart-Signature": value})
    assert answer.status_code in (401, 413), (answer.status_code, answer.get_data()[:200])
    assert recorder.sent[before:] == []


@pytest.fixture(scope="module")
def roomy_app(tmp_path_factory, redis_url, database_url):
    svc = Services(Settings(home=tmp_path_factory.mktemp("deep"), redis_url=redis_url, database_url=database_url,
                            xcart_webhook_secrets=(SECRET,), max_body_bytes=1 << 20))
    recorder = Recorder(svc.redis)
    return create_app(svc, recorder).test_client(), recorder


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(depth=st.integers(1, 50_000), opener=st.sampled_from(["[", '{"k":']))
def test_nesting_of_any_depth_is_accepted_or_refused_with_400(roomy_app, depth, opener):
    client, recorder = roomy_app
    event_id = uuid.uuid4()  # never seen before, also by an earlier run against the same Redis
    before = len(recorder.sent)
    closer = "]" if opener == "[" else "}"
    body = (f'{{"id": "{event_id}", "type": "order.created", "created_at": "2026-11-26T10:00:00Z", "store": "s", '
            f'"data": {{"x": {opener * depth}1{closer * depth}}}}}').encode()
    answer = client.post("/webhooks/xcart", data=body, headers=header("valid", body))
    if depth + 2 <= 64:  # the body, data and x are three levels; this many fit the limit
        assert answer.status_code == 202, answer.get_data()[:200]
        assert recorder.sent[before:] == [body.decode()]
    else:
        assert answer.status_code == 400, answer.get_data()[:200]
        assert "nested deeper than" in json.dumps(answer.get_json()["fields"])
        assert recorder.sent[before:] == []


fb_fields = st.lists(st.tuples(st.sampled_from(["name", "object_id", "verifier", "account_id", "user_id"])
                               | st.text(max_size=10),
                               st.sampled_from(["callback.verify", "invoice.create", "1", "999"])
                               | st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)), max_size=8)
verifications = st.builds(lambda callback_id, verifier: [("name", "callback.verify"), ("object_id", callback_id),
                                                         ("verifier", verifier)],
                          st.from_regex(r"\A[0-9]{1,25}\Z") | st.text(max_size=10), st.text(min_size=1, max_size=40))
fb_bodies = st.one_of(fb_fields.map(lambda form: urlencode(form).encode()),
                      verifications.map(lambda form: urlencode(form).encode()), st.binary(max_size=300),
                      st.builds(lambda depth: b"name=" + b"[" * depth, st.integers(0, 5000)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=fb_bodies, signature=header_values, content_type=st.sampled_from(
    ["application/x-www-form-urlencoded", "application/json", "multipart/form-data", "text/plain; charset=é"]))
def test_freshbooks_webhook_answers_are_documented_and_leave_no_trace(app_and_recorder, body, signature,
                                                                      content_type):
    """No callback was registered, so nothing can be verified, trusted, queued or kept."""
    client, recorder, svc = app_and_recorder
    before = len(recorder.sent)
    answer = client.post("/webhooks/freshbooks", data=body, headers={"X-FreshBooks-Hmac-SHA256": signature,
                                                                     "Content-Type": content_type})
    assert answer.status_code in {400, 401, 404, 413}, (answer.status_code, answer.get_data()[:200])
    assert recorder.sent[before:] == []
    assert list(svc.redis.scan_iter("xcfb:freshbooks:*")) == []


def test_oversized_bodies_are_refused_whatever_their_signature(app_and_recorder):
    client, recorder, _ = app_and_recorder
    body = json.dumps({"id": "big", "type": "order.created", "created_at": "x", "store": "s",
                       "data": {"x": "y" * 5000}}).encode()
    assert client.post("/webhooks/xcart", data=body, headers=header("valid", body)).status_code == 413
