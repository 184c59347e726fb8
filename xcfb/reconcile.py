"""`xcfb reconcile`: do the books agree with the store? Every X-Cart order placed in the window against its
FreshBooks invoice, payments and credit notes (workers/reconcile.py reads both, mappings/reconciliation.py
classifies); exit status 0 only when every order matches. `--repair` sends what the service can book again
through the normal chain and checks again; `xcfb reconcile history` lists the reports kept."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from functools import cache

import click

from xcfb.operations import OperatorError

FORMATS = ("table", "csv", "json")


@click.group("reconcile", invoke_without_command=True)
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="first day, YYYY-MM-DD (default: yesterday)")
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), help="last day, YYYY-MM-DD (default: --since)")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--repair", is_flag=True, help="send the orders the service can book again through the chain, "
                                             "wait for them, and check again")
@click.option("--wait", type=float, default=300.0, show_default=True,
              help="with --repair: seconds to wait for the repaired orders to be processed")
@click.pass_context
def reconcile(ctx: click.Context, since: datetime | None, until: datetime | None, fmt: str, repair: bool,
              wait: float) -> int | None:
    """Compare X-Cart's orders with the FreshBooks books, order by order, with totals per currency."""
    if ctx.invoked_subcommand is not None:
        return None
    from runtime.bootstrap import services
    from workers import reconcile as run

    first = since.date() if since else datetime.now(UTC).date() - timedelta(days=1)
    last = until.date() if until else first
    if first > last:
        raise OperatorError(f"--since {first} is after --until {last}")
    svc = services()
    result = _run(svc, first, last)
    run.record(svc, result.report, "cli")
    click.echo(_render(result.report, fmt))
    if repair and not result.report.matched:
        sent = run.repair(svc, result, _sender(), svc.settings.store_id)
        unfinished = _wait_for(svc, sent, wait)
        click.echo(f"\nrepair: {len(sent)} events sent through the chain"
                   + (f"; {unfinished} not finished after {wait:.0f}s (is a worker running?)" if unfinished else "")
                   + "; checking again\n", err=fmt != "table")
        result = _run(svc, first, last)
        run.record(svc, result.report, "repair")
        click.echo(_render(result.report, fmt))
    return 0 if result.report.matched else 1


@reconcile.command("history")
@click.option("--limit", type=int, default=20, show_default=True)
def history(limit: int) -> int:
    """The reconciliation reports kept, newest first (each run of the command and of beat)."""
    from runtime.bootstrap import services
    from store import reconcile_runs
    from store.models import as_utc

    runs = reconcile_runs.history(services().sessions, limit)
    click.echo(f"{'id':>5}  {'ran at (UTC)':<19}  {'window':<24} {'trigger':<7} {'result':<8} classes")
    for r in runs:
        counts = ", ".join(f"{k} {n}" for k, n in r.counts.items() if n)
        click.echo(f"{r.id:>5}  {as_utc(r.ran_at):%Y-%m-%d %H:%M:%S}  {r.since} .. {r.until} {r.trigger:<7} "
                   f"{'matched' if r.matched else 'DIFFERS':<8} {counts}")
        for line in r.mismatches[:20]:
            click.echo(f"{'':>7}{line['order_number']}: {line['klass']}: {line['detail']}")
    if not runs:
        click.echo("no reconciliation has run yet (xcfb reconcile, or beat's daily run)")
    return 0


def _run(svc, first: date, last: date):
    from apis.freshbooks.errors import FreshBooksError
    from apis.xcart.client import XCartError
    from workers import reconcile as run

    try:
        return run.reconcile(svc, first, last)
    except run.XCartNotConnected as exc:
        raise OperatorError(str(exc)) from None
    except (FreshBooksError, XCartError) as exc:
        raise OperatorError(f"reconciliation could not read the books: {exc}") from None


def _render(report, fmt: str) -> str:
    return {"table": report.as_table, "csv": report.as_csv, "json": report.as_json}[fmt]()


def _wait_for(svc, event_ids: list[str], seconds: float) -> int:
    """How many of the events are still not synced, dead or in review after `seconds`."""
    from store import ledger

    deadline = time.monotonic() + seconds
    while True:
        pending = [e for e in event_ids
                   if (event := ledger.get_event(svc.sessions, e)) is None or event.status not in ledger.TERMINAL]
        if not pending or time.monotonic() >= deadline:
            return len(pending)
        time.sleep(0.5)


@cache
def _sender():
    from runtime.bootstrap import task_sender_app

    app = task_sender_app()
    return lambda name, args: app.send_task(name, args=args)
