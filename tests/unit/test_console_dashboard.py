"""The dashboard's figures: events per status per minute drawn as bars, throughput and latency lines, queue
depth, FreshBooks reachability and active alerts, in the panel the page polls."""

from __future__ import annotations

import re
import time
from datetime import timedelta

from core import redis_keys
from store import ledger
from store.models import Event, utcnow
from tests.console_support import console_app, console_services, sign_in


def test_the_panel_draws_the_last_half_hour_and_says_what_is_wrong(tmp_path):
    svc = console_services(tmp_path)
    now = utcnow().replace(second=30, microsecond=0)  # the six events 2 min ago fall in one minute's bar
    with svc.sessions.begin() as session:
        for i, (status, took) in enumerate([("synced", 1.0), ("synced", 3.0), ("synced", 2.0), ("dead", None),
                                            ("review", None), ("processing", None)]):
            received = now - timedelta(minutes=2, seconds=i)
            session.add(Event(id=f"e{i}", type="order.created", entity_key=f"order:{i}", payload="{}", status=status,
                              attempts=1, requeues=0, received_at=received,
                              finished_at=received + timedelta(seconds=took) if took else None))
    ledger.dead_letter(svc.sessions, "e3", "invalid", "xcfb.process_event", "bad")
    svc.redis.rpush("xcfb", "task-1", "task-2")
    svc.redis.set(redis_keys.ALERT.format(key="freshbooks-unavailable"), "freshbooks unreachable for 130s")
    svc.redis.set(redis_keys.OUTAGE_SINCE.format(service="freshbooks"), time.time() - 130)
    client = console_app(svc).test_client()
    sign_in(client, "viewer")
    panel = client.get("/dashboard/panel").get_data(as_text=True)
    assert re.search(r'id="count-synced">3<', panel)
    assert "<b>1</b> in flight" in panel and "<b>2</b> queued tasks" in panel
    assert '<b>1</b> <a href="/dead-letters">open dead letters' in panel
    assert "<b>2.00s / 2.90s</b> latency p50 / p95" in panel
    assert "FreshBooks unreachable" in panel
    assert "<b>freshbooks-unavailable</b>: freshbooks unreachable for 130s" in panel
    bars = re.findall(r'class="s-(\w+)"><title>[^<]* (\w+): (\d+)</title>', panel)
    assert sorted((status, int(n)) for _, status, n in bars) == [("dead", 1), ("processing", 1), ("review", 1),
                                                                 ("synced", 3)]
    assert panel.count('class="line l-p95"') == 1 and panel.count('class="line l-synced"') == 1
    page = client.get("/").get_data(as_text=True)
    assert 'data-refresh="/dashboard/panel"' in page and "console.js" in page  # the page polls the panel
