"""Microsoft restricted the account from sending (outbound spam), with its NDRs and alert."""

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
    get,
    text,
    user_id,
    user_label,
    when,
)

METADATA = CheckMeta(
    id="restricted-sender",
    title="The account is blocked from sending mail",
    severity=("high when Get-BlockedSenderAddress lists the user or the \"User restricted from sending email\" "
              "alert fired: Microsoft saw the account send spam; medium for NDRs \"550 5.1.8 Access denied, "
              "bad outbound sender\" in the inbox alone."),
    symptom="mailbox blocked from sending; NDR 550 5.1.8",
    references=("https://learn.microsoft.com/defender-office-365/outbound-spam-restore-restricted-users",
                "sigma microsoft365_user_restricted_from_sending_email",
                "splunk o365_various_alerts"),
    scope="mailbox",
    needs=("blocked_senders|ndr_messages|alerts",),
)

ALERT = "restricted from sending"


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    own = context.own_addresses
    reasons: list[str] = []
    missing: list[str] = []
    severity: Severity | None = None
    times: list[datetime] = []
    blocked_address = None
    evidence: dict[str, object] = {}
    alert_ids: list[str | None] = []
    try:
        for b in bundle.records("blocked_senders"):
            address = (text(b, "SenderAddress", "senderAddress") or "").lower()
            if own and address not in own:
                continue
            blocked_address = address
            severity = Severity.HIGH
            reasons.append(f"Microsoft lists {address} as a restricted sender ({text(b, 'Reason', 'reason') or '?'})")
            if t := when(b, "CreatedDatetime", "CreatedDateTime", "createdDatetime"):
                times.append(t)
            evidence["blockedSender"] = dict(b)
    except ArtifactMissing as exc:
        missing.append(str(exc))
    try:
        for a in bundle.records("alerts"):
            if ALERT in (text(a, "title") or "").lower():
                severity = Severity.HIGH
                reasons.append(f"alert \"{text(a, 'title')}\" ({text(a, 'status') or '?'})")
                if t := when(a, "createdDateTime"):
                    times.append(t)
                alert_ids.append(text(a, "id"))
    except ArtifactMissing as exc:
        missing.append(str(exc))
    try:
        ndrs = [m for m in bundle.records("ndr_messages")
                if "5.1.8" in " ".join(filter(None, [text(m, "subject"), text(m, "bodyPreview"),
                                                      text(get(m, "body"), "content")]))]
        if ndrs:
            severity = severity or Severity.MEDIUM
            reasons.append(f"{len(ndrs)} non-delivery reports \"550 5.1.8 bad outbound sender\" in the inbox")
            times.extend(t for m in ndrs if (t := when(m, "receivedDateTime")))
            evidence["ndrCount"] = len(ndrs)
    except ArtifactMissing as exc:
        missing.append(str(exc))
    if alert_ids:
        evidence["alerts"] = alert_ids
    if len(missing) == 3:
        return NotChecked(METADATA.id, "; ".join(missing))
    if severity is None:
        return []
    return [Finding(METADATA.id, severity, f"Microsoft blocked {user_label(bundle)} from sending mail because it "
                    "sent spam." if severity is Severity.HIGH else "Mail from the account bounces as from a bad "
                    "outbound sender (550 5.1.8).", Artifact("blockedSender", blocked_address or user_id(bundle)),
                    evidence=evidence, reasons=tuple(reasons), time=min(times) if times else None,
                    symptom=METADATA.symptom)]
