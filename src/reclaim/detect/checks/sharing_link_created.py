"""OneDrive shares the account made: sharing links and invitations, resolved to the permission they left."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from reclaim.detect.api import (
    Artifact,
    CheckMeta,
    Context,
    EvidenceBundle,
    Finding,
    NotChecked,
    Severity,
    drive,
    get,
    iso,
    text,
    user_label,
    when,
)

METADATA = CheckMeta(
    id="sharing-link-created",
    title="Files were shared from the account's OneDrive",
    severity=("high for an Anyone link or a share with an outside address made by an attacker session (from an "
              "address the attacker used, or inside the suspicious window from an address the user was not seen "
              "at before); medium for a company or specific-people link made that way, or any share made inside "
              "the window from a familiar address (confirm with the user); the user's own older shares are listed "
              "as context (left alone)."),
    symptom="beyond the procedure (OneDrive and SharePoint: the attacker keeps access through a link)",
    references=("https://learn.microsoft.com/purview/audit-log-sharing",
                "https://learn.microsoft.com/graph/api/driveitem-list-permissions",
                "https://learn.microsoft.com/office/office-365-management-api/"
                "office-365-management-activity-api-schema#sharepoint-sharing-schema"),
    scope="user",
    phase=2,
    needs=("drive_audit_records",),
    reads=("drive_items", "drive", "sign_ins"),
    advice=("a share the attacker made keeps working after the password reset: remove it (reclaim's "
            "remove-sharing-link), and tell the people who relied on a link you remove"),
)

_SCOPE_WORDS = {"anonymous": "an Anyone link", "organization": "a link for everyone in the organisation",
                "users": "a link for specific people", "direct": "direct access"}


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    records = drive.records(bundle)
    root = drive.drive_root_url(bundle)
    by_path = drive.items_by_path(bundle)
    familiar = drive.familiar_ips(bundle, context)
    domains = list(context.domains) if context.domains is not None else None
    drive_id = text(bundle.record("drive"), "id") if bundle.collected("drive") else None
    owner = user_label(bundle)
    shares: dict[str, dict[str, Any]] = {}
    for r in sorted(records, key=lambda r: text(r, "CreationTime") or ""):
        scope = drive.SHARE_SCOPES.get(drive.operation(r))
        if scope is None:
            continue
        path = drive.drive_path(r, root)
        found = drive.resolve(r, path, by_path)
        target = text(r, "TargetUserOrGroupName") or ""
        key = (f"{text(found.item, 'id')}/{text(found.permission, 'id')}" if found.permission is not None
               else f"{path.casefold()}|{scope}|{target.casefold()}|{drive.link_type(r)}")
        share = shares.setdefault(key, {"records": [], "found": found, "path": path, "scope": scope,
                                        "target": target})
        share["records"].append(r)
    out: list[Finding] = []
    for key, share in shares.items():
        finding = _judge(key, share, context, familiar, domains, drive_id, owner)
        if finding is not None:
            out.append(finding)
    return out


def _judge(key: str, share: dict[str, Any], context: Context, familiar: frozenset[str], domains: list[str] | None,
           drive_id: str | None, owner: str) -> Finding | None:
    records: list[Mapping[str, Any]] = share["records"]
    first = records[0]
    found: drive.Resolved = share["found"]
    scope: str = share["scope"]
    target: str = share["target"]
    permission = found.permission
    link = get(permission, "link") if permission is not None else None
    kind = text(link, "type") or drive.link_type(first) or "view"
    if permission is not None and scope == "direct":
        kind = "edit" if any(str(r) in ("write", "owner") for r in permission.get("roles") or []) else "view"
    outside = scope == "anonymous" or drive.external(target, domains) is True
    reasons = [r for r in (drive.attacker_reason(rec, context, familiar) for rec in records) if r]
    moment = when(first, "CreationTime")
    active = permission is not None
    what = _SCOPE_WORDS.get(scope, "a share")
    who = f" for {target}" if target else ""
    name = text(first, "SourceFileName") or share["path"]
    title = f"{what}{who} to {name} ({kind})"
    by_attacker = bool(reasons)
    finding_kind: Literal["context"] | None = None
    if by_attacker:
        severity = Severity.HIGH if outside else Severity.MEDIUM
        reasons = [f"made by an attacker session: {reasons[0]}"]
    elif context.in_suspicious_window(moment):
        severity = Severity.MEDIUM
        reasons = ["made during the suspicious window from an address the user was seen at before: confirm with "
                   "the user"]
    else:
        severity = Severity.INFO
        finding_kind = "context"
        reasons = [f"made by {owner} before the suspicious window: the user's own share, left alone"]
    if outside:
        reasons.append("usable by anyone who has the link" if scope == "anonymous"
                       else f"{target} is outside the organisation")
    if not active:
        reasons.append("no longer active: the item or its permission is gone" if found.item is None
                       else "the permission it made was not found on the item now")
    expires = text(permission, "expirationDateTime") if permission is not None else None
    item_id = text(found.item, "id")
    evidence: dict[str, Any] = {
        "path": share["path"], "name": name, "scope": scope, "type": kind, "target": target or None,
        "outside": outside, "expires": expires or ("never" if active else None),
        "linkUrl": text(link, "webUrl"), "clientIP": text(first, "ClientIP"),
        "operations": sorted({text(r, "Operation") or "" for r in records}),
        "recordIds": [text(r, "Id") for r in records], "created": iso(moment),
        "driveId": drive_id, "itemId": item_id, "permissionId": text(permission, "id"),
        "roles": list(permission.get("roles") or []) if permission is not None else [],
        "active": active, "byAttacker": by_attacker,
    }
    artifact_id = f"{drive_id}/{item_id}/{evidence['permissionId']}" if active else (text(first, "Id") or key)
    return Finding(METADATA.id, severity, title, Artifact("sharingLink", artifact_id), kind=finding_kind,
                   evidence=evidence, reasons=tuple(reasons), time=moment, symptom=METADATA.symptom)
