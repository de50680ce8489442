"""sign-in-anomalies, risky-user, directory-profile-change, mfa-method-added, oauth-grant-risky,
mfa-not-required, password-policy-weak: positive case, benign look-alike, malformed input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from reclaim.detect.evidence import NotCollected, Window
from reclaim.detect.model import Severity
from tests.detect.helpers import NOW, USER, by_check, not_checked, one, run


def sign_in(i: str, days_ago: float, *, ip: str = "198.51.100.1", country: str = "DE", app: str = "Browser",
            code: int = 0, lat: float = 52.5, lon: float = 13.4, **extra: Any) -> dict[str, Any]:
    return {"id": i, "createdDateTime": (NOW - timedelta(days=days_ago)).isoformat().replace("+00:00", "Z"),
            "ipAddress": ip, "clientAppUsed": app, "appDisplayName": "Office 365 Exchange Online",
            "status": {"errorCode": code},
            "location": {"countryOrRegion": country, "geoCoordinates": {"latitude": lat, "longitude": lon}}, **extra}


HOME = [sign_in(f"h{i}", 20 - i) for i in range(6)]

# -- sign-in-anomalies ------------------------------------------------------------------------------


def test_new_country_legacy_protocol_and_impossible_travel() -> None:
    attack = [sign_in("a1", 3.0, ip="203.0.113.9", country="NG", app="IMAP4", lat=6.5, lon=3.4),
              sign_in("a2", 2.99, ip="203.0.113.9", country="NG", app="IMAP4", lat=6.5, lon=3.4),
              sign_in("b1", 2.98, ip="198.51.100.1", country="DE")]
    a = run(sign_ins=[*HOME, *attack])
    found = {f.artifact.id: f for f in by_check(a, "sign-in-anomalies")}
    assert found["a1"].severity is Severity.MEDIUM
    assert set(found["a1"].evidence["kinds"]) == {"newCountry", "legacyProtocol"}
    # the jump NG -> DE is blamed on the NG end (the user's usual country is DE), not on the user
    assert found["a2"].severity is Severity.HIGH and "impossible travel" in found["a2"].title
    assert "b1" not in found
    assert a.verdict.name.value == "compromised"
    again = run(sign_ins=[*HOME, *attack[:2], sign_in("a3", 2.995, ip="203.0.113.9", country="NG", app="IMAP4",
                                                      lat=6.5, lon=3.4)])
    grouped = {f.artifact.id: f for f in by_check(again, "sign-in-anomalies")}
    assert grouped["a1"].evidence["count"] == 3  # same IP, same reasons: one finding


def test_risky_sign_in_and_mfa_fatigue() -> None:
    risky = sign_in("r1", 1, riskLevelDuringSignIn="high", riskEventTypes_v2=["anonymizedIPAddress"])
    denied = [sign_in(f"d{i}", 1.5, code=500121) for i in range(6)]
    a = run(sign_ins=[*HOME, risky, *denied])
    found = {f.artifact.id: f.severity for f in by_check(a, "sign-in-anomalies")}
    assert found["r1"] is Severity.HIGH and found["d0"] is Severity.MEDIUM


def test_usual_travel_and_failed_attempts_are_not_flagged() -> None:
    usual = [sign_in(f"u{i}", 10 - i, country="FR" if i % 2 else "DE", lat=48.8 if i % 2 else 52.5,
                     lon=2.3 if i % 2 else 13.4, ip=f"198.51.100.{i}") for i in range(8)]
    failed = [sign_in("f1", 1, country="CN", ip="203.0.113.50", code=50126, app="IMAP4")]
    a = run(sign_ins=[*usual, *failed], user={**USER, "usageLocation": "DE"})
    assert by_check(a, "sign-in-anomalies") == []


def test_sign_ins_malformed_or_missing() -> None:
    a = run(sign_ins=[{"id": "x", "createdDateTime": "not a date"}, {"createdDateTime": "2026-11-19T00:00:00Z",
                                                                     "location": "DE", "status": "ok"}, 5])
    assert not not_checked(a, "sign-in-anomalies")
    b = run(sign_ins=NotCollected("no Entra ID P1 licence"))
    assert "no Entra ID P1 licence" in not_checked(b, "sign-in-anomalies")[0]

# -- risky-user -------------------------------------------------------------------------------------


def test_risky_user_with_inbox_forwarding_detection_is_high() -> None:
    a = run(risky_user={"id": "u1", "riskLevel": "medium", "riskState": "atRisk"},
            risk_detections=[{"id": "d1", "riskEventType": "suspiciousInboxForwarding", "riskLevel": "medium",
                              "detectedDateTime": "2026-11-18T10:00:00Z", "riskState": "atRisk"}])
    f = one(by_check(a, "risky-user"))
    assert f.severity is Severity.HIGH and f.artifact.type == "riskyUser" and f.time is not None


def test_dismissed_risk_and_not_listed_are_clean() -> None:
    a = run(risky_user={"id": "u1", "riskLevel": "high", "riskState": "dismissed"},
            risk_detections=[{"id": "d1", "riskEventType": "unfamiliarFeatures", "riskState": "dismissed"}])
    assert by_check(a, "risky-user") == []
    assert by_check(run(risky_user=None, risk_detections=[]), "risky-user") == []


def test_risky_user_malformed() -> None:
    a = run(risky_user="high", risk_detections=[])
    assert "malformed" in not_checked(a, "risky-user")[0]

# -- directory-profile-change -----------------------------------------------------------------------


def audit(activity: str, props: list[dict[str, Any]], target: str = "u1") -> dict[str, Any]:
    return {"id": f"da-{activity}", "activityDisplayName": activity, "activityDateTime": "2026-11-18T11:00:00Z",
            "result": "success", "initiatedBy": {"user": {"userPrincipalName": "alice@contoso.com",
                                                          "ipAddress": "203.0.113.9"}},
            "targetResources": [{"id": target, "type": "User", "modifiedProperties": props}]}


def test_display_name_and_phone_change_is_medium() -> None:
    a = run(directory_audits=[audit("Update user", [
        {"displayName": "DisplayName", "oldValue": '["Alice Wu"]', "newValue": '["IT Support"]'},
        {"displayName": "Included Updated Properties", "oldValue": None, "newValue": '"DisplayName, Mobile"'}])])
    f = one(by_check(a, "directory-profile-change"))
    assert f.severity is Severity.MEDIUM and f.artifact.id == "da-Update user"
    assert "display name" in f.title and "mobile phone" in f.title


def test_mfa_disabled_is_high_and_other_updates_ignored() -> None:
    a = run(directory_audits=[audit("Disable Strong Authentication", []),
                              audit("Update user", [{"displayName": "LastDirSyncTime", "newValue": "x"}]),
                              audit("Update user", [{"displayName": "DisplayName", "newValue": "x"}], target="other")])
    assert [f.severity for f in by_check(a, "directory-profile-change")] == [Severity.HIGH]


def test_directory_audits_malformed() -> None:
    a = run(directory_audits=[{"activityDisplayName": "Update user", "targetResources": "u1"}, [], None])
    assert by_check(a, "directory-profile-change") == [] and not not_checked(a, "directory-profile-change")

# -- mfa-method-added -------------------------------------------------------------------------------

PHONE = {"@odata.type": "#microsoft.graph.phoneAuthenticationMethod", "id": "m1", "phoneNumber": "+1 555 0100",
         "createdDateTime": (NOW - timedelta(days=1)).isoformat()}


def test_method_added_in_window_is_high() -> None:
    a = run(sign_ins=[*HOME, sign_in("a1", 2, ip="203.0.113.9", country="NG", lat=6.5, lon=3.4)],
            auth_methods=[PHONE, {"@odata.type": "#microsoft.graph.passwordAuthenticationMethod", "id": "p"}])
    f = one(by_check(a, "mfa-method-added"))
    assert f.severity is Severity.HIGH and f.artifact.id == "m1" and a.window is not None


def test_old_method_is_not_reported_recent_is_low() -> None:
    old = {**PHONE, "id": "m0", "createdDateTime": "2024-03-01T00:00:00Z"}
    a = run(auth_methods=[old, PHONE])
    assert [(f.artifact.id, f.severity) for f in by_check(a, "mfa-method-added")] == [("m1", Severity.LOW)]


def test_methods_malformed() -> None:
    a = run(auth_methods=[{"@odata.type": 5, "createdDateTime": []}, "x"])
    assert by_check(a, "mfa-method-added") == []

# -- oauth-grant-risky ------------------------------------------------------------------------------


def test_mail_grant_with_offline_access_is_high() -> None:
    a = run(oauth_grants=[{"id": "g1", "clientId": "sp1", "consentType": "Principal",
                           "scope": "Mail.ReadWrite offline_access User.Read"}],
            service_principals=[{"id": "sp1", "appId": "app1", "displayName": "...",
                                 "replyUrls": ["http://localhost:8080"]}])
    f = one(by_check(a, "oauth-grant-risky"))
    assert f.severity.rank >= Severity.HIGH.rank and f.artifact.id == "g1"


def test_benign_grants() -> None:
    a = run(oauth_grants=[{"id": "g1", "clientId": "sp1", "scope": "User.Read openid profile"},
                          {"id": "g2", "clientId": "sp2", "scope": "Mail.Read"}],
            service_principals=[{"id": "sp1", "displayName": "Zoom"},
                                {"id": "sp2", "displayName": "Outlook", "appOwnerOrganizationId":
                                 "f8cdef31-a31e-4b4a-93e4-5f571e91255a"}])
    assert [(f.artifact.id, f.severity) for f in by_check(a, "oauth-grant-risky")] == [("g1", Severity.LOW)]


def test_grants_malformed() -> None:
    a = run(oauth_grants=[{"id": "g", "scope": ["Mail.Read"]}, 1], service_principals="x")
    assert not [n for n in a.not_checked if n.check == "oauth-grant-risky" and "read" in n.reason]

# -- prevention -------------------------------------------------------------------------------------


def test_mfa_not_required_and_not_registered_is_high_exposure() -> None:
    a = run(security_defaults={"isEnabled": False}, ca_policies=[], member_of=[],
            registration_details={"isMfaRegistered": False})
    f = one(by_check(a, "mfa-not-required"))
    assert f.kind == "exposure" and f.severity is Severity.HIGH and f.artifact.type == "user"
    assert a.verdict.name.value == "clean"  # prevention never decides the verdict


def test_mfa_required_by_policy_or_defaults() -> None:
    policy = {"displayName": "MFA all", "state": "enabled",
              "conditions": {"users": {"includeGroups": ["g1"], "excludeUsers": []},
                             "applications": {"includeApplications": ["All"]}},
              "grantControls": {"builtInControls": ["mfa"]}}
    a = run(security_defaults={"isEnabled": False}, ca_policies=[policy], member_of=[{"id": "g1"}],
            registration_details={"isMfaRegistered": True})
    assert by_check(a, "mfa-not-required") == []
    b = run(security_defaults={"isEnabled": True}, ca_policies=NotCollected("no P1"), registration_details=None)
    assert by_check(b, "mfa-not-required") == []
    report_only = {**policy, "state": "enabledForReportingButNotEnforced"}
    c = run(security_defaults={"isEnabled": False}, ca_policies=[report_only], member_of=[{"id": "g1"}],
            registration_details={"isMfaRegistered": True})
    assert one(by_check(c, "mfa-not-required")).severity is Severity.MEDIUM


def test_mfa_not_checkable() -> None:
    a = run(security_defaults=NotCollected("403"), ca_policies=NotCollected("no P1 licence"))
    assert not_checked(a, "mfa-not-required")


def test_weak_password_policy() -> None:
    a = run(user={**USER, "passwordPolicies": "DisablePasswordExpiration, DisableStrongPassword"})
    assert one(by_check(a, "password-policy-weak")).kind == "exposure"
    assert by_check(run(user={**USER, "passwordPolicies": "DisablePasswordExpiration"}), "password-policy-weak") == []
    assert by_check(run(user={**USER, "passwordPolicies": ["x"]}), "password-policy-weak") == []


def test_session_reused_from_another_country_is_high() -> None:
    first = sign_in("s1", 1.0, sessionId="abc")
    replay = sign_in("s2", 0.9, sessionId="abc", ip="203.0.113.77", country="DE", lat=52.5, lon=13.4)
    replay["location"]["countryOrRegion"] = "RU"
    a = run(sign_ins=[*HOME, first, replay], user={**USER, "usageLocation": "RU"})
    found = {f.artifact.id: f for f in by_check(a, "sign-in-anomalies")}
    assert found["s2"].severity is Severity.HIGH and "sessionReplay" in found["s2"].evidence["kinds"]
    same_country = [sign_in("t1", 1.0, sessionId="x"), sign_in("t2", 0.9, sessionId="x", ip="198.51.100.7")]
    assert by_check(run(sign_ins=[*HOME, *same_country]), "sign-in-anomalies") == []


def test_the_baseline_comes_from_before_the_window_so_the_attacker_never_becomes_usual() -> None:
    """--since 7d on a compromised account: inside the window the attacker's country has as many sign-ins as the
    user's; the user's own addresses must not be blamed, the attacker's must."""
    history = [sign_in(f"h{i}", 25 - i, ip="198.51.100.1") for i in range(12)]
    recent = []
    for day in (6, 5, 4, 3, 2):
        recent.append(sign_in(f"own{day}", day, ip="198.51.100.1"))
        recent.append(sign_in(f"att{day}", day - 0.02, ip="203.0.113.9", country="NG", lat=6.5, lon=3.4))
    a = run(sign_ins=[*history, *recent], window=Window(NOW - timedelta(days=7), NOW))
    flagged = {sid for f in by_check(a, "sign-in-anomalies") for sid in f.evidence["signInIds"]}
    assert not any(sid.startswith("own") for sid in flagged)  # the user's own office is never the suspect
    assert {"att6", "att5"} <= flagged
    assert not any(sid.startswith("h") for sid in flagged)  # the baseline is compared with, never reported
    kinds = {k for f in by_check(a, "sign-in-anomalies") for k in f.evidence["kinds"]}
    assert {"newCountry", "impossibleTravel"} <= kinds
    assert "before the investigated period" in " ".join(r for f in by_check(a, "sign-in-anomalies")
                                                       for r in f.reasons)


def test_two_familiar_ends_of_a_jump_are_not_impossible_travel() -> None:
    history = [sign_in(f"h{i}", 25 - i, ip="198.51.100.1") for i in range(6)] + \
        [sign_in(f"l{i}", 24 - i, ip="198.51.100.9", country="US", lat=40.7, lon=-74.0) for i in range(3)]
    jump = [sign_in("de", 2, ip="198.51.100.1"), sign_in("us", 1.98, ip="198.51.100.9", country="US", lat=40.7,
                                                         lon=-74.0)]
    a = run(sign_ins=[*history, *jump], window=Window(NOW - timedelta(days=7), NOW))
    assert by_check(a, "sign-in-anomalies") == []


def test_a_provisioning_service_changing_the_profile_is_context() -> None:
    change = audit("Update user", [{"displayName": "DisplayName", "oldValue": '["Alice Wu"]',
                                    "newValue": '["Alice Wu-Smith"]'}])
    for initiator in ({"app": {"displayName": "Workday to Microsoft Entra ID User Provisioning"}},
                      {"user": {"userPrincipalName": "Sync_DC01_5a2b@contoso.onmicrosoft.com"}}):
        a = run(directory_audits=[{**change, "initiatedBy": initiator}])
        f = one(by_check(a, "directory-profile-change"))
        assert f.kind == "context" and f.severity is Severity.INFO and f.evidence["provisioning"]
        assert a.verdict.name.value == "clean"
    unknown_app = run(directory_audits=[{**change, "initiatedBy": {"app": {"displayName": "Mail Sync Pro"}}}])
    assert one(by_check(unknown_app, "directory-profile-change")).kind == "compromise"
