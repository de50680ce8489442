"""inbox-rule-audit-event and audit-bulk-delete: positive case, benign look-alike, malformed input."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from reclaim.detect.evidence import NotCollected
from reclaim.detect.model import Severity
from tests.detect.helpers import NOW, by_check, graph_rule, not_checked, one, run
from tests.shared_data import PUBLIC

PANTHER = PUBLIC / "panther-labelled-events" / "Microsoft365.Exchange.External.Forwarding.jsonl"


def new_rule(name: str, **params: str) -> dict[str, Any]:
    return {"Id": f"ual-{name}", "Operation": "New-InboxRule", "CreationTime": "2026-11-18T10:00:00",
            "ClientIP": "203.0.113.9:4431",
            "Parameters": [{"Name": "Name", "Value": name}, *({"Name": k, "Value": v} for k, v in params.items())]}


def test_removed_forwarding_rule_is_reported_from_the_audit_log() -> None:
    a = run(graph_rules=[], exo_rules=[], audit_records=[
        new_rule("x1", ForwardTo="a@evil.example;b@evil.example", DeleteMessage="True",
                 SubjectContainsWords="invoice")])
    f = one(by_check(a, "inbox-rule-audit-event"))
    assert f.severity is Severity.CRITICAL and f.artifact == f.artifact.__class__("auditRecord", "ual-x1")
    assert f.evidence["clientIP"] == "203.0.113.9" and "no longer exists" in f.title


def test_live_rules_and_harmless_rules_are_not_repeated() -> None:
    live = graph_rule("R1", "x1", actions={"forwardTo": [{"emailAddress": {"address": "a@evil.example"}}]})
    a = run(graph_rules=[live], exo_rules=NotCollected("no role"), audit_records=[
        new_rule("x1", ForwardTo="a@evil.example"), new_rule("Projects", MoveToFolder="Projects",
                                                             FromAddressContainsWords="jira")])
    assert by_check(a, "inbox-rule-audit-event") == []
    assert [f.artifact.id for f in a.findings if f.artifact.type == "inboxRule"] == ["R1"]


def test_audit_events_malformed_or_missing() -> None:
    a = run(graph_rules=[], exo_rules=[], audit_records=[{"Operation": "New-InboxRule", "Parameters": "x"},
                                                         {"Operation": 5}, None])
    assert by_check(a, "inbox-rule-audit-event") == [] and not not_checked(a, "inbox-rule-audit-event")
    assert not_checked(run(audit_records=NotCollected("audit log search needs AuditLogsQuery.Read.All")),
                       "inbox-rule-audit-event")


def test_panther_new_inbox_rule_events_from_the_audit_log() -> None:
    if not PANTHER.exists():
        return
    for line in PANTHER.read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        log = case["log"]
        if log["operation"] != "New-InboxRule":
            continue
        record = {"Id": log["id"], "Operation": log["operation"], "CreationTime": log["creationtime"],
                  "ClientIP": log["clientip"], "Parameters": log["parameters"]}
        a = run(accepted_domains=["simpsons.onmicrosoft.com", "simpsons.com"], graph_rules=[], exo_rules=[],
                audit_records=[record])
        flagged = any(f.severity.rank >= Severity.MEDIUM.rank for f in by_check(a, "inbox-rule-audit-event"))
        assert flagged == case["expected"], case["test_name"]


def deletes(n: int, op: str = "SoftDelete", folder: str = "\\Inbox", ip: str = "198.51.100.1") -> list[dict[str, Any]]:
    start = NOW - timedelta(days=1)
    return [{"Id": f"d{op}{i}", "Operation": op, "CreationTime": (start + timedelta(seconds=i)).isoformat(),
             "ClientIP": ip, "Folder": {"Path": folder}, "AffectedItems": [{"Subject": "x"}] * 5} for i in range(n)]


def test_bulk_hard_delete_from_sent_items_is_high() -> None:
    a = run(audit_records=deletes(12, "HardDelete", "\\Sent Items", ip="203.0.113.9"))
    f = one(by_check(a, "audit-bulk-delete"))
    assert f.severity is Severity.HIGH and f.evidence["items"] == 60


def test_small_cleanup_is_not_reported_and_soft_bulk_is_medium() -> None:
    assert by_check(run(audit_records=deletes(5)), "audit-bulk-delete") == []
    assert one(by_check(run(audit_records=deletes(11)), "audit-bulk-delete")).severity is Severity.MEDIUM


def test_bulk_delete_malformed() -> None:
    a = run(audit_records=[{"Operation": "HardDelete", "CreationTime": "nope", "AffectedItems": "x"}] * 100)
    assert by_check(a, "audit-bulk-delete") == [] and not not_checked(a, "audit-bulk-delete")


def test_set_inbox_rule_with_only_an_action_is_not_read_as_every_message() -> None:
    record = {**new_rule("Tidy", DeleteMessage="True"), "Operation": "Set-InboxRule"}
    f = one(by_check(run(graph_rules=[], exo_rules=[], audit_records=[record]), "inbox-rule-audit-event"))
    assert f.severity is Severity.LOW and "every incoming message" not in f.title
