"""The ``reclaim`` command. Thin: parse, call the core, render; errors become one line and an exit code."""

from __future__ import annotations

import sys

import typer

from reclaim import __version__
from reclaim.cli import (
    analyze,
    cases,
    demo,
    emulator_cmd,
    evidence,
    investigate,
    jobs,
    remediate,
    report,
    sweep,
    tenant,
    watch,
)
from reclaim.cli.console import err_console, visible
from reclaim.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, ReclaimError

# The command modules above import the heavy parts (store, client, checks, emulator) inside the commands, so that
# `reclaim --help` and every command's startup stay fast; tests/cli/test_startup.py keeps it so.
app = typer.Typer(
    name="reclaim",
    help="Investigate, contain and remediate a compromised Microsoft 365 account and mailbox.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(emulator_cmd.app, name="emulator")
app.add_typer(tenant.app, name="tenant")
app.add_typer(cases.app, name="cases")
app.add_typer(analyze.app, name="analyze")
app.add_typer(evidence.app, name="evidence")
app.add_typer(jobs.app, name="jobs")
app.command("demo")(demo.demo)
app.command("investigate")(investigate.investigate_command)
app.command("remediate")(remediate.remediate_command)
app.command("verify")(remediate.verify_command)
app.command("undo")(remediate.undo_command)
app.command("restore-access")(remediate.restore_access_command)
app.command("report")(report.report_command)
app.command("sweep")(sweep.sweep_command)
app.command("hunt")(sweep.hunt_command)
app.command("worker")(jobs.worker_command)
app.command("watch")(watch.watch_command)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"reclaim {__version__}")
        raise typer.Exit(0)


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Investigate, contain and remediate a compromised Microsoft 365 account and mailbox."""


def run() -> None:
    """Console-script entry point: maps reclaim's errors to one line on stderr and DESIGN.md's exit codes; any
    other exception is a bug: one line naming the log file with its traceback, exit 70."""
    try:
        app(standalone_mode=True)
    except ReclaimError as exc:
        # The message can quote a file name or the service (attacker-controlled names): no escape sequences.
        err_console.print(f"error: {visible(exc.one_line())}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted", markup=False)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # noqa: BLE001 - the last resort: a bug, logged in full, one line on the terminal
        from reclaim.cli.crash import crash_line

        err_console.print(f"error: {crash_line(exc, sys.argv)}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(EXIT_INTERNAL)
