"""Sign-in methods added or strong authentication turned off, read from the audit logs."""

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
    text,
    user_label,
    when,
)
from reclaim.detect.checks._auditlog import (
    audit_records,
    change,
    directory_audits,
    modified,
    operation,
    parameters,
    record_id,
    targets,
)

METADATA = CheckMeta(
    id="audit-auth-method-changed",
    title="A sign-in method was added or strong authentication turned off (audit log)",
    severity=("high when strong authentication (per-user MFA) was turned off (Disable Strong Authentication, "
              "Set-MsolUser with empty StrongAuthenticationRequirements); a method registered or changed (User "
              "registered security info, Update user with StrongAuthenticationMethod / PhoneAppDetail) is high "
              "inside the suspicious window, low otherwise (people add methods too)."),
    symptom="beyond the procedure (persistence: the attacker's own MFA method)",
    references=("sigma azure_change_to_authentication_method", "sigma azure_user_account_mfa_disable",
                "panther-analysis Microsoft365.MFA.Disabled", "panther-analysis Azure.Audit.MFADisabled"),
    scope="user",
    phase=2,
    needs=("directory_audits|tenant_directory_audits|audit_records|tenant_audit_records",),
    raised_by_attacker_ip=True,
)

ADDED = {"user registered security info", "user registered all required security info",
         "admin registered security info", "user changed default security info"}
DISABLED = {"disable strong authentication"}
METHOD_PROPS = ("strongauthenticationmethod", "strongauthenticationphoneappdetail", "strongauthenticationuserdetails")


def _mine(bundle: EvidenceBundle, record_user: str | None, targets: list[str]) -> bool:
    me = user_label(bundle).casefold()
    return any(me == (t or "").casefold() for t in [record_user, *targets])


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    out: list[Finding] = []
    for r in [*directory_audits(bundle), *audit_records(bundle)]:
        op = operation(r)
        props = modified(r)
        who = change(r)
        moment = when(r, "activityDateTime", "CreationTime")
        params = parameters(r)
        disabled = op in DISABLED or (op == "set-msoluser" and "strongauthenticationrequirements" in params
                                      and params["strongauthenticationrequirements"].strip() in ("", "[]", "{}"))
        if op == "update user":
            req = props.get("strongauthenticationrequirement")
            disabled = disabled or (req is not None and req.strip() in ("[]", '""', ""))
        added = op in ADDED or (op == "update user" and any(p in props for p in METHOD_PROPS) and not disabled)
        if not (disabled or added):
            continue
        if not _mine(bundle, text(r, "ObjectId") if "Operation" in r else None, targets(r)) and \
                (who["user"] or "").casefold() != user_label(bundle).casefold():
            continue
        reasons = [f"{who['operation']} by {who['user'] or '?'} from {who['ip'] or '?'}"]
        if disabled:
            severity: Severity | None = Severity.HIGH
            title = f"Strong authentication was turned off for {user_label(bundle)}"
        else:
            severity, why = judge_created(context, moment, inside=Severity.HIGH, recent=Severity.LOW,
                                          what="a sign-in method was added")
            if severity is None:
                severity, why = Severity.LOW, "a sign-in method was added (outside the investigated period)"
            reasons.append(why)
            title = f"A sign-in method was added for {user_label(bundle)}"
        out.append(Finding(METADATA.id, severity or Severity.LOW, title,
                           Artifact("directoryAudit" if "activityDisplayName" in r else "auditRecord", record_id(r)),
                           reasons=tuple(reasons), time=moment, symptom=METADATA.symptom,
                           evidence={"operation": who["operation"], "records": [record_id(r)], "changedBy": [who],
                                     "clientIP": who["ip"], "disabled": disabled}))
    return out
