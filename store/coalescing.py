"""Coalescing an order's events (issue 12): a burst brings about 1.8 events an order (created, paid, status
changed), and every chain works on the order's newest snapshot and payments anyway. So an event whose order
already has a chain sent and not started yet sends none of its own: that chain covers it, and finishes it. And
an order has one chain running at a time: an event taken in while one runs is held on a chain that the running
one sends when it ends, instead of a chain of its own that would wait for the order's lock, a worker thread idle.

Redis keys (core/redis_keys.py), per order unless said:
- CHAIN_QUEUED: "<cover id> <event id>", the chain for the event, not started yet (sent, or held back). An event
  of the order taken in meanwhile is added to that chain's CHAIN_COVERS list instead of sending a chain.
- CHAIN_RUNNING: "<cover id>", the chain that started (its first step swaps CHAIN_QUEUED for it, compare and
  swap, before it reads anything of the order) and has not ended (run through, or dead-lettered).
- CHAIN_WAITING: "<cover id>", set when an event's chain is queued while another runs: that chain is not sent;
  the running chain sends it when it ends (`end`, then `sent` once it is on the broker).
- CHAIN_COVERS (per chain, by its cover id, which every step carries): the events that chain finishes (synced)
  when it runs through, or parks with its own when it is dead-lettered.
So every event in a chain's list was stored (snapshot, payment) before that chain read the order, and an event
stored after a chain's start is finished by a later chain.

A cover id names one sending of a chain, not an event: a redelivered `process_event` whose chain already started
queues a new chain with a new id, so a chain never finishes events taken in after it started. The same event
taken in again while its chain is queued sends that chain again, same id (the first send may have been lost with a
killed worker), unless it is held back: the first of the two to start swaps the marker, and both finish the same
list.

Every key expires: a marker or list lost (expired, Redis restarted) leaves the covered events `processing`, and
the stuck-event sweep runs them again on their own (workers/tasks.sweep_stuck_events); a running marker outlived
by its chain only lets a later event's chain start at once and wait for the order's lock, as without it; an extra
chain is harmless (the steps are idempotent). Nothing here decides an event's fate alone."""

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
  if redis.call('GET', KEYS[3]) == cover then
    return {0, cover}
  end
  return {1, cover}
end
redis.call('SET', KEYS[1], ARGV[3] .. ' ' .. ARGV[1], 'EX', ARGV[2])
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('SET', KEYS[3], ARGV[3], 'EX', ARGV[2])
  return {0, ARGV[3]}
end
return {1, ARGV[3]}
"""

_START = """
local queued = redis.call('GET', KEYS[1])
if queued and string.sub(queued, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. ' ' then
  redis.call('DEL', KEYS[1])
  if ARGV[2] == '1' then
    redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[3])
  end
  if redis.call('GET', KEYS[3]) == ARGV[1] then
    redis.call('DEL', KEYS[3])
  end
  return 1
end
return 0
"""

_END = """
local running = redis.call('GET', KEYS[1])
if running == ARGV[1] then
  redis.call('DEL', KEYS[1])
elseif running then
  return false
end
local waiting = redis.call('GET', KEYS[2])
if not waiting then
  return false
end
local queued = redis.call('GET', KEYS[3])
if queued and string.sub(queued, 1, string.len(waiting) + 1) == waiting .. ' ' then
  return {waiting, string.sub(queued, string.len(waiting) + 2)}
end
redis.call('DEL', KEYS[2])
return false
"""

_SENT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
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
RODE_ON = "whose chain it rode on"


class Cover(NamedTuple):
    """A chain sent with a cover id, as its steps carry it: the order and the id."""
    order_id: int
    id: str

    @classmethod
    def of(cls, order_id: int, cover: str | None) -> Cover | None:
        return cls(order_id, cover) if cover else None  # in the reason of a covered event parked with its chain's event


class Coalescing:
    def __init__(self, client: redis.Redis, ttl_seconds: int):
        self._redis, self._ttl = client, int(ttl_seconds)
        self._join = client.register_script(_JOIN)
        self._start = client.register_script(_START)
        self._close = client.register_script(_CLOSE)
        self._end = client.register_script(_END)
        self._sent = client.register_script(_SENT)

    def join(self, order_id: int, event_id: str) -> tuple[bool, str]:
        """(True, cover id): the caller sends the order's chain with this cover id (the marker names it); (False,
        cover id): the chain of that id, not started, covers the event (added to its list), or is the event's own
        chain, held back until the order's running chain ends and sends it."""
        send, cover = self._join(keys=self._keys(order_id, "queued", "running", "waiting"),
                                 args=[event_id, self._ttl, uuid.uuid4().hex, _COVERS_PREFIX])
        return bool(send), _text(cover)

    def start(self, order_id: int, cover: str) -> None:
        """The chain `cover` starts: no event joins it from now on, and the order's later chains wait for its end."""
        self._start(keys=self._keys(order_id, "queued", "running", "waiting"), args=[cover, "1", self._ttl])

    def drop(self, order_id: int, cover: str) -> None:
        """The chain `cover` could not be sent: no event joins it from now on."""
        self._start(keys=self._keys(order_id, "queued", "running", "waiting"), args=[cover, "0", self._ttl])

    def end(self, order_id: int, cover: str) -> tuple[str, str] | None:
        """The chain `cover` ended (ran through, or was dead-lettered): the chain held back for it, as (cover id,
        event id), for the caller to send and then confirm with `sent`; None when there is none, or while another
        chain of the order runs (that one sends it)."""
        waiting = self._end(keys=self._keys(order_id, "running", "waiting", "queued"), args=[cover])
        return (_text(waiting[0]), _text(waiting[1])) if waiting else None

    def sent(self, order_id: int, cover: str) -> None:
        """The held-back chain `cover` is on the broker."""
        self._sent(keys=self._keys(order_id, "waiting"), args=[cover])

    @staticmethod
    def _keys(order_id: int, *names: str) -> list[str]:
        marker = {"queued": redis_keys.CHAIN_QUEUED, "running": redis_keys.CHAIN_RUNNING,
                  "waiting": redis_keys.CHAIN_WAITING}
        return [marker[name].format(order_id=order_id) for name in names]

    def close(self, order_id: int, cover: str) -> list[str]:
        """The chain `cover` is parked, perhaps before its first step started it: no event joins it from now on
        (else it would wait for a chain that never runs), and the events it covers, read in the same call, so
        that none joins unseen between the read and the close."""
        covered = self._close(keys=[redis_keys.CHAIN_QUEUED.format(order_id=order_id),
                                    redis_keys.CHAIN_COVERS.format(cover=cover)], args=[cover])
        return [_text(e) for e in covered]

    def covered(self, cover: str) -> list[str]:
        return [_text(e) for e in self._redis.lrange(redis_keys.CHAIN_COVERS.format(cover=cover), 0, -1)]

    def release(self, cover: str) -> None:
        """The covered events are finished (synced or parked)."""
        self._redis.delete(redis_keys.CHAIN_COVERS.format(cover=cover))


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value
