"""What ingest hands the workers: Celery task messages pushed straight onto the broker's queue lists.

An accepted X-Cart event is one Redis call (ACCEPT, a script): its task pushed and its id marked seen together
or neither, the outcome counted. Through Celery's `send_task` it took two calls, and a broker failure between them
left the id marked seen with no task queued: the sender's retry was then answered "duplicate", and the event was
lost. Building the message here also costs a fraction of `send_task`'s CPU (no producer pool, connection
checks or publish retry wrapper; the route looked up once per task name).

The message is Celery's own (`app.amqp.as_task_v2`: headers, properties, body) in the envelope kombu's Redis
transport pushes (virtual `prepare_message`, base64 body, the queue's list as the key: messages of priority 0
have no suffix). tests/integration/test_ingest_queueing.py compares it, field by field, with what `send_task`
pushes, so an upgrade of Celery or kombu that changes the format fails there, not in production."""

from __future__ import annotations

import base64
import json
import time
from uuid import uuid4

import redis
from celery import Celery
from celery.signals import after_task_publish, before_task_publish
from celery.utils.nodenames import anon_nodename
from kombu.serialization import dumps

from store import accepted as accepted_store

# KEYS: the event's SEEN key, the counters hash, the queue's list, and with an event id the kept messages and their
# times (store/accepted.py); ARGV: the SEEN key's lifetime, the accepted and duplicate fields, the task message, and
# the event id and the time. Redis does not undo a script that fails half-way, so the push comes first (a wrong-typed
# queue key fails it with nothing written: 503, and the sender's retry is not a duplicate), the SEEN key next (cannot
# fail); keeping the message and counting cannot fail the event (pcall: a broken key costs the copy or a count).
ACCEPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.pcall('HINCRBY', KEYS[2], ARGV[3], 1)
  return 0
end
redis.call('LPUSH', KEYS[3], ARGV[4])
redis.call('SET', KEYS[1], 1, 'EX', ARGV[1])
if ARGV[5] then
  redis.pcall('HSET', KEYS[4], ARGV[5], KEYS[3] .. '\\n' .. ARGV[4])
  redis.pcall('ZADD', KEYS[5], ARGV[6], ARGV[5])
end
redis.pcall('HINCRBY', KEYS[2], ARGV[2], 1)
return 1
"""

DELIVERY_MODES = {"transient": 1, "persistent": 2}


class TaskQueue:
    """Tasks sent by name onto the broker (`client`: the Redis the broker is), routed as `app` routes them."""

    def __init__(self, client: redis.Redis, app: Celery):
        _refuse_what_the_message_does_not_carry(app)
        self._client, self._app = client, app
        self._accept = client.register_script(ACCEPT)
        self._queues: dict[str, str] = {}  # task name -> its queue, as the app routes it
        self._origin = anon_nodename()
        mode = app.conf.task_default_delivery_mode  # a number or its name
        self._delivery_mode = DELIVERY_MODES.get(mode, mode)

    def accept_event(self, seen_key: str, seen_seconds: int, counters: str, accepted: str, duplicate: str,
                     raw: str, event_id: str | None = None) -> bool:
        """True when the event is new: marked seen for `seen_seconds`, its `process_event` task queued and counted
        under `accepted`, and with `event_id` its message kept till a worker records it (store/accepted.py); False
        (counted under `duplicate`, nothing queued) when it was seen already."""
        queue, message = self.message("xcfb.process_event", [raw])
        keys, args = [seen_key, counters, queue], [seen_seconds, accepted, duplicate, message]
        if event_id is not None:
            keys, args = keys + [accepted_store.ACCEPTED, accepted_store.ACCEPTED_AT], args + [event_id, time.time()]
        return bool(self._accept(keys=keys, args=args))

    def send(self, name: str, args: list) -> None:
        queue, message = self.message(name, args)
        self._client.lpush(queue, message)

    def message(self, name: str, args: list) -> tuple[str, str]:
        """The queue's list and the message `send_task(name, args=args)` would push there."""
        queue = self._queues.get(name) or self._route(name)
        task_id = str(uuid4())
        headers, properties, body, _ = self._app.amqp.as_task_v2(  # as send_task calls it outside a task
            task_id, name, args=args, kwargs={}, origin=self._origin, reply_to=self._app.thread_oid,
            ignore_result=None)
        content_type, content_encoding, data = dumps(body, serializer="json")
        data = data if isinstance(data, bytes) else data.encode(content_encoding)
        return queue, json.dumps({
            "body": base64.b64encode(data).decode("ascii"),
            "content-encoding": content_encoding,
            "content-type": content_type,
            "headers": headers,
            "properties": {**properties, "delivery_mode": self._delivery_mode,
                           "delivery_info": {"exchange": "", "routing_key": queue}, "priority": 0,
                           "body_encoding": "base64", "delivery_tag": str(uuid4())},
        })

    def _route(self, name: str) -> str:
        route = self._app.amqp.router.route({}, name)
        queue = route.pop("queue")
        if route or queue.exchange.type != "direct" or queue.exchange.delivery_mode:
            # celery sends to a direct queue by its name (the anonymous exchange), with no options of the route's
            raise UnsupportedSettings(f"{name} is routed to {queue.name!r} through a {queue.exchange.type} exchange "
                                      f"(delivery mode {queue.exchange.delivery_mode}) with options {route}")
        self._queues[name] = queue.name
        return queue.name


class UnsupportedSettings(RuntimeError):
    """celeryconfig.py asks for something the message built here would not carry: change this module first."""


def _refuse_what_the_message_does_not_carry(app: Celery) -> None:
    conf = app.conf
    found = {"task_serializer": conf.task_serializer, "task_compression": conf.task_compression,
             "task_protocol": conf.task_protocol, "task_default_priority": conf.task_default_priority,
             "global_keyprefix": (conf.broker_transport_options or {}).get("global_keyprefix"),
             "before_task_publish receivers": bool(before_task_publish.receivers),
             "after_task_publish receivers": bool(after_task_publish.receivers)}
    expected = {"task_serializer": "json", "task_compression": None, "task_protocol": 2,
                "task_default_priority": None, "global_keyprefix": None, "before_task_publish receivers": False,
                "after_task_publish receivers": False}
    differing = {name: value for name, value in found.items() if value != expected[name]}
    if differing:
        raise UnsupportedSettings(f"ingest builds Celery's task messages itself and does not handle {differing}")
