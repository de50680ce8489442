"""IMAP, POP or SMTP AUTH turned on for the mailbox, read from the audit log (Set-CASMailbox)."""

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
    id="audit-legacy-protocol-enabled",
    title="IMAP, POP or SMTP AUTH was turned on (audit log)",
    severity=("high inside the suspicious window (an attacker re-enables a protocol that skips MFA to read or "
              "send mail); medium otherwise. Turning a protocol off is not reported. Set-TransportConfig "
              "-SmtpClientAuthenticationDisabled $false turns SMTP AUTH on for the whole tenant (tenant-scoped)."),
    symptom="beyond the procedure (legacy protocols that bypass MFA)",
    references=("https://learn.microsoft.com/powershell/module/exchange/set-casmailbox",
                "https://learn.microsoft.com/exchange/clients-and-mobile-in-exchange-online/authenticated-client-"
                "smtp-submission"),
    scope="mailbox",
    tenant_findings=True,
    phase=2,
    needs=("audit_records|tenant_audit_records",),
    raised_by_attacker_ip=True,
)

_TRUE = {"true", "$true", "1"}
_FALSE = {"false", "$false", "0"}


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    me = user_label(bundle).casefold()
    out: list[Finding] = []
    for r in audit_records(bundle):
        op = operation(r)
        params = parameters(r)
        turned = [name for key, name in (("imapenabled", "IMAP"), ("popenabled", "POP")) if
                  params.get(key, "").casefold() in _TRUE]
        if params.get("smtpclientauthenticationdisabled", "").casefold() in _FALSE:
            turned.append("SMTP AUTH")
        if not turned or op not in ("set-casmailbox", "set-transportconfig"):
            continue
        tenant = op == "set-transportconfig"
        identity = (params.get("identity") or text(r, "ObjectId") or "").casefold()
        if not tenant and me not in identity and me.split("@")[0] not in identity:
            continue
        moment = when(r, "CreationTime")
        who = change(r)
        severity, why = judge_created(context, moment, inside=Severity.HIGH, recent=Severity.MEDIUM,
                                      what="the protocol was turned on")
        out.append(Finding(
            METADATA.id, severity or Severity.MEDIUM, f"{', '.join(turned)} turned on for " +
            ("the whole tenant" if tenant else user_label(bundle)), Artifact("auditRecord", record_id(r)),
            reasons=tuple(x for x in (f"{text(r, 'Operation')} by {who['user'] or '?'} from {who['ip'] or '?'}",
                                      why) if x),
            time=moment, symptom=METADATA.symptom, scope="tenant" if tenant else None,
            evidence={"protocols": turned, "records": [record_id(r)], "changedBy": [who], "clientIP": who["ip"]}))
    return out
