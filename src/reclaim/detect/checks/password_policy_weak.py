"""Prevention: the account is allowed a weak password."""

from __future__ import annotations

from reclaim.detect.checks._common import user_id
from reclaim.detect.context import Context
from reclaim.detect.evidence import EvidenceBundle
from reclaim.detect.fields import text
from reclaim.detect.model import Artifact, Finding, NotChecked, Severity
from reclaim.detect.registry import CheckMeta

METADATA = CheckMeta(
    id="password-policy-weak",
    title="Weak passwords are allowed for this account",
    severity=("medium (prevention) when passwordPolicies contains DisableStrongPassword; DisablePasswordExpiration "
              "is not reported (Microsoft recommends no forced expiry)."),
    symptom="advice: strong passwords",
    references=("https://learn.microsoft.com/graph/api/resources/user (passwordPolicies)",
                "https://learn.microsoft.com/microsoft-365/admin/misc/password-policy-recommendations"),
    kind="prevention",
    needs=("user",),
)


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    user = bundle.record("user")
    policies = [p.strip() for p in (text(user, "passwordPolicies") or "").split(",") if p.strip()]
    if "disablestrongpassword" not in {p.lower() for p in policies}:
        return []
    return [Finding(METADATA.id, Severity.MEDIUM, "The account may use a weak password (strong-password "
                    "requirements are turned off).", Artifact("user", user_id(bundle)), kind="prevention",
                    evidence={"passwordPolicies": policies},
                    reasons=("passwordPolicies contains DisableStrongPassword",), symptom=METADATA.symptom)]
