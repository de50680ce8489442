"""Mailbox forwarding set, read from the audit log (Set-Mailbox -ForwardingSmtpAddress / -ForwardingAddress)."""

from __future__ import annotations

from reclaim.detect.api import (
    Artifact,
    CheckMeta,
    Context,
    EvidenceBundle,
    Finding,
    NotChecked,
    Severity,
    normalise_ip,
    text,
    user_label,
    when,
)
from reclaim.detect.checks._auditlog import addresses_in, audit_records, change, operation, parameters, record_id

METADATA = CheckMeta(
    id="audit-mailbox-forwarding",
    title="Mailbox forwarding was set (audit log)",
    severity=("high when Set-Mailbox sets ForwardingSmtpAddress (or ForwardingAddress) to an address outside the "
              "accepted domains; medium when the destination is inside them or the accepted domains are not "
              "known (say them with --domain); clearing the forwarding ($null, empty) is not reported. "
              "DeliverToMailboxAndForward $false (no copy kept) is named as a reason."),
    symptom="mail to the user is forwarded elsewhere (Set-Mailbox forwarding in the audit log)",
    references=("https://learn.microsoft.com/powershell/module/exchange/set-mailbox",
                "panther-analysis Microsoft365.Exchange.External.Forwarding",
                "sigma microsoft365_susp_email_forwarding_activity"),
    scope="mailbox",
    needs=("audit_records|tenant_audit_records",),
    reads=("accepted_domains",),
    raised_by_attacker_ip=True,
    indicators=(("address", "forwardingSmtpAddress"), ("domain", "domain")),
)

_CLEARED = {"", "$null", "null", "none"}


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    upn = user_label(bundle).casefold()
    out: list[Finding] = []
    for r in audit_records(bundle):
        if operation(r) != "set-mailbox":
            continue
        params = parameters(r)
        target = (params.get("identity") or text(r, "ObjectId") or text(r, "UserId") or "").casefold()
        if upn not in target and target.rsplit("\\", 1)[-1] not in upn:
            continue
        raw = params.get("forwardingsmtpaddress") or params.get("forwardingaddress") or ""
        if raw.strip().casefold() in _CLEARED:
            continue
        address = addresses_in([raw.strip()])[0]
        domain = address.rsplit("@", 1)[-1].casefold() if "@" in address else ""
        reasons = [f"{text(r, 'Operation')} by {text(r, 'UserId') or '?'} from {text(r, 'ClientIP') or '?'}"]
        if context.domains is None:
            severity = Severity.MEDIUM
            reasons.append("the accepted domains are not known: cannot tell whether the destination is outside")
            external = None
        else:
            external = bool(domain) and not any(domain == d or domain.endswith("." + d) for d in context.domains)
            severity = Severity.HIGH if external else Severity.MEDIUM
            reasons.append("forwards outside the organisation" if external else "forwards inside the organisation")
        if params.get("delivertomailboxandforward", "").casefold() in ("false", "$false"):
            reasons.append("no copy is kept in the mailbox")
        out.append(Finding(METADATA.id, severity, f"Forwarding of {user_label(bundle)} to {address} was set",
                           Artifact("auditRecord", record_id(r)), reasons=tuple(reasons),
                           time=when(r, "CreationTime"), symptom=METADATA.symptom,
                           evidence={"forwardingSmtpAddress": address, "domain": domain, "external": external,
                                     "clientIP": normalise_ip(text(r, "ClientIP")), "records": [record_id(r)],
                                     "changedBy": [change(r)]}))
    return out
