"""An Entra admin role assigned to someone, read from the audit logs."""

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
    id="audit-admin-role-assigned",
    title="An admin role was assigned (audit log)",
    severity=("high for a privileged role (Global, Privileged Role, Privileged Authentication, Security, "
              "Exchange, SharePoint, User, Application, Cloud Application, Authentication, Conditional Access, "
              "Hybrid Identity Administrator); medium for other roles. Tenant-scoped: it changes who can "
              "change the tenant, and names who assigned it. A failed assignment is not reported."),
    symptom="beyond the procedure (an attacker gives a controlled account admin rights)",
    references=("https://learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference",
                "panther-analysis Azure.Audit.RoleChangedPIM", "panther-analysis Azure.Audit.PolicyChanged"),
    scope="tenant",
    needs=("directory_audits|tenant_directory_audits|audit_records|tenant_audit_records",),
)

OPERATIONS = {"add member to role", "add eligible member to role", "add scoped member to role",
              "add member to role completed (pim activation)",
              "add eligible member to role in pim completed (permanent)",
              "add member to role in pim completed (permanent)"}
PRIVILEGED = ("global administrator", "company administrator", "privileged role administrator",
              "privileged authentication administrator", "security administrator", "exchange administrator",
              "sharepoint administrator", "user administrator", "application administrator",
              "cloud application administrator", "authentication administrator",
              "conditional access administrator", "hybrid identity administrator", "helpdesk administrator")


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    out: list[Finding] = []
    for r in [*directory_audits(bundle), *audit_records(bundle)]:
        if operation(r) not in OPERATIONS:
            continue
        if (text(r, "result", "ResultStatus") or "success").casefold() in ("failure", "failed"):
            continue
        props = modified(r)
        role = (props.get("role.displayname") or props.get("role.templateid") or "a role").strip('"')
        assignee = next((t for t in targets(r) if "@" in t), (targets(r) or ["someone"])[0])
        privileged = any(p in role.casefold() for p in PRIVILEGED)
        who = change(r)
        out.append(Finding(
            METADATA.id, Severity.HIGH if privileged else Severity.MEDIUM, f"{assignee} was made {role}",
            Artifact("directoryAudit" if "activityDisplayName" in r else "auditRecord", record_id(r)),
            reasons=(f"{who['operation']} by {who['user'] or '?'} from {who['ip'] or '?'}",
                     "a privileged role" if privileged else "an admin role"),
            time=when(r, "activityDateTime", "CreationTime"), symptom=METADATA.symptom,
            evidence={"role": role, "assignee": assignee, "records": [record_id(r)], "changedBy": [who],
                      "clientIP": who["ip"]}))
    return out
