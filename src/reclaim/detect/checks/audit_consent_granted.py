"""Consent to an application and delegated permission grants, read from the audit logs."""

from __future__ import annotations

import re

from reclaim.detect.api import (
    Artifact,
    CheckMeta,
    Context,
    EvidenceBundle,
    Finding,
    NotChecked,
    Severity,
    text,
    user_label,
    when,
)
from reclaim.detect.checks._auditlog import (
    audit_records,
    by_subject,
    change,
    directory_audits,
    modified,
    operation,
    record_id,
    targets,
)

METADATA = CheckMeta(
    id="audit-consent-granted",
    title="Consent was given to an application (audit log)",
    severity=("high when the permissions granted read or send mail or files or act as the user in Exchange "
              "(Mail.*, MailboxSettings.ReadWrite, Files.*, Sites.*, EWS.AccessAsUser.All, full_access_as_user, "
              "Directory.ReadWrite.All ...); medium for other consents. Consent for every user (admin consent, "
              "AllPrincipals) is tenant-scoped. A consent that failed is not reported."),
    symptom="beyond the procedure (an application granted access to the mailbox: illicit consent)",
    references=("https://learn.microsoft.com/defender-office-365/detect-and-remediate-illicit-consent-grants",
                "sigma azure_app_end_user_consent", "sigma azure_app_delegated_permissions_all_users"),
    scope="user",
    tenant_findings=True,
    needs=("directory_audits|tenant_directory_audits|audit_records|tenant_audit_records",),
    indicators=(("app", "app"),),
)

OPERATIONS = {"consent to application", "add delegated permission grant", "add app role assignment grant to user"}
RISKY = re.compile(r"\b(mail\.\w+|mailboxsettings\.readwrite|files\.\w+(\.\w+)?|sites\.\w+(\.\w+)?|"
                   r"ews\.accessasuser\.all|full_access_as_user|directory\.readwrite\.all|"
                   r"user\.readwrite\.all|application\.readwrite\.all|approleassignment\.readwrite\.all)\b", re.I)


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    out: list[Finding] = []
    for r in [*directory_audits(bundle), *audit_records(bundle)]:
        if operation(r) not in OPERATIONS:
            continue
        if (text(r, "result", "ResultStatus") or "success").casefold() in ("failure", "failed"):
            continue
        props = modified(r)
        scopes_text = " ".join(v for k, v in props.items() if "permission" in k or "scope" in k)
        scopes = sorted({m.group(0) for m in RISKY.finditer(scopes_text)}, key=str.casefold)
        app = (targets(r) or ["an application"])[0]
        admin = any(v.strip('"').casefold() == "true" for k, v in props.items() if "isadminconsent" in k) or \
            "allprincipals" in scopes_text.casefold()
        if not admin and not by_subject(bundle, r):
            continue  # another user's own consent: theirs to investigate, never this user's indicator
        severity = Severity.HIGH if scopes else Severity.MEDIUM
        who = change(r)
        reasons = [f"{who['operation']} by {who['user'] or '?'} from {who['ip'] or '?'}"]
        if scopes:
            reasons.append("grants access to mail, files or the directory: " + ", ".join(scopes[:8]))
        out.append(Finding(
            METADATA.id, severity, f"Consent given to {app}" + (" for every user" if admin else
                                                                f" by {user_label(bundle)}"),
            Artifact("directoryAudit" if "activityDisplayName" in r else "auditRecord", record_id(r)),
            reasons=tuple(reasons), time=when(r, "activityDateTime", "CreationTime"), symptom=METADATA.symptom,
            scope="tenant" if admin else "user",
            evidence={"app": app, "scopes": scopes, "adminConsent": admin, "permissions": scopes_text[:500],
                      "records": [record_id(r)], "changedBy": [who], "clientIP": who["ip"]}))
    return out
