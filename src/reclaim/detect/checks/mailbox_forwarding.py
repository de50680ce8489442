"""Mailbox-level forwarding (Set-Mailbox ForwardingSmtpAddress / ForwardingAddress)."""

from __future__ import annotations

from datetime import datetime

from reclaim.detect.api import (
    Artifact,
    ArtifactMissing,
    CheckMeta,
    Context,
    EvidenceBundle,
    Finding,
    NotChecked,
    Severity,
    flag,
    items,
    mappings,
    parse_recipients,
    text,
    user_id,
    when,
)

METADATA = CheckMeta(
    id="mailbox-forwarding",
    title="Mailbox forwards all mail",
    severity=("medium for forwarding to an outside address with a copy kept; high when no copy is kept "
              "(DeliverToMailboxAndForward false: the user never sees the mail); low for forwarding to a "
              "recipient inside the organisation with a copy kept, medium without."),
    symptom="remove mailbox forwarding (unless verified legitimate)",
    references=("https://learn.microsoft.com/defender-office-365/responding-to-a-compromised-email-account",
                "panther-analysis Microsoft365.Exchange.External.Forwarding",
                "sigma microsoft365_susp_email_forwarding_activity"),
    scope="mailbox",
    needs=("mailbox", "accepted_domains"),
    reads=("audit_records",),
    raised_by_attacker_ip=True,
    indicators=(("address", "forwardingSmtpAddress"), ("address", "forwardingAddress")),
)


def _set_time(bundle: EvidenceBundle) -> tuple[str | None, datetime | None]:
    try:
        records = bundle.records("audit_records")
    except ArtifactMissing:
        return None, None
    for r in sorted(records, key=lambda r: text(r, "CreationTime") or ""):
        if (text(r, "Operation") or "").lower() != "set-mailbox":
            continue
        names = {text(p, "Name") for p in mappings(items(r, "Parameters"))}
        if names & {"ForwardingSmtpAddress", "ForwardingAddress"}:
            return text(r, "ClientIP"), when(r, "CreationTime")
    return None, None


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    mailbox = bundle.record("mailbox")
    smtp = text(mailbox, "ForwardingSmtpAddress", "forwardingSmtpAddress")
    internal = text(mailbox, "ForwardingAddress", "forwardingAddress")
    if not smtp and not internal:
        return []
    keep = flag(mailbox, "DeliverToMailboxAndForward", "deliverToMailboxAndForward") is True
    domains = bundle.domains()
    # ForwardingAddress wins when both are set (Exchange ignores ForwardingSmtpAddress then).
    target = internal or smtp or ""
    recipients = parse_recipients(target)
    external = bool(not internal and recipients and any(r.is_external(domains) for r in recipients))
    if external:
        severity = Severity.MEDIUM if keep else Severity.HIGH
        where = "outside your organisation"
    else:
        severity = Severity.LOW if keep else Severity.MEDIUM
        where = "inside your organisation"
    shown = ", ".join(r.address or r.name for r in recipients) or target
    reasons = [f"all incoming mail is forwarded to {shown}, {where}"]
    reasons.append("a copy stays in the mailbox" if keep else "no copy is kept: the user never sees the mail")
    ip, moment = _set_time(bundle)
    if ip:
        reasons.append(f"forwarding was set from {ip}")
    title = f"The mailbox forwards all incoming mail to {shown} ({where})" + ("" if keep else " without keeping a copy")
    return [Finding(METADATA.id, severity, title + ".", Artifact("mailboxForwarding", user_id(bundle)),
                    evidence={"forwardingSmtpAddress": smtp, "forwardingAddress": internal,
                              "deliverToMailboxAndForward": keep, "external": external, "setFromIP": ip},
                    reasons=tuple(reasons), time=moment,
                    symptom=METADATA.symptom)]
