"""What ingest hands the workers: Celery task messages pushed straight onto the broker's queue lists.

An accepted X-Cart event is one Redis call (ACCEPT, a script, so all or nothing): its id marked seen, its task
pushed, the outcome counted. Through Celery's `send_task` it took two calls, and a broker failure between them
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
from uuid import uuid4

import redis
from celery import Celery
from celery.utils.nodenames import anon_nodename
from kombu.serialization import dumps

# KEYS: the event's SEEN key, the counters hash, the queue's list; ARGV: the SEEN key's lifetime, the accepted and
# duplicate fields, the task message.
ACCEPT = """
if redis.call('SET', KEYS[1], 1, 'NX', 'EX', ARGV[1]) then
  redis.call('LPUSH', KEYS[3], ARGV[4])
  redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
  return 1
end
redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
return 0
"""

DELIVERY_MODES = {"transient": 1, "persistent": 2}


class TaskQueue:
    """Tasks sent by name onto the broker (`client`: the Redis the broker is), routed as `app` routes them."""

    def __init__(self, client: redis.Redis, app: Celery):
        self._client, self._app = client, app
        self._accept = client.register_script(ACCEPT)
        self._queues: dict[str, str] = {}  # task name -> its queue, as the app routes it
        self._origin = anon_nodename()
        mode = app.conf.task_default_delivery_mode  # a number or its name
        self._delivery_mode = DELIVERY_MODES.get(mode, mode)

    def accept_event(self, seen_key: str, seen_seconds: int, counters: str, accepted: str, duplicate: str,
                     raw: str) -> bool:
        """True when the event is new: marked seen for `seen_seconds`, its `process_event` task queued and counted
        under `accepted`; False (counted under `duplicate`, nothing queued) when it was seen already."""
        queue, message = self.message("xcfb.process_event", [raw])
        return bool(self._accept(keys=[seen_key, counters, queue], args=[seen_seconds, accepted, duplicate, message]))

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
        queue = self._app.amqp.router.route({}, name)["queue"]
        if queue.exchange.type != "direct":  # celery sends to a direct queue by its name (the anonymous exchange)
            raise ValueError(f"{name} is routed to {queue.name!r} through a {queue.exchange.type} exchange")
        self._queues[name] = queue.name
        return queue.name
