"""Mass download: many files downloaded or synced by one address in a few minutes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
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
    iso,
    normalise_ip,
    text,
    user_id,
    when,
)

#: Microsoft Defender for Cloud Apps' policy template "Mass download by a single user": more than 30 downloads
#: within 5 minutes.
THRESHOLD = 30
SPAN = timedelta(minutes=5)

METADATA = CheckMeta(
    id="mass-download",
    title="Many files were downloaded in a few minutes",
    severity=(f"high when at least {THRESHOLD} distinct files were downloaded or synced from one address within "
              f"{int(SPAN.total_seconds() // 60)} minutes by an attacker session (an address the attacker used, or "
              "inside the suspicious window from an address the user was not seen at before); otherwise the same "
              "burst is context (a new computer syncing its OneDrive looks the same)."),
    symptom="beyond the procedure (OneDrive and SharePoint: data taken in bulk)",
    references=("https://learn.microsoft.com/defender-cloud-apps/policy-template-reference",
                "https://learn.microsoft.com/purview/audit-log-activities#file-and-page-activities"),
    scope="user",
    phase=2,
    needs=("drive_audit_records",),
    reads=("drive", "sign_ins"),
    advice=("treat every file of the burst as taken: list them for the breach-notification decision "
            "(reclaim report, Files section)"),
)


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    root = drive.drive_root_url(bundle)
    familiar = drive.familiar_ips(bundle, context)
    by_ip: dict[str, list[Mapping[str, Any]]] = {}
    for r in drive.records(bundle):
        if drive.operation(r) in drive.DOWNLOADED and when(r, "CreationTime") is not None:
            by_ip.setdefault(normalise_ip(text(r, "ClientIP")) or "unknown", []).append(r)
    out: list[Finding] = []
    for ip, recs in sorted(by_ip.items()):
        recs.sort(key=lambda r: when(r, "CreationTime"))  # type: ignore[arg-type, return-value]
        burst = _largest_burst(recs, root)
        if len(burst) < THRESHOLD:
            continue
        files = sorted({drive.drive_path(r, root) for r in burst})
        first, last = when(burst[0], "CreationTime"), when(burst[-1], "CreationTime")
        reasons = [r for r in (drive.attacker_reason(x, context, familiar) for x in burst) if r]
        kind: Literal["context"] | None = None
        if reasons:
            severity = Severity.HIGH
            why = [f"by an attacker session: {reasons[0]}"]
        else:
            severity, kind = Severity.LOW, "context"
            why = ["from an address the user was seen at before: likely the user's own (a sync client); confirm"]
        why.append(f"{len(files)} files downloaded within {int(SPAN.total_seconds() // 60)} minutes")
        evidence = {"ip": ip, "count": len(files), "first": iso(first), "last": iso(last), "files": files,
                    "byAttacker": bool(reasons)}
        out.append(Finding(METADATA.id, severity, f"{len(files)} files downloaded in minutes from {ip}",
                           Artifact("fileActivity", f"{user_id(bundle)}/mass-download/{ip}"), kind=kind,
                           evidence=evidence, reasons=tuple(why), time=first, symptom=METADATA.symptom))
    return out


def _largest_burst(recs: list[Mapping[str, Any]], root: str | None) -> list[Mapping[str, Any]]:
    """The longest run of records within ``SPAN`` (by distinct file), extended to the whole burst around it."""
    best: list[Mapping[str, Any]] = []
    start = 0
    for end in range(len(recs)):
        while when(recs[end], "CreationTime") - when(recs[start], "CreationTime") > SPAN:  # type: ignore[operator]
            start += 1
        window = recs[start:end + 1]
        if len({drive.drive_path(r, root) for r in window}) > len({drive.drive_path(r, root) for r in best}):
            best = window
    if len({drive.drive_path(r, root) for r in best}) < THRESHOLD:
        return best
    # the whole burst: every download of this address within SPAN of the one before it
    first = recs.index(best[0])
    last = recs.index(best[-1])
    while first > 0 and when(recs[first], "CreationTime") - when(recs[first - 1], "CreationTime") <= SPAN:  # type: ignore[operator]
        first -= 1
    while last < len(recs) - 1 and when(recs[last + 1], "CreationTime") - when(recs[last], "CreationTime") <= SPAN:  # type: ignore[operator]
        last += 1
    return recs[first:last + 1]
