"""Metrics shared by every process: counters live in one Redis hash (so gunicorn workers and Celery
workers add up), gauges are read from the database when /metrics is scraped."""

from __future__ import annotations

import logging
from statistics import quantiles

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from core import redis_keys
from store import ledger, reconcile_runs
from store.models import as_utc

log = logging.getLogger(__name__)
COUNTERS = redis_keys.METRICS
HELP = {
    "webhooks": "X-Cart webhook deliveries by outcome",
    "tasks": "Worker task runs by task and outcome",
    "retries": "Worker retries by task and reason",
    "dead_letters_created": "Events parked for a person, by kind",
    "events_coalesced": "Order events that rode on the order's chain already queued instead of sending their own",
    "accepted_resent": "Accepted events whose task the broker lost before a worker recorded them, sent again",
    "faults_injected": "Step exceptions injected by the fault suite (XCFB_INJECT_STEP_FAULTS), by task",
}


def counter_field(metric: str, **labels: str) -> str:
    """The field of COUNTERS that counts this metric with these labels."""
    return metric + "|" + ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def bump(redis_client, metric: str, by: int = 1, **labels: str) -> None:
    """Counts one occurrence (or `by`); a metrics failure never fails the work being counted."""
    field = counter_field(metric, **labels)
    try:
        redis_client.hincrby(COUNTERS, field, by)
    except Exception as exc:  # noqa: BLE001 - counting is best effort
        log.warning("metric %s not counted: %s", metric, type(exc).__name__)


class ServiceCollector(Collector):
    def __init__(self, services):
        self._services = services

    def collect(self):
        yield from self._counters()
        yield from self._database_gauges()

    def _counters(self):
        raw = self._services.redis.hgetall(COUNTERS)
        families: dict[str, CounterMetricFamily] = {}
        for field, value in raw.items():
            metric, _, labels = field.decode().partition("|")
            pairs = dict(part.split("=", 1) for part in labels.split(",") if part)
            family = families.get(metric)
            if family is None:
                family = families[metric] = CounterMetricFamily(f"xcfb_{metric}", HELP.get(metric, metric),
                                                                labels=sorted(pairs))
            family.add_metric([pairs[k] for k in sorted(pairs)], int(value))
        yield from families.values()

    def _database_gauges(self):
        sessions = self._services.sessions
        events = GaugeMetricFamily("xcfb_events", "Events by status", labels=["status"])
        for status, count in ledger.counts_by_status(sessions).items():
            events.add_metric([status], count)
        yield events
        letters = GaugeMetricFamily("xcfb_dead_letters", "Dead letters by kind and status", labels=["kind", "status"])
        for (kind, status), count in ledger.dead_letter_counts(sessions).items():
            letters.add_metric([kind, status], count)
        yield letters
        latency = GaugeMetricFamily("xcfb_sync_latency_seconds", "Webhook received to synced, last 1000 events",
                                    labels=["quantile"])
        samples = ledger.latencies(sessions)
        if len(samples) >= 2:
            cuts = quantiles(samples, n=100, method="inclusive")
            latency.add_metric(["0.5"], cuts[49])
            latency.add_metric(["0.95"], cuts[94])
        yield latency
        yield from _reconciliation_gauges(sessions)
        alerts = GaugeMetricFamily("xcfb_alerts_active", "Alerts raised and not cleared", labels=["alert"])
        prefix = redis_keys.ALERT.format(key="")
        for key in self._services.redis.scan_iter(prefix + "*"):
            alerts.add_metric([key.decode().removeprefix(prefix)], 1)
        yield alerts


def _reconciliation_gauges(sessions):
    """The latest reconciliation report: orders per class, and when it ran."""
    run = reconcile_runs.latest(sessions)
    orders = GaugeMetricFamily("xcfb_reconcile_orders", "Orders per class in the latest reconciliation",
                               labels=["class"])
    ran = GaugeMetricFamily("xcfb_reconcile_last_run_timestamp_seconds", "When the latest reconciliation ran")
    if run is not None:
        for klass, count in run.counts.items():
            orders.add_metric([klass], count)
        ran.add_metric([], as_utc(run.ran_at).timestamp())
    yield orders
    yield ran
