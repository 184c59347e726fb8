"""An accepted event is not only in the broker till a worker records it (store/accepted.py): a task message the
broker lost (a BRPOP whose reply never reached the worker as Redis shut down) is sent again by the stuck-event sweep,
and the event is booked once."""

import json
import time

from ingest.queueing import TaskQueue
from runtime.bootstrap import task_sender_app
from store import accepted
from tests.e2e.pipeline import simulated_store
from tests.e2e.test_dead_letters import deliver
from workers.tasks import requeue_stuck_events


def test_an_accepted_event_whose_task_the_broker_lost_is_sent_again_by_the_sweep(pipeline_factory, fb_sandbox):
    pipeline = pipeline_factory()
    svc = pipeline.services
    _, store = simulated_store(seed=23)
    first, lost = [e for e in store.place_orders(8) if e["type"] == "order.created"
                   and e["data"]["payment_status"]["code"] in ("P", "Q", "A", "PP")][:2]  # each booked as an invoice
    assert deliver(pipeline, [first]) == {"synced": 1}
    assert accepted.waiting(svc.redis) == 0  # recorded: its kept message forgotten

    # accepted two minutes ago, kept as ingest keeps it (ingest/queueing.ACCEPT), and lost in the broker
    queue, message = TaskQueue(svc.redis, task_sender_app()).message("xcfb.process_event",
                                                                     [json.dumps(lost, default=str)])
    svc.redis.hset(accepted.ACCEPTED, lost["id"], f"{queue}\n{message}")
    svc.redis.zadd(accepted.ACCEPTED_AT, {lost["id"]: time.time() - 120})
    assert requeue_stuck_events(60) == 1  # accepted longer ago than the stuck-event age, and never recorded
    assert pipeline.settle() == {"synced": 2}
    assert accepted.waiting(svc.redis) == 0
    assert requeue_stuck_events(1) == 0  # nothing is sent twice
    numbers = sorted(i["invoice_number"] for i in fb_sandbox.books.all("invoice") if i["vis_state"] == 0)
    assert numbers == sorted([first["data"]["order_number"], lost["data"]["order_number"]])
