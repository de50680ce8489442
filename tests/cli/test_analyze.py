"""``reclaim analyze rules``: output, JSON document, exit codes, escaping of attacker text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reclaim.cli.main import app
from tests.shared_data import PUBLIC

MES = PUBLIC / "mes-demo-tenant" / "MailboxRules.csv"
runner = CliRunner()

EVIL = ('"UserName","RuleName","Enabled","ForwardTo","DeleteMessage","SubjectContainsWords"\n'
        '"a@contoso.com","[bold red]x[/] \x1b]8;;http://evil\x1b\\\\","True","""e"" [SMTP:e@evil.example]","True",'
        '"invoice"\n')


def test_rules_text_output_and_exit_code_1() -> None:
    if not MES.exists():
        pytest.skip("shared sample data not present")
    result = runner.invoke(app, ["analyze", "rules", str(MES), "--domain", "bonacu.onmicrosoft.com"])
    assert result.exit_code == 1, result.output
    assert "110 rules of 16 mailboxes" in result.output
    assert "jacksone@bonacu.onmicrosoft.com" in result.output and "CRITICAL" in result.output


def test_rules_json_document() -> None:
    if not MES.exists():
        pytest.skip("shared sample data not present")
    result = runner.invoke(app, ["analyze", "rules", str(MES), "--domain", "bonacu.onmicrosoft.com", "--json"])
    assert result.exit_code == 1
    doc = json.loads(result.output)
    assert doc["rules"] == 110 and len(doc["users"]) == 16
    user = next(u for u in doc["users"] if u["user"]["userPrincipalName"].startswith("jacksone"))
    assert user["verdict"] == "compromised"
    finding = user["findings"][0]
    assert set(finding) >= {"check", "severity", "title", "artifact", "evidence"}
    assert finding["artifact"] == {"type": "inboxRule", "id": "2222208661541879809"}
    assert all(set(n) == {"check", "reason"} for n in user["notChecked"])


def test_clean_file_exits_0(tmp_path: Path) -> None:
    p = tmp_path / "r.csv"
    p.write_text('"UserName","RuleName","Enabled","MoveToFolder","From"\n'
                 '"a@contoso.com","News","True","Newsletters","""n"" [SMTP:news@shop.example]"\n', encoding="utf-8")
    result = runner.invoke(app, ["analyze", "rules", str(p), "--domain", "contoso.com"])
    assert result.exit_code == 0, result.output
    assert "no findings" in result.output


def test_attacker_text_is_escaped(tmp_path: Path) -> None:
    p = tmp_path / "evil.csv"
    p.write_text(EVIL, encoding="utf-8")
    result = runner.invoke(app, ["analyze", "rules", str(p), "--domain", "contoso.com"])
    assert result.exit_code == 1
    assert "\x1b" not in result.output
    assert "[bold red]x[/]" in result.output and "\\x1b" in result.output


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    p = tmp_path / "bad.csv"
    p.write_text('"UserName","RuleName","Enabled"\n"a@c.com","x","perhaps"\n', encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", "from reclaim.cli.main import run; run()", "analyze", "rules",
                           str(p), "--domain", "c.com"], capture_output=True, text=True, check=False,
                          env={**os.environ, "COLUMNS": "400"})
    assert proc.returncode == 2
    assert "row 1 (line 2), column Enabled" in proc.stderr
    assert "Traceback" not in proc.stderr
    bad_domain = runner.invoke(app, ["analyze", "rules", str(p), "--domain", "not a domain"])
    assert bad_domain.exit_code != 0


def test_checks_listing() -> None:
    result = runner.invoke(app, ["analyze", "checks", "--json"])
    assert result.exit_code == 0
    items = json.loads(result.output)
    assert {"inbox-rule-external-forward", "mfa-not-required"} <= {i["id"] for i in items}
    assert all(i["severity"] and i["symptom"] and i["references"] for i in items)
    text = runner.invoke(app, ["analyze", "checks"])
    assert text.exit_code == 0 and "sweep-rule" in text.output
