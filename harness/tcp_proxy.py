"""A TCP proxy that can cut its connections: how the fault suite makes a server briefly unreachable."""

from __future__ import annotations

import socket
import threading


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, listen_port: int = 0):
        self._target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", listen_port))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._connections: list[socket.socket] = []
        self._paused = threading.Event()
        threading.Thread(target=self._accept, daemon=True, name=f"proxy-{self.port}").start()

    def pause(self) -> None:
        """Drops every open connection and refuses new ones until resume()."""
        self._paused.set()
        with self._lock:
            for connection in self._connections:
                _close(connection)
            self._connections.clear()

    def resume(self) -> None:
        self._paused.clear()

    def close(self) -> None:
        self.pause()
        _close(self._listener)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._paused.is_set():
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._connections += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        _close(source)
        _close(sink)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
