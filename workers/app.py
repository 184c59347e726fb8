import logging

import kombu.transport
from celery import Celery, Task, signals
from celery.concurrency import get_implementation
from celery.concurrency.thread import TaskPool as ThreadsPool

from apis.freshbooks.client import keep_connections_for
from core import turns
from runtime.bootstrap import BrokerUnavailable, BrokerUnusable, check_broker

log = logging.getLogger(__name__)

# kombu's Redis transport with one failure mode fixed (workers/broker.py), by name: kombu imports it when the first
# connection needs it, so that a transport that cannot load is reported by refuse_an_unusable_broker below.
for _scheme in ("redis", "rediss"):
    kombu.transport.TRANSPORT_ALIASES[_scheme] = "workers.broker:Transport"


class TakingTurns(Task):
    """Every task's body runs on its thread's turn on the CPU (core/turns.py), once a threads worker enables them;
    but a task with `takes_turns=False`: beat's long ones, whose stretches of Python (a day's orders compared, pages
    of changes read) would hold an order's steps up for as long, where the GIL interleaves them every 5 ms. They
    never need a turn, so nothing waits on them for one."""

    takes_turns = True

    def __call__(self, *args, **kwargs):
        if not self.takes_turns:
            return super().__call__(*args, **kwargs)
        with turns.turn():
            return super().__call__(*args, **kwargs)


app = Celery("xcfb", include=["workers.tasks"], task_cls=TakingTurns)
app.config_from_object("celeryconfig")


@signals.celeryd_init.connect
def take_turns_in_a_threads_worker(sender=None, options=None, **_) -> None:
    """Turns only where threads contend for the GIL; gevent's greenlets already take turns, and a prefork or solo
    worker runs one task a process."""
    options = options or {}
    pool = options.get("pool") or app.conf.worker_pool  # the CLI's class, or the configuration's name
    if isinstance(pool, str):
        pool = get_implementation(pool)
    if isinstance(pool, type) and issubclass(pool, ThreadsPool):
        turns.enable()


@signals.celeryd_init.connect
def keep_a_connection_per_thread(sender=None, options=None, **_) -> None:
    """The FreshBooks and X-Cart clients keep a connection open for each of the worker's threads or greenlets."""
    concurrency = (options or {}).get("concurrency")
    if isinstance(concurrency, int):
        keep_connections_for(concurrency)


@signals.celeryd_init.connect  # before the worker first loads the transport
def refuse_an_unusable_broker(sender=None, **_) -> None:
    """A worker that can never use its broker (transport not installed, malformed URL, refused password)
    stops at once with the reason, instead of retrying for ever; one that is merely down is retried."""
    try:
        check_broker(app.conf.broker_url)
    except BrokerUnusable as exc:
        raise SystemExit(f"xcfb worker: {exc}") from None
    except BrokerUnavailable as exc:
        log.warning("%s; retrying", exc)
