"""`xcfb sandbox`: the sandboxes' own commands, registered with `xcfb` by the `xcfb.commands` entry point
(pyproject.toml). What they serve is imported only when a sandbox starts, so `xcfb --help` stays quick."""

from __future__ import annotations

import click
from click.core import ParameterSource

from sandboxes.freshbooks.faults import SWITCHES, FaultSettings


@click.group()
def sandbox() -> None:
    """Run an API sandbox."""


def fault_options(command):
    """One option per fault switch (sandboxes/freshbooks/faults.py), its default shown from FaultSettings."""
    defaults = FaultSettings()
    for name, switch in reversed(SWITCHES.items()):
        flag = switch.option or "--" + name.replace("_", "-")
        if switch.kind is bool:
            flag = f"{flag}/--no-{flag[2:]}"
        kind = click.Choice(switch.choices) if switch.choices else switch.kind
        option = click.option(flag, name, type=kind, default=getattr(defaults, name, None), show_default=True,
                              metavar=switch.metavar, help=switch.help)
        command = option(command)
    return command


def given_faults(ctx: click.Context) -> dict:
    return {name: ctx.params[name] for name in SWITCHES
            if ctx.get_parameter_source(name) is not ParameterSource.DEFAULT}


@sandbox.command(epilog="Faults can also be switched at run time: POST /_sandbox/faults.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8100, show_default=True)
@click.option("--account-id", default="SANDBOX1", show_default=True)
@click.option("--currency", default="USD", show_default=True, help="the account's base currency")
@click.option("--token", "tokens", multiple=True, metavar="TOKEN",
              help="an access token accepted without OAuth (repeatable)")
@click.option("--client-id", default="sandbox-client-id", show_default=True, help="OAuth client id")
@click.option("--client-secret", default="sandbox-client-secret", help="OAuth client secret")
@click.option("--token-lifetime", type=click.IntRange(min=1), default=12 * 3600, show_default=True,
              metavar="SECONDS", help="access tokens expire after this (FreshBooks: 12 h); try 3 to watch refreshes")
@click.option("--business", "businesses", multiple=True, metavar="ACCOUNT_ID=NAME",
              help="another business of the sandbox identity (repeatable; default: SANDBOX2=Second Sandbox Shop)")
@click.option("--state", metavar="SQLITE_FILE", help="keep the books in this SQLite file")
@click.option("--admin-token", help="require this bearer token on /_sandbox/ admin endpoints")
@click.option("--validation-status", type=click.Choice(["400", "422"]), default="422", show_default=True)
@click.option("--unique-invoice-numbers", is_flag=True,
              help="refuse a second invoice with the same number (FreshBooks itself accepts it)")
@fault_options
@click.pass_context
def freshbooks(ctx: click.Context, host, port, account_id, currency, tokens, client_id, client_secret, token_lifetime,
               businesses, state, admin_token, validation_status, unique_invoice_numbers, **_faults) -> int:
    """The FreshBooks API emulator."""
    from sandboxes.freshbooks.app import SandboxConfig, create_app, sandbox_of
    from sandboxes.freshbooks.oauth import OAuthSettings
    from sandboxes.serve import serve_forever

    config = SandboxConfig(
        account_id=account_id, currency=currency, validation_status=int(validation_status),
        unique_invoice_numbers=unique_invoice_numbers, state_path=state, admin_token=admin_token,
        oauth=OAuthSettings(client_id=client_id, client_secret=client_secret, static_tokens=tokens,
                            access_token_lifetime=token_lifetime),
    )
    if businesses:
        if not all("=" in b and b.split("=", 1)[0] for b in businesses):
            click.echo("xcfb: --business wants ACCOUNT_ID=NAME", err=True)
            ctx.exit(2)
        config.other_businesses = tuple(tuple(b.split("=", 1)) for b in businesses)
    app = create_app(config)
    sandbox_of(app).faults.configure(given_faults(ctx))  # the same path as POST /_sandbox/faults
    click.echo(f"FreshBooks sandbox, account {account_id}; API base http://{host}:{port}", err=True)
    serve_forever(app, host, port)
    return 0


@sandbox.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8200, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True, help="the same seed gives the same store")
@click.option("--customers", type=int, default=20, show_default=True)
@click.option("--products", type=int, default=15, show_default=True)
@click.option("--currency", default="USD", show_default=True, help="the store's main currency")
@click.option("--api-token", default="xcart-sandbox-token", help="the full-access X-Auth-Token of the REST API")
@click.option("--read-only-token", default="xcart-sandbox-read-token",
              help="an X-Auth-Token that may only read (writes get 403)")
@click.option("--live-clock", is_flag=True,
              help="stamp orders with the wall clock (for polling), not the simulated clock of 2026-11-01")
@click.option("--admin-token", help="require this bearer token on /_sandbox/ admin endpoints")
@click.option("--target", metavar="URL", help="deliver signed webhooks here, e.g. http://127.0.0.1:8000/webhooks/xcart")
@click.option("--secret", "secrets", multiple=True, metavar="SECRET",
              help="webhook signing secret (repeat while rotating: one v1= per secret)")
@click.option("--orders", type=int, default=0, help="place this many orders at start-up")
@click.option("--duplicates", type=float, default=0.0, metavar="RATE", help="share of webhook events sent twice")
@click.option("--reorder", type=int, default=0, metavar="N", help="shuffle webhook deliveries within N events")
@click.option("--anomalies", type=click.FloatRange(0, 1), default=0.0, metavar="SHARE",
              help="share of orders with a labelled anomaly (GET /_sandbox/labels lists them)")
@click.option("--anomalies-after", type=click.IntRange(min=0), default=0, metavar="N",
              help="normal orders placed before the first anomaly")
@click.option("--data-problems", type=click.FloatRange(0, 1), default=0.0, metavar="SHARE",
              help="share of orders with a labelled data-quality problem")
@click.pass_context
def xcart(ctx: click.Context, host, port, seed, customers, products, currency, api_token, read_only_token,
          live_clock, admin_token, target, secrets, orders, duplicates, reorder, anomalies, anomalies_after,
          data_problems) -> int:
    """The X-Cart store simulator (REST API and signed webhooks)."""
    from sandboxes.serve import serve_forever
    from sandboxes.xcart.app import create_app, store_of
    from sandboxes.xcart.store import StoreConfig
    from sandboxes.xcart.webhooks import DeliveryOptions, WebhookSender

    if target and not secrets:
        click.echo("xcfb: --target needs at least one --secret to sign with", err=True)
        ctx.exit(2)
    sender = WebhookSender(target, list(secrets), DeliveryOptions(duplicate_rate=duplicates, reorder_window=reorder),
                           seed=seed) if target else None
    config = StoreConfig(seed=seed, customers=customers, products=products, currency=currency, api_token=api_token,
                         read_only_token=read_only_token, live_clock=live_clock, admin_token=admin_token,
                         anomalies=anomalies, anomalies_after=anomalies_after, data_problems=data_problems)
    app = create_app(config, sender)
    store = store_of(app)
    if orders:
        store.place_orders(orders)
    if sender:
        sender.enqueue(list(store.events))
    click.echo(f"X-Cart store simulator: {len(store.orders)} orders, {len(store.profiles)} customers, "
               f"{len(store.products)} products; REST API http://{host}:{port}/api/"
               + (f"; webhooks to {target}" if target else ""), err=True)
    serve_forever(app, host, port)
    return 0
