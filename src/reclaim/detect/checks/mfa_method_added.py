"""Authentication methods registered during the suspicious window (attacker persistence)."""

from __future__ import annotations

from reclaim.detect.api import (
    Artifact,
    CheckMeta,
    Context,
    EvidenceBundle,
    Finding,
    NotChecked,
    Severity,
    judge_created,
    odata_kind,
    text,
    when,
)

METADATA = CheckMeta(
    id="mfa-method-added",
    title="Authentication method added during the suspicious window",
    severity=("high for a method registered inside the suspicious window (an attacker keeps access after "
              "the password reset); low for one registered recently with no suspicious window (confirm with "
              "the user); a Temporary Access Pass created in the investigated period is at least medium. "
              "The password method and older methods are not reported."),
    symptom="advice: strong passwords, MFA (remove methods the attacker registered)",
    references=("Azure-Sentinel Suspicious Sign In Followed by MFA Modification", "sigma azure_tap_added",
                "https://learn.microsoft.com/graph/api/resources/authenticationmethod"),
    scope="user",
    phase=2,
    needs=("auth_methods",),
)

DETAIL = ("phoneNumber", "displayName", "emailAddress", "deviceTag", "model", "phoneType")


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    out: list[Finding] = []
    for method in bundle.records("auth_methods"):
        kind = odata_kind(method)
        if kind in ("passwordAuthenticationMethod", ""):
            continue
        created = when(method, "createdDateTime")
        pretty = kind.removesuffix("AuthenticationMethod") or kind
        severity, reason = judge_created(context, created, inside=Severity.HIGH, recent=Severity.LOW,
                                         what=f"the {pretty} method was registered")
        if kind == "temporaryAccessPassAuthenticationMethod" and created and context.window.contains(created):
            severity = Severity.MEDIUM if severity is None or severity.rank < Severity.MEDIUM.rank else severity
            reason = reason or "a Temporary Access Pass was created in the investigated period"
        if severity is None:
            continue
        detail = next((v for k in DETAIL if (v := text(method, k))), None)
        out.append(Finding(METADATA.id, severity, f"A {pretty} sign-in method" + (f" ({detail})" if detail else "")
                           + " was added to the account" + (" while the account was under attack"
                                                            if severity is Severity.HIGH else "") + ".",
                           Artifact("authenticationMethod", text(method, "id") or ""),
                           evidence={"type": kind, "detail": detail,
                                     "createdDateTime": text(method, "createdDateTime")},
                           reasons=(reason,), time=created, symptom=METADATA.symptom))
    return out
