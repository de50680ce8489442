"""Mail the user sent (message trace) that is not in Sent Items."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from reclaim.detect.api import (
    Artifact,
    CheckMeta,
    Context,
    EvidenceBundle,
    Finding,
    NotChecked,
    Severity,
    iso,
    text,
    user_id,
    when,
)

METADATA = CheckMeta(
    id="sent-items-gap",
    title="Sent mail is missing from Sent Items",
    severity=("medium when 3 or more messages the user sent (message trace) are not in Sent Items (sent "
              "through SMTP or a script, or deleted after sending); high when 20 or more are missing or they "
              "are more than half of what was sent; fewer are not reported (drafts deleted, clock skew)."),
    symptom="sent mail missing from Sent Items",
    references=("https://learn.microsoft.com/graph/api/resources/exchangemessagetrace",
                "https://learn.microsoft.com/defender-office-365/responding-to-a-compromised-email-account"),
    scope="mailbox",
    needs=("message_trace", "sent_items"),
    indicators=(("subject", "subject"), ("subject", "subjects")),
)

SLACK = timedelta(minutes=10)


def _norm_id(value: str | None) -> str | None:
    return value.strip().strip("<>").lower() if value else None


def _subject(value: str | None) -> str:
    return " ".join((value or "").lower().split())


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    trace = bundle.records("message_trace")
    sent = bundle.records("sent_items")
    own = context.own_addresses
    outbound: dict[str, Mapping[str, Any]] = {}
    for m in trace:
        sender = (text(m, "senderAddress") or "").lower()
        if own and sender not in own:
            continue
        key = _norm_id(text(m, "messageId")) or f"{_subject(text(m, 'subject'))}|{text(m, 'receivedDateTime')}"
        outbound.setdefault(key, m)  # one message to many recipients is one trace row per recipient
    ids = {i for s in sent if (i := _norm_id(text(s, "internetMessageId")))}
    by_subject: dict[str, list[Any]] = {}
    for s in sent:
        by_subject.setdefault(_subject(text(s, "subject")), []).append(when(s, "sentDateTime", "createdDateTime"))
    missing: list[Mapping[str, Any]] = []
    for key, m in outbound.items():
        if key in ids:
            continue
        t = when(m, "receivedDateTime")
        near = by_subject.get(_subject(text(m, "subject")), [])
        if t is not None and any(s is not None and abs(s - t) <= SLACK for s in near):
            continue
        missing.append(m)
    if len(missing) < 3:
        return []
    severity = Severity.HIGH if len(missing) >= 20 or len(missing) * 2 > len(outbound) else Severity.MEDIUM
    times = sorted(t for m in missing if (t := when(m, "receivedDateTime")))
    ips = sorted({ip for m in missing if (ip := text(m, "fromIP"))})
    subjects = sorted({text(m, "subject") or "" for m in missing})[:10]
    period = f"{iso(times[0])}..{iso(times[-1])}" if times else "unknown"
    return [Finding(METADATA.id, severity, f"{len(missing)} of {len(outbound)} messages the user sent are not in "
                    "Sent Items: they were sent some other way or deleted afterwards.",
                    Artifact("sentItemsGap", f"{user_id(bundle)}:{period}"),
                    evidence={"missing": len(missing), "sent": len(outbound), "fromIPs": ips, "subjects": subjects,
                              "messageIds": [text(m, "messageId") or text(m, "id") for m in missing[:50]]},
                    reasons=(f"{len(missing)} sent messages have no copy in Sent Items",
                             f"sent from {', '.join(ips) or 'unknown IPs'}"),
                    time=times[0] if times else None, symptom=METADATA.symptom)]
