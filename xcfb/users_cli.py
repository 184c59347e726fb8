"""`xcfb users`: the people who may sign in to the web console."""

from __future__ import annotations

import sys

import click

from store import ledger, users
from xcfb.operations import OperatorError


def _services():
    from runtime.bootstrap import services

    return services()


@click.group("users")
def users_group() -> None:
    """Console users: add, list."""


@users_group.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(users.ROLES), required=True,
              help="viewer: reads; operator: also replays, discards, saves rule versions; admin: also promotes")
@click.option("--password-stdin", is_flag=True, help="read the password from stdin instead of asking for it")
def users_add(email: str, role: str, password_stdin: bool) -> int:
    """Adds a user; the password is asked for without echo (at least 12 characters)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    svc = _services()
    try:
        user = users.add_user(svc.sessions, email, role, password)
    except users.UserError as exc:
        raise OperatorError(str(exc)) from None
    ledger.audit(svc.sessions, "add-user", "console", None, f"{user.email} as {role}", actor="cli")
    click.echo(f"user {user.email} added as {role}")
    return 0


@users_group.command("list")
def users_list() -> int:
    """Every user and their role."""
    for user in users.list_users(_services().sessions):
        click.echo(f"{user.email:<40} {user.role:<9} since {user.created_at:%Y-%m-%d}")
    return 0
