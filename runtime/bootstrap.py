"""The composition root: every process (ingest, workers, CLI, demo) builds its services here, from Settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import parse_qsl, urlencode, urlsplit

import kombu
import redis
from celery import Celery
from kombu.exceptions import OperationalError as KombuOperationalError
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from apis.freshbooks.client import DEFAULT_API_URL, FreshBooksClient, StaticToken, TokenSource
from apis.freshbooks.errors import AuthFailed
from apis.freshbooks.oauth import DEFAULT_AUTHORIZE_URL, OAuthApp, OAuthTokens, redis_refresh_lock
from apis.xcart.client import XCartClient
from core.embedded import embedded_redis_socket
from core.keyfile import key_from_file
from core.settings import Settings
from mappings.rules import Rules, load_rules
from runtime import exchange_rates
from runtime.alerts import FreshBooksWatch
from runtime.pinned_rules import PinnedRules
from runtime.webhook_secrets import CONNECTION, WebhookSecrets
from store.coalescing import Coalescing
from store.connections import ConnectionStore
from store.db import make_engine, migrate, session_factory
from store.locks import RedisLocks
from store.tokens import SqlTokenStore


def redis_url(settings: Settings) -> str:
    """For redis-py."""
    return settings.redis_url or f"unix://{embedded_redis_socket(settings.home)}"


def broker_url(settings: Settings) -> str:
    """For Celery: the same server and database, in kombu's spelling of a unix socket (redis+socket://, which
    reads the database from `virtual_host`, not redis-py's `db`: ingest pushes tasks with redis-py)."""
    url = redis_url(settings)
    if not url.startswith("unix://"):
        return url
    where, _, query = url.removeprefix("unix://").partition("?")
    query = urlencode([("virtual_host" if name == "db" else name, value) for name, value in parse_qsl(query)])
    return f"redis+socket://{where}" + (f"?{query}" if query else "")


class BrokerUnusable(RuntimeError):
    """The broker cannot be used for a reason retrying will not fix: refuse to start, say why."""


class BrokerUnavailable(RuntimeError):
    """The broker does not answer now (refused, unreachable, restarting): retry, it may come back."""


def check_broker(url: str, timeout: float = 5.0) -> None:
    """Probes the broker the way Celery reaches it (kombu, this URL) and raises BrokerUnusable or
    BrokerUnavailable, naming the fault and the URL without its password. The one probe for the demo,
    the worker and ingest."""
    where = _hide_password(url, url)
    if "://" not in url:
        raise BrokerUnusable(f"malformed broker URL {where!r}: expected scheme://...")
    try:
        _ping_broker(url, timeout)
    except ImportError as exc:  # e.g. kombu's Redis transport without its `packaging` dependency
        problem = BrokerUnusable(f"the broker transport for {where} cannot be loaded: {exc}; reinstall the "
                                 "service with its dependencies (pip install .)")
    except (KeyError, ValueError) as exc:  # an unknown transport, a port or database that is not a number
        problem = BrokerUnusable(f"malformed broker URL {where}: {exc}")
    except redis.AuthenticationError as exc:  # NOAUTH, WRONGPASS: the server is there and refuses us
        problem = BrokerUnusable(f"the broker at {where} refused authentication ({exc}): check the password in "
                                 "REDIS_URL")
    except (OSError, redis.RedisError, KombuOperationalError) as exc:
        problem = BrokerUnavailable(f"the broker at {where} does not answer: {type(exc).__name__}: {exc}")
    else:
        return
    raise type(problem)(_hide_password(str(problem), url))


def _ping_broker(url: str, timeout: float) -> None:
    connection = kombu.Connection(url, connect_timeout=timeout, transport_options={"socket_timeout": timeout})
    try:
        connection.channel().client.ping()  # once: kombu's connect() retries, and counts a refused password in
    finally:
        connection.release()


def _hide_password(text: str, url: str) -> str:
    """The URL, or an error text quoting it (a parser's message may), without the password."""
    password = urlsplit(url).password
    return text.replace(password, "**") if password else text


def database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    settings.home.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{settings.home / 'xcfb.sqlite3'}"


@dataclass
class Services:
    settings: Settings
    _xcart_client: tuple[tuple[str, str], XCartClient] | None = field(default=None, init=False, repr=False)

    @cached_property
    def engine(self) -> Engine:
        engine = make_engine(database_url(self.settings))
        migrate(engine)
        return engine

    @cached_property
    def sessions(self) -> sessionmaker:
        return session_factory(self.engine)

    @cached_property
    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(redis_url(self.settings), socket_timeout=5, socket_connect_timeout=5)

    @property
    def rules(self) -> Rules:
        """The rule version pinned to this process's environment (XCFB_ENVIRONMENT) in the console, re-read
        every few seconds so that a promotion needs no restart; the rules file when nothing is pinned; with the
        ECB's exchange rates behind their fixed table when they ask for them (runtime/exchange_rates.py)."""
        fixed = self.__dict__.get("rules")  # rules set by hand (tests, the demo) win, as before
        return exchange_rates.with_rates(fixed if fixed is not None else self.pinned_rules.current(), self.sessions)

    @rules.setter
    def rules(self, replacement: Rules) -> None:
        self.__dict__["rules"] = replacement

    @cached_property
    def pinned_rules(self) -> PinnedRules:
        return PinnedRules(self.sessions, self.settings.environment, lambda: load_rules(self.settings.rules_path),
                           self.settings.rules_refresh_seconds)

    @cached_property
    def freshbooks(self) -> FreshBooksClient:
        observe = FreshBooksWatch(self, self.settings.outage_alert_seconds)
        # With OAuth, the account is the one chosen with `xcfb connect freshbooks`, unless set by name.
        connected = None if self.settings.freshbooks_access_token else self.connected_account_id
        return FreshBooksClient(self.tokens, base_url=self.settings.freshbooks_api_url,
                                account_id=self.settings.freshbooks_account_id, observer=observe,
                                find_account=connected)

    def connected_account_id(self) -> str | None:
        connection = self.connections.get("freshbooks")
        return connection.get("account_id") if connection else None

    @cached_property
    def oauth_app(self) -> OAuthApp | None:
        """The registered FreshBooks app (FRESHBOOKS_CLIENT_ID, _SECRET, _REDIRECT_URI), None when unset."""
        s = self.settings
        if not (s.freshbooks_client_id and s.freshbooks_client_secret and s.freshbooks_redirect_uri):
            return None
        real_api = s.freshbooks_api_url == DEFAULT_API_URL
        authorize_url = s.freshbooks_authorize_url or (DEFAULT_AUTHORIZE_URL if real_api
                                                       else f"{s.freshbooks_api_url}/oauth/authorize")
        return OAuthApp(s.freshbooks_client_id, s.freshbooks_client_secret.get_secret_value(),
                        s.freshbooks_redirect_uri, token_url=f"{s.freshbooks_api_url}/auth/oauth/token",
                        authorize_url=authorize_url)

    @cached_property
    def token_store(self) -> SqlTokenStore:
        """The OAuth pair `xcfb connect freshbooks` stored, encrypted with `secret_key`."""
        return SqlTokenStore(self.sessions, self.secret_key)

    @cached_property
    def tokens(self) -> TokenSource:
        s = self.settings
        if s.freshbooks_access_token:
            return StaticToken(s.freshbooks_access_token.get_secret_value())
        if self.oauth_app is not None:
            return OAuthTokens(self.oauth_app, self.token_store, redis_refresh_lock(self.redis))
        return _NotConfigured()

    @cached_property
    def secret_key(self) -> str:
        """Encrypts secrets at rest: XCFB_TOKEN_KEY, else the key file under XCFB_HOME (core/keyfile.py)."""
        key = self.settings.token_key
        return key.get_secret_value() if key else key_from_file(self.settings.home)

    @cached_property
    def connections(self) -> ConnectionStore:
        """Connections made with `xcfb connect` (store/connections.py), encrypted with `secret_key`."""
        return ConnectionStore(self.sessions, self.secret_key)

    @cached_property
    def webhook_secrets(self) -> WebhookSecrets:
        """The secrets an X-Cart webhook may be signed with: XCART_WEBHOOK_SECRETS and those made with
        `xcfb connect webhooks`, re-read every few seconds (a rotation needs no restart)."""
        s = self.settings
        return WebhookSecrets(tuple(secret.get_secret_value() for secret in s.xcart_webhook_secrets),
                              lambda: self.connections.get(CONNECTION), s.webhook_secrets_cache_seconds)

    @property
    def xcart(self) -> XCartClient | None:
        """The X-Cart REST API (catch-up sync, orders fetched on demand): XCART_API_URL and XCART_API_TOKEN
        when set, else the store connected with `xcfb connect xcart`, read at each use so that a running
        worker follows a connection made or changed after it started; None when neither."""
        s = self.settings
        if s.xcart_api_url:
            url, token = s.xcart_api_url, s.xcart_api_token.get_secret_value() if s.xcart_api_token else ""
        else:
            connected = self.connections.get("xcart")
            if connected is None:
                return None
            url, token = connected["url"], connected["token"]
        if self._xcart_client is None or self._xcart_client[0] != (url, token):
            self._xcart_client = ((url, token), XCartClient(url, token))
        return self._xcart_client[1]

    @cached_property
    def locks(self) -> RedisLocks:
        """The order and binding locks the workers' steps take (store/locks.py)."""
        return RedisLocks(self.redis)

    @cached_property
    def coalescing(self) -> Coalescing:
        """An order's events taken in while its chain waits ride on that chain (store/coalescing.py); past the
        stuck-event sweep's age the sweep runs them on their own anyway."""
        return Coalescing(self.redis, self.settings.stuck_after_seconds)


class _NotConfigured:
    def access_token(self) -> str:
        raise AuthFailed("FreshBooks credentials are not configured: set FRESHBOOKS_CLIENT_ID, "
                         "FRESHBOOKS_CLIENT_SECRET and FRESHBOOKS_REDIRECT_URI and run `xcfb connect freshbooks` "
                         "(or set FRESHBOOKS_ACCESS_TOKEN, a fixed token)")

    def refresh_after_rejection(self, rejected_token: str) -> str:
        return self.access_token()


_services: Services | None = None


def services() -> Services:
    """This process's services, built once from the environment."""
    global _services
    if _services is None:
        _services = Services(Settings.from_env())
    return _services


def use(replacement: Services | None) -> None:
    """Tests and the demo install their own services."""
    global _services
    _services = replacement


def task_sender_app() -> Celery:
    """A Celery app that only sends tasks by name (ingest, the operator's tools), configured like the
    workers' (celeryconfig.py) without importing them."""
    app = Celery("xcfb")
    app.config_from_object("celeryconfig")
    return app
