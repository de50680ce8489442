"""Credentials (secrets, certificates) added to an application or service principal, read from the audit logs."""

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
    when,
)
from reclaim.detect.checks._auditlog import (
    audit_records,
    change,
    directory_audits,
    modified,
    operation,
    record_id,
    targets,
)

METADATA = CheckMeta(
    id="audit-app-credentials-added",
    title="Credentials were added to an application (audit log)",
    severity=("high when a secret or certificate is added to a service principal (Add service principal "
              "credentials: rare, and how attackers keep access to a tenant); medium when an application's "
              "certificates and secrets change (Update application – Certificates and secrets management) and "
              "the new value lists a key. Tenant-scoped; a failed change is not reported."),
    symptom="beyond the procedure (persistence through an application's own credentials)",
    references=("panther-analysis Azure.Audit.ServicePrincipalCredentialsAdded",
                "https://learn.microsoft.com/entra/identity-platform/howto-create-service-principal-portal"),
    scope="tenant",
    needs=("directory_audits|tenant_directory_audits|audit_records|tenant_audit_records",),
    indicators=(("app", "app"),),
)

SP = {"add service principal credentials"}
APP = {"update application – certificates and secrets management", "update application - certificates and "
       "secrets management"}


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    out: list[Finding] = []
    for r in [*directory_audits(bundle), *audit_records(bundle)]:
        op = operation(r).strip()
        if op not in SP | APP:
            continue
        if (text(r, "result", "ResultStatus") or "success").casefold() in ("failure", "failed"):
            continue
        props = modified(r)
        keys = props.get("keydescription") or props.get("included updated properties") or ""
        if op in APP and "keydescription" not in props and "keycredentials" not in keys.casefold() \
                and "passwordcredentials" not in keys.casefold() and not props.get("keyidentifier"):
            continue
        app = (targets(r) or ["an application"])[0]
        who = change(r)
        out.append(Finding(
            METADATA.id, Severity.HIGH if op in SP else Severity.MEDIUM, f"Credentials were added to {app}",
            Artifact("directoryAudit" if "activityDisplayName" in r else "auditRecord", record_id(r)),
            reasons=(f"{who['operation']} by {who['user'] or '?'} from {who['ip'] or '?'}",),
            time=when(r, "activityDateTime", "CreationTime"), symptom=METADATA.symptom,
            evidence={"app": app, "keys": keys[:300], "records": [record_id(r)], "changedBy": [who],
                      "clientIP": who["ip"]}))
    return out
