"""The OneDrive checks: shares made by attacker sessions, files they touched, mass download, the sharing
exposure; with benign look-alikes (the user's own links, her own sync burst) and malformed input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from reclaim.detect.model import Severity
from tests.detect.helpers import NOW, by_check, not_checked, run
from tests.detect.test_engine import bec_bundle

ROOT = "https://contoso-my.sharepoint.com/personal/alice_contoso_com/Documents"
EVIL, HOME = "203.0.113.9", "198.51.100.1"


def t(days: float) -> str:
    return (NOW - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S")


def rec(rid: str, op: str, path: str, ip: str, days: float, **extra: Any) -> dict[str, Any]:
    folder, _, name = path.rpartition("/")
    return {"Id": rid, "Operation": op, "CreationTime": t(days), "ClientIP": ip, "UserId": "alice@contoso.com",
            "ObjectId": f"{ROOT}/{path}", "SourceFileName": name,
            "SourceRelativeUrl": "Documents" + (f"/{folder}" if folder else ""), **extra}


def item(iid: str, path: str, *perms: dict[str, Any]) -> dict[str, Any]:
    return {"id": iid, "name": path.rsplit("/", 1)[-1], "drivePath": path, "permissions": list(perms)}


ANON = {"id": "p-anon", "roles": ["write"], "shareId": "S1",
        "link": {"scope": "anonymous", "type": "edit", "webUrl": "https://contoso-my.sharepoint.com/:x:/g/w1"}}
MINE = {"id": "p-mine", "roles": ["read"], "shareId": "S2",
        "link": {"scope": "anonymous", "type": "view", "webUrl": "https://contoso-my.sharepoint.com/:x:/g/r2"}}
GUEST = {"id": "p-guest", "roles": ["read"], "invitation": {"email": "x@evil.example"},
         "grantedToV2": {"user": {"email": "x@evil.example"}}}
INHERITED_OWNER = {"id": "p-owner", "roles": ["owner"], "inheritedFrom": {"id": "root"}}


def drive_bundle(records: list[dict[str, Any]], items: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {**bec_bundle(), "drive": {"id": "d1", "webUrl": ROOT}, "drive_audit_records": records,
            "drive_items": items if items is not None else [
                item("i1", "Finance/Bank.xlsx", ANON, INHERITED_OWNER), item("i2", "Team/Photos.zip", MINE),
                item("i3", "Finance/Payments", GUEST)],
            "sharepoint_settings": {"sharingCapability": "externalUserAndGuestSharing"}}


def test_attacker_shares_are_high_and_resolved_to_their_permission() -> None:
    a = run(**drive_bundle([
        rec("a1", "AnonymousLinkCreated", "Finance/Bank.xlsx", EVIL, 2.9, EventData="<Type>Edit</Type>",
            UniqueSharingId="S1"),
        rec("a2", "SharingInvitationCreated", "Finance/Payments", EVIL, 2.9, TargetUserOrGroupName="x@evil.example"),
        rec("a3", "SharingSet", "Finance/Payments", EVIL, 2.9, TargetUserOrGroupName="x@evil.example"),
        rec("m1", "AnonymousLinkCreated", "Team/Photos.zip", HOME, 15, EventData="<Type>View</Type>"),
    ]))
    found = {f.evidence["permissionId"]: f for f in by_check(a, "sharing-link-created")}
    assert set(found) == {"p-anon", "p-guest", "p-mine"}  # SharingSet + invitation: one share
    assert found["p-anon"].severity is Severity.HIGH and found["p-anon"].evidence["byAttacker"] is True
    assert found["p-anon"].evidence["linkUrl"] == ANON["link"]["webUrl"]
    assert found["p-guest"].severity is Severity.HIGH and found["p-guest"].evidence["outside"] is True
    mine = found["p-mine"]  # the user's own older Anyone link: listed, never a verdict
    assert mine.kind == "context" and mine.severity is Severity.INFO and mine.evidence["byAttacker"] is False


def test_a_removed_share_is_reported_inactive() -> None:
    a = run(**drive_bundle([rec("a1", "AnonymousLinkCreated", "Finance/Bank.xlsx", EVIL, 2.9,
                                EventData="<Type>Edit</Type>")], items=[item("i1", "Finance/Bank.xlsx")]))
    f = by_check(a, "sharing-link-created")[0]
    assert f.evidence["active"] is False and f.evidence["permissionId"] is None


def test_files_touched_by_attacker_and_mass_download() -> None:
    downloads = [rec(f"d{n}", "FileDownloaded", f"Archive/f{n}.pdf", EVIL, 2.9 - n / (24 * 60 * 6))
                 for n in range(35)]
    own = [rec(f"o{n}", "FileSyncDownloadedFull", f"Mine/f{n}.docx", HOME, 10 - n / (24 * 60 * 6))
           for n in range(40)]
    a = run(**drive_bundle([*downloads, *own, rec("x", "FileDeleted", "Finance/Log.xlsx", EVIL, 2.8),
                            rec("y", "FileAccessed", "Finance/Bank.xlsx", EVIL, 2.85),
                            rec("z", "FileAccessed", "Finance/Bank.xlsx", HOME, 12)]))
    kinds = {f.evidence["kind"]: f for f in by_check(a, "file-access-by-attacker")}
    assert kinds["downloaded"].evidence["count"] == 35 and kinds["downloaded"].severity is Severity.HIGH
    assert {f["ip"] for f in kinds["downloaded"].evidence["files"]} == {EVIL}
    assert kinds["deleted"].evidence["files"][0]["path"] == "Finance/Log.xlsx"
    assert kinds["opened"].severity is Severity.MEDIUM and kinds["opened"].evidence["count"] == 1
    bursts = {f.evidence["ip"]: f for f in by_check(a, "mass-download")}
    assert bursts[EVIL].severity is Severity.HIGH and bursts[EVIL].evidence["count"] == 35
    assert bursts[HOME].kind == "context" and bursts[HOME].severity is Severity.LOW  # her own sync client


def test_a_slow_trickle_is_no_mass_download() -> None:
    trickle = [rec(f"d{n}", "FileDownloaded", f"Archive/f{n}.pdf", EVIL, 2.9 - n / 24) for n in range(40)]
    assert not by_check(run(**drive_bundle(trickle)), "mass-download")


def test_sharing_exposure() -> None:
    a = run(**drive_bundle([]))
    f = by_check(a, "onedrive-anonymous-sharing")[0]
    assert f.kind == "exposure" and f.severity is Severity.MEDIUM
    closed = run(**{**drive_bundle([]), "sharepoint_settings": {"sharingCapability": "disabled"}})
    assert not by_check(closed, "onedrive-anonymous-sharing")


def test_malformed_and_missing_evidence() -> None:
    junk: list[Any] = [{"Operation": "AnonymousLinkCreated"}, {"CreationTime": "not a time"}, "text", None,
                       {"Operation": "FileDownloaded", "ClientIP": None}]
    a = run(**{**drive_bundle(junk), "drive_items": [{"drivePath": None}, "x"]})
    assert a.verdict.name.value == "compromised"  # the mailbox evidence still stands
    assert not not_checked(a, "sharing-link-created") and not not_checked(a, "mass-download")
    missing = run(**bec_bundle())
    for check in ("sharing-link-created", "file-access-by-attacker", "mass-download", "onedrive-anonymous-sharing"):
        assert not_checked(missing, check), check
