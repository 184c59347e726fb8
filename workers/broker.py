"""The Redis transport the workers use: kombu's, with two failure modes of a broker outage turned into what
they should be.

1. When the broker goes away mid-poll, Celery's consumer closes the broken connection twice (`collect()`,
   then `close()`); the first detaches the transport from its connection (`transport.client = None`), and
   the second asks the still-open channel to requeue its unacknowledged messages, which needs the
   connection's address: kombu raises AttributeError there. That is not a connection error, so it escapes
   Celery's `ignore_errors`, the worker logs "Unrecoverable error ... 'hostname'" and hangs half-stopped,
   consuming nothing (issue 9, seen over TCP under load). Raised as the connection error it is, the consumer
   restarts and reconnects as after any outage. The messages it held stay in Redis's unacked set and come
   back after the visibility timeout; their events are in the database, and beat re-runs stuck ones sooner.

2. BRPOP takes a message out of its queue, and only the next command files it in the unacked set. When Redis
   stops (or refuses the write: out of memory, read-only) between the two, the message exists only in this
   process, and Celery drops it when it reconnects: an accepted event never recorded (the broker-restart fault
   test, about one run in six). Such a message is kept here, per broker, and given back before this process's
   next BRPOP on that broker: filed in the unacked set first (a repeat of that is harmless, and kombu's own
   sweep restores it should this process die right after), then restored to the head of its queue, marked
   redelivered. It is lost only if the process exits before the broker is back, which is logged.

workers/app.py registers it under kombu's `redis` and `rediss` names, so every spelling of the URL (`redis://`,
`rediss://`, `redis+socket://`) uses it.
"""

import atexit
import logging
import threading

from kombu.transport import redis as _redis
from kombu.utils.json import dumps
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

log = logging.getLogger(__name__)

# Messages popped from a broker that never reached its unacked set, as the unacked set stores them:
# broker -> [(payload, exchange, routing key)]. Process-wide: the channel that gives them back is a new one.
_kept: dict[str, list[tuple[dict, str, str]]] = {}
_kept_lock = threading.Lock()


class QoS(_redis.QoS):
    def append(self, message, delivery_tag):
        try:
            super().append(message, delivery_tag)
        except (*self.channel.connection_errors, ResponseError) as exc:
            delivery = message.delivery_info
            with _kept_lock:
                _kept.setdefault(self.channel.broker, []).append(
                    (message._raw, delivery["exchange"], delivery["routing_key"]))
            log.warning("broker lost while taking task %s (%s): kept here, given back when the broker answers",
                        _task_id(message._raw), type(exc).__name__)
            if isinstance(exc, ResponseError):  # out of memory, read-only: the consumer reconnects as after an outage
                raise RedisConnectionError(f"the broker refused to file a task taken: {exc}") from exc
            raise


class Channel(_redis.Channel):
    QoS = QoS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # where a kept message belongs (a process may hold channels to several brokers: tests do)
        self.broker = self.connection.client.as_uri()

    def _connparams(self, asynchronous=False):
        if self.connection.client is None:
            raise RedisConnectionError("the broker connection was closed")
        return super()._connparams(asynchronous=asynchronous)

    def _brpop_start(self, timeout=None):
        if _kept.get(self.broker):  # the broker answers again: give back what an outage left here first
            self._give_back_kept()
        return super()._brpop_start(timeout=timeout)

    def _give_back_kept(self) -> None:
        with _kept_lock:
            kept = _kept.pop(self.broker, [])
        try:
            while kept:
                payload, exchange, routing_key = kept[0]
                tag = payload["properties"]["delivery_tag"]
                with self.conn_or_acquire() as client, client.pipeline() as pipe:
                    pipe.zadd(self.unacked_index_key, {tag: 0}).hset(
                        self.unacked_key, tag, dumps([payload, exchange, routing_key])).execute()
                kept.pop(0)  # filed: from here on, kombu's sweep restores it if nothing else does
                self.qos.restore_by_tag(tag)  # to the head of its queue
                log.warning("gave back task %s, taken from the broker as it stopped", _task_id(payload))
        except (*self.connection_errors, ResponseError) as exc:
            with _kept_lock:  # what was not filed stays kept for the next try
                _kept.setdefault(self.broker, [])[:0] = kept
            raise RedisConnectionError(f"the broker did not take back the tasks kept here: {exc}") from exc


class Transport(_redis.Transport):
    Channel = Channel


def _task_id(payload: dict) -> str:
    return str((payload.get("headers") or {}).get("id", "?"))


@atexit.register
def _report_unreturned() -> None:
    for broker, kept in _kept.items():  # cannot be written anywhere: the broker is what is missing
        if kept:
            log.error("exiting with %d task(s) taken from %s as it stopped, not given back: %s", len(kept),
                      broker, ", ".join(_task_id(payload) for payload, _, _ in kept))
