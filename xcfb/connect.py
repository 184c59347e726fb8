"""`xcfb connect ...`: connecting the service to a real FreshBooks account and a real X-Cart store.

Each connection's command and `xcfb connect status` section live in a module of their own
(connect_freshbooks, connect_xcart, connect_webhooks), which this one registers at the bottom: they never
import it, so there is no import cycle. Connections are kept encrypted (store/connections.py)."""

from __future__ import annotations

from collections.abc import Callable

import click

from xcfb import connect_callbacks, connect_freshbooks, connect_webhooks, connect_xcart

StatusSection = Callable[[object], list[str]]  # (services) -> lines
STATUS_SECTIONS: dict[str, StatusSection] = {}


def status_section(name: str) -> Callable[[StatusSection], StatusSection]:
    """Registers the lines `xcfb connect status` prints for one connection."""
    def register(section: StatusSection) -> StatusSection:
        STATUS_SECTIONS[name] = section
        return section
    return register


@click.group()
def connect() -> None:
    """Connect the service to FreshBooks and X-Cart, and show the connections."""


@connect.command("status")
def connect_status() -> int:
    """Each connection: reachable or not, account, scopes, expiry, last call, callbacks."""
    from runtime.bootstrap import services

    svc = services()
    for name, section in STATUS_SECTIONS.items():
        click.echo(f"{name}:")
        for line in section(svc):
            click.echo(f"  {line}")
    return 0


for command, name, section in ((connect_freshbooks.freshbooks, "freshbooks", connect_freshbooks.status),
                               (connect_xcart.connect_xcart, "xcart", connect_xcart.xcart_status),
                               (connect_webhooks.webhooks, "webhooks", connect_webhooks.webhooks_status)):
    connect.add_command(command, name)
    status_section(name)(section)
connect.add_command(connect_callbacks.connect_callbacks, "callbacks")  # its status is in freshbooks' section
