"""`xcfb connect webhooks` against ingest: the secret it makes and shows once is accepted beside
XCART_WEBHOOK_SECRETS without a restart; after --rotate both are, after --retire only the new one; the
store failing before any secret was read is a 503 (retry), never a 401 (the add-on would drop the event)."""

import hashlib
import hmac
import json
import re
import time

import pytest

from core.keyfile import key_from_file
from core.settings import Settings
from ingest.app import create_app
from runtime import bootstrap
from runtime.bootstrap import Services
from runtime.webhook_secrets import CONNECTION
from store.connections import ConnectionStore
from tests.queued import Recorder, queued_tasks_dropped  # noqa: F401 - a fixture
from xcfb.cli import main

pytestmark = pytest.mark.usefixtures("queued_tasks_dropped")


@pytest.fixture
def services(tmp_path, redis_url, database_url, redis_client, sessions):
    svc = Services(Settings(home=tmp_path, redis_url=redis_url, database_url=database_url,
                            xcart_webhook_secrets=("whsec_env",), webhook_secrets_cache_seconds=0))
    bootstrap.use(svc)
    yield svc
    bootstrap.use(None)


def xcfb(capsys, *args) -> tuple[int, str]:
    status = main(["connect", "webhooks", *args], plugins=[])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def shown_secret(output: str) -> str:
    return re.search(r"Signing secret:\s+(\S+)", output).group(1)


def post(client, event_id: str, secret: str):
    body = json.dumps({"id": event_id, "type": "product.updated", "created_at": "2026-11-29T10:00:00Z",
                       "store": "s", "data": {"id": 7}}).encode()
    t = int(time.time())
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return client.post("/webhooks/xcart", data=body,
                       headers={"X-XCart-Signature": f"t={t},v1={mac}", "Content-Type": "application/json"})


def test_made_rotated_and_retired_secrets_are_accepted_and_refused_without_a_restart(services, capsys):
    recorder = Recorder(services.redis)
    client = create_app(services, recorder).test_client()
    assert post(client, "evt_before", "not-yet-made").status_code == 401

    status, output = xcfb(capsys, "--url", "https://books.example.com")
    assert status == 0 and "Endpoint URL:    https://books.example.com/webhooks/xcart" in output
    first = shown_secret(output)
    assert post(client, "evt_first", first).status_code == 202
    assert post(client, "evt_env", "whsec_env").status_code == 202  # the environment's still count

    status, output = xcfb(capsys, "--rotate")
    second = shown_secret(output)
    assert status == 0 and second != first
    assert post(client, "evt_new", second).status_code == 202
    assert post(client, "evt_old", first).status_code == 202  # the old one until it is retired
    main(["connect", "status"], plugins=[])
    assert "secrets: 2 active (1 old" in capsys.readouterr().out

    status, output = xcfb(capsys, "--retire")
    assert status == 0 and "1 old secret(s) retired" in output
    assert post(client, "evt_old_again", first).status_code == 401
    assert post(client, "evt_new_again", second).status_code == 202
    queued = [json.loads(args[0])["id"] for _, args in recorder.sent]
    assert queued == ["evt_first", "evt_env", "evt_new", "evt_old", "evt_new_again"]

    status, output = xcfb(capsys)
    assert status == 0 and "Signing secret" not in output and second not in output  # shown once only


def test_a_missing_url_or_two_actions_at_once_are_refused_naming_the_option(services, capsys):
    status, output = xcfb(capsys)
    assert status == 2 and "--url: the service's public base URL is required" in output
    status, output = xcfb(capsys, "--url", "ftp://books.example.com")
    assert status == 2 and "--url: an http(s) base URL" in output
    status, output = xcfb(capsys, "--rotate")
    assert status == 2 and "no webhooks connection yet" in output
    assert services.connections.get(CONNECTION) is None
    status, output = xcfb(capsys, "--rotate", "--retire")
    assert status == 2 and "one at a time" in output


def test_secrets_that_cannot_be_read_answer_503_unless_the_environments_match(services, capsys, tmp_path):
    xcfb(capsys, "--url", "https://books.example.com")
    services.connections = ConnectionStore(services.sessions, key_from_file(tmp_path / "another"))  # key changed
    recorder = Recorder(services.redis)
    client = create_app(services, recorder).test_client()
    answer = post(client, "evt_unverifiable", "whatever-the-addon-holds")
    assert answer.status_code == 503 and answer.json["status"] == "unavailable"
    assert post(client, "evt_env", "whsec_env").status_code == 202
    assert [json.loads(args[0])["id"] for _, args in recorder.sent] == ["evt_env"]
