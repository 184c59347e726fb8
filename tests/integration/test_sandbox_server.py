"""The sandboxes' server (sandboxes/serve.py) keeps a client's connection open between requests, as the real
FreshBooks and X-Cart APIs do (HTTP/1.1): werkzeug's closed it after every answer, and each FreshBooks call of a
worker opened a new one. Stopped, it refuses the next request even on a connection kept open."""

import pytest
import requests
from flask import request

from apis.freshbooks.client import FreshBooksClient, StaticToken, pooled_session
from sandboxes.freshbooks.app import SandboxConfig, create_app
from sandboxes.freshbooks.oauth import OAuthSettings
from sandboxes.serve import BackgroundServer

TOKEN = "sandbox-server-token"  # noqa: S105 - accepted by this test's own sandbox only


@pytest.fixture
def served():
    app = create_app(SandboxConfig(oauth=OAuthSettings(static_tokens=(TOKEN,))))
    # the client's end of the connection a request came on: a new connection, a new port
    app.add_url_rule("/_test/port", "port", lambda: {"port": request.environ["REMOTE_PORT"]})
    server = BackgroundServer(app).start()
    yield server
    server.stop()


def test_a_client_keeps_one_connection_across_its_requests(served):
    session = pooled_session(served.url)
    fb = FreshBooksClient(StaticToken(TOKEN), base_url=served.url, account_id="SANDBOX1", session=session)
    ports = []
    for n in range(3):
        made = fb.create_client({"fname": "Ada", "lname": f"Lovelace {n}", "email": f"ada{n}@example.com"})
        assert fb.get_client(int(made["id"]))["email"] == f"ada{n}@example.com"
        ports.append(session.get(served.url + "/_test/port", timeout=5).json()["port"])
    assert len(set(ports)) == 1, ports  # werkzeug's server: three ports, the connection closed after each answer


def test_a_stopped_server_refuses_a_connection_kept_open(served):
    session = requests.Session()
    assert session.get(served.url + "/_test/port", timeout=5).status_code == 200
    served.stop()
    with pytest.raises(requests.ConnectionError):
        session.get(served.url + "/_test/port", timeout=5)
