"""OneDrive / SharePoint evidence, read the same way by every drive check.

SharePoint audit records (``drive_audit_records``) name a file by URL (``ObjectId``; ``SiteUrl`` +
``SourceRelativeUrl`` + ``SourceFileName``); the Graph items (``drive_items``) carry the path inside the drive
(``drivePath``) and their current permissions. This module joins the two.

Attacker sessions (until the shared attribution of the offline-analysis work lands, the rule is this one):
a record is the attacker's when its ``ClientIP`` is an address a phase-1 finding named as the attacker's
(``CheckMeta.marks_attacker_ip``: ``Context.attacker_ips``), or when it falls inside the suspicious window and
comes from an address the user was not seen at before the window (successful sign-ins and drive activity
before the window start: the user's familiar addresses).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from reclaim.detect.context import Context
from reclaim.detect.correlate import normalise_ip
from reclaim.detect.evidence import ArtifactMissing, EvidenceBundle
from reclaim.detect.fields import get, items, mappings, text, when

#: operation → (link scope, how a person says it); scope as Graph's sharingLink.scope ("users": specific people)
SHARE_SCOPES: dict[str, str] = {
    "anonymouslinkcreated": "anonymous", "anonymouslinkupdated": "anonymous",
    "companylinkcreated": "organization",
    "securelinkcreated": "users", "securelinkupdated": "users", "addedtosecurelink": "users",
    "sharinginvitationcreated": "direct", "sharingset": "direct",
}
DOWNLOADED = ("filedownloaded", "filesyncdownloadedfull", "filesyncdownloadedpartial")
OPENED = ("fileaccessed", "fileaccessedextended", "filepreviewed")
DELETED = ("filedeleted", "filerecycled", "filedeletedfirststagerecyclebin", "folderdeleted", "folderrecycled")

_TYPE = re.compile(r"<Type>\s*(\w+)\s*</Type>", re.IGNORECASE)
_GRANTED = re.compile(r"<PermissionsGranted>\s*([\w ]+?)\s*</PermissionsGranted>", re.IGNORECASE)


def operation(record: Mapping[str, Any]) -> str:
    return (text(record, "Operation") or "").casefold()


def records(bundle: EvidenceBundle) -> list[Mapping[str, Any]]:
    return bundle.records("drive_audit_records")


def drive_root_url(bundle: EvidenceBundle) -> str | None:
    """The OneDrive's library URL (``https://…-my.sharepoint.com/personal/alice_contoso_com/Documents``)."""
    if not bundle.collected("drive"):
        return None
    return text(bundle.record("drive"), "webUrl")


def drive_path(record: Mapping[str, Any], root_url: str | None) -> str:
    """The file's path inside the drive (``Finance/Bank details.xlsx``), from the record's URL fields."""
    object_id = unquote(text(record, "ObjectId") or "")
    if root_url and object_id.casefold().startswith(root_url.rstrip("/").casefold() + "/"):
        return object_id[len(root_url.rstrip("/")) + 1:]
    relative = unquote(text(record, "SourceRelativeUrl") or "").strip("/")
    folder = relative.split("/", 1)[1] if "/" in relative else ""  # drop the library ("Documents")
    name = text(record, "SourceFileName") or ""
    return f"{folder}/{name}" if folder else name


def link_type(record: Mapping[str, Any]) -> str | None:
    """``view`` / ``edit`` from the record's ``EventData`` (``<Type>Edit</Type>``, ``<PermissionsGranted>``)."""
    data = text(record, "EventData") or ""
    found = _TYPE.search(data)
    if found:
        return found.group(1).lower()
    granted = _GRANTED.search(data)
    if granted:
        words = granted.group(1).lower()
        return "edit" if any(w in words for w in ("edit", "contribute", "write", "full")) else "view"
    return None


def familiar_ips(bundle: EvidenceBundle, context: Context) -> frozenset[str]:
    """Addresses the user was seen at before the suspicious window: successful sign-ins and drive activity."""
    start = context.suspicious.since if context.suspicious is not None else None
    out: set[str] = set()

    def before(moment: datetime | None) -> bool:
        return moment is not None and (start is None or moment < start)

    if bundle.collected("sign_ins"):
        for s in bundle.records("sign_ins"):
            code = get(s, "status", "errorCode")
            if (code in (0, None, "0")) and before(when(s, "createdDateTime")):
                ip = normalise_ip(text(s, "ipAddress"))
                if ip:
                    out.add(ip)
    for r in records(bundle):
        if before(when(r, "CreationTime")):
            ip = normalise_ip(text(r, "ClientIP"))
            if ip:
                out.add(ip)
    return frozenset(out - context.attacker_ips)


def attacker_reason(record: Mapping[str, Any], context: Context, familiar: frozenset[str]) -> str | None:
    """Why this record is the attacker's session's (``None``: nothing says so)."""
    ip = normalise_ip(text(record, "ClientIP"))
    if ip and ip in context.attacker_ips:
        return f"from {ip}, an address the attacker used"
    moment = when(record, "CreationTime")
    if context.in_suspicious_window(moment) and ip and ip not in familiar:
        return f"during the suspicious window from {ip}, an address the user was not seen at before"
    return None


@dataclass(frozen=True)
class Resolved:
    """A sharing record resolved to the item and its current, non-inherited permission."""

    item: Mapping[str, Any] | None
    permission: Mapping[str, Any] | None


def items_by_path(bundle: EvidenceBundle) -> dict[str, Mapping[str, Any]]:
    try:
        found = bundle.records("drive_items")
    except ArtifactMissing:
        return {}
    return {(text(i, "drivePath") or "").casefold(): i for i in found}


def emails_of(permission: Mapping[str, Any]) -> set[str]:
    """Every address a permission is granted to (grantedToV2, grantedToIdentitiesV2, invitation)."""
    out: set[str] = set()
    for key in ("grantedToV2", "grantedTo"):
        for who in ("user", "siteUser"):
            email = text(get(permission, key, who), "email")
            if email:
                out.add(email.casefold())
    for ident in mappings(items(permission, "grantedToIdentitiesV2", "grantedToIdentities")):
        for who in ("user", "siteUser"):
            email = text(get(ident, who), "email")
            if email:
                out.add(email.casefold())
    invited = text(get(permission, "invitation"), "email")
    if invited:
        out.add(invited.casefold())
    return out


def resolve(record: Mapping[str, Any], path: str, by_path: Mapping[str, Mapping[str, Any]]) -> Resolved:
    """The item the record names and the permission it created, as they are now (``None`` when gone)."""
    item = by_path.get(path.casefold())
    if item is None or item.get("missing"):
        return Resolved(None, None)
    own = [p for p in mappings(items(item, "permissions")) if get(p, "inheritedFrom") is None
           and "owner" not in [str(r) for r in items(p, "roles")]]
    share = text(record, "UniqueSharingId")
    if share:
        for p in own:
            if text(p, "shareId") == share or text(p, "id") == share:
                return Resolved(item, p)
    scope = SHARE_SCOPES.get(operation(record))
    target = (text(record, "TargetUserOrGroupName") or "").casefold()
    if scope == "direct" or (scope == "users" and target):
        for p in own:
            if target and target in emails_of(p):
                return Resolved(item, p)
        return Resolved(item, None)
    wanted_type = link_type(record)
    links = [p for p in own if text(get(p, "link"), "scope") == scope
             and (wanted_type is None or text(get(p, "link"), "type") == wanted_type)]
    return Resolved(item, links[0] if len(links) == 1 else None)


def external(address: str, domains: Iterable[str] | None) -> bool | None:
    if "@" not in address or domains is None:
        return None
    return address.rsplit("@", 1)[1].casefold() not in {d.casefold() for d in domains}


__all__ = ["DELETED", "DOWNLOADED", "OPENED", "SHARE_SCOPES", "Resolved", "attacker_reason", "drive_path",
           "drive_root_url", "emails_of", "external", "familiar_ips", "items_by_path", "link_type", "operation",
           "records", "resolve"]
