"""No secret reaches a log: every log record of a run through OAuth, the API client, the ingest endpoint,
metrics and alerts is captured at DEBUG and searched for every secret the run used."""

import hashlib
import hmac
import json
import logging
import time
from contextlib import nullcontext

import pytest
import requests
from cryptography.fernet import Fernet

from apis.freshbooks.client import FreshBooksClient, StaticToken
from apis.freshbooks.errors import AuthFailed
from apis.freshbooks.oauth import OAuthApp, OAuthTokens
from core.settings import Settings
from ingest.app import create_app
from runtime.alerts import raise_alert
from runtime.bootstrap import Services
from store.tokens import SqlTokenStore
from tests.queued import Recorder, queued_tasks_dropped  # noqa: F401 - a fixture

pytestmark = pytest.mark.usefixtures("queued_tasks_dropped")

WEBHOOK_SECRET = "whsec_never_logged_1234"
METRICS_TOKEN = "metrics_never_logged_5678"


def test_secrets_never_reach_a_log(tmp_path, redis_url, database_url, redis_client, sessions, fb_server,
                                   fb_sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    key = Fernet.generate_key().decode()
    app = OAuthApp("sandbox-client-id", "sandbox-client-secret", "https://svc.test/cb",
                   token_url=f"{fb_server.url}/auth/oauth/token")
    store = SqlTokenStore(sessions, key)
    location = requests.post(f"{fb_server.url}/oauth/authorize", allow_redirects=False, timeout=5, data={
        "client_id": app.client_id, "redirect_uri": app.redirect_uri, "decision": "approve"}).headers["Location"]
    code = location.split("code=")[1]
    tokens = OAuthTokens(app, store, nullcontext)
    tokens.connect(code)
    first = store.load()
    fb_sandbox.oauth.revoke_access(first.access_token)  # the next call gets a 401 and refreshes
    client = FreshBooksClient(tokens, base_url=fb_server.url)
    client.create_client({"email": "log@example.com"})
    second = store.load()
    with pytest.raises(AuthFailed):
        FreshBooksClient(StaticToken("static_never_logged_9"), base_url=fb_server.url, account_id="SANDBOX1"
                         ).list_taxes()

    svc = Services(Settings(home=tmp_path, redis_url=redis_url, database_url=database_url,
                            xcart_webhook_secrets=(WEBHOOK_SECRET,), metrics_token=METRICS_TOKEN,
                            freshbooks_access_token="fixed_never_logged_0", token_key=key))
    ingest = create_app(svc, Recorder(svc.redis)).test_client()
    body = json.dumps({"id": "e1", "type": "order.created", "created_at": "x", "store": "s", "data": {}}).encode()
    t = int(time.time())
    mac = hmac.new(WEBHOOK_SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    ingest.post("/webhooks/xcart", data=body, headers={"X-XCart-Signature": f"t={t},v1={mac}"})
    ingest.post("/webhooks/xcart", data=body, headers={"X-XCart-Signature": f"t={t},v1={'0' * 64}"})
    ingest.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    ingest.get("/metrics", headers={"Authorization": "Bearer guessed_never_logged"})
    raise_alert(svc, "test", "FreshBooks refused the OAuth grant")

    secrets = [code, first.access_token, first.refresh_token, second.access_token, second.refresh_token,
               "sandbox-client-secret", "static_never_logged_9", WEBHOOK_SECRET, mac, METRICS_TOKEN,
               "guessed_never_logged", "fixed_never_logged_0", key]
    logged = caplog.text + "".join(repr(r.args) for r in caplog.records)
    assert caplog.records, "the run logged nothing: the check would prove nothing"
    for secret in secrets:
        assert secret not in logged
    assert all(s not in repr(svc.settings) for s in (WEBHOOK_SECRET, METRICS_TOKEN, key, "fixed_never_logged_0"))
