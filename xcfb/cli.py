"""`xcfb`: the one console command for people.

Its own commands are the operator's (dlq, events, callbacks). Others register theirs under the
`xcfb.commands` entry points (pyproject.toml): the sandboxes add `sandbox`, the harness `demo` and `faults`,
so this runtime package never imports them. A plugin is imported only when its command is listed or run; one
that cannot be imported is listed as unavailable with the reason, and every other command still works."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

import click

from core.settings import SettingsError
from xcfb import operations
from xcfb.connect import connect
from xcfb.operations import OperatorError
from xcfb.reconcile import reconcile
from xcfb.rules_cli import rules_group
from xcfb.users_cli import users_group

PLUGINS = "xcfb.commands"


class Commands(click.Group):
    """The built-in commands, then one per `xcfb.commands` entry point (the first of a name wins)."""

    def __init__(self, plugins: Iterable[EntryPoint], **attrs):
        super().__init__(**attrs)
        self.plugins: dict[str, EntryPoint] = {}
        for plugin in plugins:
            self.plugins.setdefault(plugin.name, plugin)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(self.plugins))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.commands or name not in self.plugins:
            return self.commands.get(name)
        plugin = self.plugins[name]
        try:
            command = plugin.load()
        except Exception as exc:  # whatever the plugin's import raised: this command only is unavailable
            return unavailable(name, f"cannot import {plugin.value} ({type(exc).__name__}: {exc})")
        if not isinstance(command, click.Command):
            return unavailable(name, f"{plugin.value} is not a click command")
        self.add_command(command, name)
        return command


def unavailable(name: str, reason: str) -> click.Command:
    """Stands for a plugin command that cannot be loaded: listed with the reason, refused with it when run."""

    @click.pass_context
    def refuse(ctx: click.Context, **_) -> None:
        click.echo(f"xcfb: the {name} command is unavailable: {reason}", err=True)
        ctx.exit(2)

    return click.Command(name, callback=refuse, help=f"UNAVAILABLE: {reason}", short_help=f"UNAVAILABLE: {reason}",
                         context_settings={"ignore_unknown_options": True, "allow_extra_args": True})


def xcfb(plugins: Iterable[EntryPoint]) -> Commands:
    group = Commands(plugins, name="xcfb", help="X-Cart <-> FreshBooks integration service.")
    for command in (dlq, events, callbacks, connect, reconcile, review, clients, suggest, findings, users_group,
                    rules_group):
        group.add_command(command)
    return group


def main(argv: list[str] | None = None, plugins: Iterable[EntryPoint] | None = None) -> int:
    """Runs a command; returns its exit status (2 for an operator's mistake, said on stderr as `xcfb: ...`)."""
    group = xcfb(entry_points(group=PLUGINS) if plugins is None else plugins)
    try:
        return group.main(argv, prog_name="xcfb", standalone_mode=False) or 0
    except (OperatorError, SettingsError) as exc:  # a bad setting names its variable, in one line
        click.echo(f"xcfb: {exc}", err=True)
        return 2
    except click.ClickException as exc:  # a usage mistake: click's message, with the usage line
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("xcfb: interrupted", err=True)
        return 130


def _services():
    from runtime.bootstrap import services

    return services()


@cache
def _task_sender():
    from runtime.bootstrap import task_sender_app

    return task_sender_app()


def _send(name: str, args: list) -> None:
    _task_sender().send_task(name, args=args)


def _print(lines: list[str]) -> int:
    click.echo("\n".join(lines))
    return 0


@click.group()
def dlq() -> None:
    """The dead-letter queue: events that need a person."""


@dlq.command("list")
@click.option("--all", "every", is_flag=True, help="every dead letter, closed ones too")
def dlq_list(every: bool) -> int:
    """Open dead letters (--all for every one)."""
    return _print(operations.list_dead_letters(_services(), None if every else "open"))


@dlq.command("show")
@click.argument("letter_id", metavar="ID", type=int)
def dlq_show(letter_id: int) -> int:
    """One dead letter, with its errors and payload."""
    return _print(operations.show_dead_letter(_services(), letter_id))


@dlq.command("replay")
@click.argument("letter_id", metavar="ID", type=int)
@click.option("--payload", metavar="FILE", help="replace the event's payload with this JSON file first")
@click.option("--accept", is_flag=True, help="accept the order's held findings (anomalies, data quality): book it")
@click.option("--seen", metavar="TOKEN", help="with --accept: only the held findings `dlq show` listed with this "
              "token (refused when another version was checked since)")
def dlq_replay(letter_id: int, payload: str | None, accept: bool, seen: str | None) -> int:
    """Run the event again (after fixing the rules or the payload, or accepting its findings)."""
    if seen and not accept:
        raise OperatorError("--seen: only with --accept")
    edited = _read_text(payload) if payload else None
    accepted = operations.accept_findings(_services(), letter_id, seen) if accept else None
    event_id = operations.replay(_services(), letter_id, _send, edited)
    return _print(([f"{accepted} findings accepted"] if accept else []) + [f"event {event_id} queued again"])


def _read_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise OperatorError(f"{path} is not UTF-8 text (byte {exc.start}): save it as UTF-8") from None
    except OSError as exc:
        raise OperatorError(f"cannot read {path}: {exc.strerror or exc}") from None


@dlq.command("discard")
@click.argument("letter_id", metavar="ID", type=int)
def dlq_discard(letter_id: int) -> int:
    """Close it without booking anything."""
    return _print([f"event {operations.discard(_services(), letter_id)} discarded"])


@click.group()
def events() -> None:
    """What happened to X-Cart events."""


@events.command("show")
@click.argument("order")
def events_show(order: str) -> int:
    """An order's events, invoice and changes in FreshBooks; ORDER is the order number or X-Cart order id."""
    return _print(operations.show_order(_services(), order))


@click.group()
def callbacks() -> None:
    """FreshBooks webhook callbacks."""


@callbacks.command("register")
@click.argument("event")
@click.argument("uri")
def callbacks_register(event: str, uri: str) -> int:
    """Subscribe URI to a FreshBooks EVENT (e.g. invoice, payment.create; a bare noun: all its events).

    URI is this service's /webhooks/freshbooks, as FreshBooks reaches it; ingest and a worker then complete the
    verifier handshake."""
    from apis.freshbooks.errors import FreshBooksError
    from runtime.callbacks import register

    try:
        callback = register(_services(), event, uri)
    except FreshBooksError as exc:
        raise OperatorError(f"FreshBooks refused the callback: {exc}") from None
    return _print([f"callback {callback['id']} registered for {event} -> {uri}; "
                   "it is trusted once FreshBooks confirms the verifier sent to that URI"])


@click.group()
def review() -> None:
    """Review entries (dead letters held for a person's decision)."""


@review.command("resolve")
@click.argument("letter_id", metavar="ID", type=int)
@click.argument("choice", metavar="use-client|create-new", type=click.Choice(["use-client", "create-new"]))
@click.argument("client_id", metavar="[N]", type=int, required=False)
def review_resolve(letter_id: int, choice: str, client_id: int | None) -> int:
    """Settle a possible duplicate client: use-client N (book to FreshBooks client N) or create-new.

    The choice is remembered for the customer's email, and the held event runs again."""
    from xcfb.clients import resolve_review

    event_id = resolve_review(_services(), letter_id, choice, client_id, _send)
    return _print([f"review entry {letter_id}: {choice}{f' {client_id}' if client_id else ''}; "
                   f"event {event_id} queued again"])


@click.group()
def clients() -> None:
    """FreshBooks clients."""


@clients.command("duplicates")
@click.option("--min", "minimum", type=click.FloatRange(0, 1), default=None,
              help="lowest score listed (default: the rules' clients.duplicates.review)")
def clients_duplicates(minimum: float | None) -> int:
    """Likely duplicates among the FreshBooks clients, with their scores and evidence."""
    from xcfb.clients import list_duplicates

    svc = _services()
    return _print(list_duplicates(svc, svc.rules.duplicates.review if minimum is None else minimum))
@click.command()
def findings() -> int:
    """What the data-quality and anomaly checks found: orders held or flagged, customers, products."""
    return _print(operations.list_findings(_services()))


@click.command()
@click.option("--apply", "do_apply", is_flag=True, help="write the rules into a new file beside the rules in use")
@click.option("--min-confidence", type=click.FloatRange(0, 1), default=0.8, show_default=True,
              help="the least confidence of a rule --apply writes")
@click.option("--days", type=click.IntRange(min=1), default=90, show_default=True, help="orders changed this recently")
@click.option("--orders", "limit", type=click.IntRange(min=1), default=500, show_default=True,
              help="at most this many of them (one X-Cart request each for its payments)")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="where --apply writes")
def suggest(do_apply: bool, min_confidence: float, days: int, limit: int, out: Path | None) -> int:
    """Mapping rules proposed from the X-Cart store and the FreshBooks account, with confidence and evidence."""
    from xcfb import suggest as suggesting

    outcome = suggesting.run(_services(), min_confidence=min_confidence, do_apply=do_apply, days=days, limit=limit,
                             out=out)
    return _print(suggesting.report(outcome, min_confidence))


if __name__ == "__main__":
    sys.exit(main())
