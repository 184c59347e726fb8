"""`xcfb connect callbacks`: subscribe this service to the FreshBooks changes it acts on, and see them verified."""

from __future__ import annotations

import time

import click

from runtime import callbacks
from runtime import freshbooks_connect as flow
from xcfb.operations import OperatorError


@click.command("callbacks")
@click.option("--uri", required=True, metavar="URL",
              help="this service's /webhooks/freshbooks, as FreshBooks reaches it")
@click.option("--timeout", type=float, default=60.0, show_default=True, metavar="SECONDS",
              help="how long to wait for FreshBooks' verification of each callback")
def connect_callbacks(uri: str, timeout: float) -> int:
    """Register the FreshBooks callbacks the service needs (invoice, payment; client and item create/update,
    carried back to X-Cart) that are not registered yet, and wait until ingest and a worker have verified each."""
    from runtime.bootstrap import services

    svc = services()
    try:
        added, registered = flow.register_missing_callbacks(svc, uri)
    except flow.ConnectError as exc:
        raise OperatorError(str(exc)) from None
    click.echo(f"registered {len(added)} new callbacks ({', '.join(cb['event'] for cb in added) or 'none missing'})")
    deadline = time.monotonic() + timeout
    while not all(svc.redis.hexists(callbacks.TRUSTED, str(cb["id"])) for cb in registered):
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)
    lines = flow.callback_lines(svc, registered)
    click.echo("\n".join(lines))
    verified = all(line.endswith(", verified") for line in lines)
    if not verified:
        click.echo("not every callback is verified: ingest must be reachable at the URI and a worker running", err=True)
    return 0 if verified else 1
