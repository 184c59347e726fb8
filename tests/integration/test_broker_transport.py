"""The workers' Redis transport (workers/broker.py) over a real Redis: when Celery's consumer closes a
connection whose transport was already detached (what `collect()` leaves after an outage cut the first
close short), the channel's requeue of its unacknowledged messages fails as a connection error, which the
consumer ignores and reconnects after -- not as the AttributeError that left the worker half-stopped
(issue 9) -- and the message it held is still in the broker's unacked set, from where it comes back."""

import uuid

import kombu
from kombu.common import ignore_errors

from core.settings import Settings
from runtime.bootstrap import broker_url
from workers import app, broker  # noqa: F401 - workers.app registers the transport


def test_closing_a_detached_connection_is_a_connection_error_and_keeps_the_message(tmp_path, redis_url,
                                                                                     redis_client):
    connection = kombu.Connection(broker_url(Settings(home=tmp_path, redis_url=redis_url)))
    assert isinstance(connection.transport, broker.Transport)
    queue = kombu.Queue(f"xcfb-test-{uuid.uuid4().hex}")
    with connection.Producer() as producer:
        producer.publish({"n": 1}, routing_key=queue.name, declare=[queue])
    held = queue(connection.default_channel).get(no_ack=False)  # delivered, not acknowledged
    assert held.payload == {"n": 1}
    try:
        connection._do_close_transport()  # how collect() ends: the transport forgets its connection
        ignore_errors(connection, connection.close)  # what the consumer does next: stock kombu raises here
        assert redis_client.hexists("unacked", held.delivery_tag)  # not lost: restored after the visibility timeout
    finally:
        redis_client.hdel("unacked", held.delivery_tag)
        redis_client.zrem("unacked_index", held.delivery_tag)
        redis_client.delete(queue.name)
