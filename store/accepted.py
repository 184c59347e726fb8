"""Accepted events kept until a worker records them: the broker's queue is not an event's only copy.

Ingest marks an event seen and queues its task in one script (ingest/queueing.ACCEPT), which also keeps the task
message under the event's id (ACCEPTED, a hash of "<queue>\\n<message>") and the time it was accepted (ACCEPTED_AT,
a sorted set). A worker forgets both once the event is recorded in the database (workers/tasks.process_event); from then
on the database is the event's record and the stuck-event sweep its safety net.

Before that the broker holds the only copy, and can lose it without a trace: kombu's Redis transport takes a message
off its list with BRPOP, and a reply that never reaches the worker (Redis shutting down between the pop and the
reply) leaves the message nowhere, neither queued nor unacknowledged. So the stuck-event sweep also sends again the
kept message of an event accepted longer ago than the stuck-event age and still not recorded (`resend_lost`), when
the broker holds no message that may still bring it: none waits in its queue (a backlog, however old, is worked
off first) and no worker holds one of its task (kombu's unacked set: a task running, or waiting for its retry,
keeps its root id). A message sent again for an event recorded meanwhile is a redelivery: the worker finds the event
recorded. An event sent again `max_resends` times and still not recorded (its message fails before the record,
every time) is not sent again: the caller alerts, and the message stays kept for a person."""

from __future__ import annotations

import json
import time
from typing import NamedTuple

import redis

from core import redis_keys

ACCEPTED, ACCEPTED_AT, RESENDS = redis_keys.ACCEPTED, redis_keys.ACCEPTED_AT, redis_keys.ACCEPTED_RESENDS
UNACKED = "unacked"  # kombu's Redis transport's unacked set (Channel.unacked_key): tag -> [message, exchange, key]


class Resent(NamedTuple):
    resent: list[str]  # event ids whose kept message was pushed again
    given_up: list[str]  # sent again max_resends times already, and still not recorded


def forget(client: redis.Redis, event_id: str) -> None:
    """The event is recorded in the database: its kept message is not needed any more."""
    pipe = client.pipeline(transaction=False)
    pipe.hdel(ACCEPTED, event_id)
    pipe.zrem(ACCEPTED_AT, event_id)
    pipe.hdel(RESENDS, event_id)
    pipe.execute()


def resend_lost(client: redis.Redis, accepted_before: float, max_resends: int) -> Resent:
    """Pushes the kept message of each event accepted before `accepted_before` (epoch seconds), not recorded yet, and
    with no message in the broker that may still bring it, back onto its queue, and counts its time from now (sent
    again each stuck-event age while it stays unrecorded, `max_resends` times at most)."""
    resent, given_up = [], []
    candidates = [raw_id.decode() for raw_id in client.zrangebyscore(ACCEPTED_AT, "-inf", accepted_before)]
    held = _held_roots(client) if candidates else set()
    for event_id in candidates:
        kept = client.hget(ACCEPTED, event_id)
        if kept is None:  # forgotten between the two reads
            client.zrem(ACCEPTED_AT, event_id)
            continue
        queue, message = kept.split(b"\n", 1)
        if client.llen(queue) or _task_id(message) in held:
            continue  # a backlog to work off first, or a worker holds its task: not lost
        if int(client.hget(RESENDS, event_id) or 0) >= max_resends:
            given_up.append(event_id)
            continue
        client.hincrby(RESENDS, event_id, 1)
        client.lpush(queue.decode(), message)
        client.zadd(ACCEPTED_AT, {event_id: time.time()}, xx=True)  # xx: not again if forgotten meanwhile
        resent.append(event_id)
    return Resent(resent, given_up)


def waiting(client: redis.Redis) -> int:
    """Accepted events not recorded yet (queued, in flight, or lost)."""
    return client.zcard(ACCEPTED_AT)


def _task_id(message: bytes) -> str:
    return json.loads(message)["headers"]["id"]


def _held_roots(client: redis.Redis) -> set[str]:
    """The root task ids of the messages workers hold (a task's retries keep the root id of its first message)."""
    roots = set()
    for filed in client.hvals(UNACKED):
        try:
            roots.add(json.loads(filed)[0]["headers"]["root_id"])
        except (ValueError, KeyError, IndexError, TypeError):  # not a task message of ours: not one to wait for
            continue
    return roots
