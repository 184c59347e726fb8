"""The whole service on one machine, for the demo and the fault suite: the FreshBooks sandbox, the X-Cart
store simulator (REST API + webhook sender), the ingest endpoint, Celery workers and beat as real
processes, over REDIS_URL / DATABASE_URL or the embedded defaults."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from flask import Flask, request
from sqlalchemy.engine import make_url

from core.embedded import embedded_redis_socket, stop_embedded_redis
from core.settings import Settings
from harness.books_check import BooksReport, check_books, held_as_duplicates
from harness.tcp_proxy import TcpProxy
from ingest.app import create_app as create_ingest
from runtime import bootstrap, metrics
from runtime.bootstrap import Services
from sandboxes.freshbooks.app import SandboxConfig, sandbox_of
from sandboxes.freshbooks.app import create_app as create_freshbooks
from sandboxes.freshbooks.oauth import OAuthSettings
from sandboxes.serve import SANDBOX_THREADS, BackgroundServer
from sandboxes.xcart.app import create_app as create_store
from sandboxes.xcart.app import store_of
from sandboxes.xcart.store import StoreConfig
from sandboxes.xcart.webhooks import DeliveryOptions, WebhookSender
from store import assistants, ledger
from store.models import Base

ACCESS_TOKEN = "stage-access-token"  # noqa: S105 - accepted by the stage's own FreshBooks sandbox only
XCART_TOKEN = "xcart-sandbox-token"  # noqa: S105 - the store simulator's published token
WORK_QUEUES = ("xcfb", "xcfb.chain")  # celeryconfig.task_queues: the events queue, the chain queue
WORKER_LOG_LEVEL = "INFO"  # the Procfile's: Celery logs each task received and done
QUEUE_KEYS = (*WORK_QUEUES, "unacked", "unacked_index", "unacked_mutex")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

AFTER_SALES = 0.2  # the share of paid orders the store later refunds or cancels


class Stage:
    def __init__(self, home: Path, *, seed: int = 1, customers: int = 40, products: int = 25, workers: int = 1,
                 concurrency: int = 8, beat: bool = False, proxy_database: bool = False, tuning: dict | None = None,
                 anomalies: float = 0.0, anomalies_after: int = 0, pool: str = "threads"):
        self.home = home
        self.seed = seed
        self._worker_count, self._concurrency, self._with_beat = workers, concurrency, beat
        self._tuning = tuning or {}
        self._pool = pool  # Celery's --pool: threads, or gevent (bench/pool_load.py compares them)
        self.worker_env: dict[str, str] = {}  # added to the environment of the processes started from now on
        self.alerts: list[dict] = []
        self.workers: list[subprocess.Popen] = []
        self.beat: subprocess.Popen | None = None
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        self._previous_home = os.environ.get("XCFB_HOME")
        os.environ["XCFB_HOME"] = str(home)  # before celeryconfig is read: one embedded Redis for every part
        self.freshbooks_server = BackgroundServer(create_freshbooks(SandboxConfig(oauth=OAuthSettings(
            static_tokens=(ACCESS_TOKEN,)))), threads=SANDBOX_THREADS)
        # a fifth of paid orders give money back later (refunds, several, cancellations): credit notes in the books
        self.store_app = create_store(StoreConfig(seed=seed, customers=customers, products=products,
                                                  anomalies=anomalies, anomalies_after=anomalies_after,
                                                  after_sales=AFTER_SALES))
        self.store = store_of(self.store_app)
        self.xcart_server = BackgroundServer(self.store_app)
        self.alert_server = BackgroundServer(self._alert_receiver())
        self.secret = f"whsec_stage_{seed}"
        self.settings = Settings.from_env().replace(home=home, freshbooks_api_url=self.freshbooks_server.url,
                                                    freshbooks_account_id="SANDBOX1",
                                                    freshbooks_access_token=ACCESS_TOKEN,
                                                    xcart_webhook_secrets=(self.secret,),
                                                    xcart_api_url=f"{self.xcart_server.url}/api",
                                                    xcart_api_token=XCART_TOKEN,
                                                    alert_webhook_url=f"{self.alert_server.url}/alerts",
                                                    catch_up_start=90 * 86400.0, **self._tuning)
        self.services = Services(self.settings)
        self.proxy = _database_proxy(self.settings.database_url) if proxy_database else None
        self.sandbox = sandbox_of(self.freshbooks_server.app)
        # every server made, started or not: each one's threads run from when it is made (sandboxes/serve.py)
        self._servers: list[BackgroundServer] = [self.freshbooks_server, self.xcart_server, self.alert_server]

    # -- running ---------------------------------------------------------------------------------------------

    def start(self) -> Stage:
        """Starts every part; raises BrokerUnusable (with nothing left running) when the broker can never work."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        bootstrap.use(self.services)
        broker = bootstrap.broker_url(self.settings)  # starts the embedded Redis unless REDIS_URL is set
        bootstrap.check_broker(broker)
        self._clean_slate()
        from workers.app import app as celery_app

        use_broker(celery_app, broker)
        self.ingest_server = BackgroundServer(create_ingest(self.services))
        self._servers.append(self.ingest_server)
        for server in self._servers:
            server.start()
        for n in range(self._worker_count):  # one by one: a signal now still finds every started worker
            self.workers.append(self._start_worker(n))
        if self._with_beat:
            self.beat = self._spawn(["beat", "--schedule", str(self.home / "beat-schedule")], "beat.log")

    def stop(self) -> None:
        """Stops what started, in any state of a start (also from a signal): no process is left running."""
        with _deaf_to_stop_signals():
            self._stop()

    def _stop(self) -> None:
        for process in [*self.workers, *([self.beat] if self.beat else [])]:
            _terminate(process)
        while self._servers:
            self._servers.pop().stop()
        if self.proxy:
            self.proxy.close()
        bootstrap.use(None)
        if not self.settings.redis_url:
            stop_embedded_redis(self.home)
        if self._previous_home is None:
            os.environ.pop("XCFB_HOME", None)
        else:
            os.environ["XCFB_HOME"] = self._previous_home

    def __enter__(self) -> Stage:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def sender(self, **options) -> WebhookSender:
        return WebhookSender(f"{self.ingest_server.url}/webhooks/xcart", [self.secret],
                             DeliveryOptions(**{"backoff": 0.2, **options}), seed=self.seed)

    def send_store_webhooks(self) -> WebhookSender:
        """From now on every save through the store's REST API is sent to ingest as a webhook, as X-Cart's add-on
        sends each one: a person's edits, and the service's own writes (whose echo it must recognise)."""
        live = self.store_app.extensions.get("xcart_sender") or self.sender()
        self.store_app.extensions["xcart_sender"] = live
        return live

    def events(self, orders: int) -> list[dict]:
        return list(self.store.events) + self.store.place_orders(orders)

    def kill_worker(self, index: int) -> None:
        self.workers[index].send_signal(signal.SIGKILL)
        self.workers[index].wait(timeout=30)

    def restart_worker(self, index: int) -> None:
        self.workers[index] = self._start_worker(index)

    def restart_workers(self) -> None:
        """Stops every worker (a warm shutdown: running tasks finish) and starts them again, with worker_env."""
        for index, worker in enumerate(self.workers):
            _terminate(worker)
            self.restart_worker(index)

    def send(self, name: str, args: list) -> None:
        """Sends a task the way ingest and the CLI do (e.g. for operations.replay)."""
        from workers.app import app as celery_app

        celery_app.send_task(name, args=args)

    def queued(self) -> int:
        """Tasks waiting in the broker, in every queue the workers read (celeryconfig.task_queues)."""
        return sum(self.services.redis.llen(key) for key in WORK_QUEUES)

    def restart_redis(self, down_seconds: float = 0.0) -> None:
        """The embedded redis-server is stopped (it writes its append-only file), stays down for a while and
        starts again on the same directory: queued tasks, deduplication keys and locks survive, every
        connection is cut. A server of REDIS_URL is not ours to restart: every client connection to it is
        cut instead, which is what a restart looks like to the workers."""
        if self.settings.redis_url:
            for kind in ("normal", "pubsub"):
                self.services.redis.client_kill_filter(_type=kind, skipme=True)
        else:
            stop_embedded_redis(self.home)
            time.sleep(down_seconds)
            embedded_redis_socket(self.home)

    # -- observing -------------------------------------------------------------------------------------------

    def in_flight(self) -> int:
        counts = ledger.counts_by_status(self.services.sessions)
        return counts.get("received", 0) + counts.get("processing", 0)

    def unfinished(self, sender: WebhookSender, counts: dict[str, int] | None = None) -> int:
        """Events accepted by ingest and not yet finished: recorded and in flight, or still in the broker's queue
        (those `sender` had accepted and no event row yet stands for)."""
        counts = ledger.counts_by_status(self.services.sessions) if counts is None else counts
        not_yet_recorded = sender.report()["answers"].get(202, 0) - sum(counts.values())
        return counts.get("received", 0) + counts.get("processing", 0) + max(not_yet_recorded, 0)

    def books(self) -> BooksReport:
        return check_books(self.store, self.sandbox, self.services.rules, held_as_duplicates(self.services.sessions),
                           self.held_anomalies())

    def held_anomalies(self) -> set[int]:
        """Orders carrying an injected anomaly that the anomaly check holds for a person: rightly not booked."""
        held = {order_id for order_id, found in assistants.flagged_orders(self.services.sessions, "anomaly").items()
                if any(f.holds_the_order for f in found)}
        return held & set(self.store.labels())

    def converge(self, timeout: float, started: float) -> tuple[bool, float]:
        """Waits until nothing is in flight and FreshBooks holds exactly the right books."""
        while True:
            if self.in_flight() == 0 and self.books().correct:
                return True, time.monotonic() - started
            if time.monotonic() - started > timeout:
                return False, time.monotonic() - started
            time.sleep(0.5)

    def retries(self) -> int:
        return self.counted("retries")

    def counted(self, metric: str) -> int:
        """A counter of xcfb/metrics.py, summed over its labels."""
        return sum(int(v) for k, v in self.services.redis.hgetall(metrics.COUNTERS).items()
                   if k.decode().startswith(metric + "|"))

    # -- plumbing --------------------------------------------------------------------------------------------

    def _clean_slate(self) -> None:
        with self.services.engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())
        r = self.services.redis
        for key in [*QUEUE_KEYS, *r.scan_iter("xcfb:*")]:
            r.delete(key)

    def _start_worker(self, index: int) -> subprocess.Popen:
        return self._spawn(["worker", "--pool", self._pool, "--concurrency", str(self._concurrency), "--hostname",
                            f"worker{index}@%h", "--without-gossip", "--without-mingle"], f"worker{index}.log")

    def _spawn(self, args: list[str], log_name: str) -> subprocess.Popen:
        log = open(self.home / log_name, "a")  # noqa: SIM115 - handed to the process
        return subprocess.Popen(  # noqa: S603 - our own interpreter and fixed celery arguments
            [sys.executable, "-m", "celery", "-A", "workers", *args, "--loglevel", WORKER_LOG_LEVEL],
            env=self._process_env(), stdout=log, stderr=subprocess.STDOUT)

    def _process_env(self) -> dict:
        env = {**os.environ, **self.settings.as_environment(), **self.worker_env}
        if self.proxy:
            url = make_url(bootstrap.database_url(self.settings)).set(host="127.0.0.1", port=self.proxy.port)
            env["DATABASE_URL"] = url.render_as_string(hide_password=False)
        return env

    def _alert_receiver(self) -> Flask:
        app = Flask("alerts")
        lock = threading.Lock()

        @app.post("/alerts")
        def alerts():
            with lock:
                self.alerts.append(request.get_json())
            return "", 204
        return app


class Interrupted(BaseException):
    """SIGTERM or SIGINT: raised in the main thread so that every `with Stage` on the way out stops its parts."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextmanager
def stopping_on_signals():
    """Turns SIGTERM and SIGINT into Interrupted for the duration: without it SIGTERM kills this process at
    once and leaves its workers and the embedded redis-server running."""
    def interrupt(signum, _frame):
        for each in STOP_SIGNALS:  # until the clean-up, which ignores them itself
            signal.signal(each, signal.SIG_IGN)
        raise Interrupted(signum)

    previous = {each: signal.signal(each, interrupt) for each in STOP_SIGNALS}
    try:
        yield
    finally:
        for each, handler in previous.items():
            signal.signal(each, handler)


@contextmanager
def _deaf_to_stop_signals():
    """A second Ctrl+C or SIGTERM must not cut the clean-up short (signals reach the main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {each: signal.signal(each, signal.SIG_IGN) for each in STOP_SIGNALS}
    try:
        yield
    finally:
        for each, handler in previous.items():
            signal.signal(each, handler)


def use_broker(celery_app, url: str) -> None:
    """Points this process's Celery app at a broker (the fault suite gives every scenario its own Redis)."""
    if celery_app.conf.broker_url == url:
        return
    celery_app.conf.broker_url = url
    # kombu keeps one connection pool per broker URL for the whole process, shared by every Celery app in
    # it, and the app's pool *is* that one: closing it (or kombu.pools.reset()) left a closed pool that a
    # later scenario coming back to that URL, or another app of the process, was handed ("Acquire on closed
    # pool": every webhook 503). So nothing is closed: the app forgets its pool and producers and takes the
    # new URL's; a pooled connection a broker restart cut reconnects when next used.
    celery_app._after_fork()


def _database_proxy(database_url: str | None) -> TcpProxy | None:
    if not database_url or not database_url.startswith("postgres"):
        return None  # SQLite: the fault suite holds an exclusive lock instead
    url = make_url(database_url)
    return TcpProxy(url.host or "127.0.0.1", url.port or 5432)


def _terminate(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
