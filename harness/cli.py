"""`xcfb demo` and `xcfb faults`: the harness's commands, registered with `xcfb` by the `xcfb.commands` entry
points (pyproject.toml). The stage is imported only when one runs, so `xcfb --help` stays quick."""

from __future__ import annotations

import os
from pathlib import Path

import click


@click.command()
@click.option("--orders", type=int, default=300, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--timeout", type=float, default=300, show_default=True,
              help="seconds to wait for every order to settle")
def demo(orders: int, seed: int, timeout: float) -> int:
    """The whole pipeline on the embedded defaults and the sandboxes."""
    from harness.demo import run

    return run(orders=orders, seed=seed, timeout=timeout)


@click.command()
@click.argument("scenarios", nargs=-1, metavar="[SCENARIO]...")
@click.option("--orders", type=int, default=100, show_default=True, help="orders a scenario")
@click.option("--outage", type=float, default=60.0, show_default=True, metavar="SECONDS",
              help="how long FreshBooks is down (Redis at most 5 s, the database at most 15 s)")
@click.option("--timeout", type=float, default=600.0, show_default=True,
              help="seconds a scenario may take to settle")
@click.pass_context
def faults(ctx: click.Context, scenarios: tuple[str, ...], orders: int, outage: float, timeout: float) -> int:
    """The fault suite: the pipeline under failures, with its figures.

    SCENARIO: the scenarios to run (default: every one)."""
    from harness.faultsuite import SCENARIOS, Options, run

    unknown = [name for name in scenarios if name not in SCENARIOS]
    if unknown:
        click.echo(f"xcfb: unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}", err=True)
        ctx.exit(2)
    home = Path(os.environ.get("XCFB_HOME", "var")).resolve() / "faults"
    return run(list(scenarios), Options(orders, outage, timeout, home))


@click.command()
@click.option("--seed", "seeds", type=int, multiple=True, help="the simulated stores' seeds (default: 1, 2, 3)")
@click.option("--rules", "rules_path", metavar="FILE", help="a rules file (default: XCFB_RULES or the shipped one)")
def evaluate(seeds: tuple[int, ...], rules_path: str | None) -> int:
    """Each assistant measured on the simulator's labelled traffic: recall, precision, normal orders flagged."""
    from harness.evaluate import SEEDS, evaluate_all, table
    from mappings.rules import load_rules

    rules = load_rules(rules_path or os.environ.get("XCFB_RULES") or None)
    click.echo("\n".join(table(evaluate_all(rules, seeds or SEEDS))))
    return 0
