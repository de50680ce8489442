"""The report's Files section on bec-classic (shares and what the attacker took), with attacker-chosen file
names (script, image, formula, markup, ANSI escapes) inert in HTML, Markdown and JSON."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC

import jsonschema
import pytest
from markdown_it import MarkdownIt

from reclaim.emulator import Emulator
from reclaim.emulator.server import serve_in_thread
from reclaim.report import build_report, render, schema
from reclaim.store import Store
from tests.report.cases import ALICE, HOSTILE_RULES, SCRIPT_RULE, run_investigation, unthrottled
from tests.report.test_formats import parse


def _hostile_fixture() -> dict[str, object]:
    fixture = copy.deepcopy(unthrottled("bec-classic"))
    downloads = [r for r in fixture["auditRecords"]  # type: ignore[union-attr]
                 if r.get("Operation") == "FileDownloaded" and r.get("ClientIP") == "203.0.113.45"]
    for record, name in zip(downloads, HOSTILE_RULES, strict=False):
        record["SourceFileName"] = name
        record["ObjectId"] = record["ObjectId"].rsplit("/", 1)[0] + "/" + name
    return fixture


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    db = tmp_path_factory.mktemp("files") / "c.db"
    emulator = Emulator(_hostile_fixture())
    with serve_in_thread(emulator) as url, Store(db) as store:
        case = run_investigation(url, store, ALICE)
        report = build_report(store, case, UTC)
        yield {fmt: render(report, fmt) for fmt in ("html", "md", "json")}


def test_files_section_lists_shares_and_files_in_every_format(rendered: dict[str, str]) -> None:
    doc = json.loads(rendered["json"])
    jsonschema.Draft202012Validator(schema()).validate(doc)
    files = doc["files"]
    statuses = sorted(s["status"] for s in files["shares"])
    assert statuses.count("not removed yet") == 3 and statuses.count("left alone (the user's own)") == 2
    assert {f["access"] for f in files["files"]} == {"downloaded", "opened", "deleted"}
    assert sum(f["access"] == "downloaded" for f in files["files"]) == 42
    assert all(f["ip"] == "203.0.113.45" and f["time"] for f in files["files"])
    assert files["massDownloads"] and "203.0.113.45" in files["massDownloads"][0]
    assert '<section id="files"' in rendered["html"] and "## Files" in rendered["md"]
    assert "Bank details - vendors.xlsx" in rendered["md"] and "Bank details - vendors.xlsx" in rendered["html"]


def test_attacker_file_names_are_inert_and_visible(rendered: dict[str, str]) -> None:
    paths = {f["path"] for f in json.loads(rendered["json"])["files"]["files"]}
    assert all(any(p.endswith(name) for p in paths) for name in HOSTILE_RULES), "the JSON keeps them as data"
    html = parse(rendered["html"])
    assert {t for t, _ in html.tags}.isdisjoint({"script", "img"})
    assert SCRIPT_RULE in "".join(html.text)
    assert "\x1b" not in rendered["html"] and "\u202e" not in rendered["html"]
    md = parse(MarkdownIt("commonmark", {"html": True}).enable("table").render(rendered["md"]))
    assert {t for t, _ in md.tags}.isdisjoint({"script", "img", "a"})
    assert "\x1b" not in rendered["md"] and "\u202e" not in rendered["md"]
    assert '=HYPERLINK("http://evil.example/x","Click me")' in "".join(md.text)
