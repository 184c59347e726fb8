"""`xcfb`'s command tree: every command is there (the plugins' through their installed entry points) and its
help lists its options; a plugin that cannot be loaded is named with the reason while the others still work."""

from importlib.metadata import EntryPoint, entry_points

import click
from click.testing import CliRunner

from sandboxes.freshbooks.faults import SWITCHES
from xcfb.cli import PLUGINS, main, xcfb

INSTALLED = entry_points(group=PLUGINS)
EVERY_COMMAND = {"dlq", "dlq list", "dlq show", "dlq replay", "dlq discard", "events", "events show", "callbacks",
                 "callbacks register", "connect", "connect freshbooks", "connect status", "connect webhooks",
                 "connect xcart", "sandbox", "sandbox freshbooks", "sandbox xcart", "demo", "faults",
                 "review", "review resolve", "clients", "clients duplicates", "connect callbacks",
                 "evaluate", "suggest", "findings",
                 "console", "users", "users add", "users list", "rules", "rules export", "rules import",
                 "rules promote", "rules rollback", "rules history"}
EVERY_COMMAND |= {"reconcile", "reconcile history"}


def every_command(group: click.Group, path: tuple[str, ...] = ()):
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from every_command(command, (*path, name))


def named_in_help(param: click.Parameter) -> list[str]:
    return [*param.opts, *param.secondary_opts] if isinstance(param, click.Option) else [param.human_readable_name]


def test_every_command_is_there_and_its_help_lists_its_options():
    commands = dict(every_command(xcfb(INSTALLED)))
    assert {" ".join(path) for path in commands} == EVERY_COMMAND
    for path, command in commands.items():
        shown = CliRunner().invoke(xcfb(INSTALLED), [*path, "--help"])
        assert shown.exit_code == 0, shown.output
        assert shown.output.startswith(f"Usage: xcfb {' '.join(path)} ")
        for param in command.params:
            assert all(name in shown.output for name in named_in_help(param)), (path, param.name)


def test_the_freshbooks_sandbox_offers_every_fault_switch():
    shown = CliRunner().invoke(xcfb(INSTALLED), ["sandbox", "freshbooks", "--help"]).output
    for flag in ("--rate-limit", "--rate-window", "--no-retry-after", "--fail-next", "--fail-status", "--outage",
                 "--latency-ms", "--ghost-creates", "--ghost-mode", "--ghost-delay"):
        assert flag in shown
    freshbooks = xcfb(INSTALLED).get_command(click.Context(click.Group()), "sandbox").commands["freshbooks"]
    assert set(SWITCHES) <= {param.name for param in freshbooks.params}


def test_a_plugin_that_cannot_be_imported_is_named_and_the_others_still_work(capsys):
    plugins = [*INSTALLED, EntryPoint("broken", "tests.unit.no_such_plugin:command", PLUGINS),
               EntryPoint("odd", "xcfb.operations:replay", PLUGINS)]
    assert main(["--help"], plugins) == 0
    listing = " ".join(capsys.readouterr().out.split())  # as one line, whatever the terminal's width
    assert ("broken UNAVAILABLE: cannot import tests.unit.no_such_plugin:command (ModuleNotFoundError: No module "
            "named 'tests.unit.no_such_plugin') callbacks FreshBooks webhook callbacks.") in listing
    assert "odd UNAVAILABLE: xcfb.operations:replay is not a click command " in listing
    assert "sandbox Run an API sandbox." in listing and "rules Rule versions:" in listing
    assert "dlq The dead-letter queue" in listing

    assert main(["broken", "--orders", "3"], plugins) == 2
    refused = capsys.readouterr().err
    assert refused.startswith("xcfb: the broken command is unavailable: cannot import ")
    assert "No module named 'tests.unit.no_such_plugin'" in refused and "Traceback" not in refused

    assert main(["faults", "no-such-scenario"], plugins) == 2  # another plugin: loaded and run
    assert capsys.readouterr().err.startswith("xcfb: unknown scenario(s) no-such-scenario; choose from duplicates")
    assert main(["dlq", "show", "--help"], plugins) == 0
    assert capsys.readouterr().out.startswith("Usage: xcfb dlq show [OPTIONS] ID")
