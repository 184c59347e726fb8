"""Coalescing an order's events (issue 12): a burst brings about 1.8 events an order (created, paid, status
changed), and every chain works on the order's newest snapshot and payments anyway. So an event whose order
already has a chain sent and not started yet sends none of its own: that chain covers it, and finishes it.

Two Redis keys (core/redis_keys.py):
- CHAIN_QUEUED (one per order): "<cover id> <event id>", the chain sent for the event and not started yet. An
  event of the order taken in meanwhile is added to that chain's CHAIN_COVERS list instead of sending a chain.
  The chain's first step removes the marker (only its own: compare and delete) before it reads anything of the
  order; so an event stored after that start sends a chain of its own, and every event in a chain's list was
  stored (snapshot, payment) before that chain read the order.
- CHAIN_COVERS (one per chain sent, by its cover id, which every step of the chain carries): the events that
  chain finishes (synced) when it runs through, or parks with its own when it is dead-lettered.

A cover id names one sending of a chain, not an event: a redelivered `process_event` whose chain already started
sends a new chain with a new id, so a chain never finishes events taken in after it started. The same event
taken in again while its chain waits sends that chain again, same id (the first send may have been lost with a
killed worker): the first of the two to start removes the marker, and both finish the same list.

Both keys expire: a marker or list lost (expired, Redis restarted) leaves the covered events `processing`, and
the stuck-event sweep runs them again on their own (workers/tasks.sweep_stuck_events); an extra chain is
harmless (the steps are idempotent). Nothing here decides an event's fate alone."""

from __future__ import annotations

import uuid
from typing import NamedTuple

import redis

from core import redis_keys

_JOIN = """
local queued = redis.call('GET', KEYS[1])
if queued then
  local cover, leader = string.match(queued, '^(%S+) (.+)$')
  if leader ~= ARGV[1] then
    local covers = ARGV[4] .. cover
    redis.call('RPUSH', covers, ARGV[1])
    redis.call('EXPIRE', covers, ARGV[2])
    return {0, cover}
  end
  return {1, cover}
end
redis.call('SET', KEYS[1], ARGV[3] .. ' ' .. ARGV[1], 'EX', ARGV[2])
return {1, ARGV[3]}
"""

_START = """
local queued = redis.call('GET', KEYS[1])
if queued and string.sub(queued, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. ' ' then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

_CLOSE = """
local queued = redis.call('GET', KEYS[1])
if queued and string.sub(queued, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. ' ' then
  redis.call('DEL', KEYS[1])
end
return redis.call('LRANGE', KEYS[2], 0, -1)
"""

_COVERS_PREFIX = redis_keys.CHAIN_COVERS.format(cover="")
RODE_ON = "whose chain it rode on"  # in the reason of a covered event parked with its chain's event


class Cover(NamedTuple):
    """A chain sent with a cover id, as its steps carry it: the order and the id."""
    order_id: int
    id: str

    @classmethod
    def of(cls, order_id: int, cover: str | None) -> Cover | None:
        return cls(order_id, cover) if cover else None


class Coalescing:
    def __init__(self, client: redis.Redis, ttl_seconds: int):
        self._redis, self._ttl = client, int(ttl_seconds)
        self._join = client.register_script(_JOIN)
        self._start = client.register_script(_START)
        self._close = client.register_script(_CLOSE)

    def join(self, order_id: int, event_id: str) -> tuple[bool, str]:
        """(True, cover id): the caller sends the order's chain with this cover id (the marker names it); (False,
        cover id): the chain of that id, sent and not started, covers the event (added to its list)."""
        send, cover = self._join(keys=[redis_keys.CHAIN_QUEUED.format(order_id=order_id)],
                                 args=[event_id, self._ttl, uuid.uuid4().hex, _COVERS_PREFIX])
        return bool(send), cover.decode() if isinstance(cover, bytes) else cover

    def start(self, order_id: int, cover: str) -> None:
        """The chain `cover` starts (or could not be sent): no event joins it from now on."""
        self._start(keys=[redis_keys.CHAIN_QUEUED.format(order_id=order_id)], args=[cover])

    def close(self, order_id: int, cover: str) -> list[str]:
        """The chain `cover` is parked, perhaps before its first step started it: no event joins it from now on
        (else it would wait for a chain that never runs), and the events it covers, read in the same call, so
        that none joins unseen between the read and the close."""
        covered = self._close(keys=[redis_keys.CHAIN_QUEUED.format(order_id=order_id),
                                    redis_keys.CHAIN_COVERS.format(cover=cover)], args=[cover])
        return [e.decode() if isinstance(e, bytes) else e for e in covered]

    def covered(self, cover: str) -> list[str]:
        return [e.decode() for e in self._redis.lrange(redis_keys.CHAIN_COVERS.format(cover=cover), 0, -1)]

    def release(self, cover: str) -> None:
        """The covered events are finished (synced or parked)."""
        self._redis.delete(redis_keys.CHAIN_COVERS.format(cover=cover))
