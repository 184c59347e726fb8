"""A task runs on one rule version: a promotion landing while a step runs is seen by the next task, never half-way
through the step (workers/task_services.py, applied by workers/tasks.guarded)."""

from __future__ import annotations

from pathlib import Path

import fakeredis
import pytest

from core.settings import Settings
from runtime import bootstrap
from runtime.bootstrap import Services
from store import rulebook
from tests.unit.test_failures import FakeTask
from workers import tasks

DEFAULT_RULES = (Path(__file__).parents[2] / "mappings" / "default_rules.yaml").read_text()


@pytest.fixture
def svc(tmp_path):
    services = Services(Settings(home=tmp_path, environment="prod", rules_refresh_seconds=0.0))
    services.redis = fakeredis.FakeRedis()
    bootstrap.use(services)
    yield services
    bootstrap.use(None)


def version(svc, create_as: str) -> int:
    text = DEFAULT_RULES.replace("create_as: sent ", f"create_as: {create_as} ", 1)
    assert f"create_as: {create_as} " in text
    return rulebook.save_version(svc.sessions, text, "admin@example.com", f"invoices {create_as}", None).id


def test_a_promotion_landing_mid_step_is_not_seen_until_the_next_task(svc):
    sent, draft = version(svc, "sent"), version(svc, "draft")
    rulebook.pin(svc.sessions, "prod", sent, "promote", "admin@example.com")
    seen = []

    def step(ports):  # reads the rules, a promotion lands, reads them again (as a step's helpers do)
        seen.append(ports.rules.create_as)
        rulebook.pin(svc.sessions, "prod", draft, "promote", "admin@example.com")
        seen.append(svc.rules.create_as)  # the process's services already moved to the new version...
        seen.append(ports.rules.create_as)  # ...the step's did not
        return ports.rules

    first = tasks.guarded(FakeTask(), "evt-1", step)
    assert seen == ["sent", "draft", "sent"]
    assert first.create_as == "sent"
    assert tasks.guarded(FakeTask(), "evt-2", lambda ports: ports.rules).create_as == "draft"  # the next task


def test_a_step_sees_every_other_service_as_the_process_holds_it(svc):
    def step(ports):
        return ports.sessions, ports.redis, ports.settings

    assert tasks.guarded(FakeTask(), None, step) == (svc.sessions, svc.redis, svc.settings)
