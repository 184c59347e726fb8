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
   stops between the two, the message exists only in this process, and Celery drops it when it reconnects:
   an accepted event never recorded (the broker-restart fault test, about one run in six). Such a message is
   kept here and pushed back to the head of its queue, marked redelivered, before this process's next BRPOP.
   It is lost only if the process exits before Redis is back, which is logged with the task's id.

workers/app.py registers it under kombu's `redis` and `rediss` names, so every spelling of the URL (`redis://`,
`rediss://`, `redis+socket://`) uses it.
"""

import atexit
import logging
import threading

from kombu.transport import redis as _redis
from redis.exceptions import ConnectionError as RedisConnectionError

log = logging.getLogger(__name__)

# Messages popped from Redis that never reached its unacked set, as the unacked set stores them:
# (payload, exchange, routing key). Process-wide: the channel that pushes them back is a new one.
_popped_not_filed: list[tuple[dict, str, str]] = []
_popped_lock = threading.Lock()


class QoS(_redis.QoS):
    def append(self, message, delivery_tag):
        try:
            super().append(message, delivery_tag)
        except self.channel.connection_errors:
            delivery = message.delivery_info
            with _popped_lock:
                _popped_not_filed.append((message._raw, delivery["exchange"], delivery["routing_key"]))
            log.warning("broker lost while taking task %s: kept here, pushed back when the broker returns",
                        _task_id(message._raw))
            raise


class Channel(_redis.Channel):
    QoS = QoS

    def _connparams(self, asynchronous=False):
        if self.connection.client is None:
            raise RedisConnectionError("the broker connection was closed")
        return super()._connparams(asynchronous=asynchronous)

    def _brpop_start(self, timeout=None):
        if _popped_not_filed:  # the broker answers again: give back what an outage left here first
            self._push_back_popped()
        return super()._brpop_start(timeout=timeout)

    def _push_back_popped(self) -> None:
        with _popped_lock:
            held = list(_popped_not_filed)
            with self.conn_or_acquire() as client, client.pipeline() as pipe:
                for payload, exchange, routing_key in held:
                    self._do_restore_message(payload, exchange, routing_key, pipe)
                pipe.execute()  # a connection error here keeps them for the next try
            del _popped_not_filed[:len(held)]
        log.warning("pushed back %d task(s) the broker lost while they were taken: %s",
                    len(held), ", ".join(_task_id(payload) for payload, _, _ in held))


class Transport(_redis.Transport):
    Channel = Channel


def _task_id(payload: dict) -> str:
    return str((payload.get("headers") or {}).get("id", "?"))


@atexit.register
def _report_unreturned() -> None:
    if _popped_not_filed:  # cannot be written anywhere: the broker is what is missing
        log.error("exiting with %d task(s) taken from the broker while it stopped, not pushed back: %s",
                  len(_popped_not_filed), ", ".join(_task_id(p) for p, _, _ in _popped_not_filed))
