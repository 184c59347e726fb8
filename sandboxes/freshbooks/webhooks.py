"""FreshBooks-style webhook delivery: form bodies signed with X-FreshBooks-Hmac-SHA256.

Deliveries run on one background thread, in order, without retries (FreshBooks documents none).
"""

from __future__ import annotations

import logging
import queue
import threading
import time

import requests

from apis.freshbooks.signatures import webhook_signature

log = logging.getLogger(__name__)


class WebhookDispatcher:
    def __init__(self, timeout: float = 5.0):
        self._queue: queue.Queue[tuple[str, list[tuple[str, str]], str]] = queue.Queue()
        self._timeout = timeout
        self._session = requests.Session()
        self.delivered = 0
        self.failed = 0
        threading.Thread(target=self._run, name="fb-sandbox-webhooks", daemon=True).start()

    def send(self, uri: str, form: list[tuple[str, str]], verifier: str) -> None:
        self._queue.put((uri, form, verifier))

    def drain(self, timeout: float = 5.0) -> bool:
        """Waits until every queued delivery was attempted."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._queue.unfinished_tasks

    def _run(self) -> None:
        while True:
            uri, form, verifier = self._queue.get()
            try:
                self._deliver(uri, form, verifier)
            finally:
                self._queue.task_done()

    def _deliver(self, uri: str, form: list[tuple[str, str]], verifier: str) -> None:
        headers = {"X-FreshBooks-Hmac-SHA256": webhook_signature(verifier, form)}
        try:
            ok = self._session.post(uri, data=form, headers=headers, timeout=self._timeout).status_code < 400
        except requests.RequestException as exc:
            log.warning("webhook delivery failed: %s", type(exc).__name__)
            ok = False
        if ok:
            self.delivered += 1
        else:
            self.failed += 1
