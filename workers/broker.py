"""The Redis transport the workers use: kombu's, with one failure mode turned into what it is.

When the broker goes away mid-poll, Celery's consumer closes the broken connection twice (`collect()`,
then `close()`); the first detaches the transport from its connection (`transport.client = None`), and
the second asks the still-open channel to requeue its unacknowledged messages, which needs the
connection's address: kombu raises AttributeError there. That is not a connection error, so it escapes
Celery's `ignore_errors`, the worker logs "Unrecoverable error ... 'hostname'" and hangs half-stopped,
consuming nothing (issue 9, seen over TCP under load). Raised as the connection error it is, the consumer
restarts and reconnects as after any outage. The messages it held stay in Redis's unacked set and come
back after the visibility timeout; their events are in the database, and beat re-runs stuck ones sooner.

workers/app.py registers it under kombu's `redis` and `rediss` names, so every spelling of the URL (`redis://`,
`rediss://`, `redis+socket://`) uses it.
"""

from kombu.transport import redis as _redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(_redis.Channel):
    def _connparams(self, asynchronous=False):
        if self.connection.client is None:
            raise RedisConnectionError("the broker connection was closed")
        return super()._connparams(asynchronous=asynchronous)


class Transport(_redis.Transport):
    Channel = Channel
