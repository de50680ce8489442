"""The report's "Files" section: OneDrive shares the attacker made (and whether reclaim removed them) and the
files attacker sessions downloaded, opened or deleted (path, time, address), for the breach-notification
decision. Built from the stored findings and journal only; the writers render every value as text (file
names are attacker-controlled)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reclaim.store.models import Finding, JournalEntry


@dataclass(frozen=True)
class ShareRow:
    path: str
    scope: str
    type: str
    target: str
    link_url: str
    created: str
    client_ip: str
    #: "removed" (verified gone), "remove failed", "not removed" (no remediation yet), "left alone (the user's own)"
    status: str


@dataclass(frozen=True)
class FileRow:
    access: str  # downloaded / opened / deleted
    path: str
    time: str
    ip: str


@dataclass(frozen=True)
class FilesView:
    shares: tuple[ShareRow, ...]
    files: tuple[FileRow, ...]
    mass_downloads: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not (self.shares or self.files or self.mass_downloads)


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def _share_status(f: Finding, steps: Mapping[str, list[str]]) -> str:
    ev = f.evidence
    if f.kind == "context" or (not ev.get("byAttacker") and f.severity == "info"):
        return "left alone (the user's own)"
    done = steps.get(_s(f.artifact_id), [])
    if "verified" in done:
        return "removed"
    if "failed" in done:
        return "removal failed"
    if not ev.get("active"):
        return "no longer active"
    return "not removed yet"


def files_view(findings: Iterable[Finding], journal: Iterable[JournalEntry]) -> FilesView:
    steps: dict[str, list[str]] = {}
    for e in journal:
        if e.action_id == "remove-sharing-link":
            steps.setdefault(e.target, []).append(e.step)
    shares: list[ShareRow] = []
    files: list[FileRow] = []
    bursts: list[str] = []
    for f in findings:
        ev = f.evidence
        if f.check_id == "sharing-link-created":
            shares.append(ShareRow(_s(ev.get("path")), _s(ev.get("scope")), _s(ev.get("type")), _s(ev.get("target")),
                                   _s(ev.get("linkUrl")), _s(ev.get("created")), _s(ev.get("clientIP")),
                                   _share_status(f, steps)))
        elif f.check_id == "file-access-by-attacker":
            for item in ev.get("files") or []:
                if isinstance(item, Mapping):
                    files.append(FileRow(_s(ev.get("kind")), _s(item.get("path")), _s(item.get("time")),
                                         _s(item.get("ip"))))
        elif f.check_id == "mass-download" and ev.get("byAttacker"):
            bursts.append(f"{ev.get('count')} files from {ev.get('ip')} between {ev.get('first')} and "
                          f"{ev.get('last')}")
    shares.sort(key=lambda r: (r.status.startswith("left alone"), r.created))
    files.sort(key=lambda r: (r.time, r.path))
    return FilesView(tuple(shares), tuple(files), tuple(bursts))


def files_document(view: FilesView) -> dict[str, Any]:
    return {
        "shares": [{"path": r.path, "scope": r.scope, "type": r.type, "target": r.target or None,
                    "linkUrl": r.link_url or None, "created": r.created or None, "clientIP": r.client_ip or None,
                    "status": r.status} for r in view.shares],
        "files": [{"access": r.access, "path": r.path, "time": r.time or None, "ip": r.ip or None}
                  for r in view.files],
        "massDownloads": list(view.mass_downloads),
    }


__all__ = ["FileRow", "FilesView", "ShareRow", "files_document", "files_view"]
