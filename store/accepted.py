"""Accepted events kept until a worker records them: the broker's queue is not an event's only copy.

Ingest marks an event seen and queues its task in one script (ingest/queueing.ACCEPT), which also keeps the task
message under the event's id (ACCEPTED, a hash of "<queue>\\n<message>") and the time it was accepted (ACCEPTED_AT,
a sorted set). A worker forgets both once the event is recorded in the database (workers/events.take_in); from then
on the database is the event's record and the stuck-event sweep its safety net.

Before that the broker holds the only copy, and can lose it without a trace: kombu's Redis transport takes a message
off its list with BRPOP, and a reply that never reaches the worker (Redis shutting down between the pop and the
reply) leaves the message nowhere, neither queued nor unacknowledged. So the stuck-event sweep also sends again the
kept message of every event accepted longer ago than the stuck-event age and still not recorded (`resend_lost`).
A message sent again for an event recorded meanwhile is a redelivery: the worker finds the event recorded."""

from __future__ import annotations

import time
from collections.abc import Callable

import redis

from core import redis_keys

ACCEPTED, ACCEPTED_AT = redis_keys.ACCEPTED, redis_keys.ACCEPTED_AT


def forget(client: redis.Redis, event_id: str) -> None:
    """The event is recorded in the database: its kept message is not needed any more."""
    pipe = client.pipeline(transaction=False)
    pipe.hdel(ACCEPTED, event_id)
    pipe.zrem(ACCEPTED_AT, event_id)
    pipe.execute()


def resend_lost(client: redis.Redis, accepted_before: float, push: Callable[[str, bytes], object] | None = None
                ) -> list[str]:
    """Pushes the kept message of each event accepted before `accepted_before` (epoch seconds) and not recorded yet
    back onto its queue, and counts its time from now (sent again each stuck-event age while it stays unrecorded);
    returns their ids. `push(queue, message)`: LPUSH by default, as ingest pushes."""
    push = push or client.lpush
    resent = []
    for raw_id in client.zrangebyscore(ACCEPTED_AT, "-inf", accepted_before):
        event_id = raw_id.decode()
        kept = client.hget(ACCEPTED, event_id)
        if kept is None:  # forgotten between the two reads
            client.zrem(ACCEPTED_AT, event_id)
            continue
        queue, message = kept.split(b"\n", 1)
        push(queue.decode(), message)
        client.zadd(ACCEPTED_AT, {event_id: time.time()}, xx=True)  # xx: not again if forgotten meanwhile
        resent.append(event_id)
    return resent


def waiting(client: redis.Redis) -> int:
    """Accepted events not recorded yet (queued, in flight, or lost)."""
    return client.zcard(ACCEPTED_AT)
