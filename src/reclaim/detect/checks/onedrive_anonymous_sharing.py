"""Exposure: OneDrive allows "Anyone" links, so a stolen session can publish the user's files."""

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
)

METADATA = CheckMeta(
    id="onedrive-anonymous-sharing",
    title="OneDrive allows links that work for anyone",
    severity=("exposure: medium when the tenant's sharing capability is externalUserAndGuestSharing (Anyone links "
              "allowed; it caps every OneDrive, which may be set lower per site); low when only sharing with "
              "signed-in guests is allowed; not reported when external sharing is off."),
    symptom="advice: sharing settings (an attacker's Anyone link outlives the password reset)",
    references=("https://learn.microsoft.com/graph/api/resources/sharepointsettings",
                "https://learn.microsoft.com/sharepoint/turn-external-sharing-on-or-off"),
    scope="user",
    kind="exposure",
    needs=("sharepoint_settings",),
    advice=("consider limiting OneDrive sharing to signed-in guests (SharePoint admin centre → Policies → Sharing "
            "→ OneDrive: \"New and existing guests\"), or set an expiry for Anyone links; check {user}'s own "
            "OneDrive with Get-SPOSite -Identity <OneDrive URL> | Select SharingCapability; reclaim does not "
            "change tenant-wide settings"),
)


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    settings = bundle.record("sharepoint_settings")
    capability = text(settings, "sharingCapability") or ""
    if capability == "externalUserAndGuestSharing":
        severity = Severity.MEDIUM
        reason = "Anyone links can be created: a link keeps working without signing in, after the password reset"
    elif capability in ("externalUserSharingOnly", "existingExternalUserSharingOnly"):
        severity = Severity.LOW
        reason = "files can be shared with outside people who sign in as guests"
    elif capability == "disabled":
        return []
    else:
        return NotChecked(METADATA.id, f"unknown sharingCapability {capability!r}")
    return [Finding(METADATA.id, severity, "OneDrive sharing allows " + ("Anyone links" if severity is Severity.MEDIUM
                                                                        else "outside guests"),
                    Artifact("sharingPolicy", "sharepoint"), evidence={"sharingCapability": capability},
                    reasons=(reason,), symptom=METADATA.symptom)]
