"""The workers' Redis transport (workers/broker.py) over a real Redis: when Celery's consumer closes a
connection whose transport was already detached (what `collect()` leaves after an outage cut the first
close short), the channel's requeue of its unacknowledged messages fails as a connection error, which the
consumer ignores and reconnects after -- not as the AttributeError that left the worker half-stopped
(issue 9) -- and the message it held is still in the broker's unacked set, from where it comes back."""

import uuid

import kombu
import pytest
import redis
from kombu.common import ignore_errors
from kombu.transport import redis as _redis

from core.settings import Settings
from ingest.queueing import TaskQueue
from runtime.bootstrap import broker_url, redis_url, task_sender_app
from tests.e2e.processes import TcpRedis, answers
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


@pytest.fixture
def private_redis(tmp_path):
    server = TcpRedis(tmp_path)
    server.start()
    yield server
    server.stop()
    broker._kept.clear()  # a failed test must not hand its kept message to the next one


def _fill_up(server: TcpRedis) -> None:
    with redis.Redis.from_url(server.url) as client:
        client.config_set("maxmemory-policy", "noeviction")
        client.config_set("maxmemory", 1)  # every write is refused: OOM


def _recover(server: TcpRedis) -> None:
    if answers(server.url):
        with redis.Redis.from_url(server.url) as client:
            client.config_set("maxmemory", 0)
    else:
        server.start()


@pytest.mark.parametrize("fault", [TcpRedis.stop, _fill_up], ids=["redis stops", "redis refuses the write"])
def test_a_message_taken_as_redis_fails_is_given_back_when_it_answers_again(tmp_path, private_redis, fault):
    """BRPOP takes a message out of Redis and the transport then files it in the unacked set: a second
    command. Redis stopping, or refusing the write, between the two used to leave the message only in the
    worker's memory, which the consumer drops when it reconnects (the broker-restart fault test lost an
    accepted event this way)."""
    url = broker_url(Settings(home=tmp_path, redis_url=private_redis.url))
    queue = kombu.Queue("xcfb-test-taken")
    with kombu.Connection(url) as connection, connection.Producer() as producer:
        producer.publish({"n": 1}, routing_key=queue.name, declare=[queue])
    with pytest.MonkeyPatch.context() as patch:
        file_in_unacked = _redis.QoS.append

        def fault_first(qos, message, delivery_tag):
            fault(private_redis)
            return file_in_unacked(qos, message, delivery_tag)

        patch.setattr(_redis.QoS, "append", fault_first)
        assert _received(url, queue) == "connection lost"
    assert [len(kept) for kept in broker._kept.values()] == [1]
    _recover(private_redis)
    body, redelivered = _received(url, queue)
    assert (body, redelivered) == ({"n": 1}, True)
    assert all(kept == [] for kept in broker._kept.values())
    with redis.Redis.from_url(private_redis.url) as client:
        assert client.llen(queue.name) == 0 and client.hlen("unacked") == 0  # taken once, acknowledged


def _received(url: str, queue: kombu.Queue):
    """The first message a consumer takes from the queue (acknowledged) and whether it was redelivered, or
    what stopped it."""
    received = []

    def take(body, message):
        received.append((body, message.delivery_info.get("redelivered", False)))
        message.ack()

    connection = kombu.Connection(url)
    try:
        with connection.Consumer(queue, callbacks=[take]):
            connection.drain_events(timeout=5)
    except TimeoutError:  # before connection errors: kombu counts every OSError as one
        return "nothing came"
    except redis.exceptions.ConnectionError:
        return "connection lost"
    finally:
        ignore_errors(connection, connection.close)
    return received[0]


def test_ingest_and_the_workers_use_the_same_database_behind_a_unix_socket(tmp_path, private_redis):
    """redis-py reads a unix URL's database from `db`, kombu's redis+socket:// from `virtual_host`: broker_url
    translates, so that what ingest pushes with redis-py is what the workers' kombu consumer takes."""
    settings = Settings(home=tmp_path, redis_url=f"unix://{private_redis.socket}?db=3")
    TaskQueue(redis.Redis.from_url(redis_url(settings)), task_sender_app()).send("xcfb.process_event", ["{}"])
    args, _kwargs, _embed = _received(broker_url(settings), kombu.Queue("xcfb"))[0]
    assert args == ["{}"]
