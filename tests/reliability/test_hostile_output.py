"""Attacker-controlled text through every output: the terminal (in-process and a real subprocess whose stdout
is a pipe), JSON, HTML, Markdown, CSV. Rule names, a display name and an exported CSV carry escape sequences
(ANSI, OSC 8 hyperlinks, title changes, C1 controls), rich markup, HTML and script, CSV formulas, right-to-left
overrides, zero-width characters, line breaks, very long strings and invalid UTF-8. Every output must show them
as data: inert, and visible."""

from __future__ import annotations

import copy
import csv
import html
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from reclaim.cli.main import app
from reclaim.emulator import Emulator
from reclaim.emulator.server import serve_in_thread
from reclaim.text import visible
from tests.reliability.hostile import HOSTILE, terminal_problems
from tests.reliability.support import quiet_fixture

NINA = "nina.fischer@fabrikam.com"
RECLAIM = str(Path(sys.executable).with_name("reclaim"))
HOSTILE_NAME = "Nina [bold red]Fischer[/bold red]\x1b]0;owned\x07\u202e"


def _plant(fixture: dict[str, Any]) -> dict[str, Any]:
    """One forwarding rule per hostile string in Nina's mailbox, and a hostile display name."""
    fixture = copy.deepcopy(fixture)
    user = next(u for u in fixture["users"] if u["userPrincipalName"] == NINA)
    user["displayName"] = HOSTILE_NAME
    rules = user["mailbox"].setdefault("inboxRules", [])
    for i, (key, text) in enumerate(HOSTILE.items()):
        rules.append({"id": f"hostile-{key}", "displayName": text, "sequence": 50 + i, "isEnabled": True,
                      "conditions": {"subjectContains": [text[:200]]},
                      "actions": {"forwardTo": [{"emailAddress": {"address": "drop@evil.example", "name": text}}],
                                  "stopProcessingRules": True},
                      "exceptions": {}, "hidden": False})
    return fixture


@dataclass
class Run:
    url: str
    home: Path

    def env(self) -> dict[str, str]:
        return {"RECLAIM_ENDPOINT": self.url, "RECLAIM_DB": str(self.home / "cases.db"),
                "RECLAIM_CONFIG": str(self.home / "config.toml"), "RECLAIM_OPERATOR": "hostile-test",
                "COLUMNS": "160", "NO_COLOR": "1"}

    def cli(self, *args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(app, list(args), env=self.env())
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    emulator = Emulator(_plant(quiet_fixture("bec-campaign")))
    with serve_in_thread(emulator) as url:
        yield Run(url, tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def case(run: Run) -> str:
    code, out, err = run.cli("investigate", NINA, "--json")
    assert code == 1, err
    return str(json.loads(out)["case"])


def _assert_terminal(text: str) -> None:
    assert not terminal_problems(text), terminal_problems(text)
    # the title text only with its sequence shown (\x1b as text, or as a JSON escape)
    assert "window title changed" not in text or "\\x1b]0;" in text or "\\u001b]0;" in text


def _outside_code_spans(markdown: str) -> str:
    """Markdown with its code spans (CommonMark: a backtick run closed by a run of the same length) taken out."""
    return re.sub(r"(?<!`)(`+)(?!`).*?(?<!`)\1(?!`)", "", markdown, flags=re.S)


def _assert_shown(text: str) -> None:
    """The hostile rules are there, as visible text: markup literally, escapes as \\x1b, bidi as <U+202E>."""
    flat = " ".join(text.split())  # tables wrap long cells
    assert "[bold red]OK[/bold red]" in flat.replace(" ", "") or "[bold red]OK[/bold red]" in flat
    assert "\\x1b" in text
    assert "<U+202E>" in text
    assert "<U+200B>" in text


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def test_investigate_terminal(run: Run, case: str) -> None:
    code, out, err = run.cli("investigate", NINA)
    assert code == 1, err
    _assert_terminal(out + err)
    _assert_shown(out)


def test_investigate_json_is_data(run: Run, case: str) -> None:
    code, out, err = run.cli("investigate", NINA, "--json")
    assert code == 1, err
    _assert_terminal(out + err)
    doc = json.loads(out)
    strings = set(_strings(doc))
    # the names travel as data, exactly as the tenant holds them
    for key in ("markup", "html", "formula", "rtl", "osc8", "c1", "zero-width", "long"):
        assert HOSTILE[key] in strings, key
    assert doc["user"]["displayName"] == HOSTILE_NAME


def test_cases_show_and_list(run: Run, case: str) -> None:
    for args in (("cases", "show", case), ("cases", "list")):
        code, out, err = run.cli(*args)
        assert code == 0, err
        _assert_terminal(out + err)
    code, out, _ = run.cli("cases", "show", case)
    _assert_shown(out)


def test_remediate_plan(run: Run, case: str) -> None:
    code, out, err = run.cli("remediate", NINA, "--plan", "--case", case)
    assert code == 0, out + err
    _assert_terminal(out + err)
    assert "<U+202E>" in out and "\\x1b" in out
    code, out, err = run.cli("remediate", NINA, "--plan", "--case", case, "--json")
    assert code == 0, err
    _assert_terminal(out + err)
    json.loads(out)


def test_remediate_verify_undo_terminal(run: Run, case: str) -> None:
    """Applying, verifying and undoing the plan show the hostile rule names inertly too (and as JSON)."""
    pw = run.home / "nina.password"
    code, out, err = run.cli("remediate", NINA, "--apply", "--yes", "--case", case, "--password-file", str(pw))
    assert code in (0, 1), out + err
    _assert_terminal(out + err)
    for args in (("verify", case), ("verify", case, "--json"), ("undo", case, "--yes")):
        code, out, err = run.cli(*args)
        assert code in (0, 1), (args, out + err)
        _assert_terminal(out + err)
    code, out, err = run.cli("cases", "show", case)
    _assert_terminal(out + err)
    assert "<U+202E>" in out


def test_report_formats(run: Run, case: str) -> None:
    out_dir = run.home / "reports"
    code, out, err = run.cli("report", case, "--format", "all", "--out", str(out_dir))
    assert code == 0, out + err
    _assert_terminal(out + err)
    files = {p.suffix: p for p in out_dir.iterdir()}
    assert {".html", ".md", ".json", ".csv"} <= set(files), files

    page = files[".html"].read_text(encoding="utf-8")
    lower = page.lower()
    assert "<script" not in lower
    assert "<img src=x onerror" not in lower
    assert html.escape("<script>alert(1)</script>", quote=False) in page or "&lt;script&gt;" in page
    assert "\x1b" not in page and "\u202e" not in page and "\u200b" not in page
    assert "&lt;U+202E&gt;" in page or "<U+202E>" not in page  # shown, as text
    assert "javascript:" not in lower and 'href="http://evil.example' not in lower

    md = files[".md"].read_text(encoding="utf-8")
    assert "\x1b" not in md and "\u202e" not in md and "\u200b" not in md
    prose = _outside_code_spans(md)
    raw_tags = re.findall(r"(?<!\\)<(?:script|img)", prose)  # a backslash-escaped < is text
    assert not raw_tags, [ln for ln in prose.splitlines() if re.search(r"(?<!\\)<(?:script|img)", ln)][:3]
    assert not re.search(r"(?<!\\)\[link=http://evil\.example(?<!\\)\]", prose)
    assert "\\x1b" in md and "U+202E" in md

    doc = json.loads(files[".json"].read_text(encoding="utf-8"))
    assert HOSTILE["html"] in json.dumps(doc, ensure_ascii=False)

    raw = files[".csv"].read_text(encoding="utf-8-sig")
    for row in csv.reader(io.StringIO(raw)):
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell[:80]
    assert "HYPERLINK" in raw  # shown, as text


def test_report_to_stdout_markdown(run: Run, case: str) -> None:
    code, out, err = run.cli("report", case, "--format", "md")
    assert code == 0, err
    _assert_terminal(out + err)


def test_sweep_and_hunt_terminal(run: Run, case: str) -> None:
    code, out, err = run.cli("sweep", "--deep", "--no-progress")
    assert code == 1, out + err
    _assert_terminal(out + err)
    code, out, err = run.cli("sweep", "--no-progress", "--jsonl")
    _assert_terminal(out + err)
    for line in out.splitlines():
        json.loads(line)
    code, out, err = run.cli("hunt", "--from-case", case)
    assert code in (0, 1), out + err
    _assert_terminal(out + err)


def _export(path: Path) -> None:
    """A Get-InboxRule export with hostile rule names, and a row with bytes that are not UTF-8."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["MailboxOwnerId", "Name", "Enabled", "Priority", "RuleIdentity", "ForwardTo", "DeleteMessage"])
    for i, text in enumerate(HOSTILE.values()):
        writer.writerow([NINA, text, "True", str(i + 1), str(1000 + i), "drop@evil.example", "False"])
    data = buf.getvalue().encode("utf-8")
    data += b'nina.fischer@fabrikam.com,"bad \xff\xfe bytes \xc3",True,99,2000,drop@evil.example,False\r\n'
    path.write_bytes(data)


def test_analyze_an_export_with_hostile_names_and_invalid_utf8(run: Run, tmp_path: Path) -> None:
    export = tmp_path / "rules.csv"
    _export(export)
    code, out, err = run.cli("analyze", "rules", str(export), "--domain", "fabrikam.com")
    assert code in (1, 2), out + err
    _assert_terminal(out + err)
    if code == 2:  # refused: one clear line, naming the problem
        assert err.count("\n") == 1 and err.startswith("error:") and "UTF-8" in err, err
    else:
        assert "\\x1b" in out
    code, out, err = run.cli("analyze", "rules", str(export), "--domain", "fabrikam.com", "--json")
    _assert_terminal(out + err)


def test_real_console_script_with_a_pipe_for_stdout(run: Run, case: str) -> None:
    """The installed command, stdout a pipe (no TTY), default terminal settings: still no escape sequences."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECLAIM_") and k not in ("NO_COLOR", "COLUMNS")}
    env.update({k: v for k, v in run.env().items() if k not in ("NO_COLOR", "COLUMNS")})
    for args in (["investigate", NINA], ["cases", "show", case], ["remediate", NINA, "--plan", "--case", case]):
        done = subprocess.run([RECLAIM, *args], env=env, capture_output=True, timeout=120, check=False)
        assert done.returncode in (0, 1), done.stderr.decode(errors="replace")
        out = done.stdout.decode("utf-8")
        err = done.stderr.decode("utf-8")
        assert b"\x1b" not in done.stdout + done.stderr
        _assert_terminal(out + err)
        assert "Traceback" not in err


def test_visible_covers_every_hostile_string() -> None:
    for key, text in HOSTILE.items():
        shown = visible(text)
        assert not terminal_problems(shown.replace("\n", "").replace("\r", "")), key
