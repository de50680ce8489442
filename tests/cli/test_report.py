"""``reclaim report``: formats to stdout and files, --tz, one-line errors with exit 2, exit 1 on a tampered case."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner, Result

from reclaim.cli.main import app
from reclaim.report import schema
from reclaim.store import Store
from tests.report.cases import SCRIPT_RULE, synthetic_case


@pytest.fixture
def store_with_case(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "cases.db"
    with Store(path) as store:
        case_id = synthetic_case(store)
    return path, case_id


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_json_to_standard_output_follows_the_schema(store_with_case: tuple[Path, str]) -> None:
    db, case_id = store_with_case
    result = invoke("report", case_id, "--db", str(db), "--format", "json", "--tz", "UTC")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    jsonschema.Draft202012Validator(schema()).validate(doc)
    assert doc["case"]["id"] == case_id and doc["timeZone"] == "UTC"
    assert doc["findings"][0]["evidence"]["name"] == SCRIPT_RULE


def test_html_to_a_private_file(store_with_case: tuple[Path, str], tmp_path: Path) -> None:
    db, case_id = store_with_case
    out = tmp_path / "deep" / "alice.html"
    result = invoke("report", case_id, "--db", str(db), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"wrote html report: {out}" in result.stderr and result.stdout == ""
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "&lt;script&gt;document.title" in html and "<script" not in html


def test_all_formats_into_a_directory(store_with_case: tuple[Path, str], tmp_path: Path) -> None:
    db, case_id = store_with_case
    result = invoke("report", case_id, "--db", str(db), "--format", "all", "--out", str(tmp_path / "r"))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["evidence.html", "findings.csv", "notify.csv",
                                                                  "report.html", "report.json", "report.md"]


@pytest.mark.parametrize("existing", [False, True])
def test_all_formats_are_written_all_or_nothing(store_with_case: tuple[Path, str], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch, existing: bool) -> None:
    """A failure on the fourth file leaves no new file behind and puts back what was there before."""
    import reclaim.report as report_module

    db, case_id = store_with_case
    out = tmp_path / "r"
    if existing:
        out.mkdir()
        (out / "report.html").write_text("the old report", encoding="utf-8")
    real = report_module._write_private
    calls: list[Path] = []

    def failing(path: Path, data: str | bytes) -> None:
        calls.append(path)
        if len(calls) == 4:
            raise OSError(28, "No space left on device")
        real(path, data)

    monkeypatch.setattr(report_module, "_write_private", failing)
    result = invoke("report", case_id, "--db", str(db), "--format", "all", "--out", str(out))
    assert result.exit_code == 2 and "No space left on device" in result.stderr, result.output
    assert len(calls) == 4
    if existing:
        assert [p.name for p in out.iterdir()] == ["report.html"]
        assert (out / "report.html").read_text(encoding="utf-8") == "the old report"
    else:
        assert not out.exists()


def test_a_failed_rename_puts_the_old_files_back(store_with_case: tuple[Path, str], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    db, case_id = store_with_case
    out = tmp_path / "r"
    out.mkdir()
    for name in ("report.html", "report.md"):
        (out / name).write_text(f"old {name}", encoding="utf-8")
    real = Path.replace
    moved: list[str] = []

    def replace(self: Path, target: Path) -> Path:
        if Path(target).name == "report.json":
            raise OSError(5, "Input/output error")
        moved.append(Path(target).name)
        return real(self, target)

    monkeypatch.setattr(Path, "replace", replace)
    result = invoke("report", case_id, "--db", str(db), "--format", "all", "--out", str(out))
    assert result.exit_code == 2 and "Input/output error" in result.stderr, result.output
    assert "report.html" in moved  # it had been replaced before the failure ...
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.md"]  # ... and is back
    assert (out / "report.html").read_text(encoding="utf-8") == "old report.html"
    assert (out / "report.md").read_text(encoding="utf-8") == "old report.md"


def test_markdown_alias_and_the_machines_zone(store_with_case: tuple[Path, str]) -> None:
    db, case_id = store_with_case
    result = invoke("report", case_id, "--db", str(db), "--format", "markdown", env={"TZ": "Asia/Tokyo"})
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# Compromised account report") and "**Asia/Tokyo**" in result.stdout
    assert " JST" in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["c-20990101-0001"], "no case 'c-20990101-0001'"),
    (["{case}", "--tz", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
    (["{case}", "--format", "docx"], "unknown report format 'docx'"),
    (["{case}", "--format", "all"], "--format all needs --out DIRECTORY"),
])
def test_bad_input_is_one_line_and_exit_2(store_with_case: tuple[Path, str], args: list[str], message: str) -> None:
    db, case_id = store_with_case
    result = invoke("report", *[a.replace("{case}", case_id) for a in args], "--db", str(db))
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert result.stderr.count("\n") <= 2 and result.stdout == ""


def test_unwritable_path_is_exit_2(store_with_case: tuple[Path, str], tmp_path: Path) -> None:
    db, case_id = store_with_case
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = invoke("report", case_id, "--db", str(db), "--out", str(blocker / "report.html"))
    assert result.exit_code == 2 and "cannot write the report" in result.stderr


def test_a_tampered_case_is_reported_and_exits_1(store_with_case: tuple[Path, str], tmp_path: Path) -> None:
    db, case_id = store_with_case
    con = sqlite3.connect(db, isolation_level=None)
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        con.execute(f"DROP TRIGGER {name}")
    con.execute("UPDATE journal SET step = 'skipped' WHERE seq = 3")
    con.close()
    out = tmp_path / "r.html"
    result = invoke("report", case_id, "--db", str(db), "--out", str(out))
    assert result.exit_code == 1
    assert "do not verify" in result.stderr
    assert "Hash chain BROKEN at entry 3" in out.read_text(encoding="utf-8")
    result = invoke("report", case_id, "--db", str(db), "--format", "json")
    assert result.exit_code == 1 and json.loads(result.stdout)["journal"]["chain"]["ok"] is False


def test_pdf_needs_the_browser_or_says_so(store_with_case: tuple[Path, str], tmp_path: Path) -> None:
    """``--format pdf`` prints the customer's report to A4 in headless Chromium; without one it is one line."""
    from reclaim.report.browser import find_chromium

    db, case_id = store_with_case
    out = tmp_path / "report.pdf"
    if find_chromium() is None:
        result = invoke("report", case_id, "--db", str(db), "--format", "pdf", "--out", str(out))
        assert result.exit_code != 0 and "Chromium" in result.stderr
        return
    result = invoke("report", case_id, "--db", str(db), "--format", "pdf", "--out", str(out))
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"%PDF-") and stat.S_IMODE(out.stat().st_mode) == 0o600
    assert b"/MediaBox [0 0 594.96 841.92]" in data or b"/MediaBox [0 0 595" in data or b"841.9" in data
    missing = invoke("report", case_id, "--db", str(db), "--format", "pdf", "--out", str(out),
                     env={"RECLAIM_CHROMIUM": str(tmp_path / "no-such-browser")})
    assert missing.exit_code != 0 and "Chromium was not found" in missing.stderr
