"""Celery configuration, read by `celery -A workers ...` (worker, beat, flower, call).

Delivery guarantees: a task is acknowledged only after it ran (acks_late) and is given back to the
queue if its worker process dies (task_reject_on_worker_lost); a worker takes one task at a time
(prefetch 1), so a crash loses nothing and delays little. With the Redis broker an unacknowledged task
is redelivered after the visibility timeout (XCFB_VISIBILITY_TIMEOUT): one hour by default, chosen longer
than any task can run and longer than the longest retry countdown (XCFB_RETRY_CAP_SECONDS, 300 s by
default; Settings refuses a cap that is not below it), so that a task waiting for its retry is never
delivered twice. A shorter timeout brings back the work of a killed worker sooner (the fault suite
uses 15 s). Steps are idempotent anyway: a redelivery books nothing twice.

Real time under a burst (issue 12): two queues, read in priority order.
- `xcfb.chain` (CHAIN_QUEUE): the chain steps of orders already taken in (check_order, resolve_client,
  sync_items, create_invoice, reconcile_payment, and invoice_and_payment: the last two as one task, as a chain that
  runs both sends them). A worker takes from it first, whenever it holds anything.
- `xcfb` (EVENTS_QUEUE): new events (ingest's and catch-up's process_event, replays' handle_event) and
  everything else. A worker takes the next one only when no started order's step waits.
So an order, once started, runs to its invoice at the chain's pace, instead of each of its four steps
waiting behind the whole backlog of new events (the demo's 600-event burst: p50 27 s before). A worker
started without `--queues` reads both (`task_queues`), in this order (`queue_order_strategy: priority`:
kombu's BRPOP names the chain queue first, every time, instead of rotating between queues).
Order of one order's events: they all wait in the one FIFO events queue, and an event's chain is sent only
after the event is recorded and the order's snapshot kept (newest wins, never going back: store/snapshots.py),
so a later event never starts before an earlier one; the steps read the newest snapshot, so two chains of
one order (threads, retries) converge on the same invoice; and an event taken in while its order's chain waits,
not started, sends none and rides on that chain (store/coalescing.py). Retries go back to the queue they came from.
Separate queues rather than Redis message priorities (kombu emulates them with a list per priority step):
the same BRPOP in order in principle, but priorities measured worse (README, "Real time under a burst"), need
a priority on every task sent by name, and hide the lists from `LLEN`; a queue per kind shows in Flower, and
the chain can get workers of its own (`--queues xcfb.chain`). bench/latency_load.py measures the policy.
"""

from kombu import Queue as _Queue

from core.settings import Settings as _Settings
from core.settings import SettingsError as _SettingsError
from runtime.bootstrap import broker_url as _broker_url

try:
    _settings = _Settings.from_env()
except _SettingsError as _exc:  # worker, beat, flower, call: one line naming the variable, not a traceback
    raise SystemExit(f"xcfb: {_exc}") from None
broker_url = _broker_url(_settings)
broker_connection_retry_on_startup = True
broker_connection_max_retries = None  # a worker waits out a broker outage of any length (default: gives up)
broker_transport_options = {"visibility_timeout": _settings.visibility_timeout, "queue_order_strategy": "priority",
                            # a message a broken connection left unacknowledged is looked for every 10 s (kombu's
                            # default: every 10th tick, 100 s), so it is back one visibility timeout + 10 s later
                            "unacked_restore_throttle": 1}
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1
EVENTS_QUEUE = "xcfb"
CHAIN_QUEUE = "xcfb.chain"
CHAIN_STEPS = ("xcfb.check_order", "xcfb.resolve_client", "xcfb.sync_items", "xcfb.create_invoice",
               "xcfb.reconcile_payment", "xcfb.invoice_and_payment")
task_default_queue = EVENTS_QUEUE
task_queues = (_Queue(CHAIN_QUEUE), _Queue(EVENTS_QUEUE))  # the order workers read them in
task_routes = {step: {"queue": CHAIN_QUEUE} for step in CHAIN_STEPS}
task_serializer = "json"
accept_content = ["json"]
task_ignore_result = True
task_send_sent_event = True  # Flower shows tasks from the moment they are sent
worker_send_task_events = True
timezone = "UTC"
enable_utc = True


def beat_schedule_for(settings: _Settings) -> dict:
    """Catch-up polling is always scheduled: the store may be connected (`xcfb connect xcart`) after beat
    started, and a poll without a connection is one database read that returns at once."""
    return {"requeue-stuck-events": {"task": "xcfb.requeue_stuck_events", "schedule": settings.requeue_interval},
            "catch-up": {"task": "xcfb.catch_up", "schedule": settings.catch_up_interval},
            "reconcile": {"task": "xcfb.reconcile", "schedule": settings.reconcile_interval},
            "exchange-rates": {"task": "xcfb.refresh_exchange_rates", "schedule": settings.rates_interval}}


beat_schedule = beat_schedule_for(_settings)
