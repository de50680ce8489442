"""``reclaim analyze logs``: the JSON document, attribution of the attacker's sessions, the stored case."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from reclaim.cli.main import app
from reclaim.logs import samples
from tests.logs import story

runner = CliRunner()


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("export")
    samples.write(folder / "audit.csv", samples.purview_csv(story.records()))
    samples.write(folder / "signins.json", samples.graph_value(story.sign_ins()))
    samples.write(folder / "directory.json", samples.graph_value(story.directory_audits(), "auditLogs/directoryAudits"))
    samples.write(folder / "readme.txt", "notes\n")
    return folder


@pytest.fixture(scope="module")
def doc(export: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    db = tmp_path_factory.mktemp("db") / "cases.db"
    result = runner.invoke(app, ["analyze", "logs", str(export), "--domain", "contoso.com", "--json", "--db",
                                 str(db)])
    assert result.exit_code == 1, result.output
    out: dict[str, object] = json.loads(result.output)
    out["_db"] = str(db)
    return out


def test_document_shape(doc: dict[str, object]) -> None:
    assert set(doc) >= {"records", "files", "users", "findings", "notChecked"}
    assert doc["records"] == len(story.records()) + 3 + 1
    files = {Path(str(f["path"])).name: f for f in doc["files"]}  # type: ignore[attr-defined]
    assert files["audit.csv"]["format"] == "purview-csv" and files["readme.txt"]["skipped"]
    for f in doc["findings"]:  # type: ignore[attr-defined]
        assert set(f) >= {"check", "severity", "title", "user", "artifact", "records", "evidence"}
        assert f["artifact"]["type"] in ("auditRecord", "signIn", "directoryAudit")
    users = {u["user"]: u["verdict"] for u in doc["users"]}  # type: ignore[attr-defined]
    assert users[story.ALICE] == "compromised" and users["bob@contoso.com"] == "clean"


def test_records_are_the_records_own_ids(doc: dict[str, object]) -> None:
    checks = {f["check"]: f for f in doc["findings"] if f["user"] == story.ALICE}  # type: ignore[attr-defined]
    assert checks["audit-mailbox-forwarding"]["artifact"] == {"type": "auditRecord", "id": "fwd-1"}
    assert checks["audit-admin-role-assigned"]["records"] == ["Directory_role-1"]
    assert "login-1" in checks["password-spray"]["records"]


def test_attacker_sessions_attributed_and_the_users_own_not(doc: dict[str, object]) -> None:
    attributed = {r for f in doc["findings"] if f["check"] == "attacker-activity"  # type: ignore[attr-defined]
                  for r in f["records"]}
    assert attributed >= story.ATTACKER_RECORDS
    assert not attributed & story.OWN_RECORDS
    touched = doc["touched"][story.ALICE]  # type: ignore[index]
    cats = {c["category"]: c for c in touched["categories"]}
    read = cats["mailRead"]["items"]
    assert {i.get("internetMessageId") for i in read if i["access"] == "bind"} == {"<m1@contoso.com>",
                                                                                    "<m2@contoso.com>"}
    assert any(i["access"] == "sync" and i["folder"] == "\\Sent Items" for i in read)
    assert cats["mailSent"]["items"][0]["subject"] == "Updated bank details"
    assert cats["sharing"]["count"] == 1 and cats["filesRead"]["count"] == 1
    assert cats["mailRead"]["first"] == "2026-11-10T09:15:00Z"


def test_stored_as_a_case_the_report_reads(doc: dict[str, object]) -> None:
    case = str(doc["case"])
    result = runner.invoke(app, ["report", case, "--format", "json", "--db", str(doc["_db"])])
    assert result.exit_code == 0, result.output
    assert "audit-mailbox-forwarding" in result.output


def test_text_output_has_what_the_attacker_touched(export: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["analyze", "logs", str(export), "--db", str(tmp_path / "c.db")])
    assert result.exit_code == 1, result.output
    assert "What the attacker touched" in result.output and "<m1@contoso.com>" in result.output
    assert "skipped" in result.output


def test_unknown_file_exit_2_nothing_stored(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2, 3]")
    db = tmp_path / "c.db"
    result = runner.invoke(app, ["analyze", "logs", str(bad), "--db", str(db)])
    assert result.exit_code == 2
    assert "bad.json" in result.output and "Traceback" not in result.output
    listed = runner.invoke(app, ["cases", "list", "--db", str(db), "--json"])
    assert "logs" not in listed.output


def _stored(export: Path, db: Path, batch: int) -> tuple[list[tuple[str, str]], list[tuple[str, str, int]], int, str]:
    from reclaim.logs.analysis import run
    from reclaim.logs.case import CaseWriter
    from reclaim.store import Store

    store = Store(str(db))
    try:
        with CaseWriter(store, batch=batch) as writer:
            result = run([export], domains=["contoso.com"], sink=writer)
            case_id = writer.finish(result)
        evidence = sorted((e.kind, json.dumps(e.request, sort_keys=True)) for e in store.evidence(case_id))
        findings = sorted((f.check_id, f.artifact_id or "", len(f.evidence_ids)) for f in store.findings(case_id))
        return evidence, findings, len(store.timeline(case_id)), store.get_case(case_id).verdict or ""
    finally:
        store.close()


def test_stored_one_user_at_a_time_as_in_one_batch(export: Path, tmp_path: Path) -> None:
    """Users are stored in batches as they are analysed: a batch of one user gives the same case as one batch."""
    one = _stored(export, tmp_path / "one.db", batch=1)
    whole = _stored(export, tmp_path / "whole.db", batch=10_000)
    assert one == whole
    evidence, findings, timeline, verdict = one
    assert verdict == "compromised" and timeline > 0
    assert any(f[:2] == ("audit-mailbox-forwarding", "fwd-1") and f[2] > 0 for f in findings)
    assert ("attacker_activity", json.dumps({"user": story.ALICE})) in evidence


def test_an_analysis_that_fails_midway_stores_nothing(export: Path, tmp_path: Path) -> None:
    from reclaim.logs.analysis import run
    from reclaim.logs.case import CaseWriter
    from reclaim.store import Store

    class Failing(CaseWriter):
        def user(self, *args: Any) -> None:
            super().user(*args)
            raise RuntimeError("disk full")

    store = Store(str(tmp_path / "cases.db"))
    try:
        with pytest.raises(RuntimeError, match="disk full"), Failing(store, batch=1) as writer:
            run([export], domains=["contoso.com"], sink=writer)
        assert writer.case_id is not None  # the case was begun, then rolled back
        assert store.list_cases() == []
    finally:
        store.close()
