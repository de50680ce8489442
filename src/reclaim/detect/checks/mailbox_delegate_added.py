"""Mailbox delegates: FullAccess (Get-MailboxPermission) and SendAs (Get-RecipientPermission)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from reclaim.detect.api import (
    Artifact,
    ArtifactMissing,
    ArtifactType,
    CheckMeta,
    Context,
    EvidenceBundle,
    Finding,
    NotChecked,
    Severity,
    flag,
    items,
    judge_created,
    mappings,
    parse_recipients,
    strings,
    text,
    when,
)

METADATA = CheckMeta(
    id="mailbox-delegate-added",
    title="Someone else was given access to the mailbox",
    severity=("high for a FullAccess or SendAs delegate added inside the suspicious window (time from the "
              "permission or its Add-MailboxPermission / Add-RecipientPermission audit record), or granted to "
              "an address outside the organisation; low for one added recently otherwise (confirm with the "
              "user); info for one of unknown date; SELF, inherited, denied and older delegates are not "
              "reported."),
    symptom="beyond the procedure (mailbox delegates)",
    references=("T0pCyber/hawk Get-HawkUserMailboxAuditing / Get-MailboxPermission",
                "https://learn.microsoft.com/powershell/module/exchange/get-mailboxpermission"),
    scope="mailbox",
    phase=2,
    needs=("mailbox_permissions|recipient_permissions",),
    reads=("audit_records",),
)

IGNORED = ("nt authority\\self", "s-1-5-10", "nt authority\\system")
GRANTS = {"add-mailboxpermission": "User", "add-recipientpermission": "Trustee"}


def _grant_times(bundle: EvidenceBundle) -> dict[str, datetime]:
    """When each trustee was granted access, from Add-MailboxPermission / Add-RecipientPermission audit records."""
    try:
        records = bundle.records("audit_records")
    except ArtifactMissing:
        return {}
    out: dict[str, datetime] = {}
    for r in records:
        key = GRANTS.get((text(r, "Operation") or "").lower())
        moment = when(r, "CreationTime")
        if key is None or moment is None:
            continue
        params = {text(p, "Name"): text(p, "Value") for p in mappings(items(r, "Parameters"))}
        trustee = (params.get(key) or "").lower()
        if trustee and (trustee not in out or moment < out[trustee]):
            out[trustee] = moment
    return out


def _judge(context: Context, trustee: str, rights: list[str], when_: datetime | None, kind: ArtifactType,
           domains: list[str] | None, raw: Mapping[str, Any]) -> Finding | None:
    if not trustee or trustee.lower() in IGNORED or trustee.lower().startswith(("nt authority", "s-1-5-")):
        return None
    severity, reason = judge_created(context, when_, inside=Severity.HIGH, recent=Severity.LOW,
                                     what=f"{trustee} got {', '.join(rights)}")
    reasons = [reason] if reason else []
    recipients = parse_recipients(trustee)
    if domains is not None and recipients and recipients[0].kind == "smtp" and recipients[0].is_external(domains):
        severity = Severity.HIGH
        reasons.append(f"{trustee} is outside the organisation")
    if severity is None and when_ is not None:
        return None
    if severity is None:
        severity = Severity.INFO
        reasons.append(f"{trustee} has {', '.join(rights)}; when it was granted is unknown")
    return Finding(METADATA.id, severity, f"{trustee} can {'read' if 'FullAccess' in rights else 'send as'} "
                   f"this mailbox ({', '.join(rights)}).", Artifact(kind, trustee),
                   evidence={"trustee": trustee, "accessRights": rights, "raw": dict(raw)},
                   reasons=tuple(reasons), time=when_, symptom=METADATA.symptom)


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    out: list[Finding] = []
    missing: list[str] = []
    domains = list(context.domains) if context.domains is not None else None
    granted = _grant_times(bundle)
    try:
        for p in bundle.records("mailbox_permissions"):
            rights = strings(items(p, "AccessRights", "accessRights"))
            if flag(p, "IsInherited") is True or flag(p, "Deny") is True or "FullAccess" not in rights:
                continue
            trustee = text(p, "User", "user") or ""
            f = _judge(context, trustee, rights, granted.get(trustee.lower())
                       or when(p, "WhenChanged", "WhenCreated", "whenCreated", "createdDateTime"),
                       "mailboxPermission", domains, p)
            if f:
                out.append(f)
    except ArtifactMissing as exc:
        missing.append(str(exc))
    try:
        for p in bundle.records("recipient_permissions"):
            rights = strings(items(p, "AccessRights", "accessRights"))
            if flag(p, "IsInherited") is True or text(p, "AccessControlType") == "Deny" or "SendAs" not in rights:
                continue
            trustee = text(p, "Trustee", "trustee") or ""
            f = _judge(context, trustee, rights, granted.get(trustee.lower())
                       or when(p, "WhenChanged", "WhenCreated", "whenCreated", "createdDateTime"),
                       "recipientPermission", domains, p)
            if f:
                out.append(f)
    except ArtifactMissing as exc:
        missing.append(str(exc))
    if len(missing) == 2:
        return NotChecked(METADATA.id, "; ".join(missing))
    return out
