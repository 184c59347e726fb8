"""Serving a sandbox app over real HTTP, in the foreground (CLI) or on a background thread (tests, demo).

Through waitress, with HTTP/1.1 persistent connections, as the real APIs answer: werkzeug's server closes the
connection after every answer (on purpose, since werkzeug 2.1), so each FreshBooks call of a worker opened a new
one, a cost the real API does not impose (a third of the chain bench's gap to its target, issue 12), and the
clients' connection pools (apis/freshbooks/client.pooled_session) were never exercised."""

from __future__ import annotations

import hmac
import threading

from flask import Flask, jsonify, request
from waitress import wasyncore
from waitress.server import create_server

# A thread per request in flight: the workers' threads or greenlets (the pool bench runs 200) wait on the
# sandbox's simulated latency at once; as many connections kept open.
THREADS, CONNECTIONS = 256, 1000


def guard_admin(app: Flask, token: str | None) -> None:
    """With a token, the sandbox's /_sandbox/ admin endpoints want `Authorization: Bearer <token>`."""
    if not token:
        return

    @app.before_request
    def require_admin_token():
        if not request.path.startswith("/_sandbox/"):
            return None
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode()):
            return None
        return jsonify(error="admin token required"), 401


class BackgroundServer:
    """A WSGI server on its own thread; port 0 picks a free port."""

    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 0):
        self.app = app
        self._connections: dict = {}  # waitress' socket map: the listener and every open connection
        self._server = _server(app, host, port, self._connections)
        self.host = host
        self.port = self._server.effective_port
        self._thread = threading.Thread(target=self._server.run, name=f"sandbox-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> BackgroundServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Closes the listener and every connection kept open (a client's next request is refused, as by a server
        that went away); the serving loop ends with nothing left to serve."""
        self._server.task_dispatcher.shutdown()
        if not self._thread.is_alive():  # never started
            wasyncore.close_all(self._connections)
            return
        # closed on the loop's own thread, woken for it: the loop then ends at once, its map empty
        self._server.trigger.pull_trigger(lambda: wasyncore.close_all(self._connections))
        self._thread.join(timeout=5)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _server(app: Flask, host: str, port: int, connections: dict | None = None):
    return create_server(app, map=connections, host=host, port=port, threads=THREADS, connection_limit=CONNECTIONS,
                         ident="sandbox")


def serve_forever(app: Flask, host: str, port: int) -> None:
    server = _server(app, host, port)
    print(f" * serving on http://{host}:{server.effective_port} (Ctrl+C to stop)", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
