"""The dashboard: events per status over time, throughput, latency, queue depth, FreshBooks and alerts.
The page polls /dashboard/panel every few seconds (static/console.js) and swaps it in."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from statistics import quantiles

from flask import Blueprint, render_template
from sqlalchemy import select

from console import charts
from console.auth import svc
from core import redis_keys
from runtime.alerts import last_success
from store import ledger
from store.models import Event, as_utc

bp = Blueprint("dashboard", __name__)
STATUSES = ("synced", "review", "dead", "skipped", "processing", "received")
MINUTES = 30
QUEUE = "xcfb"  # celeryconfig.task_default_queue


@bp.route("/")
def index():
    return render_template("dashboard.html", **figures())


@bp.route("/dashboard/panel")
def panel():
    return render_template("dashboard_panel.html", **figures())


def figures() -> dict:
    services = svc()
    now = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    start = now - timedelta(minutes=MINUTES)
    with services.sessions() as session:
        rows = session.execute(select(Event.status, Event.received_at, Event.finished_at)
                               .where(Event.received_at >= start)).all()
    labels = [f"{start + timedelta(minutes=i):%H:%M}" for i in range(MINUTES)]
    by_status: list[dict[str, int]] = [{} for _ in range(MINUTES)]
    synced = [0] * MINUTES
    took: list[list[float]] = [[] for _ in range(MINUTES)]
    for status, received, finished in rows:
        i = _minute(as_utc(received), start)
        if 0 <= i < MINUTES:
            by_status[i][status] = by_status[i].get(status, 0) + 1
        if status == "synced" and finished is not None:
            j = _minute(as_utc(finished), start)
            if 0 <= j < MINUTES:
                synced[j] += 1
                took[j].append((as_utc(finished) - as_utc(received)).total_seconds())
    p50, p95 = [_cut(t, 49) for t in took], [_cut(t, 94) for t in took]
    all_latencies = ledger.latencies(services.sessions)
    return {
        "counts": ledger.counts_by_status(services.sessions),
        "open_letters": sum(n for (_, status), n in ledger.dead_letter_counts(services.sessions).items()
                            if status == "open"),
        "status_chart": charts.stacked_bars(by_status, STATUSES, labels),
        "throughput_chart": charts.lines({"synced": [float(n) for n in synced]}, labels, "/min"),
        "latency_chart": charts.lines({"p50": p50, "p95": p95}, labels, "s"),
        "latency_now": {"p50": _cut(all_latencies, 49), "p95": _cut(all_latencies, 94)},
        "queue_depth": _safe(lambda: services.redis.llen(QUEUE)),
        "freshbooks": _freshbooks(services),
        "alerts": _safe(lambda: _alerts(services)) or [],
        "statuses": STATUSES,
        "updated": datetime.now(UTC),
    }


def _minute(moment: datetime, start: datetime) -> int:
    return int((moment - start).total_seconds() // 60)


def _cut(samples: list[float], index: int) -> float | None:
    if not samples:
        return None
    if len(samples) == 1:
        return samples[0]
    return quantiles(samples, n=100, method="inclusive")[index]


def _safe(read):
    """Redis down must not take the dashboard with it: the figure shows as unknown."""
    try:
        return read()
    except Exception:  # noqa: BLE001 - any Redis failure
        return None


def _alerts(services) -> list[dict]:
    prefix = redis_keys.ALERT.format(key="")
    found = []
    for key in services.redis.scan_iter(prefix + "*"):
        message = services.redis.get(key)
        found.append({"name": key.decode().removeprefix(prefix), "message": (message or b"").decode()})
    return sorted(found, key=lambda a: a["name"])


def _freshbooks(services) -> dict:
    since = _safe(lambda: services.redis.get(redis_keys.OUTAGE_SINCE.format(service="freshbooks")))
    success = _safe(lambda: last_success(services))
    if since:
        return {"state": "unreachable", "since": datetime.fromtimestamp(float(since), UTC),
                "for_seconds": time.time() - float(since), "last_success": success}
    return {"state": "reachable" if success else "no call yet", "last_success": success}
