"""Serving a sandbox app over real HTTP, in the foreground (CLI) or on a background thread (tests, demo).

Through waitress, with HTTP/1.1 persistent connections, as the real APIs answer: werkzeug's server closes the
connection after every answer (on purpose, since werkzeug 2.1), so each FreshBooks call of a worker opened a new
one, and the clients' connection pools (apis/freshbooks/client.pooled_session) never served a second request nor
met a kept connection the server closed. Not a speed-up: the chain bench's worker spends the same CPU either way
(README, "Thirteenth round")."""

from __future__ import annotations

import hmac
import socket
import sys
import threading
from functools import partial

from flask import Flask, jsonify, request
from waitress import wasyncore
from waitress.server import create_server

THREADS = 16  # requests served at once; more wait for a thread
SANDBOX_THREADS = 256  # the FreshBooks sandbox's: the pool bench's 200 greenlets wait on its latency at once
CONNECTIONS = 1000  # connections kept open at once (waitress' default is 100)


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
    """A WSGI server on its own thread; port 0 picks a free port. Its `threads` start when it is made."""

    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 0, threads: int = THREADS):
        self.app = app
        self._connections: dict = {}  # waitress' socket map: the listener and every open connection
        self._server = _server(app, host, port, threads, self._connections)
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
        """Closes the listener and every connection kept open, a request in flight's too (its client sees the server
        go away, and the next request is refused); the serving loop ends with nothing left to serve. The threads of
        requests still running (a sandbox's simulated delay) are left to end on their own: they are daemons."""
        if not (self._thread.is_alive() and self._wake_to_close()):
            # never started, stopped already, its loop ended by an error, or waitress closed its listener and
            # wake-up pipe itself (an error on the listener): closed from here, poll() skips them at once
            wasyncore.close_all(self._connections)
        if self._thread.ident is not None:  # started
            self._thread.join(timeout=5)  # at most the loop's poll timeout (1 s) when closed from here
        wasyncore.close_all(self._connections)  # whatever a loop that did not run the close left open
        _let_threads_end(self._server)

    def _wake_to_close(self) -> bool:
        """The connections closed on the loop's own thread, woken for it through its trigger (a pipe): the loop
        then ends at once, its map empty. False when the trigger is closed: writing to it would reach whatever
        took its descriptor's number since."""
        trigger = self._server.trigger
        if trigger._closed:
            return False
        try:
            trigger.pull_trigger(lambda: wasyncore.close_all(self._connections))
        except OSError:  # closed by the loop in between
            return False
        return True

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _server(app, host: str, port: int, threads: int, connections: dict | None = None):
    # One socket, bound here: given a name with two addresses (localhost: 127.0.0.1 and ::1), waitress would listen
    # on both and serve them as a server of another kind
    listener = socket.create_server((host, port))
    # poll(), not select(): select() fails on a descriptor numbered past 1024 (a long test run's), and on one
    # closed while it waits (stop() from another thread)
    server = create_server(app, map=connections, sockets=[listener], threads=threads, connection_limit=CONNECTIONS,
                           asyncore_use_poll=True, ident="sandbox")
    server.handle_error = partial(_log_and_listen_on, server)
    return server


def _log_and_listen_on(server) -> None:
    """An error in accepting a connection: waitress would close its listener and its wake-up pipe, and its request
    threads would go on writing to the pipe's descriptor, which anything opened since may hold. The sandbox logs it
    and listens on, as a server its clients rely on does."""
    server.logger.error("sandbox: accepting a connection failed", exc_info=True)


def serve_forever(app: Flask, host: str, port: int) -> None:
    server = _server(_logging_requests(app), host, port, SANDBOX_THREADS)
    print(f" * serving on http://{host}:{server.effective_port} (Ctrl+C to stop)", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        _let_threads_end(server)


def _let_threads_end(server) -> None:
    """Every request thread told to end once its request is done, without a wait (waitress' shutdown waits, and
    warns of each thread still running)."""
    server.task_dispatcher.set_thread_count(0)


def _logging_requests(app):
    """A line on stderr for each request answered, as the command showed them before (werkzeug's log)."""
    def logged(environ, start_response):
        def start(status, headers, *exc_info):
            query = environ.get("QUERY_STRING")
            print(f'{environ.get("REMOTE_ADDR", "-")} "{environ["REQUEST_METHOD"]} {environ.get("PATH_INFO", "")}'
                  f'{"?" + query if query else ""}" {status.split(" ", 1)[0]}', file=sys.stderr, flush=True)
            return start_response(status, headers, *exc_info)
        return app(environ, start)
    return logged
