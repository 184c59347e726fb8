"""`xcfb connect ...`: connecting the service to a real FreshBooks account and a real X-Cart store.

Each connection's commands live in a module of their own (connect_freshbooks, connect_xcart,
connect_webhooks) and register on the `connect` group below; `xcfb connect status` prints the section
each of them registers with `status_section`. Connections are kept encrypted (store/connections.py)."""

from __future__ import annotations

from collections.abc import Callable

import click

from xcfb import connect_freshbooks

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


# Each connection's module defines its command and status section; they register here, so that the modules
# need not import this one (no cycle between the modules of xcfb).
connect.add_command(connect_freshbooks.freshbooks)
STATUS_SECTIONS["freshbooks"] = connect_freshbooks.status
