"""The sandboxes' server (sandboxes/serve.py) keeps a client's connection open between requests, as the real
FreshBooks and X-Cart APIs do (HTTP/1.1): werkzeug's closed it after every answer, and each FreshBooks call of a
worker opened a new one. Stopped, it refuses the next request even on a connection kept open."""

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

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


def waited_for(condition, seconds: float = 5) -> None:
    """Polls until `condition()` holds or the time is up; the caller asserts the outcome."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


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
    threads = served._server.task_dispatcher.threads  # waitress' request threads still running
    waited_for(lambda: not threads)
    assert not threads  # told to end, and ended: no thread of a stopped server left behind


def test_an_error_accepting_a_connection_is_logged_and_the_server_listens_on(served, caplog):
    """Waitress' own way would close the listener and the wake-up pipe its request threads write to (and stop()
    then wrote to a closed descriptor: EBADF in CI)."""
    session = requests.Session()
    assert session.get(served.url + "/_test/port", timeout=5).status_code == 200  # a connection kept open
    real = served._server.channel_class

    def failing_once(*args, **kwargs):
        served._server.channel_class = real
        raise RuntimeError("an error while accepting")

    served._server.channel_class = failing_once
    socket.create_connection((served.host, served.port), timeout=5).close()
    waited_for(lambda: "accepting a connection failed" in caplog.text)
    assert "accepting a connection failed" in caplog.text and "RuntimeError" in caplog.text
    assert not served._server.trigger._closed
    assert requests.get(served.url + "/_test/port", timeout=5).status_code == 200  # a new connection, served
    assert session.get(served.url + "/_test/port", timeout=5).status_code == 200  # and the kept one
    served.stop()
    assert not served._thread.is_alive()


def test_a_server_whose_listener_and_trigger_are_closed_still_stops(served):
    """Closed by waitress itself (an error event on the listener), the loop goes on serving the connections left,
    and nothing can wake it: stop() closes them from its own thread instead of writing to the closed trigger."""
    session = requests.Session()
    assert session.get(served.url + "/_test/port", timeout=5).status_code == 200  # a connection kept open
    served._server.trigger.pull_trigger(served._server.close)  # waitress' close, on its loop's thread
    waited_for(lambda: served._server.trigger._closed)
    assert served._server.trigger._closed and served._thread.is_alive()  # still serving the kept connection
    began = time.monotonic()
    served.stop()
    assert not served._thread.is_alive() and time.monotonic() - began < 3
    with pytest.raises(requests.ConnectionError):
        session.get(served.url + "/_test/port", timeout=5)


def test_stopping_does_not_wait_for_a_request_in_flight():
    """A sandbox's simulated delay (a ghost create's answer held back for half a minute) does not hold the stop up."""
    app = create_app(SandboxConfig(oauth=OAuthSettings(static_tokens=(TOKEN,))))
    released = threading.Event()
    app.add_url_rule("/_test/slow", "slow", lambda: {"done": released.wait(30)})
    server = BackgroundServer(app).start()
    in_flight = ThreadPoolExecutor(1).submit(requests.get, server.url + "/_test/slow", timeout=30)
    time.sleep(0.3)  # the request reaches its handler
    began = time.monotonic()
    server.stop()
    took = time.monotonic() - began
    released.set()
    with pytest.raises(requests.ConnectionError):
        in_flight.result(timeout=30)  # cut off, as by a server gone away
    assert took < 2, took  # not the 5 s waitress would wait for the request's thread


def test_a_name_with_two_addresses_is_served_on_one(monkeypatch):
    """`--host localhost` where localhost is two addresses (127.0.0.1 and ::1 on most machines; two IPv4 loopback
    addresses here): one listener, on the first (waitress, given the name, listens on both, as a server of another
    kind)."""
    real = socket.getaddrinfo

    def both(host, *args, **kwargs):
        found = real(host, *args, **kwargs)
        if host == "localhost":
            found = [*found, (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.2", 0))]
        return found

    monkeypatch.setattr(socket, "getaddrinfo", both)
    with BackgroundServer(create_app(SandboxConfig()), host="localhost") as server:
        assert requests.get(server.url + "/_sandbox/stats", timeout=5).status_code == 200


def test_a_server_never_started_stops():
    server = BackgroundServer(create_app(SandboxConfig()))
    server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url + "/_sandbox/stats", timeout=5)
