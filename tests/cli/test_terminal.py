"""Terminal output piped or logged: no hard wrap at 80 columns (or the COLUMNS the user set)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from reclaim.cli.main import app
from reclaim.store import Store

LONG = "a.very.long.mailbox.name.that.goes.on.and.on.well.past.eighty.columns@subsidiary.contoso.example"


def test_piped_output_is_not_wrapped_and_columns_is_honoured(tmp_path: Path) -> None:
    db = tmp_path / "cases.db"
    with Store(db) as store:
        for _ in range(3):
            case = store.create_case("investigate", LONG, tenant="contoso.com")
            store.set_verdict(case.id, "clean", status="complete")
    piped = CliRunner().invoke(app, ["cases", "list", "--db", str(db)], env={"COLUMNS": None})
    assert piped.exit_code == 0, piped.output
    rows = [line for line in piped.output.splitlines() if line.lstrip().startswith("c-")]
    assert len(rows) == 3 and all(LONG in row and len(row) > 120 for row in rows)  # one line per case
    narrow = CliRunner().invoke(app, ["cases", "list", "--db", str(db)], env={"COLUMNS": "70"})
    assert narrow.exit_code == 0
    assert max(len(line) for line in narrow.output.splitlines()) <= 70 and LONG not in narrow.output
