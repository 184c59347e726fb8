"""Real time under a burst (celeryconfig.py): the chain steps of started orders have a queue of their own,
which a worker reads before the events queue whenever it holds anything; new events keep their order."""

from kombu import Connection, Consumer, Exchange, Producer, Queue

import celeryconfig
from core.settings import Settings
from runtime.bootstrap import broker_url
from workers.app import app

PROBE = "xcfb-priority-probe"  # the config's queues under names of this test's own, on the test's Redis


def test_chain_steps_go_to_the_chain_queue_and_everything_else_to_the_events_queue():
    route = app.amqp.router.route
    for step in ("xcfb.check_order", "xcfb.resolve_client", "xcfb.sync_items", "xcfb.create_invoice",
                 "xcfb.reconcile_payment", "xcfb.invoice_and_payment"):
        assert route({}, step)["queue"].name == celeryconfig.CHAIN_QUEUE
    for task in ("xcfb.process_event", "xcfb.handle_event", "xcfb.catch_up", "xcfb.requeue_stuck_events"):
        assert route({}, task)["queue"].name == celeryconfig.EVENTS_QUEUE


def test_a_worker_without_queues_options_reads_both_the_chain_queue_first():
    assert list(app.amqp.queues.consume_from) == [celeryconfig.CHAIN_QUEUE, celeryconfig.EVENTS_QUEUE]


def test_the_broker_hands_out_chain_steps_before_waiting_events_and_events_in_order(tmp_path, redis_url,
                                                                                   redis_client):
    queues = [Queue(f"{PROBE}-{q.name}", Exchange(f"{PROBE}-{q.name}"), f"{PROBE}-{q.name}")
              for q in celeryconfig.task_queues]
    chain_queue, events_queue = queues
    received = []
    broker = broker_url(Settings(home=tmp_path, redis_url=redis_url))
    with Connection(broker, transport_options=celeryconfig.broker_transport_options) as connection:
        producer = Producer(connection)
        for n in range(3):
            producer.publish({"event": n}, exchange=events_queue.exchange, routing_key=events_queue.routing_key,
                             declare=[events_queue])
        for n in range(3):
            producer.publish({"step": n}, exchange=chain_queue.exchange, routing_key=chain_queue.routing_key,
                             declare=[chain_queue])
        with Consumer(connection, queues=queues, callbacks=[lambda body, message: (received.append(body),
                                                                                  message.ack())]):
            while len(received) < 6:
                connection.drain_events(timeout=5)
    for queue in queues:
        redis_client.delete(queue.name)
    # round robin between the queues (kombu's default) would interleave them: step, event, step, event...
    assert received == [{"step": 0}, {"step": 1}, {"step": 2}, {"event": 0}, {"event": 1}, {"event": 2}]
