"""`xcfb sandbox xcart`: a store on a port, serving its REST API and sending signed webhooks at start-up."""

import hashlib
import hmac
import json
import subprocess
import threading
import time

import requests
from flask import Flask, request

from sandboxes.serve import BackgroundServer
from tests.e2e.processes import XCFB, free_port, start, stop


def test_the_simulator_serves_its_api_and_sends_signed_webhooks():
    received, lock = [], threading.Lock()
    receiver = Flask("receiver")

    @receiver.post("/webhooks/xcart")
    def hook():
        with lock:
            received.append((request.get_data(), request.headers["X-XCart-Signature"]))
        return "", 202

    with BackgroundServer(receiver) as target:
        port = free_port()
        process = start([*XCFB, "sandbox", "xcart", "--port", str(port), "--seed", "4", "--customers", "3",
                         "--products", "4", "--orders", "5", "--target", f"{target.url}/webhooks/xcart",
                         "--secret", "s3cret"], f"http://127.0.0.1:{port}/_sandbox/stats")
        try:
            orders = requests.get(f"http://127.0.0.1:{port}/api/orders",
                                  headers={"X-Auth-Token": "xcart-sandbox-token"}, timeout=5).json()
            assert len(orders) == 5
            expected = requests.get(f"http://127.0.0.1:{port}/_sandbox/stats", timeout=5).json()["events"]
            deadline = time.monotonic() + 20
            while len(received) < expected and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            stop(process)
    assert len(received) == expected
    types = {json.loads(body)["type"] for body, _ in received}
    assert {"customer.created", "product.created", "order.created"} <= types
    for body, header in received:
        timestamp, signature = (part.split("=", 1)[1] for part in header.split(","))
        mac = hmac.new(b"s3cret", timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(mac, signature)


def test_a_target_needs_a_secret():
    done = subprocess.run([*XCFB, "sandbox", "xcart", "--target", "http://127.0.0.1:1/x"], capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 2 and "--secret" in done.stderr
