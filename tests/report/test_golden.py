"""A golden test of the report's structure: sections, headings, table headers, JSON keys, CSV columns.

Content that changes from run to run (times, hashes, case ids) is not part of the structure. After an
intended change of the layout, regenerate with ``RECLAIM_UPDATE_GOLDEN=1 pytest tests/report/test_golden.py``
and review the diff of ``golden/structure.json``.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from reclaim.report import build_report, render
from reclaim.store import Store
from tests.report.cases import synthetic_case

GOLDEN = Path(__file__).parent / "golden" / "structure.json"


class Structure(HTMLParser):
    """Sections (id and heading), headings h1-h3, and each table's class with its column headers."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[str] = []
        self.headings: list[str] = []
        self.tables: list[dict[str, Any]] = []
        self._heading: str | None = None
        self._buffer = ""
        self._th = False
        self._row_headers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "section":
            self.sections.append(str(attr.get("id")))
        elif tag in ("h1", "h2", "h3"):
            self._heading, self._buffer = tag, ""
        elif tag == "table":
            self.tables.append({"class": attr.get("class"), "columns": []})
        elif tag == "th" and attr.get("scope") == "col":
            self._th, self._buffer = True, ""

    def handle_endtag(self, tag: str) -> None:
        if tag == self._heading:
            self.headings.append(f"{tag}: {' '.join(self._buffer.split())}")
            self._heading = None
        elif tag == "th" and self._th:
            self.tables[-1]["columns"].append(" ".join(self._buffer.split()))
            self._th = False

    def handle_data(self, data: str) -> None:
        self._buffer += data


def _keys(value: Any) -> Any:
    """The shape of a JSON document: keys of objects, the shape of a list's first item."""
    if isinstance(value, dict):
        return {k: _keys(v) for k, v in sorted(value.items()) if k not in ("evidence", "summary", "request", "result",
                                                                          "verify", "beforeState")} | {
            k: "object" for k in value if k in ("evidence", "summary", "request", "result", "verify", "beforeState")}
    if isinstance(value, list):
        return [_keys(value[0])] if value else []
    return type(value).__name__


def structure(tmp_path: Path) -> dict[str, Any]:
    with Store(tmp_path / "golden.db") as store:
        case_id = synthetic_case(store)
        report = build_report(store, case_id, UTC)
    html, md, doc, csv = (render(report, f) for f in ("html", "md", "json", "csv"))
    parsed = Structure()
    parsed.feed(html)
    parsed.close()
    lines = md.splitlines()
    md_headings = [line for line in lines if line.startswith("#")]
    md_tables = [line for i, line in enumerate(lines[:-1])
                 if line.startswith("|") and re.fullmatch(r"\|( ?-{3,}:? \|)+", lines[i + 1])]
    return {"html": {"sections": parsed.sections, "headings": parsed.headings, "tables": parsed.tables},
            "markdown": {"headings": md_headings, "tableHeaders": md_tables},
            "json": _keys(json.loads(doc)), "csv": csv.splitlines()[0]}


def test_report_structure_matches_the_golden_file(tmp_path: Path) -> None:
    found = structure(tmp_path)
    if os.environ.get("RECLAIM_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(found, indent=1, ensure_ascii=True) + "\n", encoding="utf-8")
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert found == expected, "the report's structure changed; see the module docstring to regenerate"
