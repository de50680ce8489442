"""Mailbox, send-as and folder permissions given to someone, read from the audit log."""

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
from reclaim.detect.checks._auditlog import audit_records, change, operation, parameters, record_id

METADATA = CheckMeta(
    id="audit-mailbox-permission-added",
    title="Someone was given access to the mailbox (audit log)",
    severity=("high when FullAccess (Add-MailboxPermission) or SendAs (Add-RecipientPermission) is given to "
              "another account inside the suspicious window, or folder rights that read mail (Reviewer, Editor, "
              "Owner, ReadItems ...) on a mail folder are given to Default or Anonymous; medium for FullAccess / "
              "SendAs otherwise and for mail-folder rights given to a person; calendar and contacts folder "
              "rights and permissions removed are not reported."),
    symptom="beyond the procedure (persistence: a delegate reads or sends as the user)",
    references=("https://learn.microsoft.com/powershell/module/exchange/add-mailboxpermission",
                "https://learn.microsoft.com/powershell/module/exchange/add-mailboxfolderpermission",
                "Microsoft-Analyzer-Suite MailboxAuditLog"),
    scope="mailbox",
    phase=2,
    needs=("audit_records|tenant_audit_records",),
    raised_by_attacker_ip=True,
)

MAILBOX = {"add-mailboxpermission", "add-recipientpermission"}
FOLDER = {"add-mailboxfolderpermission", "set-mailboxfolderpermission"}
READING = {"owner", "publishingeditor", "editor", "publishingauthor", "author", "nonediting author", "reviewer",
           "readitems", "fullaccess", "sendas"}
NOT_MAIL = ("calendar", "contacts", "kalender", "calendrier")


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    me = user_label(bundle).casefold()
    out: list[Finding] = []
    for r in audit_records(bundle):
        op = operation(r)
        if op not in MAILBOX | FOLDER:
            continue
        params = parameters(r)
        identity = (params.get("identity") or text(r, "ObjectId") or "").casefold()
        if me.split("@")[0] not in identity and me not in identity:
            continue
        trustee = params.get("user") or params.get("trustee") or "?"
        rights = (params.get("accessrights") or "").replace(";", ",")
        rights_set = {x.strip().casefold() for x in rights.split(",") if x.strip()}
        moment = when(r, "CreationTime")
        who = change(r)
        reasons = [f"{text(r, 'Operation')} by {who['user'] or '?'} from {who['ip'] or '?'}: {trustee} gets "
                   f"{rights or '?'}"]
        if op in FOLDER:
            folder = identity.split(":", 1)[-1]
            if any(word in folder for word in NOT_MAIL) or not (rights_set & READING):
                continue
            everyone = trustee.casefold() in ("default", "anonymous")
            severity: Severity = Severity.HIGH if everyone else Severity.MEDIUM
            if everyone:
                reasons.append(f"everyone ({trustee}) can read the folder")
        else:
            if trustee.casefold() in (me, me.split("@")[0]):
                continue
            inside, why = judge_created(context, moment, inside=Severity.HIGH, recent=Severity.MEDIUM,
                                        what="the permission was given")
            severity = inside or Severity.MEDIUM
            if why:
                reasons.append(why)
        out.append(Finding(METADATA.id, severity, f"{trustee} was given {rights or 'access'} on the mailbox of "
                           f"{user_label(bundle)}", Artifact("auditRecord", record_id(r)), reasons=tuple(reasons),
                           time=moment, symptom=METADATA.symptom,
                           evidence={"trustee": trustee, "accessRights": rights, "identity": identity,
                                     "records": [record_id(r)], "changedBy": [who], "clientIP": who["ip"]}))
    return out
