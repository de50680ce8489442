"""Every export format is recognised by content and read with the records' own ids."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from reclaim.errors import BadInput
from reclaim.logs import samples
from reclaim.logs.analysis import run
from reclaim.logs.engine import LogDB
from reclaim.logs.formats import Format, Recognised, Unrecognised, recognise
from tests.logs import story
from tests.shared_data import public

AUDIT_WRITERS = {
    Format.PURVIEW_CSV: ("export.csv", samples.purview_csv),
    Format.MANAGEMENT_API: ("records.json", samples.json_array),
    Format.GRAPH_AUDIT_QUERY: ("query.json", samples.graph_audit_query),
    Format.SENTINEL_OFFICE: ("office.csv", samples.sentinel_office_csv),
    Format.CLOUD_APP_EVENTS: ("cae.json", samples.cloud_app_events),
}


def _ids(path: Path) -> set[str]:
    found = recognise(path)
    assert isinstance(found, Recognised), found
    with LogDB() as db:
        db.add(path, found, path.name)
        return {row[0] for row in db.query("SELECT id FROM recs")}


@pytest.mark.parametrize("fmt", list(AUDIT_WRITERS))
def test_audit_formats_are_recognised_and_keep_the_records_ids(tmp_path: Path, fmt: Format) -> None:
    name, writer = AUDIT_WRITERS[fmt]
    path = samples.write(tmp_path / "x" / name, writer(story.records()))
    assert recognise(path) == Recognised(fmt, recognise(path).layout)  # type: ignore[union-attr]
    assert _ids(path) == {r["Id"] for r in story.records()}


def test_management_api_as_json_lines_and_times(tmp_path: Path) -> None:
    path = samples.write(tmp_path / "a.log", samples.json_lines(story.records()))
    assert recognise(path) == Recognised(Format.MANAGEMENT_API, "json-lines")
    with LogDB() as db:
        db.add(path, Recognised(Format.MANAGEMENT_API, "json-lines"), "a")
        (t,) = db.query("SELECT t FROM recs WHERE id = 'fwd-1'")[0]
    assert t.isoformat() == "2026-11-10T09:12:00"


def test_purview_csv_has_us_dates_crlf_and_numeric_record_types(tmp_path: Path) -> None:
    text = samples.purview_csv(story.records())
    assert "\r\n" in text and ",\"15\"," in text and "11/10/2026 9:12:00 AM" in text
    path = samples.write(tmp_path / "p.csv", text)
    with LogDB() as db:
        db.add(path, Recognised(Format.PURVIEW_CSV, "csv"), "p")
        rows = db.query("SELECT op, usr, ip, session, aad FROM recs WHERE id = 'read-1'")
    assert rows == [("MailItemsAccessed", story.ALICE, story.ATTACKER_IP, story.SESSION, story.SESSION)]


def test_sentinel_csv_with_bom_multiline_cells_and_its_times(tmp_path: Path) -> None:
    text = samples.sentinel_office_csv(story.records())
    assert text.startswith("\ufeff") and "11/10/2026, 9:12:00.000 AM" in text
    path = samples.write(tmp_path / "o.csv", text)
    with LogDB() as db:
        db.add(path, Recognised(Format.SENTINEL_OFFICE, "csv"), "o")
        (t, op) = db.query("SELECT t, op FROM recs WHERE id = 'fwd-1'")[0]
    assert (t.isoformat(), op) == ("2026-11-10T09:12:00", "Set-Mailbox")


@pytest.mark.parametrize(("writer", "fmt"), [
    (samples.json_array, Format.GRAPH_SIGNIN), (samples.graph_value, Format.GRAPH_SIGNIN),
    (samples.json_lines, Format.GRAPH_SIGNIN), (samples.sentinel_signin_csv, Format.SENTINEL_SIGNIN)])
def test_sign_in_formats(tmp_path: Path, writer: object, fmt: Format) -> None:
    path = samples.write(tmp_path / "s", writer(story.sign_ins()))  # type: ignore[operator]
    found = recognise(path)
    assert isinstance(found, Recognised) and found.format is fmt
    assert _ids(path) == {"si-0", "si-1", "si-2"}


@pytest.mark.parametrize(("writer", "fmt"), [
    (samples.graph_value, Format.GRAPH_DIRECTORY_AUDIT), (samples.json_lines, Format.GRAPH_DIRECTORY_AUDIT),
    (samples.sentinel_auditlogs_csv, Format.SENTINEL_AUDIT)])
def test_directory_audit_formats(tmp_path: Path, writer: object, fmt: Format) -> None:
    path = samples.write(tmp_path / "d", writer(story.directory_audits()))  # type: ignore[operator]
    found = recognise(path)
    assert isinstance(found, Recognised) and found.format is fmt
    assert _ids(path) == {"Directory_role-1"}
    with LogDB() as db:
        db.add(path, found, "d")
        assert db.query("SELECT usr, ip FROM recs") == [(story.ALICE, story.ATTACKER_IP)]


# -- public samples ------------------------------------------------------------------------------------

def test_otrf_goldensaml_sentinel_exports() -> None:
    folder = public("otrf-goldensaml")
    assert recognise(folder / "AADAuditEvents.json") == Recognised(Format.SENTINEL_AUDIT, "json-lines")
    assert recognise(folder / "OfficeActivityEvents.json") == Recognised(Format.SENTINEL_OFFICE, "json-lines")
    result = run([folder])
    assert {f.format for f in result.files} == {"sentinel-auditlogs", "sentinel-officeactivity"}
    office = json.loads((folder / "OfficeActivityEvents.json").read_text().splitlines()[0])
    assert office["OfficeId"] in result.records_by_id or result.records >= 1


def test_microsoft_extractor_suite_audit_and_sign_in_logs() -> None:
    audit = public("mes-demo-tenant/20250502131826-AuditLogs.json")
    signins = public("mes-demo-tenant/20250502132321-managedIdentity-SignInLogs.json")
    assert recognise(audit) == Recognised(Format.GRAPH_DIRECTORY_AUDIT, "json-array")
    assert recognise(signins) == Recognised(Format.GRAPH_SIGNIN, "json-array")
    first = json.loads(audit.read_text(encoding="utf-8-sig"))[0]["id"]
    assert first in _ids(audit)
    assert len(_ids(signins)) == 28


def test_graph_docs_examples_value_wrapper() -> None:
    assert recognise(public("graph-docs-examples/signIns_list_response.json")) == Recognised(
        Format.GRAPH_SIGNIN, "json-value")
    assert _ids(public("graph-docs-examples/signIns_list_response.json")) == {
        "66ea54eb-6301-4ee5-be62-ff5a759b0100"}


def test_panther_labelled_microsoft365_events_as_management_api_lines(tmp_path: Path) -> None:
    folder = public("panther-labelled-events")
    logs = [json.loads(line)["log"] for f in sorted(folder.glob("Microsoft365.*.jsonl"))
            for line in f.read_text().splitlines() if line.strip()]
    path = samples.write(tmp_path / "panther.jsonl", samples.json_lines(logs))
    assert recognise(path) == Recognised(Format.MANAGEMENT_API, "json-lines")
    with LogDB() as db:
        assert db.add(path, Recognised(Format.MANAGEMENT_API, "json-lines"), "p") == len(logs)


def test_sentinel_training_sample_transcribed_as_office_activity(tmp_path: Path) -> None:
    sample = json.loads(public("office_activity_inbox_rule.TRANSCRIBED.json").read_text())
    rows = [{**r, "OfficeId": r.get("OfficeId") or f"row-{i}"} for i, r in enumerate(sample["records"])]
    path = samples.write(tmp_path / "training.json", samples.json_lines(rows))
    found = recognise(path)
    assert found == Recognised(Format.SENTINEL_OFFICE, "json-lines")
    assert len(_ids(path)) == len(rows)


# -- files that are not exports ------------------------------------------------------------------------

@pytest.mark.parametrize(("content", "why"), [
    (b"", "is empty"), (b"\x00\x01\x02binary", "not a text file"), (b"[{\"a\": 1,", "not valid JSON"),
    (b"a,b,c\n1,2,3\n", "is a CSV file but not"), (b"{\"hello\": \"world\"}\n", "not an audit")])
def test_unknown_or_broken_file_is_one_line_and_nothing_stored(tmp_path: Path, content: bytes, why: str) -> None:
    path = tmp_path / "thing.dat"
    path.write_bytes(content)
    found = recognise(path)
    assert isinstance(found, Unrecognised) and why in found.reason
    with pytest.raises(BadInput) as exc:
        run([path])
    assert str(path) in exc.value.message and "\n" not in exc.value.one_line()


def test_folder_skips_and_lists_other_files_and_reads_zip(tmp_path: Path) -> None:
    folder = tmp_path / "case"
    samples.write(folder / "audit.csv", samples.purview_csv(story.records()))
    samples.write(folder / "notes.txt", "what we know so far\n")
    with zipfile.ZipFile(folder / "more.zip", "w") as z:
        z.writestr("signins.json", samples.json_array(story.sign_ins()))
        z.writestr("readme.md", "# export\n")
    result = run([folder])
    by = {f.path.rsplit("/", 1)[-1]: f for f in result.files}
    assert by["audit.csv"].format == "purview-csv" and by["notes.txt"].skipped
    assert by["more.zip!signins.json"].format == "graph-signin" and by["more.zip!readme.md"].skipped
    assert result.records == len(story.records()) + 3


def test_broken_export_inside_a_folder_is_an_error(tmp_path: Path) -> None:
    samples.write(tmp_path / "ok.json", samples.json_array(story.records()))
    samples.write(tmp_path / "bad.json", samples.json_array(story.records())[:-40])
    with pytest.raises(BadInput, match=r"bad\.json"):
        run([tmp_path])


def test_duplicates_and_records_without_time_are_tolerated(tmp_path: Path) -> None:
    recs = story.records()
    recs += [dict(recs[0]), {k: v for k, v in recs[1].items() if k != "CreationTime"} | {"Id": "no-time"}]
    path = samples.write(tmp_path / "d.json", samples.json_lines(recs))
    result = run([path])
    assert result.records == len(story.records()) + 1
