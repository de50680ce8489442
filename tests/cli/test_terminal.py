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


def test_investigate_progress_is_in_words_with_a_counter() -> None:
    import dataclasses

    from reclaim.cli.progress import EVIDENCE_WORDS, describe
    from reclaim.detect.evidence import EvidenceBundle

    kinds = {f.name for f in dataclasses.fields(EvidenceBundle)} - {"window", "now", "mailbox_owner"}
    assert kinds <= set(EVIDENCE_WORDS), f"evidence kinds without words: {sorted(kinds - set(EVIDENCE_WORDS))}"
    assert describe("ndr_messages", 3) == f"[3/{len(EVIDENCE_WORDS)}] non-delivery reports read"
    assert "_" not in describe("exo_rules", 1)
