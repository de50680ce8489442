"""``investigate`` over real HTTP against the emulator's scenarios: verdicts and planted artifacts."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reclaim.collect import Investigation, investigate
from reclaim.detect.model import Severity
from reclaim.emulator import Emulator
from reclaim.emulator.exchange_objects import rule_identity
from reclaim.emulator.scenarios import load_scenario
from reclaim.emulator.server import serve_in_thread
from reclaim.m365 import Connection, ConnectionSettings
from reclaim.store import Store

SCENARIOS = ("bec-classic", "bec-campaign", "clean", "admin-takeover")
RANK = {s.value: s.rank for s in Severity}


def _unthrottled(name: str) -> dict[str, Any]:
    fixture = copy.deepcopy(load_scenario(name))
    fixture.setdefault("tenant", {}).setdefault("settings", {})["throttling"] = {"enabled": False}
    return fixture


@pytest.fixture(scope="module")
def tenants() -> Iterator[dict[str, tuple[Emulator, str]]]:
    started: dict[str, tuple[Emulator, str]] = {}
    contexts = []
    for name in SCENARIOS:
        emulator = Emulator(_unthrottled(name))
        ctx = serve_in_thread(emulator)
        started[name] = (emulator, ctx.__enter__())
        contexts.append(ctx)
    yield started
    for ctx in contexts:
        ctx.__exit__(None, None, None)


def run_investigation(url: str, db: Path, upn: str, **options: Any) -> Investigation:
    async def main() -> Investigation:
        store = Store(str(db))
        try:
            async with Connection.open(ConnectionSettings.for_endpoint(url)) as conn:
                return await investigate(conn, store, upn, identity_protection_spacing=0, **options)
        finally:
            store.close()

    return asyncio.run(main())


def _cases() -> list[tuple[str, str]]:
    return [(name, upn) for name in SCENARIOS for upn in sorted(load_scenario(name)["scenarioTruth"]["users"])]


@pytest.mark.parametrize(("scenario", "upn"), _cases())
def test_verdict_and_planted_artifacts(tenants: dict[str, tuple[Emulator, str]], tmp_path: Path,
                                       scenario: str, upn: str) -> None:
    emulator, url = tenants[scenario]
    truth = emulator.state.data["scenarioTruth"]["users"][upn]
    result = run_investigation(url, tmp_path / "cases.db", upn)
    analysis = result.analysis
    assert analysis.verdict.name.value in truth["verdictsAccepted"], (analysis.verdict, analysis.to_json())
    compromise = [f for f in analysis.user_findings if f.kind == "compromise"]  # the tenant has its own verdict
    worst = max((RANK[f.severity.value] for f in compromise), default=0)
    assert worst <= RANK[truth["maxSeverity"]] if truth["maxSeverity"] != "none" else worst < RANK["medium"]
    found = {(f.artifact.type, f.artifact.id) for f in analysis.findings}
    planted = truth["planted"]
    expected = [("inboxRule", i) for i in planted.get("inboxRules", [])]
    # hidden rules exist only in Exchange: their own id there is the RuleIdentity
    expected += [("inboxRule", str(rule_identity(i))) for i in planted.get("hiddenInboxRules", [])]
    expected += [("sweepRule", i) for i in planted.get("sweepRules", [])]
    expected += [("authenticationMethod", i) for i in planted.get("authenticationMethods", [])]
    expected += [("oauth2PermissionGrant", i) for i in planted.get("oauth2PermissionGrants", [])]
    expected += [("mobileDevice", i) for i in planted.get("mobileDevices", [])]
    missing = [e for e in expected if e not in found]
    assert not missing, f"planted artifacts not reported: {missing}"
    if planted.get("forwarding"):
        assert any(t == "mailboxForwarding" for t, _ in found)
    # the user's own objects are never rated as attacker artifacts (an external payroll forward may be
    # medium — data leaves the tenant — and the scenario's maxSeverity says so)
    ceiling = max(RANK["low"], RANK[truth["maxSeverity"]]) if not truth["planted"].get("inboxRules") else 99
    for keep_type, key in (("inboxRule", "inboxRules"), ("authenticationMethod", "authenticationMethods"),
                           ("mobileDevice", "mobileDevices")):
        for kept in truth.get("keep", {}).get(key, []):
            flagged = [f for f in compromise if f.artifact == _artifact(keep_type, kept)]
            limit = min(ceiling, RANK["medium"])
            assert all(f.severity.rank <= limit for f in flagged), flagged


def _artifact(kind: str, ident: str) -> Any:
    from reclaim.detect.model import Artifact

    return Artifact(kind, ident)  # type: ignore[arg-type]


def test_case_is_stored_with_evidence_and_hashes(tenants: dict[str, tuple[Emulator, str]], tmp_path: Path) -> None:
    _, url = tenants["bec-classic"]
    result = run_investigate_alice(url, tmp_path)
    store = Store(str(tmp_path / "cases.db"))
    try:
        detail = store.case_detail(result.case_id)
        assert detail.case.verdict == "compromised"
        kinds = {e.kind for e in detail.evidence}
        assert {"user", "graph_rules", "exo_rules", "mailbox", "sign_ins", "message_trace"} <= kinds
        assert all(e.hash_ok and len(e.sha256) == 64 for e in detail.evidence)
        assert len(detail.findings) == len(result.analysis.findings)
        assert detail.timeline, "the case keeps a timeline"
        doc = result.to_json()
        assert doc["case"] == result.case_id and doc["verdict"] == "compromised"
        assert {"user", "findings", "notChecked"} <= doc.keys()
    finally:
        store.close()


def run_investigate_alice(url: str, tmp_path: Path) -> Investigation:
    return run_investigation(url, tmp_path / "cases.db", "alice.wu@contoso.com")


def test_missing_permission_is_not_checked_not_clean(tmp_path: Path) -> None:
    fixture = _unthrottled("bec-classic")
    fixture["apps"] = [{"clientId": "reader", "clientSecret": "s3cret-value",
                        "permissions": ["User.Read.All", "MailboxSettings.Read", "Exchange.ManageAsApp"],
                        "roles": ["Global Reader"]}]
    with serve_in_thread(Emulator(fixture)) as url:
        async def main() -> Investigation:
            store = Store(str(tmp_path / "c.db"))
            try:
                settings = ConnectionSettings.for_endpoint(url, client_id="reader", client_secret="s3cret-value")
                async with Connection.open(settings) as conn:
                    return await investigate(conn, store, "alice.wu@contoso.com", identity_protection_spacing=0)
            finally:
                store.close()

        result = asyncio.run(main())
    missing = result.bundle.not_collected()
    assert "sign_ins" in missing and "AuditLog.Read.All" in missing["sign_ins"]
    assert "exo_rules" in missing  # Global Reader may not read hidden rules
    checks = {n.check for n in result.analysis.not_checked}
    assert "sign-in-anomalies" in checks
    # what could be read was still checked: the visible hiding rule is found
    assert any(f.artifact.type == "inboxRule" for f in result.analysis.findings)


def test_unknown_user_is_bad_input(tenants: dict[str, tuple[Emulator, str]], tmp_path: Path) -> None:
    from reclaim.errors import BadInput

    _, url = tenants["clean"]
    with pytest.raises(BadInput):
        run_investigation(url, tmp_path / "c.db", "nobody@adatum.com")


def test_a_tenant_rule_never_makes_a_clean_user_compromised(tenants: dict[str, tuple[Emulator, str]],
                                                             tmp_path: Path) -> None:
    """A mail-flow rule forwarding outside, made by a taken-over admin: every user stays clean, the rule is the
    tenant's finding (its own verdict, naming the admin), and remediating a user contains nothing."""
    from reclaim.remediate import plan_for_case

    emulator, url = tenants["admin-takeover"]
    truth = emulator.state.data["scenarioTruth"]
    for upn in truth["clean"]:
        result = run_investigation(url, tmp_path / "cases.db", upn)
        doc = result.to_json()
        assert doc["verdict"] == "clean", doc
        assert not any(f["scope"] == "tenant" for f in doc["findings"])
        tenant = doc["tenant"]
        assert tenant["verdict"] == "compromised"
        assert {f["check"] for f in tenant["findings"]} >= {"transport-rule-forwarding"}
        assert {a["user"] for a in tenant["actors"]} == {truth["tenant"]["actor"]}
        store = Store(str(tmp_path / "cases.db"))
        try:
            plan = plan_for_case(store, result.case_id)
        finally:
            store.close()
        assert not [s for s in plan.steps if s.phase.value == "contain"] and plan.tenant_only
        assert not [s for s in plan.offered if s.phase.value == "contain"]
    admin = run_investigation(url, tmp_path / "cases.db", truth["tenant"]["actor"])
    assert admin.analysis.verdict.name.value == "compromised"


def test_reanalysis_of_a_stored_case_gives_the_same_findings(tenants: dict[str, tuple[Emulator, str]],
                                                              tmp_path: Path) -> None:
    from reclaim.collect.reanalyze import reanalyze

    for scenario, upn in (("bec-classic", "alice.wu@contoso.com"), ("admin-takeover", "nancy.davolio@northwind.com"),
                          ("clean", "eva.schmidt@adatum.com")):
        _, url = tenants[scenario]
        result = run_investigation(url, tmp_path / "cases.db", upn)
        store = Store(str(tmp_path / "cases.db"))
        try:
            again = reanalyze(store, result.case_id)
        finally:
            store.close()
        assert again.same, again.to_json()["comparedWithStored"]
        assert [f.to_json() for f in again.analysis.findings] == [f.to_json() for f in result.analysis.findings]
        assert again.analysis.not_checked == result.analysis.not_checked
