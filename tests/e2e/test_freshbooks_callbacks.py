"""FreshBooks webhook callbacks end to end: the service registers a callback with the FreshBooks sandbox, the
sandbox's verification reaches ingest over HTTP, a worker sends the verifier back, and only then are events
signed with it accepted. The verifier is a secret: with every logger at DEBUG it appears in no log record."""

import logging
import time

import pytest
from celery import signals
from sqlalchemy import select

from runtime import callbacks
from store.models import AuditEntry
from xcfb.cli import main


def wait_for(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not (outcome := condition()):
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)
    return outcome


@pytest.fixture
def every_log_record(caplog):
    """Keeps the worker from replacing the root logger's handlers (pytest's capture among them)."""
    def keep_logging_as_it_is(**kwargs):
        return None
    signals.setup_logging.connect(keep_logging_as_it_is)
    caplog.set_level(logging.DEBUG)
    yield caplog
    signals.setup_logging.disconnect(keep_logging_as_it_is)


def test_registered_callback_is_verified_via_ingest_and_a_worker_without_logging_its_verifier(
        pipeline_factory, fb_sandbox, every_log_record, capsys):
    caplog = every_log_record
    pipeline = pipeline_factory()
    svc = pipeline.services
    assert main(["callbacks", "register", "client", f"{pipeline.ingest_url}/webhooks/freshbooks"]) == 0
    callback_id = capsys.readouterr().out.split()[1]
    verifier = fb_sandbox.books.callback_secret(int(callback_id))["verifier"]

    trusted = wait_for(lambda: svc.redis.hget(callbacks.TRUSTED, callback_id))
    assert trusted.decode() == verifier
    assert svc.freshbooks.list_callbacks()[0]["verified"] is True
    assert not svc.redis.hexists(callbacks.PENDING, callback_id)

    client = svc.freshbooks.create_client({"email": "callback@example.com"})  # the sandbox notifies us
    with svc.sessions() as session:
        notice = wait_for(lambda: session.scalars(select(AuditEntry).where(AuditEntry.action == "notified")).first())
    assert (notice.object, notice.freshbooks_id) == ("client", client["id"])

    logged = caplog.text + "".join(repr(record.args) + repr(record.__dict__) for record in caplog.records)
    assert "Task xcfb.confirm_freshbooks_callback[" in logged  # the worker's records of the task were captured
    assert verifier not in logged
