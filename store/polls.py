"""The last catch-up polls of X-Cart (when, and what they found), newest first, for `xcfb connect status`.
Kept in Redis, a short list: it is a view of recent activity, not a record (the events table is that)."""

from __future__ import annotations

import json
from datetime import datetime

import redis

from core.redis_keys import CATCH_UP_POLLS

KEPT = 20


def record_poll(client: redis.Redis, at: datetime, found: dict[str, int]) -> None:
    client.lpush(CATCH_UP_POLLS, json.dumps({"at": at.isoformat(), **found}))
    client.ltrim(CATCH_UP_POLLS, 0, KEPT - 1)


def recent_polls(client: redis.Redis, count: int = KEPT) -> list[dict]:
    polls = [json.loads(raw) for raw in client.lrange(CATCH_UP_POLLS, 0, count - 1)]
    for poll in polls:
        poll["at"] = datetime.fromisoformat(poll["at"])
    return polls
