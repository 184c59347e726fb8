"""`xcfb rules`: the rule versions from the shell, as the console does them (runtime/rule_versions.py)."""

from __future__ import annotations

import getpass
from pathlib import Path

import click

from mappings.rules import RulesInvalid
from runtime import rule_versions
from runtime.rule_versions import PromotionRefused
from store import rulebook
from store.rulebook import ENVIRONMENTS
from xcfb.operations import OperatorError


def _services():
    from runtime.bootstrap import services

    return services()


def _who(by: str | None) -> str:
    return by or f"{getpass.getuser()} (cli)"


@click.group("rules")
def rules_group() -> None:
    """Rule versions: export, import, promote dev -> qa -> prod, roll back, history."""


@rules_group.command("export")
@click.option("--version", "version_id", type=int, help="this version (default: what --env runs)")
@click.option("--env", "environment", type=click.Choice(ENVIRONMENTS), default="prod", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="write to this file instead of stdout")
def rules_export(version_id: int | None, environment: str, output: str | None) -> int:
    """The rules as YAML."""
    svc = _services()
    if version_id is not None:
        found = rulebook.get_version(svc.sessions, version_id)
        if found is None:
            raise OperatorError(f"no rule version {version_id}")
        text = found.text
    else:
        text = rule_versions.running(svc, environment).text
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
    return 0


@rules_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--comment", "-m", required=True, help="what the change is for (kept with the version)")
@click.option("--by", help="who (default: your login name)")
def rules_import(path: str, comment: str, by: str | None) -> int:
    """Saves a YAML file as a new version (validated; every bad setting is named by its path)."""
    svc = _services()
    try:
        version = rule_versions.save(svc, Path(path).read_text(encoding="utf-8"), _who(by), comment,
                                     rulebook.pinned_version_id(svc.sessions, "dev"))
    except RulesInvalid as exc:
        raise OperatorError(str(exc)) from None
    click.echo(f"version {version.id} saved; promote it with: xcfb rules promote {version.id} --to dev")
    return 0


@rules_group.command("promote")
@click.argument("version_id", metavar="VERSION", type=int)
@click.option("--to", "environment", type=click.Choice(ENVIRONMENTS), required=True)
@click.option("--orders", default=rule_versions.DRY_RUN_ORDERS, show_default=True, help="orders the dry run tries")
@click.option("--expect", multiple=True, metavar="ORDER", help="an order you expect to be booked differently")
@click.option("--by", help="who (default: your login name)")
def rules_promote(version_id: int, environment: str, orders: int, expect: tuple[str, ...], by: str | None) -> int:
    """Dry-runs VERSION over the last orders against what the environment runs, then pins it there if every
    order booked differently was expected (--expect ORDER for each)."""
    svc = _services()
    try:
        rule_versions.may_promote_to(svc, version_id, environment)
        report = rule_versions.dry_run(svc, version_id, environment, _who(by), orders)
        click.echo(f"dry run {report.id}: {report.orders} orders, {len(report.differences)} booked differently "
                   f"than under {report.baseline}")
        for difference in report.differences:
            fields = ", ".join(f"{f['path']}: {f['before']} -> {f['after']}" for f in difference["fields"][:4])
            click.echo(f"  {difference['order']}: {fields}")
        rule_versions.promote(svc, version_id, environment, report.id, set(expect), _who(by))
    except PromotionRefused as exc:
        raise OperatorError(f"not promoted: {exc}") from None
    click.echo(f"version {version_id} now runs in {environment}")
    return 0


@rules_group.command("rollback")
@click.argument("environment", metavar="ENVIRONMENT", type=click.Choice(ENVIRONMENTS))
@click.option("--by", help="who (default: your login name)")
def rules_rollback(environment: str, by: str | None) -> int:
    """Pins the version the environment ran before the current one."""
    try:
        version_id = rule_versions.rollback(_services(), environment, _who(by))
    except PromotionRefused as exc:
        raise OperatorError(str(exc)) from None
    click.echo(f"{environment} runs version {version_id} again")
    return 0


@rules_group.command("history")
def rules_history() -> int:
    """Versions, and what each environment ran, newest first."""
    svc = _services()
    for env in ENVIRONMENTS:
        click.echo(f"{env}: runs {rule_versions.running(svc, env).label}")
    click.echo("pins:")
    for pin in rulebook.pins(svc.sessions):
        click.echo(f"  {pin.at:%Y-%m-%d %H:%M:%S}  {pin.environment:<4} {pin.action:<8} version {pin.version_id:<4} "
                   f"by {pin.actor}" + (f" (dry run {pin.report_id})" if pin.report_id else ""))
    click.echo("versions:")
    for version in rulebook.versions(svc.sessions):
        click.echo(f"  {version.id:>4}  {version.created_at:%Y-%m-%d %H:%M:%S}  {version.author:<30} {version.comment}")
    return 0
