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
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["findings.csv", "report.html", "report.json",
                                                                  "report.md"]


def test_markdown_alias_and_the_machines_zone(store_with_case: tuple[Path, str]) -> None:
    db, case_id = store_with_case
    result = invoke("report", case_id, "--db", str(db), "--format", "markdown", env={"TZ": "Asia/Tokyo"})
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# Compromised account report") and "**Asia/Tokyo**" in result.stdout
    assert " JST" in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["c-20990101-0001"], "no case 'c-20990101-0001'"),
    (["{case}", "--tz", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
    (["{case}", "--format", "pdf"], "unknown report format 'pdf'"),
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
