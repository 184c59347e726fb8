"""`xcfb connect webhooks`: the signing secret and the URL the X-Cart add-on (addons/xcart/) posts events to.

The secret is made here, kept encrypted in the `webhooks` connection and shown once. `--rotate` adds a
new one while the old stay accepted; `--retire` drops the old ones once the add-on signs with the new one.
Ingest reads the stored secrets beside XCART_WEBHOOK_SECRETS (runtime/webhook_secrets.py)."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

import click

from runtime.webhook_secrets import CONNECTION, add_secret, new_document, newest_secret, retire_old
from store.connections import ConnectionUnreadable
from xcfb.operations import OperatorError

PATH = "/webhooks/xcart"


@click.command("webhooks")
@click.option("--url", help="The service's public base URL as the store reaches it, e.g. https://books.example.com "
                            "(default: XCFB_PUBLIC_URL).")
@click.option("--rotate", is_flag=True, help="Make a new secret; the old ones stay accepted until --retire.")
@click.option("--retire", is_flag=True, help="Drop every secret but the newest (after the add-on has the new one).")
def webhooks(url: str | None, rotate: bool, retire: bool) -> int:
    """Make the signing secret for the X-Cart add-on and show what to paste into its settings."""
    from runtime.bootstrap import services

    if rotate and retire:
        raise OperatorError("--rotate and --retire: one at a time (rotate, update the add-on, then retire)")
    svc = services()
    document = svc.connections.get(CONNECTION)
    delay = f"{svc.settings.webhook_secrets_cache_seconds:g} s"
    if document is None:
        if rotate or retire:
            raise OperatorError("there is no webhooks connection yet: run `xcfb connect webhooks --url ...` first")
        document = new_document(webhook_url(url or svc.settings.public_url))
        svc.connections.put(CONNECTION, document)
        _show_new_secret(document, f"A signing secret is made and stored (encrypted); ingest accepts it within "
                                   f"{delay}.")
    elif rotate:
        document = add_secret(_with_url(document, url))
        svc.connections.put(CONNECTION, document)
        older = len(document["secrets"]) - 1
        _show_new_secret(document, f"A new signing secret is made; ingest accepts it within {delay}, and the "
                                   f"{older} older one(s) until `xcfb connect webhooks --retire`.")
        click.echo("Once the add-on's settings hold the new secret, run `xcfb connect webhooks --retire`.")
    elif retire:
        document, dropped = retire_old(_with_url(document, url))
        if not dropped:
            click.echo("Nothing to retire: only one secret is active.")
        else:
            svc.connections.put(CONNECTION, document)
            click.echo(f"{dropped} old secret(s) retired; within {delay} ingest refuses events signed only with them.")
    else:
        document = _with_url(document, url)
        svc.connections.put(CONNECTION, document)
        click.echo("Already connected. A secret is shown once only: `xcfb connect webhooks --rotate` makes a new one.")
    for line in webhooks_status(svc):
        click.echo(line)
    return 0


def webhooks_status(svc) -> list[str]:
    """`xcfb connect status`: the URL, how many secrets are active, when they were made and rotated."""
    from_environment = len(svc.settings.xcart_webhook_secrets)
    environment = [f"XCART_WEBHOOK_SECRETS: {from_environment} more accepted, from the environment"] \
        if from_environment else []
    try:
        document = svc.connections.get(CONNECTION)
    except ConnectionUnreadable as exc:
        return [f"unreadable: {exc}", *environment]
    if document is None:
        return ["not connected: run `xcfb connect webhooks --url https://<this service's public address>`",
                *environment]
    secrets = document["secrets"]
    waiting = f" ({len(secrets) - 1} old, accepted until `xcfb connect webhooks --retire`)" if len(secrets) > 1 else ""
    return [f"URL: {document['url']}",
            f"secrets: {len(secrets)} active{waiting}",
            f"newest made: {_when(secrets[0]['created_at'])}; last rotated: "
            f"{_when(document['rotated_at']) if document.get('rotated_at') else 'never'}",
            *environment]


def webhook_url(base: str | None) -> str:
    """The URL the add-on posts to, from the service's public base URL (or that full URL)."""
    if not base:
        raise OperatorError("--url: the service's public base URL is required, e.g. --url https://books.example.com "
                            "(or set XCFB_PUBLIC_URL)")
    parts = urlsplit(base.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise OperatorError(f"--url: an http(s) base URL without query is required, e.g. https://books.example.com; "
                            f"got {base!r}")
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc}{path if path.endswith(PATH) else path + PATH}"


def _with_url(document: dict, url: str | None) -> dict:
    return {**document, "url": webhook_url(url)} if url else document


def _show_new_secret(document: dict, said: str) -> None:
    click.echo(said)
    click.echo("In the X-Cart admin, the settings of the module 'FreshBooks webhooks' (XCFB\\Webhooks):")
    click.echo(f"  Endpoint URL:    {document['url']}")
    click.echo(f"  Signing secret:  {newest_secret(document)}")
    click.echo("This is the only time the secret is shown. Keep it out of tickets and chats.")
    if document["url"].startswith("http://"):
        click.echo("Warning: the URL is plain http; the store should reach the service over https.")


def _when(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC")
