"""Starting the project's commands as real processes, the way a person runs them."""

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

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
