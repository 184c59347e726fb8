"""Signed webhook delivery, as a store add-on following the contract (../shared/reference) would do it.

`X-XCart-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`, one `v1` per
secret while secrets rotate. Delivery is at-least-once: 5xx, 408, 429 and connection errors are retried
with exponential backoff; on request the sender also sends duplicates and delivers out of order.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import queue
import random
import threading
import time
from dataclasses import dataclass, field

import requests

from mappings.jsonio import dumps as to_json

log = logging.getLogger(__name__)
RETRYABLE = {408, 429}


def signature_header(secrets: list[str], body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + body
    parts = [f"t={timestamp}"] + [f"v1={hmac.new(s.encode(), signed, hashlib.sha256).hexdigest()}" for s in secrets]
    return ",".join(parts)


@dataclass
class DeliveryOptions:
    duplicate_rate: float = 0.0  # share of events sent a second time
    copies: int = 1  # every event sent this many times
    reorder_window: int = 0  # events are shuffled within windows of this size
    max_attempts: int = 8
    backoff: float = 0.25  # first retry delay in seconds, doubled each time
    timeout: float = 5.0


@dataclass
class DeliveryReport:
    delivered: int = 0  # events the receiver accepted (202) or knew already (200)
    attempts: int = 0
    duplicates_sent: int = 0
    gave_up: list[str] = field(default_factory=list)  # event ids
    answers: dict[int, int] = field(default_factory=dict)


class WebhookSender:
    def __init__(self, target: str, secrets: list[str], options: DeliveryOptions | None = None, seed: int = 1):
        self.target = target
        self.secrets = secrets
        self.options = options or DeliveryOptions()
        self._rng = random.Random(seed)
        self._session = requests.Session()
        self._report = DeliveryReport()
        self._lock = threading.Lock()
        self._queue: queue.Queue[dict] = queue.Queue()
        self._thread: threading.Thread | None = None

    def report(self) -> dict:
        with self._lock:
            r = self._report
            return {"delivered": r.delivered, "attempts": r.attempts, "duplicates_sent": r.duplicates_sent,
                    "gave_up": list(r.gave_up), "answers": dict(r.answers), "queued": self._queue.unfinished_tasks}

    def arrange(self, events: list[dict]) -> list[dict]:
        """The order of delivery: with duplicates added and, when asked, shuffled within windows."""
        arranged = []
        for event in events:
            arranged.extend([event] * self.options.copies)
            with self._lock:
                self._report.duplicates_sent += self.options.copies - 1
            if self._rng.random() < self.options.duplicate_rate:
                arranged.append(event)
                with self._lock:
                    self._report.duplicates_sent += 1
        window = self.options.reorder_window
        if window > 1:
            for start in range(0, len(arranged), window):
                chunk = arranged[start:start + window]
                self._rng.shuffle(chunk)
                arranged[start:start + window] = chunk
        return arranged

    def deliver_all(self, events: list[dict]) -> DeliveryReport:
        for event in self.arrange(events):
            self.deliver(event)
        return self._report

    def deliver(self, event: dict) -> bool:
        body = to_json(event).encode()
        delay = self.options.backoff
        for attempt in range(1, self.options.max_attempts + 1):
            status = self._post(body)
            with self._lock:
                self._report.attempts += 1
                if status is not None:
                    self._report.answers[status] = self._report.answers.get(status, 0) + 1
            if status is not None and status < 300:
                with self._lock:
                    self._report.delivered += 1
                return True
            if status is not None and status < 500 and status not in RETRYABLE:
                break  # the receiver refuses this event for good
            if attempt < self.options.max_attempts:
                time.sleep(delay * (0.5 + self._rng.random()))
                delay *= 2
        with self._lock:
            self._report.gave_up.append(event["id"])
        log.warning("gave up delivering event %s", event["id"])
        return False

    def _post(self, body: bytes) -> int | None:
        headers = {"Content-Type": "application/json", "X-XCart-Signature": signature_header(self.secrets, body)}
        try:
            return self._session.post(self.target, data=body, headers=headers, timeout=self.options.timeout).status_code
        except requests.RequestException:
            return None

    # -- in the background ---------------------------------------------------------------------------------

    def enqueue(self, events: list[dict]) -> None:
        for event in self.arrange(events):
            self._queue.put(event)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="xcart-webhooks", daemon=True)
            self._thread.start()

    def drain(self, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self._queue.unfinished_tasks

    def _run(self) -> None:
        while True:
            event = self._queue.get()
            try:
                self.deliver(event)
            finally:
                self._queue.task_done()
