"""The checks on audit-log records: a positive case, a benign look-alike and malformed input for each."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from reclaim.detect.model import Severity
from tests.detect.helpers import NOW, by_check, run

ME = "alice@contoso.com"
EVIL_IP = "203.0.113.66"


def rec(rid: str, op: str, by: str = ME, ip: str = EVIL_IP, **params: str) -> dict[str, Any]:
    return {"Id": rid, "Operation": op, "UserId": by, "ClientIP": ip, "ObjectId": ME,
            "CreationTime": (NOW - timedelta(days=1)).isoformat(),
            "Parameters": [{"Name": k, "Value": v} for k, v in params.items()]}


def dir_audit(rid: str, activity: str, target: str = ME, by: str = ME, result: str = "success",
              **props: str) -> dict[str, Any]:
    return {"id": rid, "activityDisplayName": activity, "activityDateTime": (NOW - timedelta(days=1)).isoformat(),
            "result": result, "initiatedBy": {"user": {"userPrincipalName": by, "ipAddress": EVIL_IP}},
            "targetResources": [{"userPrincipalName": target, "displayName": target, "modifiedProperties": [
                {"displayName": k, "newValue": v} for k, v in props.items()]}]}


MALFORMED: list[Any] = [{"Id": 1, "Operation": None, "Parameters": "nonsense"}, {"activityDisplayName": 5},
                        {"Operation": "Set-Mailbox", "Parameters": [None, 3, {"Name": None}]}]

CASES: list[tuple[str, dict[str, Any], dict[str, Any], Severity]] = [
    ("audit-mailbox-forwarding",
     {"audit_records": [rec("f1", "Set-Mailbox", Identity=ME, ForwardingSmtpAddress="smtp:x@evil.example")]},
     {"audit_records": [rec("f2", "Set-Mailbox", Identity=ME, ForwardingSmtpAddress="$null")]}, Severity.HIGH),
    ("audit-consent-granted",
     {"directory_audits": [dir_audit("c1", "Consent to application", target="Mail Helper",
                                     **{"ConsentAction.Permissions": "Scope: Mail.Read offline_access"})]},
     {"directory_audits": [dir_audit("c2", "Consent to application", target="Teams", result="failure",
                                     **{"ConsentAction.Permissions": "Scope: Mail.Read"})]}, Severity.HIGH),
    ("audit-auth-method-changed",
     {"directory_audits": [dir_audit("a1", "Disable Strong Authentication")]},
     {"directory_audits": [dir_audit("a2", "Update user", target="bob@contoso.com", by="admin@contoso.com",
                                     StrongAuthenticationMethod="[]")]}, Severity.HIGH),
    ("audit-mailbox-permission-added",
     {"audit_records": [rec("p1", "Add-MailboxFolderPermission", Identity=f"{ME}:\\Inbox", User="Default",
                            AccessRights="Reviewer")]},
     {"audit_records": [rec("p2", "Add-MailboxFolderPermission", Identity=f"{ME}:\\Calendar", User="Default",
                            AccessRights="Reviewer")]}, Severity.HIGH),
    ("audit-admin-role-assigned",
     {"directory_audits": [dir_audit("r1", "Add member to role", target="mallory@contoso.com",
                                     **{"Role.DisplayName": '"Global Administrator"'})]},
     {"directory_audits": [dir_audit("r2", "Remove member from role", target="mallory@contoso.com",
                                     **{"Role.DisplayName": '"Global Administrator"'})]}, Severity.HIGH),
    ("audit-app-credentials-added",
     {"directory_audits": [dir_audit("k1", "Add service principal credentials", target="Backup App")]},
     {"directory_audits": [dir_audit("k2", "Update application – Certificates and secrets management ",
                                     target="Backup App", DisplayName="x")]}, Severity.HIGH),
    ("audit-legacy-protocol-enabled",
     {"audit_records": [rec("l1", "Set-CASMailbox", Identity=ME, ImapEnabled="True")]},
     {"audit_records": [rec("l2", "Set-CASMailbox", Identity=ME, ImapEnabled="False")]}, Severity.MEDIUM),
]


def _signin(i: int, user: str, ok: bool, ip: str = EVIL_IP) -> dict[str, Any]:
    return {"id": f"s{i}", "userPrincipalName": user, "ipAddress": ip, "status": {"errorCode": 0 if ok else 50126},
            "createdDateTime": (NOW - timedelta(hours=5) + timedelta(minutes=i)).isoformat()}


CASES.append(("password-spray",
              {"sign_ins": [_signin(i, f"u{i}@contoso.com", False) for i in range(6)] + [_signin(9, ME, True)]},
              {"sign_ins": [_signin(i, ME, False, "198.51.100.7") for i in range(3)] + [
                  _signin(9, ME, True, "198.51.100.7")]}, Severity.HIGH))


@pytest.mark.parametrize(("check", "positive", "benign", "severity"), CASES, ids=[c[0] for c in CASES])
def test_positive_benign_and_malformed(check: str, positive: dict[str, Any], benign: dict[str, Any],
                                       severity: Severity) -> None:
    found = by_check(run(**positive), check)
    assert found and found[0].severity.rank >= severity.rank, found
    assert found[0].evidence.get("records"), "a finding names the records it rests on"
    assert [f for f in by_check(run(**benign), check) if f.severity.rank >= Severity.MEDIUM.rank] == []
    kind = next(iter(positive))
    malformed = run(**{kind: MALFORMED})
    assert by_check(malformed, check) == []


def test_spray_without_success_is_an_attempt_not_a_verdict() -> None:
    a = run(sign_ins=[_signin(i, f"u{i}@contoso.com", False) for i in range(5)] + [_signin(7, ME, False)])
    (finding,) = by_check(a, "password-spray")
    assert finding.kind == "context" and finding.severity is Severity.LOW
    assert a.verdict.name.value == "clean"


def test_brute_force_needs_the_failures_within_an_hour() -> None:
    def at(i: int, ok: bool, minutes: int) -> dict[str, Any]:
        return {**_signin(i, ME, ok, "198.51.100.7"),
                "createdDateTime": (NOW - timedelta(days=29) + timedelta(minutes=minutes)).isoformat()}

    typos = [at(i, False, i * 3 * 24 * 60) for i in range(12)] + [at(99, True, 40 * 24 * 60)]  # one a few days
    assert [f for f in by_check(run(sign_ins=typos), "password-spray") if f.kind != "context"] == []
    burst = [at(i, False, i * 4) for i in range(12)] + [at(99, True, 60)]  # twelve in 44 minutes, then in
    (finding,) = by_check(run(sign_ins=burst), "password-spray")
    assert finding.severity is Severity.HIGH


def test_auth_method_added_outside_the_window_is_low() -> None:
    a = run(directory_audits=[dir_audit("m1", "User registered security info")])
    assert [f.severity for f in by_check(a, "audit-auth-method-changed")] == [Severity.LOW]


def test_consent_for_everyone_is_tenant_scoped() -> None:
    a = run(directory_audits=[dir_audit("c3", "Consent to application", target="Mail Helper",
                                        **{"ConsentContext.IsAdminConsent": "True",
                                           "ConsentAction.Permissions": "Scope: Mail.ReadWrite"})])
    (finding,) = by_check(a, "audit-consent-granted")
    assert finding.scope == "tenant" and a.verdict.name.value == "clean"
