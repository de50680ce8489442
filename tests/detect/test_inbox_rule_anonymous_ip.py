"""inbox-rule-anonymous-ip: a rule created or changed from an address Identity Protection calls anonymised."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from reclaim.detect.model import Severity
from tests.detect.helpers import NOW, by_check, graph_rule, not_checked, run

TOR = "185.220.101.4"


def _created(name: str, ip: str, op: str = "New-InboxRule") -> dict[str, Any]:
    return {"Id": f"a-{name}-{ip}", "Operation": op, "CreationTime": (NOW - timedelta(days=2)).isoformat(),
            "ClientIP": f"{ip}:51234", "UserId": "alice@contoso.com",
            "Parameters": [{"Name": "Name", "Value": name}]}


def _detection(ip: str, kind: str = "anonymizedIPAddress") -> dict[str, Any]:
    return {"id": f"d-{ip}", "riskEventType": kind, "ipAddress": ip, "riskLevel": "medium",
            "detectedDateTime": (NOW - timedelta(days=2)).isoformat()}


RULE = graph_rule("R1", "Tidy", conditions={"senderContains": ["news"]}, actions={"markAsRead": True})


def test_rule_made_from_a_flagged_anonymous_address_is_high() -> None:
    a = run(graph_rules=[RULE], exo_rules=[], audit_records=[_created("Tidy", TOR)],
            risk_detections=[_detection(TOR)], sign_ins=[])
    (finding,) = [f for f in a.findings if f.artifact.id == "R1"]
    assert finding.severity.rank >= Severity.HIGH.rank
    assert "inbox-rule-anonymous-ip" in finding.evidence["checks"]
    assert any("anonymising address" in r for r in finding.reasons)
    assert a.verdict.name.value == "compromised"


def test_a_sign_in_flagged_anonymous_from_the_same_address_counts_too() -> None:
    sign_in = {"id": "s1", "createdDateTime": (NOW - timedelta(days=2)).isoformat(), "ipAddress": TOR,
               "status": {"errorCode": 0}, "riskEventTypes_v2": ["anonymizedIPAddress"]}
    a = run(graph_rules=[RULE], exo_rules=[], audit_records=[_created("Tidy", TOR, "Set-InboxRule")],
            risk_detections=[], sign_ins=[sign_in])
    (finding,) = [f for f in a.findings if f.artifact.id == "R1"]
    assert "inbox-rule-anonymous-ip" in finding.evidence["checks"]


def test_look_alikes_are_not_raised() -> None:
    # the rule made from the office while another address is flagged; another address flagged anonymous;
    # a detection of another kind for the rule's address
    office = run(graph_rules=[RULE], exo_rules=[], audit_records=[_created("Tidy", "198.51.100.7")],
                 risk_detections=[_detection(TOR)], sign_ins=[])
    other = run(graph_rules=[RULE], exo_rules=[], audit_records=[_created("Tidy", "203.0.113.50")],
                risk_detections=[_detection("203.0.113.51")], sign_ins=[])
    unfamiliar = run(graph_rules=[RULE], exo_rules=[], audit_records=[_created("Tidy", TOR)],
                     risk_detections=[_detection(TOR, "unfamiliarFeatures")], sign_ins=[])
    for a in (office, other, unfamiliar):
        assert not any("inbox-rule-anonymous-ip" in f.evidence.get("checks", []) for f in a.findings)


def test_without_the_audit_log_it_is_not_checked_not_clean() -> None:
    a = run(graph_rules=[RULE], exo_rules=[], risk_detections=[_detection(TOR)], sign_ins=[])
    assert any("audit_records not collected" in r for r in not_checked(a, "inbox-rule-anonymous-ip"))
    assert by_check(a, "inbox-rule-anonymous-ip") == []


def test_malformed_evidence_is_ignored_not_a_crash() -> None:
    a = run(graph_rules=[RULE], exo_rules=[], audit_records=[{"Operation": "New-InboxRule", "ClientIP": None},
                                                             "junk", {"Parameters": "x"}],
            risk_detections=[{"riskEventType": None}, 7], sign_ins=[{"ipAddress": ["x"]}])
    assert not_checked(a, "inbox-rule-anonymous-ip") == []
    assert not any("inbox-rule-anonymous-ip" in f.evidence.get("checks", []) for f in a.findings)
