"""Every FreshBooks answer goes through runtime/alerts.FreshBooksWatch: an accepted request clears the outage and
auth alerts (announced once each) and stamps the last success, in one Redis round trip, each write on its own."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import fakeredis
from redis.exceptions import ResponseError

from apis.freshbooks.errors import AuthFailed, Unavailable
from core import redis_keys
from runtime.alerts import FreshBooksWatch

OUTAGE_ALERT = redis_keys.ALERT.format(key="freshbooks-unavailable")
AUTH_ALERT = redis_keys.ALERT.format(key="freshbooks-auth")
SINCE = redis_keys.OUTAGE_SINCE.format(service="freshbooks")
DOWN = Unavailable("503", may_have_reached_server=False)


class OutOfMemory(fakeredis.FakeRedis):
    """Refuses SET in pipelines, as Redis over maxmemory under noeviction does (DEL still runs)."""

    def pipeline(self, transaction=True, shard_hint=None):
        pipe = super().pipeline(transaction, shard_hint)
        execute = pipe.execute

        def refusing(raise_on_error=True):
            refused = [str(args[0]).upper() == "SET" for args, _ in pipe.command_stack]
            pipe.command_stack = [c for c, no in zip(pipe.command_stack, refused, strict=True) if not no]
            answers = iter(execute(raise_on_error=raise_on_error))
            answered = [ResponseError("OOM command not allowed") if no else next(answers) for no in refused]
            if raise_on_error and any(refused):  # redis-py runs every command, then raises the first error
                raise next(a for a in answered if isinstance(a, ResponseError))
            return answered
        pipe.execute = refusing
        return pipe


def watch(client) -> FreshBooksWatch:
    return FreshBooksWatch(SimpleNamespace(redis=client, settings=SimpleNamespace(alert_webhook_url=None)), 0)


def test_an_accepted_request_clears_both_alerts_and_stamps_the_last_success(caplog):
    client = fakeredis.FakeRedis()
    observe = watch(client)
    observe(DOWN)  # the outage starts, and at threshold 0 its alert is raised at once
    client.set(AUTH_ALERT, "refused")
    assert client.exists(OUTAGE_ALERT, SINCE) == 2
    with caplog.at_level(logging.WARNING, "xcfb.alerts"):
        observe(None)
        observe(None)
    assert client.exists(OUTAGE_ALERT, AUTH_ALERT, SINCE) == 0
    assert client.get(redis_keys.FRESHBOOKS_LAST_SUCCESS)
    cleared = [r.getMessage() for r in caplog.records if "cleared" in r.getMessage()]
    assert len(cleared) == 2 and any("freshbooks-unavailable" in m for m in cleared) \
        and any("freshbooks-auth" in m for m in cleared)  # once each, not again on the second answer


def test_a_refused_stamp_still_clears_and_announces_the_alerts(caplog):
    client = OutOfMemory()
    observe = watch(client)
    observe(DOWN)
    client.set(AUTH_ALERT, "refused")
    with caplog.at_level(logging.WARNING, "xcfb.alerts"):
        observe(None)
    assert client.exists(OUTAGE_ALERT, AUTH_ALERT, SINCE) == 0
    assert not client.get(redis_keys.FRESHBOOKS_LAST_SUCCESS)
    messages = [r.getMessage() for r in caplog.records]
    assert sum("cleared" in m for m in messages) == 2 and any("refused a write (ResponseError)" in m for m in messages)


def test_a_refusal_raises_the_auth_alert_and_ends_the_outage():
    client = fakeredis.FakeRedis()
    observe = watch(client)
    observe(DOWN)
    observe(AuthFailed("token revoked"))
    assert client.exists(SINCE, OUTAGE_ALERT) == 0 and b"token revoked" in client.get(AUTH_ALERT)
