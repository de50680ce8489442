"""The plan from findings: order, only what the findings call for, options, what is offered or left alone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from reclaim.errors import BadInput
from reclaim.remediate import Phase, PlanOptions, build_plan
from reclaim.store import Finding

UPN = "alice@contoso.com"
UID = "u-1"


def finding(check: str, severity: str, artifact_type: str, artifact_id: str, kind: str = "compromise",
            scope: str = "user", **evidence: Any) -> Finding:
    return Finding(id=abs(hash((check, artifact_id))) % 10000, case_id="c-1", check_id=check, severity=severity,
                   kind=kind, scope=scope, title=f"{check} {artifact_id}", detail=None, artifact_type=artifact_type,
                   artifact_id=artifact_id, evidence=evidence, evidence_ids=(), user=UPN,
                   recorded_at=datetime(2026, 11, 27, tzinfo=UTC))


FINDINGS = [
    finding("inbox-rule-hiding", "critical", "inboxRule", "R1", name=".", source="graph", hidden=False),
    finding("inbox-rule-hidden", "critical", "inboxRule", "1234", name="..", source="exo", hidden=True),
    finding("inbox-rule-hiding", "high", "inboxRule", "999", name="Junk E-Mail Rule", source="exo", hidden=True),
    finding("inbox-rule-keywords", "low", "inboxRule", "R2", name="Newsletters", source="graph", hidden=False),
    finding("mailbox-forwarding", "high", "mailboxForwarding", UID, forwardingSmtpAddress="x@evil.example"),
    finding("sweep-rule", "high", "sweepRule", "S1", name="Move all"),
    finding("mailbox-delegate-added", "high", "mailboxPermission", "eve@contoso.com", trustee="eve@contoso.com",
            accessRights=["FullAccess"]),
    finding("mailbox-delegate-added", "info", "recipientPermission", "bob@contoso.com", trustee="bob@contoso.com",
            accessRights=["SendAs"]),
    finding("mfa-method-added", "high", "authenticationMethod", "M1", type="phoneAuthenticationMethod"),
    finding("mfa-method-added", "low", "authenticationMethod", "M2", type="emailAuthenticationMethod"),
    finding("mobile-device-added", "high", "mobileDevice", "D1", model="SM-A515F"),
    finding("oauth-grant-risky", "high", "oauth2PermissionGrant", "G1", app="Evil", scopes=["Mail.Read"]),
    finding("sign-in-anomalies", "high", "signIn", "S-1", clientAppUsed="IMAP4", kinds=["legacyProtocol"]),
    finding("sign-in-anomalies", "high", "signIn", "S-2", clientAppUsed="Browser", kinds=["newCountry"]),
    finding("restricted-sender", "high", "blockedSender", UPN),
    finding("mfa-not-required", "medium", "user", UID, kind="exposure", isMfaRegistered=False),
    finding("password-policy-weak", "medium", "user", UID, kind="exposure", passwordPolicies=["x"]),
]


def test_ordered_contain_eradicate_recover_with_reasons() -> None:
    plan = build_plan("c-1", UPN, UID, "compromised", FINDINGS)
    phases = [s.phase for s in plan.steps]
    assert phases == sorted(phases, key=lambda p: p.rank)
    assert [s.action for s in plan.phase(Phase.CONTAIN)] == ["block-sign-in", "revoke-sessions", "reset-password"]
    keys = {s.key for s in plan.steps}
    assert {"disable-inbox-rule:R1", "disable-inbox-rule:1234", "remove-forwarding:" + UPN,
            "disable-sweep-rule:S1", "remove-mailbox-permission:eve@contoso.com", "remove-auth-method:M1",
            "remove-mobile-device:D1", "revoke-oauth-grant:G1", "disable-legacy-protocols:" + UPN,
            "confirm-compromised:" + UID, "unblock-sender:" + UPN} <= keys
    assert [s.action for s in plan.phase(Phase.RECOVER)] == ["unblock-sender"]
    rule = next(s for s in plan.steps if s.key == "disable-inbox-rule:1234")
    assert rule.params["source"] == "exchange" and rule.reversible
    assert rule.reason.check == "inbox-rule-hidden" and rule.reason.severity == "critical"
    reset = next(s for s in plan.steps if s.action == "reset-password")
    assert not reset.reversible and "cannot be undone" in reset.undo_note
    # one legacy-protocol step, from the IMAP sign-in
    assert sum(s.action == "disable-legacy-protocols" for s in plan.steps) == 1


def test_only_what_the_findings_call_for() -> None:
    plan = build_plan("c-1", UPN, UID, "compromised", FINDINGS)
    keys = {s.key for s in plan.steps}
    assert "disable-inbox-rule:999" not in keys  # Exchange's junk-mail system rule
    assert any("system rule" in x.why for x in plan.left_alone)
    assert "disable-inbox-rule:R2" not in keys  # a benign, low-rated rule
    assert "remove-auth-method:M2" not in keys  # the user's own (not in the window)
    offered = {s.key for s in plan.offered}
    assert {"remove-recipient-permission:bob@contoso.com", "remove-auth-method:M2",
            "require-mfa-registration:" + UID} <= offered
    assert all(s.opt_in for s in plan.offered)
    assert any(a.check == "mfa-not-required" and "Conditional Access" in a.text for a in plan.advice)


def test_options() -> None:
    deleting = build_plan("c-1", UPN, UID, "compromised", FINDINGS,
                          options=PlanOptions(delete_rules=True, keep_forwarding=True))
    assert {s.action for s in deleting.steps} >= {"delete-inbox-rule"}
    assert "disable-inbox-rule" not in {s.action for s in deleting.steps}
    assert "remove-forwarding" not in {s.action for s in deleting.steps}
    assert any("--keep-forwarding" in x.why for x in deleting.left_alone)

    only = build_plan("c-1", UPN, UID, "compromised", FINDINGS,
                      options=PlanOptions(only=frozenset({"block-sign-in", "require-mfa-registration"})))
    assert [s.action for s in only.steps] == ["block-sign-in", "require-mfa-registration"]

    skip = build_plan("c-1", UPN, UID, "compromised", FINDINGS, options=PlanOptions(skip=frozenset({
        "reset-password"}), include=frozenset({"remove-recipient-permission:bob@contoso.com"})))
    assert "reset-password" not in {s.action for s in skip.steps}
    assert "remove-recipient-permission:bob@contoso.com" in {s.key for s in skip.steps}

    with pytest.raises(BadInput):
        PlanOptions(only=frozenset({"format-the-disk"}))


def test_suspicious_account_is_not_contained_by_default() -> None:
    plan = build_plan("c-1", UPN, UID, "suspicious", [])
    assert plan.steps == ()
    assert {s.action for s in plan.offered} == {"block-sign-in", "revoke-sessions", "reset-password",
                                                "confirm-compromised"}
    clean = build_plan("c-1", UPN, UID, "clean", [])
    assert clean.steps == () and clean.offered == ()


def test_federated_user_reset_is_manual_in_the_plan() -> None:
    plan = build_plan("c-1", UPN, UID, "compromised", [], federated=True)
    reset = next(s for s in plan.steps if s.action == "reset-password")
    assert reset.params["federated"] is True and "on-premises" in reset.label


def test_plan_json_round_trips_through_the_journal_form() -> None:
    from reclaim.remediate.playbook import steps_from_json

    plan = build_plan("c-1", UPN, UID, "compromised", FINDINGS)
    assert steps_from_json([s.to_json() for s in plan.steps]) == list(plan.steps)


def test_methods_dated_before_the_window_are_only_offered() -> None:
    old = finding("mfa-method-added", "high", "authenticationMethod", "M9", type="phoneAuthenticationMethod",
                  createdDateTime="2026-10-01T10:00:00Z")
    new = finding("mfa-method-added", "high", "authenticationMethod", "M8", type="phoneAuthenticationMethod",
                  createdDateTime="2026-11-26T10:00:00Z")
    plan = build_plan("c-1", UPN, UID, "compromised", [old, new], window_since=datetime(2026, 11, 25, tzinfo=UTC))
    assert "remove-auth-method:M8" in {s.key for s in plan.steps}
    assert "remove-auth-method:M9" in {s.key for s in plan.offered}
