"""``reclaim evidence export`` / ``verify``: the bundle checks offline, and any single altered byte is found."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reclaim.cli.main import app
from reclaim.evidence import export_bundle, verify_bundle
from reclaim.evidence.bundle import MANIFEST
from reclaim.store import Store
from tests.report.cases import synthetic_case

runner = CliRunner()


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    folder = tmp_path_factory.mktemp("bundle")
    db = folder / "cases.db"
    store = Store(str(db))
    try:
        case_id = synthetic_case(store)
    finally:
        store.close()
    out = folder / "case.zip"
    result = runner.invoke(app, ["evidence", "export", case_id, "--out", str(out), "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    return db, out, case_id


def test_the_bundle_holds_raw_evidence_findings_journal_and_a_manifest(exported: tuple[Path, Path, str]) -> None:
    db, out, case_id = exported
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read(MANIFEST))
        payloads = {n: archive.read(n) for n in names if n.startswith("evidence/") and not n.endswith(".meta.json")}
        journal = json.loads(archive.read("journal.json"))
    assert {"case.json", "findings.json", "timeline.json", "not_collected.json", "journal.json"} <= set(names)
    store = Store(str(db))
    try:
        stored = {e.sha256 for e in store.evidence(case_id)}
        assert manifest["chain"]["headHash"] == store.verify_chain(case_id).head_hash
        assert manifest["seal"]["head"] == store.verify_case(case_id).head
    finally:
        store.close()
    import hashlib
    assert {hashlib.sha256(p).hexdigest() for p in payloads.values()} == stored  # byte for byte as collected
    assert journal and journal[-1]["entry_hash"] == manifest["chain"]["headHash"]
    assert {f["path"] for f in manifest["files"]} == set(names) - {MANIFEST, "manifest.sha256"}


def test_an_intact_bundle_verifies_with_exit_0(exported: tuple[Path, Path, str]) -> None:
    _, out, case_id = exported
    result = runner.invoke(app, ["evidence", "verify", str(out), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["intact"] is True and doc["case"] == case_id and doc["problems"] == []


def test_an_altered_evidence_payload_is_named_and_exits_1(exported: tuple[Path, Path, str], tmp_path: Path) -> None:
    _, out, _ = exported
    data = bytearray(out.read_bytes())
    with zipfile.ZipFile(out) as archive:
        info = next(i for i in archive.infolist() if i.filename.startswith("evidence/")
                    and not i.filename.endswith(".meta.json"))
    at = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)  # first byte of its data
    data[at] ^= 0x01
    bad = tmp_path / "bad.zip"
    bad.write_bytes(bytes(data))
    result = runner.invoke(app, ["evidence", "verify", str(bad)])
    assert result.exit_code == 1
    assert "ALTERED" in result.output and info.filename in result.output


def test_every_single_altered_byte_is_found(exported: tuple[Path, Path, str], tmp_path: Path) -> None:
    _, out, _ = exported
    original = out.read_bytes()
    assert verify_bundle(out).ok
    bad = tmp_path / "bad.zip"
    step = max(1, len(original) // 1500)  # ~1500 positions spread over headers, members and the directory
    positions = sorted(set(range(0, len(original), step)) | set(range(len(original) - 200, len(original))))
    for at in positions:
        data = bytearray(original)
        data[at] ^= 0x20
        bad.write_bytes(bytes(data))
        assert not verify_bundle(bad).ok, f"byte {at} altered but not found"


def test_an_added_file_and_a_rewritten_journal_are_found(exported: tuple[Path, Path, str], tmp_path: Path) -> None:
    _, out, _ = exported
    with zipfile.ZipFile(out) as archive:
        members = [(i.filename, archive.read(i)) for i in archive.infolist()]
    added = tmp_path / "added.zip"
    with zipfile.ZipFile(added, "w") as archive:
        for name, data in members:
            archive.writestr(name, data)
        archive.writestr("evidence/999999-extra.json", b"{}")
    problems = verify_bundle(added).problems
    assert any("not in the manifest" in p for p in problems)
    journal = json.loads(dict(members)["journal.json"])
    journal[0]["operator"] = "someone-else@contoso.com"
    rewritten = tmp_path / "journal.zip"
    with zipfile.ZipFile(rewritten, "w") as archive:
        for name, data in members:
            archive.writestr(name, json.dumps(journal).encode() if name == "journal.json" else data)
    problems = verify_bundle(rewritten).problems
    assert any(p.startswith("journal.json") for p in problems)


def test_not_a_file_is_bad_input_and_not_a_zip_is_altered(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["evidence", "verify", str(tmp_path / "nope.zip")])
    assert missing.exit_code == 2 and "no such file" in missing.output
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip at all")
    result = runner.invoke(app, ["evidence", "verify", str(junk)])
    assert result.exit_code == 1 and "damaged" in result.output


def test_export_of_an_unknown_case_is_one_line_exit_2(exported: tuple[Path, Path, str], tmp_path: Path) -> None:
    db, _, _ = exported
    result = runner.invoke(app, ["evidence", "export", "c-19990101-0001", "--out", str(tmp_path / "x.zip"),
                                 "--db", str(db)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert not (tmp_path / "x.zip").exists()


def test_export_writes_the_same_bytes_twice(exported: tuple[Path, Path, str], tmp_path: Path) -> None:
    db, out, case_id = exported
    store = Store(str(db))
    try:
        again = export_bundle(store, case_id, tmp_path / "again.zip")
    finally:
        store.close()
    assert (tmp_path / "again.zip").read_bytes() == out.read_bytes() and again.files > 5
