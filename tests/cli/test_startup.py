"""``reclaim --help`` and ``reclaim COMMAND --help`` load none of the heavy modules (the database layer, the
HTTP client, the checks, the emulator …): those are imported by the command that runs, when it runs."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("sqlalchemy", "httpx", "jwt", "starlette", "uvicorn", "azure", "reclaim.store", "reclaim.m365",
         "reclaim.detect", "reclaim.report", "reclaim.emulator", "reclaim.sweep", "reclaim.collect",
         "reclaim.remediate")

# Run in a fresh interpreter (this one has imported everything already): invoke the app the way the console
# script does with --help, then each command's --help, and report the heavy modules each invocation added.
_CHILD = """
import json, sys
import typer.core, typer.main
from typer.testing import CliRunner
from reclaim.cli.main import app

heavy = tuple(sys.argv[1:])

def loaded():
    return {m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy)}

def paths(command, prefix):
    yield prefix
    if isinstance(command, typer.core.TyperGroup):
        for name, sub in sorted(command.commands.items()):
            yield from paths(sub, [*prefix, name])

runner = CliRunner()
report = {"import": sorted(loaded()), "runs": []}
for argv in [*paths(typer.main.get_command(app), [])]:
    before = loaded()
    result = runner.invoke(app, [*argv, "--help"])
    report["runs"].append({"argv": argv, "exit": result.exit_code, "added": sorted(loaded() - before)})
print(json.dumps(report))
"""


def test_help_imports_no_heavy_module() -> None:
    proc = subprocess.run([sys.executable, "-c", _CHILD, *HEAVY], capture_output=True, text=True, check=True)
    report = json.loads(proc.stdout)
    assert report["import"] == [], "import reclaim.cli.main loads heavy modules"
    runs = report["runs"]
    assert len(runs) > 20  # reclaim, its commands, the groups and their commands
    assert [r for r in runs if r["exit"] != 0] == []
    assert [r for r in runs if r["added"]] == []


def test_the_cli_db_env_var_is_the_stores() -> None:
    # the CLI names it without importing reclaim.store (which loads SQLAlchemy)
    from reclaim.cli.common import DB_ENV
    from reclaim.store import ENV_VAR

    assert DB_ENV == ENV_VAR
