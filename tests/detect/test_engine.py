"""The engine: registry contract, NotChecked for missing evidence, window, timeline, verdict, Panther events."""

from __future__ import annotations

import json
import types
from datetime import timedelta
from typing import Any

import pytest

from reclaim.detect import correlate
from reclaim.detect.engine import analyze
from reclaim.detect.evidence import EvidenceBundle, NotCollected
from reclaim.detect.model import ARTIFACT_TYPES, Artifact, Finding, Severity
from reclaim.detect.registry import CheckDefinitionError, CheckMeta, _validate, checks
from tests.detect.helpers import NOW, USER, by_check, graph_rule, recipient, run
from tests.shared_data import PUBLIC

PANTHER = PUBLIC / "panther-labelled-events" / "Microsoft365.Exchange.External.Forwarding.jsonl"


def test_registry_ids_are_module_names_and_metadata_complete() -> None:
    found = checks()
    assert len(found) >= 25
    for c in found:
        assert c.meta.title and c.meta.severity and c.meta.symptom and c.meta.references
    ids = {c.meta.id for c in found}
    assert {"inbox-rule-external-forward", "inbox-rule-hiding", "inbox-rule-hidden", "sweep-rule",
            "mailbox-forwarding", "sign-in-anomalies", "mfa-not-required", "password-policy-weak"} <= ids


def test_registry_rejects_malformed_modules() -> None:
    bad = types.ModuleType("reclaim.detect.checks.some_check")
    with pytest.raises(CheckDefinitionError, match="METADATA"):
        _validate(bad, "some_check")
    bad.METADATA = CheckMeta("other-id", "t", "s", "p", ("r",), "user")  # type: ignore[attr-defined]
    with pytest.raises(CheckDefinitionError, match="must be 'some-check'"):
        _validate(bad, "some_check")
    bad.METADATA = CheckMeta("some-check", "t", "s", "p", ("r",), "user", needs=("nope",))  # type: ignore[attr-defined]
    with pytest.raises(CheckDefinitionError, match="unknown evidence"):
        _validate(bad, "some_check")
    bad.METADATA = CheckMeta("some-check", "t", "s", "p", ("r",), "user")  # type: ignore[attr-defined]
    with pytest.raises(CheckDefinitionError, match="exactly one"):
        _validate(bad, "some_check")


def test_nothing_collected_means_not_checked_not_clean() -> None:
    a = analyze(EvidenceBundle(now=NOW))
    assert a.findings == ()
    assert {n.check for n in a.not_checked} == {c.meta.id for c in checks()}
    assert a.verdict.name.value == "clean" and "could not run" in a.verdict.because


def test_empty_evidence_everywhere_is_clean() -> None:
    kinds = ("graph_rules", "exo_rules", "sweep_rules", "folders", "mailbox_permissions", "recipient_permissions",
             "mobile_devices", "auth_methods", "oauth_grants", "service_principals", "sign_ins", "directory_audits",
             "risk_detections", "blocked_senders", "message_trace", "sent_items", "ndr_messages", "audit_records",
             "transport_rules", "alerts", "ca_policies", "member_of", "drive_audit_records")
    empty: dict[str, Any] = {k: [] for k in kinds}
    a = run(**empty, mailbox={"ForwardingSmtpAddress": None}, mailbox_settings={}, risky_user=None,
            security_defaults={"isEnabled": True}, registration_details={"isMfaRegistered": True},
            sharepoint_settings={"sharingCapability": "disabled"})
    assert a.findings == () and a.not_checked == () and a.verdict.name.value == "clean"


def bec_bundle() -> dict[str, Any]:
    def t(days: float) -> str:
        return (NOW - timedelta(days=days)).isoformat()

    home = [{"id": f"h{i}", "createdDateTime": t(20 - i), "ipAddress": "198.51.100.1", "clientAppUsed": "Browser",
             "status": {"errorCode": 0}, "location": {"countryOrRegion": "US"}} for i in range(5)]
    attack = {"id": "evil", "createdDateTime": t(3), "ipAddress": "203.0.113.9", "clientAppUsed": "Browser",
              "status": {"errorCode": 0}, "location": {"countryOrRegion": "NG"}}
    return {
        "sign_ins": [*home, attack],
        "folders": [{"id": "F-RSS", "displayName": "RSS Feeds"}],
        "graph_rules": [graph_rule("R1", ".", conditions={"bodyOrSubjectContains": ["invoice", "payment"]},
                                   actions={"moveToFolder": "F-RSS", "markAsRead": True})],
        "exo_rules": [{"Name": ".", "RuleIdentity": "11", "Priority": 1, "MoveToFolder": "u1:\\RSS Feeds",
                       "MarkAsRead": True, "SubjectOrBodyContainsWords": ["invoice", "payment"]},
                      {"Name": "Junk E-Mail Rule", "RuleIdentity": "12", "Priority": 2}],
        "audit_records": [{"Id": "ual1", "Operation": "New-InboxRule", "CreationTime": t(2.9),
                           "ClientIP": "203.0.113.9", "Parameters": [{"Name": "Name", "Value": "."}]}],
        "auth_methods": [{"@odata.type": "#microsoft.graph.phoneAuthenticationMethod", "id": "m1",
                          "phoneNumber": "+234 1", "createdDateTime": t(2.8)}],
        "mailbox": {"ForwardingSmtpAddress": None},
    }


def test_bec_user_is_compromised_with_window_and_timeline() -> None:
    a = run(**bec_bundle())
    assert a.verdict.name.value == "compromised"
    rule = next(f for f in a.findings if f.artifact.type == "inboxRule")
    assert rule.artifact.id == "R1" and rule.severity is Severity.CRITICAL
    assert rule.time is not None and rule.evidence["auditEvents"][0]["clientIP"] == "203.0.113.9"
    assert [f.artifact.id for f in a.findings].count("R1") == 1
    assert a.window is not None and a.window.since is not None and a.window.since < NOW - timedelta(days=2.9)
    assert one_of(by_check(a, "mfa-method-added")).severity is Severity.HIGH
    times = [e.time for e in a.timeline]
    assert times == sorted(times) and {e.kind for e in a.timeline} >= {"signIn", "auditRecord", "finding"}
    doc = json.loads(json.dumps(a.to_json()))
    assert doc["verdict"] == "compromised"
    for f in doc["findings"]:
        assert set(f) >= {"check", "severity", "title", "artifact", "evidence"}
        assert f["artifact"]["type"] in ARTIFACT_TYPES and f["severity"] in {s.value for s in Severity}


def one_of(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]


def _f(check: str, severity: Severity, days: float | None = None) -> Finding:
    return Finding(check, severity, "t", Artifact("signIn", check),
                   time=None if days is None else NOW - timedelta(days=days))


def test_verdict_rule() -> None:
    high = [_f("a", Severity.HIGH)]
    assert correlate.verdict(high, [], None).name.value == "compromised"
    two = [_f("a", Severity.MEDIUM, 2), _f("b", Severity.MEDIUM, 1)]
    window, _ = correlate.suspicious_window(two, NOW)
    assert correlate.verdict(two, [], window).name.value == "compromised"
    same_check = [_f("a", Severity.MEDIUM, 2), _f("a", Severity.MEDIUM, 1)]
    assert correlate.verdict(same_check, [], window).name.value == "suspicious"
    assert correlate.verdict([_f("a", Severity.LOW, 1)], [], None).name.value == "clean"
    exposure = [Finding("mfa-not-required", Severity.HIGH, "t", Artifact("user", "u"), kind="exposure")]
    assert correlate.verdict(exposure, [], None).name.value == "clean"
    tenant = [Finding("transport-rule-forwarding", Severity.HIGH, "t", Artifact("transportRule", "r"))]
    assert correlate.verdict(tenant, [], None).name.value == "clean"
    assert correlate.tenant_verdict(tenant).name.value == "compromised"


def _panther_bundle(log: dict[str, Any]) -> EvidenceBundle:
    params = {p["Name"]: p["Value"] for p in log.get("parameters", [])}
    domains = ["simpsons.onmicrosoft.com", "simpsons.com", "justice.org"]
    if log["operation"] == "Set-Mailbox":
        return EvidenceBundle(user=USER, accepted_domains=domains, now=NOW, mailbox=params,
                              audit_records=[{"Id": log["id"], "Operation": "Set-Mailbox", "CreationTime":
                                              log["creationtime"], "ClientIP": log["clientip"],
                                              "Parameters": log["parameters"]}])
    rule = dict(params)
    rule["Name"] = params.get("Name") or params.get("Identity")
    rule["RuleIdentity"] = log["id"]
    if isinstance(rule.get("ForwardTo"), str):
        rule["ForwardTo"] = rule["ForwardTo"].split(";")
    return EvidenceBundle(user=USER, accepted_domains=domains, now=NOW, exo_rules=[rule])


@pytest.mark.skipif(not PANTHER.exists(), reason="shared sample data not present")
def test_panther_labelled_forwarding_events() -> None:
    cases = [json.loads(line) for line in PANTHER.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(cases) == 10
    for case in cases:
        a = analyze(_panther_bundle(case["log"]))
        flagged = any(f.severity.rank >= Severity.MEDIUM.rank for f in a.findings)
        assert flagged == case["expected"], case["test_name"]


def test_rule_artifact_ids_are_unique_and_recipient_helper() -> None:
    rules = [graph_rule(f"R{i}", f"r{i}", actions={"forwardTo": [recipient(f"x{i}@gmail.com")]}) for i in range(3)]
    a = run(graph_rules=rules, exo_rules=NotCollected("no role"))
    ids = [f.artifact.id for f in a.findings if f.artifact.type == "inboxRule"]
    assert sorted(ids) == ["R0", "R1", "R2"]


def test_rule_made_from_a_suspicious_sign_in_ip_is_raised() -> None:
    def t(days: float) -> str:
        return (NOW - timedelta(days=days)).isoformat()

    home = [{"id": f"h{i}", "createdDateTime": t(20 - i), "ipAddress": "198.51.100.1", "clientAppUsed": "Browser",
             "status": {"errorCode": 0}, "location": {"countryOrRegion": "US"}} for i in range(5)]
    attack = {"id": "evil", "createdDateTime": t(3), "ipAddress": "203.0.113.9", "clientAppUsed": "Browser",
              "status": {"errorCode": 0}, "location": {"countryOrRegion": "NG"}}
    rule = graph_rule("R1", "Tidy", conditions={"senderContains": ["newsletter"]}, actions={"moveToFolder": "archive"})
    audit = [{"Id": "u1", "Operation": "New-InboxRule", "CreationTime": t(2.9), "ClientIP": "203.0.113.9:51234",
              "Parameters": [{"Name": "Name", "Value": "Tidy"}]}]
    a = run(sign_ins=[*home, attack], graph_rules=[rule], exo_rules=NotCollected("x"), audit_records=audit)
    f = next(f for f in a.findings if f.artifact.id == "R1")
    assert f.severity is Severity.HIGH and "suspicious sign-in" in f.reasons[-1]
    benign = run(sign_ins=home, graph_rules=[rule], exo_rules=NotCollected("x"), audit_records=[
        {**audit[0], "ClientIP": "198.51.100.1"}])
    assert next(f for f in benign.findings if f.artifact.id == "R1").severity is Severity.LOW
