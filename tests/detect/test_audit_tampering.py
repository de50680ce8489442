"""audit-tampering: mailbox audit bypassed or emptied (mailbox), unified audit ingestion turned off (tenant)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from reclaim.detect import correlate
from reclaim.detect.model import Severity
from tests.detect.helpers import NOW, by_check, not_checked, run

ADMIN = "it-admin@contoso.com"


def _record(operation: str, by: str = "alice@contoso.com", **params: Any) -> dict[str, Any]:
    return {"Id": f"r-{operation}-{len(params)}", "Operation": operation, "UserId": by, "ClientIP": "203.0.113.9",
            "CreationTime": (NOW - timedelta(days=1)).isoformat(),
            "Parameters": [{"Name": k, "Value": v} for k, v in params.items()]}


def test_bypass_and_zero_retention_of_this_mailbox_are_high_and_name_who() -> None:
    a = run(audit_records=[], tenant_audit_records=[
        _record("Set-MailboxAuditBypassAssociation", ADMIN, Identity="alice@contoso.com", AuditBypassEnabled="True"),
        _record("Set-Mailbox", ADMIN, Identity="alice@contoso.com", AuditLogAgeLimit="00:00:00")])
    found = {f.evidence["setting"]: f for f in by_check(a, "audit-tampering")}
    assert set(found) == {"AuditBypassEnabled", "AuditLogAgeLimit"}
    assert all(f.severity is Severity.HIGH and f.scope == "mailbox" for f in found.values())
    assert found["AuditBypassEnabled"].evidence["changedBy"][0]["user"] == ADMIN
    assert a.verdict.name.value == "compromised"


def test_the_state_alone_is_read_too() -> None:
    a = run(audit_bypass=[{"Name": "alice", "AuditBypassEnabled": True}],
            mailbox={"AuditLogAgeLimit": "0.00:00:00", "AuditEnabled": True})
    assert {f.evidence["setting"] for f in by_check(a, "audit-tampering")} == {"AuditBypassEnabled",
                                                                               "AuditLogAgeLimit"}


def test_ingestion_off_is_tenant_scoped_and_never_the_users_verdict() -> None:
    a = run(tenant_audit_records=[_record("Set-AdminAuditLogConfig", ADMIN, UnifiedAuditLogIngestionEnabled="False")],
            audit_config={"UnifiedAuditLogIngestionEnabled": False})
    (finding,) = by_check(a, "audit-tampering")
    assert finding.scope == "tenant" and finding.severity is Severity.HIGH
    assert a.verdict.name.value == "clean"
    assert correlate.tenant_verdict(a.findings).name.value == "compromised"
    assert a.actors()[0]["user"] == ADMIN
    quiet = run(audit_config={"UnifiedAuditLogIngestionEnabled": False})
    assert [f.severity for f in by_check(quiet, "audit-tampering")] == [Severity.MEDIUM]


def test_look_alikes_are_not_reported() -> None:
    a = run(
        mailbox={"AuditEnabled": False, "AuditLogAgeLimit": "90.00:00:00"},  # default auditing ignores AuditEnabled
        audit_bypass=[{"AuditBypassEnabled": False}], audit_config={"UnifiedAuditLogIngestionEnabled": True},
        tenant_audit_records=[
            _record("Set-MailboxAuditBypassAssociation", ADMIN, Identity="svc-backup", AuditBypassEnabled="True"),
            _record("Set-Mailbox", ADMIN, Identity="bob@contoso.com", AuditLogAgeLimit="0"),
            _record("Set-Mailbox", ADMIN, Identity="alice@contoso.com", AuditLogAgeLimit="180"),
            _record("Set-AdminAuditLogConfig", ADMIN, UnifiedAuditLogIngestionEnabled="True")])
    assert by_check(a, "audit-tampering") == []


def test_nothing_collected_is_not_checked_and_malformed_input_is_ignored() -> None:
    assert not_checked(run(), "audit-tampering")
    a = run(audit_records=["junk", {"Operation": "Set-Mailbox", "Parameters": [{"Name": None}]}],
            audit_bypass=[7], mailbox={"AuditLogAgeLimit": ["0"]},
            audit_config={"UnifiedAuditLogIngestionEnabled": "maybe"})
    assert by_check(a, "audit-tampering") == [] and not not_checked(a, "audit-tampering")
