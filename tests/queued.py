"""Ingest's own task queue (ingest/queueing.py) over the test Redis, with what it queued read back from the
broker's lists: the tests of ingest go through the path production takes, script and all."""

from __future__ import annotations

import base64
import json

import pytest
import redis

from harness.stage import WORK_QUEUES
from ingest.queueing import TaskQueue
from runtime.bootstrap import task_sender_app


class Recorder(TaskQueue):
    """`fail`: the broker does not answer (nothing listens on its port), so every call is a connection error."""

    def __init__(self, client: redis.Redis, fail: bool = False):
        broker = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1) if fail else client
        super().__init__(broker, task_sender_app())
        self._client_read, self._mine = client, set()

    def message(self, name: str, args: list) -> tuple[str, str]:
        queue, message = super().message(name, args)
        self._mine.add(json.loads(message)["headers"]["id"])
        return queue, message

    @property
    def sent(self) -> list[tuple[str, list]]:
        """(task name, args) of every task this queue put on the broker's lists, oldest first (the test Redis may
        hold others: CI runs every tier on one)."""
        envelopes = [json.loads(message) for queue in WORK_QUEUES
                     for message in reversed(self._client_read.lrange(queue, 0, -1))]
        return [decoded(envelope) for envelope in envelopes if envelope["headers"]["id"] in self._mine]


def decoded(envelope: dict) -> tuple[str, list]:
    """(task name, args) of a task message as the broker holds it (kombu's envelope, its body base64-encoded)."""
    args, _kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
    return envelope["headers"]["task"], args


@pytest.fixture
def queued_tasks_dropped(redis_url):
    """No task a test queued may reach a later test's worker (CI runs the tiers one after the other on one
    Redis): for the modules whose tests post to ingest (`pytestmark = pytest.mark.usefixtures(...)`)."""
    yield
    with redis.Redis.from_url(redis_url) as client:
        client.delete(*WORK_QUEUES)
