"""``reclaim cases list|show``: tables, JSON, hostile text, integrity warnings, one-line errors."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reclaim.cli.main import app
from reclaim.store import REDACTED, NewEvidence, NewFinding, NewTimelineEvent, Store

T0 = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
HOSTILE = "[bold red]pwned[/bold red]\x1b]0;owned\x07\x1b[2J\u202eexe.pdf"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "cases.db"
    with Store(path) as store:
        clean = store.create_case("investigate", "bob@contoso.com", tenant="contoso.com", created_at=T0)
        store.set_verdict(clean.id, "clean", status="complete")
        case = store.create_case("investigate", "alice@contoso.com", tenant="contoso.com",
                                 created_at=T0.replace(hour=8))
        ev = store.add_evidence(case.id, "inboxRules", "graph",
                                {"method": "GET", "url": "https://graph.microsoft.com/v1.0/users/alice/messageRules"},
                                json.dumps({"value": [{"displayName": HOSTILE}]}).encode(), T0)
        store.add_findings(case.id, [
            NewFinding("rule-external-forward", "high", f"rule {HOSTILE} forwards outside", artifact_type="inboxRule",
                       artifact_id="AQAAAJ5dZqA=", evidence_ids=(ev.id,), user="alice@contoso.com"),
            NewFinding("rule-move-rss", "medium", "rule moves mail to RSS Feeds"),
            NewFinding("mfa-registered", "low", "MFA registered", kind="exposure"),
        ])
        store.record_not_collected(case.id, "messageTrace", "missing_permission", "needs ReportingWebService.Read.All")
        store.add_timeline(case.id, [NewTimelineEvent(T0, "rule-created", HOSTILE)])
        store.append_journal(case.id, action_id="disable-inbox-rule", target=HOSTILE, step="snapshot",
                             before_evidence_id=ev.id)
        store.append_journal(case.id, action_id="reset-password", target="alice@contoso.com", step="applied",
                             request={"passwordProfile": {"password": REDACTED}})
        store.set_verdict(case.id, "compromised", status="complete")
    return path


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_list_table(db: Path) -> None:
    code, out = invoke("cases", "list", "--db", str(db))
    assert code == 0
    assert out.index("c-20261127-0002") < out.index("c-20261127-0001")  # newest first
    alice = next(line for line in out.splitlines() if "c-20261127-0002" in line)
    assert "compromised" in alice and alice.split()[-3] == "2"  # high + medium
    assert alice.split()[-2:] == ["interrupted", "complete"]  # remediation, case status
    bob = next(line for line in out.splitlines() if "c-20261127-0001" in line)
    assert "clean" in bob and bob.split()[-3:] == ["0", "none", "complete"]


def test_list_json_and_environment(db: Path) -> None:
    code, out = invoke("cases", "list", "--json", env={"RECLAIM_DB": str(db)})
    assert code == 0
    items = json.loads(out)
    assert [(i["id"], i["verdict"], i["findings"]["mediumOrAbove"]) for i in items] == [
        ("c-20261127-0002", "compromised", 2), ("c-20261127-0001", "clean", 0)]
    assert items[0]["created"] == "2026-11-27T08:00:00Z"


def test_show_renders_hostile_text_inert(db: Path) -> None:
    code, out = invoke("cases", "show", "c-20261127-0002", "--db", str(db))
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    flat = out.replace("\n", "")  # long lines wrap at the terminal width
    assert "[bold red]pwned[/bold red]" in flat  # shown as text, not applied as markup
    assert "\\x1b]0;owned\\x07\\x1b[2J<U+202E>exe.pdf" in flat
    for expected in ("compromised", "high (1)", "medium (1)", "low (1)", "(exposure)", "not checked",
                     "messageTrace", "missing_permission", "evidence (1), every hash verified", "timeline (1)",
                     "journal (2)", "chain: intact"):
        assert expected in out, expected
    assert out.index("high (1)") < out.index("medium (1)") < out.index("low (1)")


def test_show_lists_at_most_50_rows_but_every_mismatch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reclaim.cli.console import console

    monkeypatch.setattr(console, "_width", 200)  # one table row per line
    path = tmp_path / "sweep.db"
    with Store(path) as store:
        case = store.create_case("sweep", "contoso.com")
        items = (NewEvidence("inboxRules", "graph", {"url": f"/users/u{i}"}, {"i": i}, T0) for i in range(120))
        ids = store.add_evidence_many(case.id, items)
        store.add_timeline(case.id, [NewTimelineEvent(T0, "rule-created", f"event {i}") for i in range(60)])
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("DROP TRIGGER evidence_no_update")
    con.execute("UPDATE evidence SET payload = x'00' WHERE id = ?", (ids[-1],))
    con.close()
    code, out = invoke("cases", "show", case.id, "--db", str(path))
    assert code == 1
    assert "/users/u49" in out and "/users/u50" not in out and "/users/u119" in out and "MISMATCH" in out
    assert "… 69 more" in out and "… 10 more" in out and "1 do not match" in out
    code, out = invoke("cases", "show", case.id, "--db", str(path), "--all")
    assert "/users/u50" in out and "event 59" in out and "more (--all" not in out


def test_show_json(db: Path) -> None:
    code, out = invoke("cases", "show", "c-20261127-0002", "--db", str(db), "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["case"]["verdict"] == "compromised" and doc["intact"] is True
    assert [f["severity"] for f in doc["findings"]] == ["high", "medium", "low"]
    assert doc["findings"][0]["artifact"] == {"type": "inboxRule", "id": "AQAAAJ5dZqA="}
    assert doc["findings"][0]["title"] == f"rule {HOSTILE} forwards outside"  # JSON carries the data as is
    assert doc["notChecked"] == [{"check": "messageTrace", "reason": "missing_permission",
                                  "detail": "needs ReportingWebService.Read.All", "subject": None}]
    (evidence,) = doc["evidence"]
    assert evidence["hashOk"] and len(evidence["sha256"]) == 64
    chain = doc["journal"]["chain"]
    assert chain["ok"] and chain["length"] == 2 and chain["headHash"] == doc["journal"]["entries"][-1]["entryHash"]
    assert doc["journal"]["entries"][1]["request"] == {"passwordProfile": {"password": REDACTED}}


def test_show_warns_and_exits_1_when_the_store_was_tampered_with(db: Path) -> None:
    con = sqlite3.connect(db, isolation_level=None)
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        con.execute(f"DROP TRIGGER {name}")
    con.execute("UPDATE evidence SET payload = x'7b7d'")
    con.execute("UPDATE journal SET step = 'skipped' WHERE seq = 2")
    con.close()
    code, out = invoke("cases", "show", "c-20261127-0002", "--db", str(db))
    assert code == 1
    assert "MISMATCH" in out
    assert "BROKEN at entry 1" in out.replace("\n", " ")  # entry 1 cites the tampered snapshot
    code, out = invoke("cases", "show", "c-20261127-0002", "--db", str(db), "--json")
    assert code == 1 and json.loads(out)["intact"] is False


def test_errors_are_one_line_and_exit_2(db: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database " * 200)
    cases = [
        (("cases", "show", "c-20990101-0001", "--db", str(db)), "no case 'c-20990101-0001'"),
        (("cases", "list", "--db", str(garbage)), "file is not a database"),
        (("cases", "list", "--db", "nosuchdialect://x"), "cannot use the case store"),
        (("cases", "list", "--db", str(tmp_path / "missing.db")), "no case store at"),
        (("cases", "list", "--db", str(db), "--kind", "remediate"), "unknown case kind 'remediate'"),
    ]
    for args, message in cases:
        result = CliRunner().invoke(app, list(args))
        assert result.exit_code == 2, (args, result.output)
        assert result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    assert not (tmp_path / "missing.db").exists()


def test_the_installed_command_prints_one_unwrapped_line(db: Path) -> None:
    env = {**os.environ, "COLUMNS": "40"}  # narrower than the message: it must still not be wrapped
    env.pop("RECLAIM_DB", None)
    proc = subprocess.run([sys.executable, "-c", "from reclaim.cli.main import run; run()",
                           "cases", "show", "c-20990101-0001", "--db", str(db)],
                          capture_output=True, text=True, env=env, timeout=60, check=False)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: no case 'c-20990101-0001'")
    assert "Traceback" not in proc.stderr


def test_empty_default_store(tmp_path: Path) -> None:
    code, out = invoke("cases", "list", env={"XDG_DATA_HOME": str(tmp_path), "RECLAIM_DB": ""})
    assert code == 0 and "no cases yet" in out
    assert (tmp_path / "reclaim" / "reclaim.db").exists()


def test_list_shows_the_remediation_status_and_close_keeps_the_case(db: Path) -> None:
    with Store(db) as store:
        alice = store.latest_case_for("alice@contoso.com")
        assert alice is not None
    code, out = invoke("cases", "list", "--db", str(db), "--json")
    assert code == 0
    rows = {row["subject"]: row for row in json.loads(out)}
    assert rows["bob@contoso.com"]["remediation"] == "none"
    assert rows["alice@contoso.com"]["remediation"] == "interrupted"  # a snapshot with no apply after it
    code, out = invoke("cases", "list", "--db", str(db))
    assert code == 0 and "remediation" in out and "interrupted" in out
    code, out = invoke("cases", "close", alice.id, "--db", str(db))
    assert code == 0 and f"closed {alice.id}" in out and "remediation: interrupted" in out
    with Store(db) as store:
        assert store.get_case(alice.id).status == "closed"
        assert store.verify_chain(alice.id).ok  # closing changes no evidence or journal
    code, out = invoke("cases", "close", "c-20990101-0001", "--db", str(db))
    assert code == 2 and out.count("\n") == 1


@pytest.mark.parametrize(("steps", "expected"), [
    ([("block-sign-in", "planned", None)], "planned"),
    ([("block-sign-in", "applied", None), ("block-sign-in", "verified", {"holds": True})], "verified"),
    ([("unblock-sender", "applied", None), ("unblock-sender", "not_held", {"state": "pending"})], "pending"),
    ([("disable-inbox-rule", "applied", None), ("disable-inbox-rule", "not_held", {"state": "not held"})],
     "did not hold"),
    ([("block-sign-in", "verified", {"holds": True}), ("block-sign-in", "undone", None)], "undone"),
    ([("block-sign-in", "applied", None)], "applied"),
])
def test_remediation_status_from_the_journal(tmp_path: Path, steps: list[tuple[str, str, dict[str, object] | None]],
                                             expected: str) -> None:
    from reclaim.cli.cases import remediation_status

    with Store(tmp_path / "s.db") as store:
        case = store.create_case("investigate", "carol@contoso.com")
        for action, step, verify in steps:
            store.append_journal(case.id, action_id=action, target="t", step=step, verify=verify)
        assert remediation_status(store.journal(case.id)) == expected
