"""OAuth consent grants that give an application the user's mail or directory."""

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
    get,
    items,
    mappings,
    strings,
    text,
    when,
)

METADATA = CheckMeta(
    id="oauth-grant-risky",
    title="An application was given access to the user's data",
    severity=("Hawk's tiers: high for AppRoleAssignment.ReadWrite.All / RoleManagement.ReadWrite.Directory; "
              "medium for Mail.ReadWrite, Mail.Send, Mail.Read, MailboxSettings.ReadWrite, Files.*, Sites.*, "
              "Directory.ReadWrite.All, full_access_as_user; one level up for offline_access with mail scopes "
              "(the consent-phishing pair), for an app name of only punctuation or resembling the user's "
              "name, and for consent given inside the suspicious window; Microsoft's own apps are skipped; "
              "other scopes are low."),
    symptom="beyond the procedure (OAuth consent grants)",
    references=("T0pCyber/hawk Get-HawkTenantConsentGrant", "Azure-Sentinel SuspiciousOAuthApp_OfflineAccess",
                "LETHAL-FORENSICS/Microsoft-Analyzer-Suite OAuthPermissions", "sigma azure_app_end_user_consent"),
    scope="user",
    tenant_findings=True,
    phase=2,
    needs=("oauth_grants",),
    reads=("service_principals", "directory_audits", "tenant_directory_audits"),
    indicators=(("app", "appId"),),
)

EXTREME = {"approleassignment.readwrite.all", "rolemanagement.readwrite.directory"}
HIGH = {"mail.readwrite", "mail.send", "mail.read", "mailboxsettings.readwrite", "directory.readwrite.all",
        "full_access_as_user", "eas.accessasuser.all", "ews.accessasuser.all", "mail.readwrite.shared",
        "mail.send.shared", "imap.accessasuser.all", "pop.accessasuser.all", "smtp.send"}
MAIL = {"mail.read", "mail.readwrite", "mail.send", "imap.accessasuser.all", "pop.accessasuser.all",
        "ews.accessasuser.all", "eas.accessasuser.all", "full_access_as_user", "mailboxsettings.readwrite"}
MICROSOFT_TENANTS = {"f8cdef31-a31e-4b4a-93e4-5f571e91255a", "72f988bf-86f1-41af-91ab-2d7cd011db47"}


CONSENT = {"consent to application", "add delegated permission grant"}


def _consents(bundle: EvidenceBundle) -> dict[str, list[dict[str, Any]]]:
    """Consent events per service principal id, oldest first: when and by whom (the user's own directory
    audits and the tenant-wide ones, each event once)."""
    audits: dict[str, Mapping[str, Any]] = {}
    for kind in ("directory_audits", "tenant_directory_audits"):
        try:
            audits.update({text(a, "id") or str(i): a for i, a in enumerate(bundle.records(kind))})
        except ArtifactMissing:
            continue
    out: dict[str, list[dict[str, Any]]] = {}
    for a in audits.values():
        if (text(a, "activityDisplayName") or "").lower() not in CONSENT or not (moment := when(a, "activityDateTime")):
            continue
        by = get(get(a, "initiatedBy"), "user")
        change = {"user": text(by, "userPrincipalName"), "operation": text(a, "activityDisplayName"),
                  "time": moment.isoformat(), "ip": text(by, "ipAddress"), "record": text(a, "id")}
        for t in mappings(items(a, "targetResources")):
            if (tid := text(t, "id")) and (text(t, "type") or "ServicePrincipal").lower() == "serviceprincipal":
                out.setdefault(tid, []).append(change)
    for changes in out.values():
        changes.sort(key=lambda c: str(c["time"]))
    return out


def _tier(scope: str) -> Severity:
    s = scope.lower()
    if s in EXTREME:
        return Severity.HIGH
    if s in HIGH or s.startswith(("files.", "sites.")):
        return Severity.MEDIUM
    return Severity.LOW


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    grants = bundle.records("oauth_grants")
    principals: dict[str, Mapping[str, Any]] = {}
    try:
        principals = {sid: sp for sp in bundle.records("service_principals") if (sid := text(sp, "id"))}
    except ArtifactMissing:
        principals = {}
    consents = _consents(bundle)
    display = text(bundle.user, "displayName") if isinstance(bundle.user, Mapping) else None
    out: list[Finding] = []
    for grant in grants:
        client = text(grant, "clientId") or ""
        sp = principals.get(client, {})
        if text(sp, "appOwnerOrganizationId") in MICROSOFT_TENANTS:
            continue
        scopes = sorted(set((text(grant, "scope") or "").split()))
        if not scopes:
            continue
        severity = max((_tier(s) for s in scopes), key=lambda s: s.rank)
        app = text(sp, "displayName") or client or "an unknown application"
        risky = [s for s in scopes if _tier(s) is not Severity.LOW]
        reasons = [f"{app} may use: {', '.join(risky or scopes)}"]
        lowered = {s.lower() for s in scopes}
        if "offline_access" in lowered and lowered & MAIL:
            severity = severity.raised()
            reasons.append("offline_access with mail access: the pair consent-phishing apps ask for")
        name = text(sp, "displayName") or ""
        if name and not any(c.isalnum() for c in name):
            severity = severity.raised()
            reasons.append("the application's name is only punctuation")
        elif name and display and name.strip().lower() == display.strip().lower():
            severity = severity.raised()
            reasons.append("the application is named like the user, to look harmless")
        urls = strings(items(sp, "replyUrls")) + strings(items(get(sp, "web"), "redirectUris"))
        if any("localhost" in u or "127.0.0.1" in u for u in urls):
            reasons.append("it redirects to localhost (a script or tool, not a product)")
        everyone = (text(grant, "consentType") or "").lower() == "allprincipals"
        if everyone:
            reasons.append("consent was given for every user of the organisation (by an administrator)")
        if get(sp, "verifiedPublisher") and text(get(sp, "verifiedPublisher"), "displayName"):
            reasons.append(f"verified publisher: {text(get(sp, 'verifiedPublisher'), 'displayName')}")
            severity = severity.raised(-1)
        changes = consents.get(client, [])
        moment = when(changes[0], "time") if changes else None
        if context.in_suspicious_window(moment):
            severity = severity.raised()
            reasons.append(f"consent was given during the suspicious window ({context.suspicious_reason})")
        whose = "every user's data" if everyone else "the user's data"
        out.append(Finding(METADATA.id, severity, f'The application "{app}" can access {whose} '
                           f"({', '.join((risky or scopes)[:4])}).",
                           Artifact("oauth2PermissionGrant", text(grant, "id") or ""),
                           evidence={"clientId": client, "app": app, "appId": text(sp, "appId"), "scopes": scopes,
                                     "consentType": text(grant, "consentType"),
                                     "changedBy": [c for c in changes if c["user"]]},
                           reasons=tuple(reasons), time=moment, symptom=METADATA.symptom,
                           scope="tenant" if everyone else "user"))
    return out
