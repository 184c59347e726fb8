"""The workers' Redis transport (workers/broker.py) over a real Redis: when Celery's consumer closes a
connection whose transport was already detached (what `collect()` leaves after an outage cut the first
close short), the channel's requeue of its unacknowledged messages fails as a connection error, which the
consumer ignores and reconnects after -- not as the AttributeError that left the worker half-stopped
(issue 9) -- and the message it held is still in the broker's unacked set, from where it comes back."""

import uuid

import kombu
import pytest
from kombu.common import ignore_errors
from kombu.transport import redis as _redis

from core.settings import Settings
from runtime.bootstrap import broker_url
from tests.e2e.processes import TcpRedis
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


def test_a_message_popped_as_redis_goes_down_is_pushed_back_when_it_returns(tmp_path):
    """BRPOP takes a message out of Redis and the transport then files it in the unacked set: a second
    command. Redis stopping between the two used to leave the message only in the worker's memory, which the
    consumer drops when it reconnects (the broker-restart fault test lost an accepted event this way)."""
    server = TcpRedis(tmp_path)
    server.start()
    url = broker_url(Settings(home=tmp_path, redis_url=server.url))
    queue = kombu.Queue("xcfb-test-popped")
    try:
        with kombu.Connection(url) as connection, connection.Producer() as producer:
            producer.publish({"n": 1}, routing_key=queue.name, declare=[queue])
        with pytest.MonkeyPatch.context() as patch:
            file_in_unacked = _redis.QoS.append

            def redis_stops_first(qos, message, delivery_tag):
                server.stop()
                return file_in_unacked(qos, message, delivery_tag)

            patch.setattr(_redis.QoS, "append", redis_stops_first)
            assert _received(url, queue) == "connection lost"
        server.start()
        assert _received(url, queue) == {"n": 1}
    finally:
        server.stop()


def _received(url: str, queue: kombu.Queue):
    """The first message a consumer takes from the queue (acknowledged), or what stopped it."""
    received = []
    connection = kombu.Connection(url)
    try:
        with connection.Consumer(queue, callbacks=[lambda body, message: (received.append(body), message.ack())]):
            connection.drain_events(timeout=5)
    except TimeoutError:  # before connection errors: kombu counts every OSError as one
        return "nothing came"
    except connection.connection_errors:
        return "connection lost"
    finally:
        ignore_errors(connection, connection.close)
    return received[0]
