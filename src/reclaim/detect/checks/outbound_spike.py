"""A burst of outbound mail: the same subject to many recipients, or many outside recipients at once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from reclaim.detect.api import (
    Artifact,
    CheckMeta,
    Context,
    EvidenceBundle,
    Finding,
    NotChecked,
    Severity,
    parse_recipients,
    text,
    when,
)

METADATA = CheckMeta(
    id="outbound-spike",
    title="The account sent a burst of mail",
    severity=("high for 50 or more outbound messages with one subject (MAS MTL-Analyzer's threshold) or 100 "
              "or more outside recipients within one hour; medium for 20 or more with one subject to 20 or "
              "more outside recipients; replies and automatic notices below that are not reported."),
    symptom="people receive mail the user did not send (outbound spike)",
    references=("LETHAL-FORENSICS/Microsoft-Analyzer-Suite MTL-Analyzer",
                "https://learn.microsoft.com/defender-office-365/outbound-spam-restore-restricted-users"),
    scope="mailbox",
    needs=("message_trace", "accepted_domains"),
    indicators=(("subject", "subject"), ("subject", "subjects")),
)


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    trace = bundle.records("message_trace")
    domains = bundle.domains()
    own = context.own_addresses
    out_msgs = [m for m in trace if not own or (text(m, "senderAddress") or "").lower() in own]
    subjects: dict[str, list[Mapping[str, Any]]] = {}
    for m in out_msgs:
        subjects.setdefault(" ".join((text(m, "subject") or "").lower().split()), []).append(m)
    findings: list[Finding] = []

    def external(ms: list[Mapping[str, Any]]) -> set[str]:
        found: set[str] = set()
        for m in ms:
            for r in parse_recipients(text(m, "recipientAddress")):
                if r.is_external(domains):
                    found.add(r.address.lower())
        return found

    for subject, ms in sorted(subjects.items(), key=lambda kv: -len(kv[1])):
        outside = external(ms)
        if len(ms) >= 50:
            severity = Severity.HIGH
        elif len(ms) >= 20 and len(outside) >= 20:
            severity = Severity.MEDIUM
        else:
            continue
        times = sorted(t for m in ms if (t := when(m, "receivedDateTime")))
        first = min(ms, key=lambda m: text(m, "receivedDateTime") or "")
        shown = text(first, "subject") or "(no subject)"
        findings.append(Finding(METADATA.id, severity, f'The account sent {len(ms)} messages with the subject '
                                f'"{shown}" to {len(outside)} outside recipients.',
                                Artifact("messageTrace", text(first, "id") or text(first, "messageId") or subject),
                                evidence={"subject": shown, "messages": len(ms), "externalRecipients": len(outside),
                                          "fromIPs": sorted({ip for m in ms if (ip := text(m, "fromIP"))}),
                                          "first": text(first, "receivedDateTime")},
                                reasons=(f"{len(ms)} messages with one subject", f"{len(outside)} outside recipients"),
                                time=times[0] if times else None, symptom=METADATA.symptom))
    hours: Counter[str] = Counter()
    first_in_hour: dict[str, Mapping[str, Any]] = {}
    for m in out_msgs:
        t = when(m, "receivedDateTime")
        if t is None:
            continue
        if any(r.is_external(domains) for r in parse_recipients(text(m, "recipientAddress"))):
            hour = t.strftime("%Y-%m-%dT%H")
            hours[hour] += 1
            first_in_hour.setdefault(hour, m)
    if not findings and hours and (peak := hours.most_common(1)[0])[1] >= 100:
        m = first_in_hour[peak[0]]
        findings.append(Finding(METADATA.id, Severity.HIGH, f"The account sent mail to {peak[1]} outside recipients "
                                f"within one hour ({peak[0]}:00 UTC).",
                                Artifact("messageTrace", text(m, "id") or peak[0]),
                                evidence={"hour": peak[0], "externalMessages": peak[1]},
                                reasons=(f"{peak[1]} outside recipients in one hour",),
                                time=when(m, "receivedDateTime"), symptom=METADATA.symptom))
    return findings
