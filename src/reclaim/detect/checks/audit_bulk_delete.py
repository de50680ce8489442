"""Many mail items deleted at once (unified audit log): the attacker cleaning up after sending."""

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
    get,
    items,
    mappings,
    normalise_ip,
    text,
    when,
)

METADATA = CheckMeta(
    id="audit-bulk-delete",
    title="Many messages were deleted at once",
    severity=("medium for 50 or more items deleted (SoftDelete, HardDelete, MoveToDeletedItems) within one "
              "hour, high when most of them were hard-deleted or came out of Sent Items (covering tracks); "
              "smaller clean-ups are not reported."),
    symptom="missing or deleted email (bulk deletes in the audit log)",
    references=("https://learn.microsoft.com/purview/audit-mailboxes (mailbox actions)",
                "https://learn.microsoft.com/defender-office-365/responding-to-a-compromised-email-account"),
    scope="mailbox",
    needs=("audit_records",),
    raised_by_attacker_ip=True,
)

DELETES = {"softdelete", "harddelete", "movetodeleteditems"}


def _count(record: Mapping[str, Any]) -> int:
    affected = mappings(items(record, "AffectedItems"))
    return max(1, len(affected))


def _folder(record: Mapping[str, Any]) -> str:
    return (text(get(record, "Folder"), "Path") or "").lower()


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    hours: dict[str, list[Mapping[str, Any]]] = {}
    for r in bundle.records("audit_records"):
        if (text(r, "Operation") or "").lower() not in DELETES:
            continue
        moment = when(r, "CreationTime")
        if moment is None:
            continue
        hours.setdefault(moment.strftime("%Y-%m-%dT%H"), []).append(r)
    out: list[Finding] = []
    for hour, records in sorted(hours.items()):
        total = sum(_count(r) for r in records)
        if total < 50:
            continue
        ops: Counter[str] = Counter()
        for r in records:
            ops[(text(r, "Operation") or "").lower()] += _count(r)
        sent = sum(_count(r) for r in records if "sent" in _folder(r))
        severity = Severity.HIGH if ops["harddelete"] * 2 > total or sent * 2 > total else Severity.MEDIUM
        first = min(records, key=lambda r: text(r, "CreationTime") or "")
        ips = sorted({ip for r in records if (ip := normalise_ip(text(r, "ClientIP", "ClientIPAddress")))})
        reasons = [f"{total} items deleted in one hour ({', '.join(f'{k}: {v}' for k, v in ops.items())})"]
        if sent:
            reasons.append(f"{sent} of them from Sent Items")
        out.append(Finding(METADATA.id, severity, f"{total} messages were deleted within one hour ({hour}:00 UTC).",
                           Artifact("auditRecord", text(first, "Id", "id") or hour),
                           evidence={"items": total, "operations": dict(ops), "fromSentItems": sent, "clientIPs": ips,
                                     "setFromIP": ips[0] if len(ips) == 1 else None},
                           reasons=tuple(reasons), time=when(first, "CreationTime"), symptom=METADATA.symptom))
    return out
