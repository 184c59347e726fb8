"""The task messages ingest pushes itself (ingest/queueing.py) against what Celery's `send_task` pushes, over a real
Redis: the same message field by field but the ids, on the same list; and an accepted event is marked seen and
queued in one step or not at all."""

import base64
import json
import time

import pytest
import redis

from core.settings import Settings
from ingest.queueing import TaskQueue, UnsupportedSettings
from runtime.bootstrap import broker_url, task_sender_app
from store import accepted

QUEUES = ("xcfb", "xcfb.chain")
FRESH_IDS = {("headers", "id"), ("headers", "root_id"), ("properties", "correlation_id"),
             ("properties", "delivery_tag")}


@pytest.fixture
def app(tmp_path, redis_url, redis_client):
    app = task_sender_app()
    app.conf.broker_url = broker_url(Settings(home=tmp_path, redis_url=redis_url))
    app.conf.task_send_sent_event = False  # as ingest sent them
    redis_client.delete(*QUEUES)
    yield app
    redis_client.delete(*QUEUES)
    app.close()


def _taken(client: redis.Redis) -> dict[str, list[dict]]:
    return {queue: [json.loads(m) for m in client.lrange(queue, 0, -1)] for queue in QUEUES if client.llen(queue)}


def _without_fresh_ids(message: dict) -> dict:
    return {part: ({k: v for k, v in value.items() if (part, k) not in FRESH_IDS} if isinstance(value, dict)
                   else value) for part, value in message.items()}


@pytest.mark.parametrize(("name", "args"), [("xcfb.process_event", ['{"id": "evt_1", "data": {"é": 1.10}}']),
                                            ("xcfb.freshbooks_event", [{"name": "client.update", "object_id": "7"}]),
                                            ("xcfb.create_invoice", [5012, None])])
def test_the_message_is_the_one_send_task_pushes(app, redis_client, name, args):
    app.send_task(name, args=args)
    by_celery = _taken(redis_client)
    redis_client.delete(*QUEUES)
    TaskQueue(redis_client, app).send(name, args)
    ours = _taken(redis_client)
    assert by_celery.keys() == ours.keys() and len(next(iter(ours.values()))) == 1
    [queue] = ours
    theirs, mine = by_celery[queue][0], ours[queue][0]
    assert _without_fresh_ids(mine) == _without_fresh_ids(theirs)
    assert mine["headers"]["id"] == mine["headers"]["root_id"] == mine["properties"]["correlation_id"]
    assert json.loads(base64.b64decode(mine["body"]))[0] == args


def test_an_event_is_marked_seen_and_queued_together_and_only_once(app, redis_client):
    tasks = TaskQueue(redis_client, app)
    fields = ("xcfb:test:seen:evt_1", 60, "xcfb:test:counters", "accepted", "duplicate")
    assert tasks.accept_event(*fields, '{"id": "evt_1"}') is True
    assert tasks.accept_event(*fields, '{"id": "evt_1"}') is False
    [message] = _taken(redis_client)["xcfb"]
    assert message["headers"]["task"] == "xcfb.process_event"
    assert json.loads(base64.b64decode(message["body"]))[0] == ['{"id": "evt_1"}']
    assert redis_client.ttl("xcfb:test:seen:evt_1") > 0
    assert redis_client.hgetall("xcfb:test:counters") == {b"accepted": b"1", b"duplicate": b"1"}


def test_a_broker_that_does_not_answer_is_an_error_and_nothing_is_marked(app, redis_client):
    down = TaskQueue(redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1), app)
    with pytest.raises(redis.ConnectionError):
        down.accept_event("xcfb:test:seen:evt_2", 60, "xcfb:test:counters", "accepted", "duplicate", "{}")
    assert not redis_client.exists("xcfb:test:seen:evt_2")


def test_a_wrong_typed_queue_key_fails_the_event_with_nothing_written(app, redis_client):
    """Redis does not undo a script that fails half-way: the push is its first write, so a failure leaves no
    SEEN key behind (the sender's retry must not be answered 'duplicate')."""
    redis_client.set("xcfb", "not a list")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        TaskQueue(redis_client, app).accept_event("xcfb:test:seen:evt_3", 60, "xcfb:test:counters", "accepted",
                                                  "duplicate", "{}")
    assert not redis_client.exists("xcfb:test:seen:evt_3")


def test_a_broken_counter_costs_a_count_not_the_event(app, redis_client):
    redis_client.set("xcfb:test:counters", "not a hash")
    tasks = TaskQueue(redis_client, app)
    fields = ("xcfb:test:seen:evt_4", 60, "xcfb:test:counters", "accepted", "duplicate")
    assert tasks.accept_event(*fields, '{"id": "evt_4"}') is True
    assert tasks.accept_event(*fields, '{"id": "evt_4"}') is False
    assert len(_taken(redis_client)["xcfb"]) == 1 and redis_client.exists("xcfb:test:seen:evt_4")


@pytest.mark.parametrize(("setting", "value"), [("task_compression", "gzip"), ("task_serializer", "pickle"),
                                                ("task_default_priority", 5)])
def test_settings_the_message_would_not_carry_are_refused_at_start(app, setting, value):
    setattr(app.conf, setting, value)
    with pytest.raises(UnsupportedSettings, match=setting):
        TaskQueue(redis.Redis(), app)


def test_an_accepted_events_message_is_kept_till_recorded_and_sent_again_when_the_broker_lost_it(app, redis_client):
    """store/accepted.py: kombu's BRPOP takes a message off its list, and a reply lost as Redis shuts down leaves it
    nowhere. The message kept beside it is sent again by the stuck-event sweep, the very same, on the same list; not
    while a message that may still bring the event is in the broker, and not without end."""
    redis_client.delete(accepted.ACCEPTED, accepted.ACCEPTED_AT, accepted.RESENDS, accepted.UNACKED)
    tasks = TaskQueue(redis_client, app)
    fields = ("xcfb:test:seen:evt_5", 60, "xcfb:test:counters", "accepted", "duplicate")
    assert tasks.accept_event(*fields, '{"id": "evt_5"}', "evt_5") is True
    [queued] = redis_client.lrange("xcfb", 0, -1)
    assert accepted.waiting(redis_client) == 1
    assert accepted.resend_lost(redis_client, time.time() - 60, 2) == ([], [])  # accepted too recently
    assert accepted.resend_lost(redis_client, time.time() + 1, 2) == ([], [])  # old, but waiting in its queue
    redis_client.rpop("xcfb")  # taken by a worker...
    redis_client.hset(accepted.UNACKED, "tag-1", json.dumps([json.loads(queued), "", "xcfb"]))
    assert accepted.resend_lost(redis_client, time.time() + 1, 2) == ([], [])  # ...which holds it
    redis_client.delete(accepted.UNACKED)  # or a BRPOP whose reply never reached the worker: nowhere now
    assert accepted.resend_lost(redis_client, time.time() + 1, 2) == (["evt_5"], [])
    assert redis_client.lrange("xcfb", 0, -1) == [queued]
    assert accepted.resend_lost(redis_client, time.time() - 1, 2) == ([], [])  # its time counts again from now
    redis_client.rpop("xcfb")
    assert accepted.resend_lost(redis_client, time.time() + 1, 2) == (["evt_5"], [])
    redis_client.rpop("xcfb")  # lost again: sent twice, the most it is
    assert accepted.resend_lost(redis_client, time.time() + 1, 2) == ([], ["evt_5"])
    assert redis_client.llen("xcfb") == 0 and accepted.waiting(redis_client) == 1  # kept for a person
    accepted.forget(redis_client, "evt_5")  # a worker recorded it
    assert accepted.waiting(redis_client) == 0 and redis_client.hlen(accepted.ACCEPTED) == 0
    assert not redis_client.exists(accepted.RESENDS)
    assert accepted.resend_lost(redis_client, time.time() + 1, 2) == ([], [])
    assert tasks.accept_event(*fields, '{"id": "evt_5"}', "evt_5") is False  # a duplicate keeps nothing
    assert accepted.waiting(redis_client) == 0
