"""The FreshBooks and X-Cart clients keep a connection open per worker thread (apis/freshbooks/client.py,
keep_connections_for, called with the worker's concurrency by workers/app.py): a pool smaller than the threads
closes a connection after nearly every answer, and the next request opens another, over a real socket here."""

import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apis.freshbooks import client
from apis.freshbooks.client import keep_connections_for, pooled_session
from workers.app import keep_a_connection_per_thread

THREADS = 24


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connections = 0
        self.all_in = threading.Barrier(THREADS, timeout=10)  # every thread's request in flight at once

    def process_request(self, request, client_address):
        self.connections += 1  # one per connection accepted (the accept loop is one thread)
        super().process_request(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive

    def do_GET(self):  # noqa: N802 - http.server's name
        self.server.all_in.wait()
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_):
        pass


@pytest.fixture
def server():
    served = _Server()
    threading.Thread(target=served.serve_forever, daemon=True).start()
    yield served
    served.shutdown()
    served.server_close()


def _two_rounds(session, url: str) -> None:
    with ThreadPoolExecutor(THREADS) as threads:
        for _ in range(2):
            assert [r.status_code for r in threads.map(lambda _: session.get(url, timeout=10), range(THREADS))] \
                == [200] * THREADS


def test_a_worker_keeps_a_connection_open_for_each_of_its_threads(server, monkeypatch):
    monkeypatch.setattr(client, "_connections_kept", 10)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    _two_rounds(pooled_session(url), url)
    assert server.connections == THREADS + (THREADS - 10)  # the default pool: 14 closed after round one, reopened

    server.connections = 0
    keep_a_connection_per_thread(options={"concurrency": THREADS})  # celeryd_init of `celery worker -c 24`
    _two_rounds(pooled_session(url), url)
    assert server.connections == THREADS  # round two reuses every one


def test_a_smaller_concurrency_never_shrinks_the_pool(monkeypatch):
    monkeypatch.setattr(client, "_connections_kept", 10)
    keep_connections_for(4)
    assert client._connections_kept == 10
