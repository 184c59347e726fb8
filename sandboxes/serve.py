"""Serving a sandbox app over real HTTP, in the foreground (CLI) or on a background thread (tests, demo)."""

from __future__ import annotations

import hmac
import threading

from flask import Flask, jsonify, request
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


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


class QuietHandler(WSGIRequestHandler):
    """Background servers in tests and the demo would drown their output in access-log lines."""

    def log_request(self, *args, **kwargs) -> None:
        pass


class BackgroundServer:
    """A threaded WSGI server on its own thread; port 0 picks a free port."""

    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 0):
        self.app = app
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True, request_handler=QuietHandler)
        self.host = host
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"sandbox-{self.port}",
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> BackgroundServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def serve_forever(app: Flask, host: str, port: int) -> None:
    server = make_server(host, port, app, threaded=True)
    print(f" * serving on http://{host}:{server.server_port} (Ctrl+C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
