"""`xcfb sandbox freshbooks` as a person runs it: a process on a port, with fault switches and state kept
in SQLite across restarts."""

import pytest
import requests

from apis.freshbooks.client import FreshBooksClient, StaticToken
from apis.freshbooks.errors import Unavailable
from tests.e2e.processes import XCFB, free_port, start, stop


def start_sandbox(port, *options):
    return start([*XCFB, "sandbox", "freshbooks", "--port", str(port), "--token", "cli-token", *options],
                 f"http://127.0.0.1:{port}/_sandbox/stats")


def test_state_survives_a_restart(tmp_path):
    port, state = free_port(), str(tmp_path / "books.sqlite3")
    process = start_sandbox(port, "--state", state)
    try:
        client = FreshBooksClient(StaticToken("cli-token"), base_url=f"http://127.0.0.1:{port}")
        created = client.create_client({"email": "keep@example.com"})
    finally:
        stop(process)
    process = start_sandbox(port, "--state", state)
    try:
        client = FreshBooksClient(StaticToken("cli-token"), base_url=f"http://127.0.0.1:{port}")
        assert client.get_client(created["id"])["email"] == "keep@example.com"
        assert client.create_client({"email": "next@example.com"})["id"] > created["id"]
    finally:
        stop(process)


def test_faults_switched_at_start_up():
    port = free_port()
    process = start_sandbox(port, "--fail-next", "2", "--rate-limit", "100")
    try:
        client = FreshBooksClient(StaticToken("cli-token"), base_url=f"http://127.0.0.1:{port}",
                                  account_id="SANDBOX1")
        with pytest.raises(Unavailable):
            client.list_taxes()
        with pytest.raises(Unavailable):
            client.list_taxes()
        assert client.list_taxes() == []
        faults = requests.get(f"http://127.0.0.1:{port}/_sandbox/faults", timeout=5).json()
        assert faults["rate_limit"] == 100 and faults["injected"]["failed"] == 2
    finally:
        stop(process)
