"""Shared readers for the checks on audit-log records (unified audit log and Entra directory audits).

Not a check (the leading underscore keeps it out of the registry). Everything here is tolerant of shape:
a record that is not what it should be is skipped, never a crash.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from reclaim.detect.api import (
    ArtifactMissing,
    EvidenceBundle,
    NotCollected,
    audit_parameters,
    get,
    items,
    mappings,
    normalise_ip,
    text,
)


def audit_records(bundle: EvidenceBundle) -> list[Mapping[str, Any]]:
    """The user's unified audit records and the tenant-wide ones, each once (by ``Id``), oldest first."""
    out: dict[str, Mapping[str, Any]] = {}
    for kind in ("audit_records", "tenant_audit_records"):
        try:
            for r in bundle.records(kind):
                out.setdefault(text(r, "Id") or str(id(r)), r)
        except ArtifactMissing:
            continue
    return sorted(out.values(), key=lambda r: text(r, "CreationTime") or "")


def directory_audits(bundle: EvidenceBundle) -> list[Mapping[str, Any]]:
    """The user's directory audits and the tenant-wide ones, each once (by ``id``), oldest first."""
    out: dict[str, Mapping[str, Any]] = {}
    for kind in ("directory_audits", "tenant_directory_audits"):
        try:
            for r in bundle.records(kind):
                out.setdefault(text(r, "id") or str(id(r)), r)
        except ArtifactMissing:
            continue
    return sorted(out.values(), key=lambda r: text(r, "activityDateTime") or "")


def operation(record: Mapping[str, Any]) -> str:
    """``Set-Mailbox`` / ``Consent to application.`` → lower case, without the trailing full stop."""
    return (text(record, "Operation", "activityDisplayName") or "").strip().rstrip(".").casefold()


def parameters(record: Mapping[str, Any]) -> dict[str, str]:
    """Cmdlet parameters by lower-case name."""
    return {k.casefold(): v for k, v in audit_parameters(record).items()}


def change(record: Mapping[str, Any]) -> dict[str, Any]:
    """Who made a change, when, from where, in which record (``changedBy`` entries)."""
    if "activityDisplayName" in record:
        by = get(get(record, "initiatedBy") or {}, "user") or {}
        app = get(get(record, "initiatedBy") or {}, "app") or {}
        return {"user": text(by, "userPrincipalName") or text(app, "displayName"),
                "operation": text(record, "activityDisplayName"), "time": text(record, "activityDateTime"),
                "ip": normalise_ip(text(by, "ipAddress")), "record": text(record, "id")}
    return {"user": text(record, "UserId"), "operation": text(record, "Operation"),
            "time": text(record, "CreationTime"), "ip": normalise_ip(text(record, "ClientIP", "ClientIPAddress")),
            "record": text(record, "Id")}


def by_subject(bundle: EvidenceBundle, record: Mapping[str, Any]) -> bool:
    """Was the record's change made by the user under investigation (UPN or object id)? Tenant-wide audit
    records are read too: a user-scoped finding must never rest on another user's action."""
    who = (change(record).get("user") or "").casefold()
    if not who:
        return False
    mine = {bundle.mailbox_owner or ""}
    if not isinstance(bundle.user, NotCollected):
        mine |= {text(bundle.user, k) or "" for k in ("userPrincipalName", "mail", "id")}
    return who in {m.casefold() for m in mine if m}


def record_id(record: Mapping[str, Any]) -> str:
    return text(record, "Id", "id") or "unknown"


def modified(record: Mapping[str, Any]) -> dict[str, str]:
    """Modified properties (unified audit ``ModifiedProperties`` or directory audit ``targetResources[]
    .modifiedProperties``) by lower-case name: the new value as text."""
    out: dict[str, str] = {}
    props: list[Mapping[str, Any]] = list(mappings(items(record, "ModifiedProperties")))
    for target in mappings(items(record, "targetResources", "Target")):
        props += mappings(items(target, "modifiedProperties", "ModifiedProperties"))
    for p in props:
        name = text(p, "Name", "displayName")
        if name:
            out[name.casefold()] = text(p, "NewValue", "newValue") or ""
    return out


def targets(record: Mapping[str, Any]) -> list[str]:
    """The names of what a directory audit changed (user principal names, display names)."""
    out = []
    for t in mappings(items(record, "targetResources")):
        found = text(t, "userPrincipalName", "displayName", "id")
        if found:
            out.append(found)
    if not out:
        found = text(record, "ObjectId")
        if found:
            out.append(found)
    return out


def addresses_in(values: Iterable[str]) -> list[str]:
    return [v.split(":", 1)[-1] if v.lower().startswith("smtp:") else v for v in values if v]


__all__ = ["addresses_in", "audit_records", "change", "directory_audits", "modified", "operation", "parameters",
           "record_id", "targets"]
