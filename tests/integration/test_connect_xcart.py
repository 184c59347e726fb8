"""`xcfb connect xcart` against the store simulator: a full key, a read-only key, a refused key, a wrong URL,
an unreachable store; what is stored, where polling starts, and what the service then reads X-Cart with."""

from datetime import UTC, datetime, timedelta

import pytest
import requests
from click.testing import CliRunner

from core.settings import Settings
from runtime import bootstrap
from runtime.bootstrap import Services
from sandboxes.serve import BackgroundServer
from sandboxes.xcart.app import create_app, store_of
from sandboxes.xcart.store import StoreConfig
from store import snapshots
from store.models import Connection
from tests.e2e.processes import free_port
from xcfb.cli import xcfb
from xcfb.connect_xcart import connect_store
from xcfb.operations import OperatorError

FULL_TOKEN, READ_TOKEN = "full-secret-token", "read-secret-token"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@pytest.fixture
def xcart():
    app = create_app(StoreConfig(seed=3, customers=5, products=4, api_token=FULL_TOKEN, read_only_token=READ_TOKEN))
    store_of(app).place_orders(3)
    with BackgroundServer(app) as server:
        yield server


@pytest.fixture
def svc(tmp_path, database_url, redis_url, sessions):
    # the tests' Redis, not an embedded one of tmp_path's that `xcfb connect status` would start and leave running
    services = Services(Settings(home=tmp_path, database_url=database_url, redis_url=redis_url))
    yield services
    services.engine.dispose()


def test_a_full_key_is_stored_encrypted_and_polling_starts_at_the_look_back(xcart, svc, sessions):
    done = connect_store(svc, f"{xcart.url}/api/", FULL_TOKEN, timedelta(hours=6), now=NOW)
    assert (done.url, done.key_kind, done.polls_from) == (f"{xcart.url}/api", "full", NOW - timedelta(hours=6))
    assert svc.connections.get("xcart") == {"url": f"{xcart.url}/api", "token": FULL_TOKEN, "key_kind": "full"}
    with sessions() as session:
        assert FULL_TOKEN.encode() not in session.get(Connection, "xcart").ciphertext
    for collection in ("orders", "profiles", "products"):
        assert snapshots.checkpoint(sessions, f"xcart:{collection}") == NOW - timedelta(hours=6)
    assert len(store_of(xcart.app).products) == 4  # the write probe created nothing
    client = svc.xcart  # no XCART_API_URL: the service reads X-Cart through the stored connection
    assert client is not None and client.base_url == f"{xcart.url}/api"
    assert [o["id"] for o in client.orders_changed_since(NOW - timedelta(days=400))]


def test_a_read_only_key_is_told_apart(xcart, svc):
    assert connect_store(svc, f"{xcart.url}/api", READ_TOKEN, timedelta(0), now=NOW).key_kind == "read-only"
    assert svc.connections.get("xcart")["key_kind"] == "read-only"
    assert len(store_of(xcart.app).products) == 4


def test_reconnecting_moves_the_checkpoint_back_to_the_new_look_back(xcart, svc, sessions):
    connect_store(svc, f"{xcart.url}/api", FULL_TOKEN, timedelta(0), now=NOW)
    connect_store(svc, f"{xcart.url}/api", FULL_TOKEN, timedelta(days=7), now=NOW)
    assert snapshots.checkpoint(sessions, "xcart:orders") == NOW - timedelta(days=7)


def test_a_refused_key_is_named_and_nothing_is_stored(xcart, svc):
    with pytest.raises(OperatorError, match=r"refused the token \(HTTP 401\)") as caught:
        connect_store(svc, f"{xcart.url}/api", "not-the-token", timedelta(0))
    assert "not-the-token" not in str(caught.value)
    assert svc.connections.get("xcart") is None and svc.xcart is None


def test_a_url_that_is_not_the_api_is_named(xcart, svc):
    with pytest.raises(OperatorError, match=r"is not an X-Cart 5.5 REST API .*HTTP 404.*should end in /api"):
        connect_store(svc, xcart.url, FULL_TOKEN, timedelta(0))  # the store's root, not its /api
    assert svc.connections.get("xcart") is None


def test_an_unreachable_store_is_named(svc):
    url = f"http://127.0.0.1:{free_port()}/api"
    with pytest.raises(OperatorError, match=rf"the X-Cart store at {url} is unreachable"):
        connect_store(svc, url, FULL_TOKEN, timedelta(0))
    assert svc.connections.get("xcart") is None


def test_the_command_reads_the_token_from_stdin_and_never_echoes_it(xcart, svc):
    bootstrap.use(svc)
    try:
        result = CliRunner().invoke(xcfb([]), ["connect", "xcart", "--url", f"{xcart.url}/api", "--look-back", "2"],
                                    input=READ_TOKEN + "\n")
        status = CliRunner().invoke(xcfb([]), ["connect", "status"])
    finally:
        bootstrap.use(None)
    assert result.exit_code == 0, result.output
    assert f"Connected X-Cart at {xcart.url}/api with a read-only key." in result.output
    assert "(two-way sync) needs a full key" in result.output and READ_TOKEN not in result.output
    assert svc.connections.get("xcart")["token"] == READ_TOKEN
    assert f"  URL: {xcart.url}/api (from xcfb connect xcart)\n  reachable: yes\n  key: read-only\n" in status.output
    assert READ_TOKEN not in status.output


def test_the_simulator_refuses_writes_with_a_read_only_token(xcart):
    store = store_of(xcart.app)
    order_id = next(iter(store.orders))
    for token, expected in ((READ_TOKEN, 403), (FULL_TOKEN, 200)):
        answer = requests.put(f"{xcart.url}/api/orders/{order_id}/payment_status", json={"code": "C"},
                              headers={"X-Auth-Token": token}, timeout=5)
        assert answer.status_code == expected, answer.text
    assert store.orders[order_id]["payment_status"]["code"] == "C"
    created = requests.post(f"{xcart.url}/api/products", json={"sku": "NEW-1", "name": "New"},
                            headers={"X-Auth-Token": FULL_TOKEN}, timeout=5)
    assert created.status_code == 201 and created.json()["sku"] == "NEW-1" and len(store.products) == 5
