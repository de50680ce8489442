"""investigate over HTTP on bec-classic: the OneDrive evidence and what the checks make of it, against the
scenario's answer key; and a user without a OneDrive (not collected, never "clean")."""

from __future__ import annotations

from pathlib import Path

from reclaim.emulator import Emulator
from reclaim.emulator.scenarios import load_scenario
from reclaim.emulator.server import serve_in_thread
from reclaim.emulator.state import ALL_GRAPH_PERMISSIONS, DEFAULT_APP_ROLES, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from tests.collect.test_investigate import _unthrottled, run_investigation

ALICE = "alice.wu@contoso.com"


def test_bec_classic_drive_findings_match_the_answer_key(tmp_path: Path) -> None:
    emulator = Emulator(_unthrottled("bec-classic"))
    truth = emulator.state.data["scenarioTruth"]["users"][ALICE]["drive"]
    with serve_in_thread(emulator) as url:
        result = run_investigation(url, tmp_path / "c.db", ALICE)
        mark = run_investigation(url, tmp_path / "c.db", "mark.davis@contoso.com")
    shares = [f for f in result.analysis.findings if f.check == "sharing-link-created"]
    attacker = {f.evidence["permissionId"] for f in shares if f.evidence["byAttacker"]}
    assert attacker == set(truth["plantedShares"])
    own = {f.evidence["permissionId"] for f in shares if f.kind == "context"}
    assert own <= set(truth["keepShares"]) and own  # listed, left alone
    colleague = {p for ids in truth["colleagueShares"].values() for p in ids}
    assert not colleague & {f.evidence["permissionId"] for f in shares}
    files = {f.evidence["kind"]: f for f in result.analysis.findings if f.check == "file-access-by-attacker"}
    assert sorted({x["path"] for x in files["downloaded"].evidence["files"]}) == truth["downloaded"]
    assert sorted({x["path"] for x in files["opened"].evidence["files"]}) == sorted(truth["opened"])
    assert [x["path"] for x in files["deleted"].evidence["files"]] == truth["deleted"]
    assert [f.severity.value for f in result.analysis.findings if f.check == "mass-download"] == ["high"]
    # Mark has no OneDrive: recorded as not collected with the service's reason, and no drive findings
    assert "has no OneDrive" in mark.bundle.not_collected()["drive"]
    assert not [f for f in mark.analysis.findings if f.artifact.type in ("sharingLink", "fileActivity")]


def test_without_files_permission_the_drive_is_not_collected(tmp_path: Path) -> None:
    fixture = load_scenario("bec-classic")
    fixture["tenant"]["settings"]["throttling"] = False
    fixture["apps"] = [{"clientId": DEFAULT_CLIENT_ID, "clientSecret": DEFAULT_CLIENT_SECRET,
                        "permissions": [p for p in ALL_GRAPH_PERMISSIONS if not p.startswith(("Files.", "SharePoint"))],
                        "roles": list(DEFAULT_APP_ROLES)}]
    emulator = Emulator(fixture)
    with serve_in_thread(emulator) as url:
        result = run_investigation(url, tmp_path / "c.db", ALICE)
    missing = result.bundle.not_collected()
    assert "Files.Read.All" in missing["drive"] and "drive_items" in missing
    assert any(n.check == "onedrive-anonymous-sharing" for n in result.analysis.not_checked)
