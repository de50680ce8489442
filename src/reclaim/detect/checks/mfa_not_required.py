"""Prevention: is multi-factor authentication registered and actually required for the user?"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reclaim.detect.api import (
    Artifact,
    ArtifactMissing,
    CheckMeta,
    Context,
    EvidenceBundle,
    Finding,
    NotChecked,
    Severity,
    flag,
    get,
    items,
    strings,
    text,
    user_id,
)

METADATA = CheckMeta(
    id="mfa-not-required",
    title="Multi-factor authentication is not required",
    severity=("exposure: high when MFA is neither required (no security defaults, no enabled Conditional "
              "Access policy requiring MFA that covers the user and all or Office 365 apps) nor registered; "
              "medium when it is not required; low when required but the user has not registered a method."),
    symptom="advice: MFA (enforcement check)",
    references=("https://learn.microsoft.com/graph/api/resources/conditionalaccesspolicy",
                "https://learn.microsoft.com/entra/fundamentals/security-defaults",
                "https://learn.microsoft.com/graph/api/resources/userregistrationdetails"),
    scope="user",
    advice=("MFA for {user}: where it is not required, add the Conditional Access policy \"Require "
            "multifactor authentication for all users\" (Entra admin centre → Protection → Conditional Access → "
            "Create new policy from templates) or turn on security defaults; where no method is registered, have "
            "the user register one before anyone else can; reclaim does not change tenant-wide policy"),
    kind="exposure",
    needs=("security_defaults|ca_policies",),
    reads=("member_of", "registration_details"),
)

OFFICE = {"all", "office365", "00000002-0000-0ff1-ce00-000000000000"}


def _covers(policy: Mapping[str, Any], uid: str, groups: set[str]) -> bool:
    users = get(get(policy, "conditions"), "users")
    include = {s.lower() for s in strings(items(users, "includeUsers"))}
    exclude = {s.lower() for s in strings(items(users, "excludeUsers"))}
    inc_groups = {s.lower() for s in strings(items(users, "includeGroups")) + strings(items(users, "includeRoles"))}
    exc_groups = {s.lower() for s in strings(items(users, "excludeGroups")) + strings(items(users, "excludeRoles"))}
    if uid.lower() in exclude or groups & exc_groups:
        return False
    return "all" in include or uid.lower() in include or bool(groups & inc_groups)


def _requires_mfa(policy: Mapping[str, Any]) -> bool:
    if (text(policy, "state") or "").lower() != "enabled":
        return False
    apps = get(get(policy, "conditions"), "applications")
    if not {s.lower() for s in strings(items(apps, "includeApplications"))} & OFFICE:
        return False
    grant = get(policy, "grantControls")
    controls = {s.lower() for s in strings(items(grant, "builtInControls"))}
    return "mfa" in controls or get(grant, "authenticationStrength") is not None


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    uid = user_id(bundle)
    required_by: str | None = None
    reasons: list[str] = []
    unknown: list[str] = []
    try:
        defaults = bundle.record("security_defaults")
        if flag(defaults, "isEnabled") is True:
            required_by = "security defaults"
    except ArtifactMissing as exc:
        unknown.append(str(exc))
    if required_by is None:
        try:
            policies = bundle.records("ca_policies")
            try:
                groups = {g.lower() for m in bundle.records("member_of")
                          if (g := text(m, "id", "roleTemplateId"))}
            except ArtifactMissing as exc:
                groups = set()
                unknown.append(str(exc))
            covering = [p for p in policies if _requires_mfa(p) and _covers(p, uid, groups)]
            if covering:
                required_by = f"Conditional Access policy \"{text(covering[0], 'displayName') or '?'}\""
        except ArtifactMissing as exc:
            unknown.append(str(exc))
    if required_by is None and len(unknown) >= 2:
        return NotChecked(METADATA.id, "; ".join(unknown))
    registered: bool | None = None
    try:
        details = bundle.optional_record("registration_details")
        registered = flag(details, "isMfaRegistered") if details is not None else None
    except ArtifactMissing:
        registered = None
    if required_by is not None:
        if registered is False:
            return [Finding(METADATA.id, Severity.LOW, "MFA is required but the user has not registered a method "
                            "yet: whoever signs in first with the password can register theirs.",
                            Artifact("user", uid), kind="exposure",
                            evidence={"requiredBy": required_by, "isMfaRegistered": False},
                            reasons=(f"required by {required_by}", "no MFA method registered"),
                            symptom=METADATA.symptom)]
        return []
    reasons.append("no security defaults and no enabled Conditional Access policy requiring MFA covers the user")
    if unknown:
        reasons.append("partly unknown: " + "; ".join(unknown))
    severity = Severity.MEDIUM
    if registered is False:
        severity = Severity.HIGH
        reasons.append("the user has no MFA method registered either")
    return [Finding(METADATA.id, severity, "Multi-factor authentication is not required for this user: a stolen "
                    "password is enough to sign in.", Artifact("user", uid), kind="exposure",
                    evidence={"isMfaRegistered": registered}, reasons=tuple(reasons), symptom=METADATA.symptom)]
