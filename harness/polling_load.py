"""What catch-up polling costs the store: the X-Cart REST requests the poller makes, counted by the store
simulator, over polls with nothing new (idle) and polls with orders placed between them (load). The bench
(bench/catch_up_requests.py) prints them per hour; a test holds the idle figure.

Events the poller sends are taken in the way a worker takes them (recorded, then the order or payment kept),
without running the FreshBooks chain: what the poller asks of X-Cart depends only on what it has seen."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from core.settings import Settings
from runtime.bootstrap import Services
from sandboxes.serve import BackgroundServer
from sandboxes.xcart.app import create_app, store_of
from sandboxes.xcart.store import StoreConfig
from store import snapshots
from store.models import utcnow
from workers import events
from workers.catch_up import catch_up

COLLECTIONS = ("orders", "profiles", "products")


@dataclass
class PollingLoad:
    """X-Cart requests per poll, one entry per poll."""
    idle: list[int] = field(default_factory=list)
    load: list[int] = field(default_factory=list)
    orders_per_poll: int = 0

    def per_hour(self, requests: list[int], interval: float) -> float:
        return sum(requests) / len(requests) * 3600 / interval


def measure(home: Path, idle_polls: int = 10, load_polls: int = 10, orders_per_poll: int = 5,
            overlap: float = 600.0) -> PollingLoad:
    app = create_app(StoreConfig(seed=7, customers=12, products=10, live_clock=True))
    store = store_of(app)
    with BackgroundServer(app) as xcart:
        svc = Services(Settings(home=home, database_url=f"sqlite:///{home / 'polling-load.sqlite3'}",
                                xcart_api_url=f"{xcart.url}/api", xcart_api_token=store.config.api_token,
                                catch_up_overlap=overlap))
        start = utcnow() - timedelta(seconds=1)
        for collection in COLLECTIONS:
            snapshots.set_checkpoint(svc.sessions, f"xcart:{collection}", start)

        def take_in(_task: str, args: list) -> None:
            event_id, fresh = events.receive(svc, args[0])
            if fresh:
                events.handle(svc, event_id)

        def poll() -> int:
            before = store.api_requests
            catch_up(svc, take_in)
            return store.api_requests - before

        result = PollingLoad(orders_per_poll=orders_per_poll)
        for _ in range(load_polls):
            store.place_orders(orders_per_poll)
            result.load.append(poll())
        for _ in range(idle_polls):  # right after the load: the overlap still lists its orders
            result.idle.append(poll())
        svc.engine.dispose()
    return result
