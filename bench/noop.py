"""The reference of the chain's throughput: a Celery chain of 4 no-op tasks, on the broker and with the
Celery settings of the workers (celeryconfig.py), run by a worker started like the stage's (threads, same
concurrency) on a queue of its own. The last task counts the chain done in Redis.

    celery -A bench.noop worker --pool threads --concurrency 8 --queues bench-noop"""

from __future__ import annotations

from functools import cache

import redis
from celery import Celery, chain

from core.settings import Settings
from runtime.bootstrap import redis_url

QUEUE = "bench-noop"
DONE = "bench:noop:done"

app = Celery("bench-noop")
app.config_from_object("celeryconfig")
app.conf.task_default_queue = QUEUE


@cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(redis_url(Settings.from_env()))


@app.task(name="bench.noop")
def noop(order: int) -> None:
    return None


@app.task(name="bench.noop_done")
def noop_done(order: int) -> None:
    _redis().incr(DONE)


def noop_chain(order: int):
    return chain(noop.si(order), noop.si(order), noop.si(order), noop_done.si(order))
