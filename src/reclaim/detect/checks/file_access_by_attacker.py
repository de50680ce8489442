"""Files attacker sessions opened, downloaded, synced or deleted in the user's OneDrive / SharePoint."""

from __future__ import annotations

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
    drive,
    iso,
    normalise_ip,
    text,
    user_id,
    when,
)

METADATA = CheckMeta(
    id="file-access-by-attacker",
    title="Attacker sessions opened, downloaded or deleted files",
    severity=("high when an attacker session (an address the attacker used, or inside the suspicious window from "
              "an address the user was not seen at before) downloaded, synced or deleted files; medium when it only "
              "opened or previewed them. One finding per kind of access, listing every file with time and address "
              "(for the breach-notification decision)."),
    symptom="beyond the procedure (OneDrive and SharePoint: what the attacker took)",
    references=("https://learn.microsoft.com/purview/audit-log-activities#file-and-page-activities",
                "https://learn.microsoft.com/office/office-365-management-api/"
                "office-365-management-activity-api-schema#sharepoint-file-operations"),
    scope="user",
    phase=2,
    needs=("drive_audit_records",),
    reads=("drive", "sign_ins"),
    advice=("decide on breach notification from the files listed (who is named in them, what they contain); "
            "files the attacker deleted are in the OneDrive recycle bin for 93 days: restore them from the "
            "recycle bin of {user}'s OneDrive (OneDrive → Recycle bin → Restore)"),
)

#: kind → (operations, severity, what a person reads)
KINDS: dict[str, tuple[tuple[str, ...], Severity, str]] = {
    "downloaded": (drive.DOWNLOADED, Severity.HIGH, "downloaded or synced"),
    "deleted": (drive.DELETED, Severity.HIGH, "deleted"),
    "opened": (drive.OPENED, Severity.MEDIUM, "opened"),
}


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    records = drive.records(bundle)
    root = drive.drive_root_url(bundle)
    familiar = drive.familiar_ips(bundle, context)
    grouped: dict[str, list[tuple[Mapping[str, Any], str]]] = {k: [] for k in KINDS}
    for r in records:
        op = drive.operation(r)
        kind = next((k for k, (ops, _, _) in KINDS.items() if op in ops), None)
        if kind is None:
            continue
        reason = drive.attacker_reason(r, context, familiar)
        if reason is not None:
            grouped[kind].append((r, reason))
    out: list[Finding] = []
    for kind, found in grouped.items():
        if not found:
            continue
        found.sort(key=lambda pair: text(pair[0], "CreationTime") or "")
        _, severity, words = KINDS[kind]
        files = [{"path": drive.drive_path(r, root), "name": text(r, "SourceFileName"),
                  "time": iso(when(r, "CreationTime")), "ip": normalise_ip(text(r, "ClientIP")),
                  "operation": text(r, "Operation"), "url": text(r, "ObjectId"), "recordId": text(r, "Id")}
                 for r, _ in found]
        distinct = sorted({str(f["path"]) for f in files})
        ips = sorted({str(f["ip"]) for f in files if f["ip"]})
        first, last = when(found[0][0], "CreationTime"), when(found[-1][0], "CreationTime")
        evidence = {"kind": kind, "count": len(distinct), "events": len(files), "ips": ips, "first": iso(first),
                    "last": iso(last), "files": files}
        reasons = (found[0][1], f"{len(distinct)} file(s) {words}")
        out.append(Finding(METADATA.id, severity, f"Attacker sessions {words} {len(distinct)} file(s)",
                           Artifact("fileActivity", f"{user_id(bundle)}/{kind}"), evidence=evidence,
                           reasons=reasons, time=first, symptom=METADATA.symptom))
    return out
