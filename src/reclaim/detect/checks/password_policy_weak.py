"""Prevention: the account is allowed a weak password."""

from __future__ import annotations

from reclaim.detect.api import (
    Artifact,
    CheckMeta,
    Context,
    EvidenceBundle,
    Finding,
    NotChecked,
    Severity,
    text,
    user_id,
)

METADATA = CheckMeta(
    id="password-policy-weak",
    title="Weak passwords are allowed for this account",
    severity=("medium (exposure) when passwordPolicies contains DisableStrongPassword; DisablePasswordExpiration "
              "is not reported (Microsoft recommends no forced expiry)."),
    symptom="advice: strong passwords",
    references=("https://learn.microsoft.com/graph/api/resources/user (passwordPolicies)",
                "https://learn.microsoft.com/microsoft-365/admin/misc/password-policy-recommendations"),
    scope="user",
    advice=("{user} has passwordPolicies {passwordPolicies}: clear DisableStrongPassword / "
            "DisablePasswordExpiration (PATCH passwordPolicies) unless there is a reason"),
    kind="exposure",
    needs=("user",),
)


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    user = bundle.record("user")
    policies = [p.strip() for p in (text(user, "passwordPolicies") or "").split(",") if p.strip()]
    if "disablestrongpassword" not in {p.lower() for p in policies}:
        return []
    return [Finding(METADATA.id, Severity.MEDIUM, "The account may use a weak password (strong-password "
                    "requirements are turned off).", Artifact("user", user_id(bundle)), kind="exposure",
                    evidence={"passwordPolicies": policies},
                    reasons=("passwordPolicies contains DisableStrongPassword",), symptom=METADATA.symptom)]
