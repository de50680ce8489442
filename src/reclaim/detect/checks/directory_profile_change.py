"""Directory audit: the user's display name or contact details were changed."""

from __future__ import annotations

from typing import Any

from reclaim.detect.api import (
    Artifact,
    CheckMeta,
    Context,
    EvidenceBundle,
    Finding,
    NotChecked,
    NotCollected,
    Severity,
    get,
    items,
    mappings,
    text,
    user_id,
    when,
)

METADATA = CheckMeta(
    id="directory-profile-change",
    title="Display name or contact information changed",
    severity=("medium when an \"Update user\" changed the display name, mail addresses or phone numbers (the "
              "procedure's symptom; attackers change them to impersonate or to receive recovery codes); "
              "high when strong authentication was disabled for the user; the same changes made by a provisioning "
              "service (HR-driven provisioning such as Workday or SuccessFactors inbound, Entra Connect / Cloud "
              "Sync) are context, not an indicator: that is how HR data reaches the directory; changes by "
              "directory sync only touching other properties are ignored."),
    symptom="display name or contact info changed",
    references=("https://learn.microsoft.com/graph/api/resources/directoryaudit",
                "https://learn.microsoft.com/defender-office-365/responding-to-a-compromised-email-account",
                "sigma azure_user_account_mfa_disable"),
    scope="user",
    advice="profile changes by the attacker ({changed}): put the old values back in the Entra admin centre",
    needs=("directory_audits",),
)

PROFILE = {"displayname": "display name", "mail": "mail address", "proxyaddresses": "mail addresses",
           "othermails": "alternative mail addresses", "mobile": "mobile phone", "mobilephone": "mobile phone",
           "telephonenumber": "phone number", "businessphones": "phone number", "othermobile": "phone number",
           "userprincipalname": "sign-in name", "givenname": "first name", "surname": "last name"}
MFA_OFF = {"disable strong authentication"}


def _changed(audit: Any) -> dict[str, dict[str, Any]]:
    changed: dict[str, dict[str, Any]] = {}
    for target in mappings(items(audit, "targetResources")):
        for prop in mappings(items(target, "modifiedProperties")):
            name = (text(prop, "displayName") or "").strip()
            key = name.replace(" ", "").lower()
            if key in PROFILE:
                changed[name] = {"old": get(prop, "oldValue"), "new": get(prop, "newValue")}
            elif key == "includedupdatedproperties":
                for part in str(get(prop, "newValue") or "").strip('"').split(","):
                    p = part.strip().strip('"')
                    if p.replace(" ", "").lower() in PROFILE and p not in changed:
                        changed[p] = {"old": None, "new": None}
    return changed


#: Who provisions user profiles in normal operation: HR-driven inbound provisioning apps and directory sync.
PROVISIONING_APPS = ("workday", "successfactors", "sap success", "azure ad connect", "entra connect",
                     "cloud sync", "azure ad cloud sync", "user provisioning", "inbound provisioning",
                     "directory synchronization", "microsoft.azure.syncfabric")
SYNC_ACCOUNT = "on-premises directory synchronization service account"


def provisioning(initiator: Any) -> str | None:
    """The provisioning service that made a change (an HR-driven inbound provisioning app, Entra Connect's
    sync account), or ``None`` when a person or another app made it."""
    app = text(get(initiator, "app"), "displayName") or ""
    if app and any(p in app.lower() for p in PROVISIONING_APPS):
        return app
    user = get(initiator, "user")
    upn = (text(user, "userPrincipalName") or "").lower()
    name = (text(user, "displayName") or "").lower()
    if (upn.startswith("sync_") and upn.endswith(".onmicrosoft.com")) or name == SYNC_ACCOUNT:
        return text(user, "displayName") or text(user, "userPrincipalName")
    return None


def _targets_user(audit: Any, uid: str, upn: str | None) -> bool:
    for target in mappings(items(audit, "targetResources")):
        if text(target, "id") == uid or (upn and (text(target, "userPrincipalName") or "").lower() == upn.lower()):
            return True
    return False


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    audits = bundle.records("directory_audits")
    uid = user_id(bundle)
    upn = None if isinstance(bundle.user, NotCollected) else text(bundle.user, "userPrincipalName")
    out: list[Finding] = []
    for audit in audits:
        activity = (text(audit, "activityDisplayName") or "").strip()
        if (text(audit, "result") or "success").lower() != "success" or not _targets_user(audit, uid, upn):
            continue
        initiator = get(audit, "initiatedBy")
        by = text(get(initiator, "user"), "userPrincipalName") or text(get(initiator, "app"), "displayName") or "?"
        ip = text(get(initiator, "user"), "ipAddress")
        aid = text(audit, "id") or ""
        moment = when(audit, "activityDateTime")
        if activity.lower() in MFA_OFF:
            out.append(Finding(METADATA.id, Severity.HIGH, f"Multi-factor authentication was disabled for the user "
                               f"by {by}.", Artifact("directoryAudit", aid), evidence={"activity": activity,
                               "initiatedBy": by, "ipAddress": ip}, reasons=("strong authentication was disabled",),
                               time=moment, symptom=METADATA.symptom))
            continue
        if activity.lower() != "update user":
            continue
        changed = _changed(audit)
        if not changed:
            continue
        what = sorted({PROFILE[k.replace(" ", "").lower()] for k in changed})
        reasons = [f"changed: {', '.join(what)}", f"changed by {by}" + (f" from {ip}" if ip else "")]
        service = provisioning(initiator)
        if service is not None:
            reasons.append(f"{service} is a provisioning service: HR and directory data reach the account this way")
        out.append(Finding(METADATA.id, Severity.INFO if service else Severity.MEDIUM,
                           f"The user's {', '.join(what)} changed (by {by}).",
                           Artifact("directoryAudit", aid), evidence={"changed": changed, "initiatedBy": by,
                                                                      "ipAddress": ip, "provisioning": service},
                           reasons=tuple(reasons), time=moment, symptom=METADATA.symptom,
                           kind="context" if service else None))
    return out
