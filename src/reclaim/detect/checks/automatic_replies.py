"""Automatic replies turned on, especially to outsiders and during the suspicious window."""

from __future__ import annotations

import re
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
    TermKind,
    get,
    matching_terms,
    parse_recipients,
    text,
    user_id,
    when,
)

METADATA = CheckMeta(
    id="automatic-replies",
    title="Automatic replies are on",
    severity=("low when automatic replies are on (usually the user's holiday notice); medium when they go to "
              "outside senders and mention payments or point to a link or address outside the organisation "
              "(an attacker redirecting correspondents); one level up when turned on inside the suspicious "
              "window (time from the Set-MailboxAutoReplyConfiguration audit record, else the scheduled start)."),
    symptom="beyond the procedure (automatic replies)",
    references=("https://learn.microsoft.com/graph/api/resources/automaticrepliessetting",
                "https://learn.microsoft.com/defender-office-365/responding-to-a-compromised-email-account"),
    scope="mailbox",
    phase=2,
    needs=("mailbox_settings",),
    reads=("audit_records",),
)

LINK = re.compile(r"https?://[^\s\"'<>]+|www\.[^\s\"'<>]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.I)


def _outside(found: str, domains: list[str], own: frozenset[str]) -> bool:
    """A link or address in an auto-reply that leads outside the organisation."""
    if "@" in found and not found.lower().startswith(("http", "www")):
        (r,) = parse_recipients(found) or (None,)
        return r is not None and r.address.lower() not in own and r.is_external(domains)
    host = re.sub(r"^(?:https?://)?", "", found, flags=re.I).split("/", 1)[0].split(":", 1)[0].lower()
    return not any(host == d or host.endswith("." + d) for d in (x.lower() for x in domains))


def _set_time(bundle: EvidenceBundle) -> datetime | None:
    try:
        records = bundle.records("audit_records")
    except ArtifactMissing:
        return None
    times = [when(r, "CreationTime") for r in records
             if (text(r, "Operation") or "").lower() in ("set-mailboxautoreplyconfiguration", "updatemailboxsettings")]
    return min((t for t in times if t), default=None)


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    settings = bundle.record("mailbox_settings")
    auto = get(settings, "automaticRepliesSetting")
    status = (text(auto, "status") or "disabled").lower()
    if status == "disabled":
        return []
    external_audience = (text(auto, "externalAudience") or "none").lower()
    internal_msg = text(auto, "internalReplyMessage") or ""
    external_msg = text(auto, "externalReplyMessage") or ""
    severity = Severity.LOW
    shown = {"alwaysenabled": "on", "scheduled": "scheduled"}.get(status, status)
    audience = {"all": "all outside senders", "contactsonly": "outside senders in the user's contacts"}.get(
        external_audience, external_audience)
    reasons = [f"automatic replies are {shown}" + (f", also to {audience}" if external_audience != "none" else "")]
    message = external_msg if external_audience != "none" else internal_msg
    plain = re.sub(r"<[^>]+>", " ", message)
    finance = sorted({t for w in re.findall(r"[\w-]+", plain) for t in matching_terms(w, TermKind.FINANCE)})
    domains = list(context.domains or ())
    outside = [m for m in LINK.findall(plain) if _outside(m, domains, context.own_addresses)]
    if external_audience != "none" and (finance or outside):
        severity = Severity.MEDIUM
        reasons.append("the reply to outsiders " + ("mentions " + ", ".join(finance) if finance
                                                     else "points to " + ", ".join(outside[:3])))
    at = _set_time(bundle) or when(get(auto, "scheduledStartDateTime"), "dateTime")
    if context.in_suspicious_window(at):
        severity = severity.raised()
        reasons.append(f"turned on during the suspicious window ({context.suspicious_reason})")
    return [Finding(METADATA.id, severity, "Automatic replies are on" + (
                        " for outside senders" if external_audience != "none" else "") + ".",
                    Artifact("automaticReplies", user_id(bundle)),
                    evidence={"status": status, "externalAudience": external_audience,
                              "externalReplyMessage": external_msg[:2000], "internalReplyMessage": internal_msg[:2000]},
                    reasons=tuple(reasons), time=at, symptom=METADATA.symptom)]
