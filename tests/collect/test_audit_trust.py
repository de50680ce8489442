"""Audit you can trust: coverage, capped searches split into windows, and what the attacker touched (online)."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reclaim.collect import Investigation, investigate
from reclaim.collect.audit_trust import SearchLog, coverage
from reclaim.detect.attribution import CHECK_ID
from reclaim.emulator import Emulator
from reclaim.emulator.scenarios import load_scenario
from reclaim.emulator.server import serve_in_thread
from reclaim.m365 import Connection, ConnectionSettings
from reclaim.store import Store

ALICE = "alice.wu@contoso.com"
UNTIL = datetime(2026, 12, 4, tzinfo=UTC)
SINCE = UNTIL - timedelta(days=30)


def _fixture(**settings: Any) -> dict[str, Any]:
    fixture = copy.deepcopy(load_scenario("bec-classic"))
    fixture["tenant"]["settings"].update({"throttling": {"enabled": False}, **settings})
    return fixture


def _run(fixture: dict[str, Any], db: Path, upn: str = ALICE, **options: Any) -> Investigation:
    emulator = Emulator(fixture)
    with serve_in_thread(emulator) as url:
        async def main() -> Investigation:
            store = Store(str(db))
            try:
                async with Connection.open(ConnectionSettings.for_endpoint(url)) as conn:
                    return await investigate(conn, store, upn, identity_protection_spacing=0, **options)
            finally:
                store.close()

        return asyncio.run(main())


@pytest.fixture(scope="module")
def alice(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Investigation, Path]]:
    db = tmp_path_factory.mktemp("trust") / "cases.db"
    yield _run(_fixture(), db), db


def _truth() -> dict[str, Any]:
    mail: dict[str, Any] = load_scenario("bec-classic")["scenarioTruth"]["users"][ALICE]["mail"]
    return mail


def test_attacker_mail_read_and_sent_are_attributed_and_the_users_own_are_not(
        alice: tuple[Investigation, Path]) -> None:
    result, _ = alice
    truth = _truth()
    assert result.touched is not None
    attributed = {rid for ids in result.touched.records.values() for rid in ids}
    assert set(truth["attacker"]) <= attributed
    assert not set(truth["own"]) & attributed
    read = {i.get("internetMessageId") for i in result.touched.items["mailRead"]}
    assert set(truth["mailRead"]) <= read
    assert result.touched.counts["mailSent"] == truth["mailSent"]
    assert any(i.get("access") == "sync" and i.get("folder") == "\\Inbox" for i in result.touched.items["mailRead"])
    # files and sharing come from the OneDrive records of the same sessions
    assert result.touched.counts["filesRead"] >= 42 and result.touched.counts["sharing"] >= 3


def test_attacker_activity_is_context_and_leaves_the_verdict_alone(alice: tuple[Investigation, Path]) -> None:
    result, _ = alice
    activity = [f for f in result.analysis.findings if f.check == CHECK_ID]
    assert {f.evidence["category"] for f in activity} >= {"mailRead", "mailSent", "filesRead", "sharing"}
    assert all(f.kind == "context" for f in activity)
    assert result.analysis.verdict.name.value == "compromised"
    sent = next(f for f in activity if f.evidence["category"] == "mailSent")
    assert set(sent.evidence["records"]) <= set(_truth()["attacker"])


def test_coverage_says_what_was_searched_and_what_could_not_be_checked(alice: tuple[Investigation, Path]) -> None:
    result, _ = alice
    cov = result.coverage
    searches = {s["kind"]: s for s in cov["searches"]}
    assert {"audit_records", "drive_audit_records", "activity_audit_records"} <= set(searches)
    assert all(s["complete"] for s in searches.values())
    assert "MailItemsAccessed" in searches["activity_audit_records"]["operations"]
    assert {t["type"]: t["available"] for t in cov["recordTypes"]} == {"MailItemsAccessed": True, "Send": True}
    # every trust item is either a checked state or "not checked: reason", never silently fine
    for item in cov["trust"]:
        assert item["ok"] in (True, False) or item["detail"].startswith("not checked: ")
        if item["ok"] is not True:
            assert any(g["what"] == item["what"] for g in cov["notAvailable"])


def test_the_case_stores_coverage_touched_and_the_attacker_activity(alice: tuple[Investigation, Path]) -> None:
    result, db = alice
    store = Store(str(db))
    try:
        case = store.get_case(result.case_id)
        summary = case.summary or {}
        assert summary["coverage"]["searches"]
        assert summary["touched"][ALICE]["categories"]
        kinds = {e.kind for e in store.evidence(result.case_id)}
        assert {"attacker_activity", "activity_audit_records", "license_details"} <= kinds
    finally:
        store.close()
    doc = result.to_json()
    assert doc["coverage"] == result.coverage and doc["touched"]["categories"]


def test_a_search_at_the_cap_is_split_until_complete(alice: tuple[Investigation, Path], tmp_path: Path) -> None:
    full, _ = alice
    capped = _run(_fixture(auditQueryRecordLimit=20), tmp_path / "c.db", audit_cap=20)
    searches = {s["kind"]: s for s in capped.coverage["searches"]}
    assert searches["activity_audit_records"]["splits"] > 0 and searches["drive_audit_records"]["splits"] > 0
    assert all(s["complete"] for s in searches.values())
    before = {s["kind"]: s["records"] for s in full.coverage["searches"]}
    assert {k: s["records"] for k, s in searches.items()} == before
    assert capped.touched is not None and full.touched is not None
    assert capped.touched.counts == full.touched.counts


def test_a_window_still_at_the_cap_is_reported_incomplete_never_silently(tmp_path: Path) -> None:
    fixture = _fixture(auditQueryRecordLimit=3)
    sends = [r for r in fixture["auditRecords"] if r["Operation"] == "Send"][:5]
    for r in sends:  # five records in one second: no window can hold fewer than the cap
        r["CreationTime"] = sends[0]["CreationTime"]
    result = _run(fixture, tmp_path / "c.db", audit_cap=3)
    search = next(s for s in result.coverage["searches"] if s["kind"] == "activity_audit_records")
    assert search["complete"] is False and "records may be missing" in search["why"]
    assert any(g["what"].startswith("audit search: mail read") for g in result.coverage["notAvailable"])


def test_a_user_without_attacker_sessions_has_nothing_attributed(tmp_path: Path) -> None:
    result = _run(_fixture(), tmp_path / "c.db", upn="ben.carter@contoso.com")
    assert result.touched is None
    assert not [f for f in result.analysis.findings if f.check == CHECK_ID]


# -- coverage() on its own ------------------------------------------------------------------------

E3 = [{"skuPartNumber": "SPE_E3", "servicePlans": [{"servicePlanName": "EXCHANGE_S_ENTERPRISE",
                                                    "provisioningStatus": "Success"}]}]
E5 = [{"skuPartNumber": "SPE_E5", "servicePlans": [{"servicePlanName": "EXCHANGE_S_ENTERPRISE"},
                                                   {"servicePlanName": "M365_ADVANCED_AUDITING"}]}]


def _cov(values: dict[str, Any], missing: dict[str, str] | None = None, *, since: datetime = SINCE,
         searches: list[SearchLog] | None = None) -> dict[str, Any]:
    return coverage(values, missing or {}, searches or [], upn=ALICE, since=since, until=UNTIL)


def test_ingestion_off_bypass_and_audit_off_are_gaps() -> None:
    cov = _cov({"audit_config": {"UnifiedAuditLogIngestionEnabled": False}, "mailbox": {"AuditEnabled": False},
                "audit_bypass": [{"AuditBypassEnabled": True}], "license_details": E5})
    ok = {t["what"]: t["ok"] for t in cov["trust"]}
    assert list(ok.values()) == [False, False, False]
    gaps = " ".join(g["why"] for g in cov["notAvailable"])
    assert "OFF" in gaps and "BYPASSED" in gaps and "AuditEnabled False" in gaps


def test_all_on_with_premium_has_no_gap() -> None:
    cov = _cov({"audit_config": {"UnifiedAuditLogIngestionEnabled": "True"}, "mailbox": {"AuditEnabled": True},
                "audit_bypass": [{"AuditBypassEnabled": False}], "license_details": E5})
    assert cov["notAvailable"] == []


def test_standard_licence_depends_on_the_mailbox_audit_set() -> None:
    audited = _cov({"license_details": E3, "mailbox": {"AuditEnabled": True,
                                                       "AuditOwner": ["Update", "MailItemsAccessed", "Send"]}})
    assert [t["available"] for t in audited["recordTypes"]] == [True, True]
    not_audited = _cov({"license_details": E3, "mailbox": {"AuditEnabled": True, "AuditOwner": ["Update"]}})
    assert [t["available"] for t in not_audited["recordTypes"]] == [False, False]
    unknown = _cov({"license_details": E3, "mailbox": {"AuditEnabled": True}})
    assert [t["available"] for t in unknown["recordTypes"]] == [None, None]


def test_unread_licences_and_config_are_not_checked_with_the_reason() -> None:
    cov = _cov({}, {"license_details": "missing permission LicenseAssignment.Read.All",
                    "audit_config": "missing role View-Only Audit Logs",
                    "activity_audit_records": "missing permission AuditLogsQuery.Read.All"})
    assert all(t["why"] == "not checked: missing permission LicenseAssignment.Read.All" for t in cov["recordTypes"])
    assert cov["trust"][0]["detail"] == "not checked: missing role View-Only Audit Logs"
    row = next(s for s in cov["searches"] if s["kind"] == "activity_audit_records")
    assert row["complete"] is False and row["why"].startswith("not searched: missing permission")


def test_a_window_past_retention_is_only_partly_searched() -> None:
    cov = _cov({"license_details": E3}, since=UNTIL - timedelta(days=200))
    assert cov["auditFrom"] == (UNTIL - timedelta(days=180)).isoformat().replace("+00:00", "Z")
    assert any("retention (180 days)" in g["why"] for g in cov["notAvailable"])


def test_the_report_of_the_case_shows_what_the_attacker_touched_and_coverage(
        alice: tuple[Investigation, Path]) -> None:
    from reclaim.report import build_report, render

    result, db = alice
    store = Store(str(db))
    try:
        report = build_report(store, result.case_id, UTC)
    finally:
        store.close()
    html, md = render(report, "html"), render(report, "md")
    for message_id in _truth()["mailRead"]:
        assert message_id.strip("<>") in html and message_id.strip("<>") in md
    assert 'id="touched"' in html and 'id="coverage"' in html
    assert "## What the attacker touched" in md and "## Coverage" in md


def test_investigate_prints_what_the_attacker_touched_and_the_coverage(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from reclaim.cli.main import app

    with serve_in_thread(Emulator(_fixture())) as url:
        result = CliRunner().invoke(app, ["investigate", ALICE, "--endpoint", url, "--db", str(tmp_path / "c.db")])
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert "What the attacker touched" in out and "Mail read: 5" in out and "Mail sent: 120" in out
    assert "Coverage" in out and "mail read, sent, moved and deleted" in out
    assert "audit log searched from" in out
