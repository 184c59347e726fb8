"""`xcfb connect xcart`: connect the X-Cart 5.5 REST API by URL and key, and its `xcfb connect status` section.

The key is checked with one read (a list of one order). Its kind is told by a write that cannot succeed:
`POST /products` with an empty object. X-Cart checks the token's rights before it validates the body, so a
read-only key is refused (401/403) and a full key reaches validation (400/422, a product needs a SKU and a
name); either way nothing is created. Limit: this relies on X-Cart authorising before validating; a store
whose API answered otherwise (an add-on, a proxy) gives an answer we cannot read, and the kind is then
"unknown", said as such. The connection (URL, key, kind) is kept encrypted under the name "xcart"."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime, timedelta

import click
from redis.exceptions import RedisError

from apis.xcart.client import XCartClient, XCartError, XCartUnavailable
from store import snapshots
from store.models import utcnow
from store.polls import recent_polls
from xcfb.operations import OperatorError

CONNECTION = "xcart"
COLLECTIONS = ("orders", "profiles", "products")  # catch-up's checkpoints are xcart:<collection>
FULL, READ_ONLY, UNKNOWN = "full", "read-only", "unknown"


@dataclass(frozen=True)
class Connected:
    url: str
    key_kind: str
    polls_from: datetime


def key_kind(write_probe_status: int) -> str:
    """What the answer to the write probe says about the key (see the module's docstring)."""
    if write_probe_status in (401, 403):
        return READ_ONLY
    if write_probe_status in (400, 422):
        return FULL
    return UNKNOWN


def check_key(client: XCartClient) -> str:
    """Reads with the key, then probes a write; the key's kind. OperatorError names what is wrong."""
    where = client.base_url
    try:
        client.check_read()
    except XCartUnavailable as exc:
        if exc.status is None:
            raise OperatorError(f"the X-Cart store at {where} is unreachable (no answer: {exc}); check the URL's "
                                "host and port, and that the store is up") from None
        raise OperatorError(f"the X-Cart store at {where} answered HTTP {exc.status}: it is up but failing now; "
                            "try again later") from None
    except XCartError as exc:
        if exc.status in (401, 403):
            raise OperatorError(f"the X-Cart store at {where} refused the token (HTTP {exc.status}): check the "
                                "key in the store's admin area (Settings > API)") from None
        raise OperatorError(f"{where} is not an X-Cart 5.5 REST API ({exc}): the URL should end in /api, "
                            "e.g. https://store.example/api") from None
    try:
        return key_kind(client.write_probe_status())
    except XCartUnavailable:
        return UNKNOWN


def connect_store(svc, url: str, token: str, look_back: timedelta, now: datetime | None = None) -> Connected:
    """Checks the key, stores the connection and puts catch-up's checkpoints at now minus `look_back`."""
    url = url.rstrip("/")
    kind = check_key(XCartClient(url, token, timeout=(5.0, 15.0)))
    svc.connections.put(CONNECTION, {"url": url, "token": token, "key_kind": kind})
    polls_from = (now or utcnow()) - look_back
    for collection in COLLECTIONS:
        snapshots.set_checkpoint(svc.sessions, f"xcart:{collection}", polls_from)
    return Connected(url, kind, polls_from)


@click.command("xcart")
@click.option("--url", required=True, help="the store's REST API, e.g. https://store.example/api")
@click.option("--token", help="the API key (X-Auth-Token); without it, asked for, or read from stdin when piped")
@click.option("--look-back", type=float, default=24.0, show_default=True, metavar="HOURS",
              help="the first poll finds orders changed this long before now")
def connect_xcart(url: str, token: str | None, look_back: float) -> int:
    """Connect an X-Cart 5.5 store by its REST API URL and key; polling starts from now minus --look-back."""
    from runtime.bootstrap import services

    if token is None:
        token = (click.prompt("X-Cart API key", hide_input=True) if sys.stdin.isatty()
                 else sys.stdin.readline()).strip()
    if not token:
        raise OperatorError("--token: the API key is empty")
    if look_back < 0:
        raise OperatorError(f"--look-back: must be zero or more hours, got {look_back:g}")
    done = connect_store(services(), url, token, timedelta(hours=look_back))
    click.echo(f"Connected X-Cart at {done.url} with a {done.key_kind} key.")
    if done.key_kind == READ_ONLY:
        click.echo("The key is read-only: polling and booking work; writing back to the store (two-way sync) "
                   "needs a full key.")
    elif done.key_kind == UNKNOWN:
        click.echo("The key's kind could not be told (the store's answer to a write probe was unexpected).")
    click.echo(f"Polling for changes from {done.polls_from:%Y-%m-%d %H:%M:%S} UTC, every "
               f"{services().settings.catch_up_interval:g} s (XCFB_CATCH_UP_INTERVAL) while beat runs.")
    return 0


def xcart_status(svc) -> list[str]:
    settings = svc.settings
    connected = svc.connections.get(CONNECTION)
    if settings.xcart_api_url:
        url, kind, source = settings.xcart_api_url, UNKNOWN, "XCART_API_URL"
    elif connected:
        url, kind, source = connected["url"], connected.get("key_kind", UNKNOWN), "xcfb connect xcart"
    else:
        return ["not connected: run `xcfb connect xcart --url https://store.example/api`"]
    return [f"URL: {url} (from {source})", f"reachable: {_reachable(svc.xcart)}", f"key: {kind}",
            *_polling_lines(svc)]


def _reachable(client: XCartClient) -> str:
    try:
        client.check_read()
    except XCartError as exc:
        return f"no: {exc}"
    return "yes"


def _polling_lines(svc) -> list[str]:
    checkpoint = snapshots.checkpoint(svc.sessions, "xcart:orders")
    lines = [f"checkpoint: {_when(checkpoint)}", f"interval: {svc.settings.catch_up_interval:g} s"]
    try:
        polls = recent_polls(svc.redis)
    except (RedisError, OSError) as exc:  # Redis down: the section still shows the rest
        return [*lines, f"last polls: unknown (Redis: {type(exc).__name__})"]
    if not polls:
        return [*lines, "last successful poll: none yet (is beat running?)"]
    listed = sum(poll.get("listed", 0) for poll in polls)
    enqueued = sum(poll.get("orders", 0) for poll in polls)
    return [*lines, f"last successful poll: {_when(polls[0]['at'])}",
            f"orders found by the last {_polls(len(polls))}: {listed} listed as changed, {enqueued} new to the service"]


def _polls(count: int) -> str:
    return "poll" if count == 1 else f"{count} polls"


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment else "none"
