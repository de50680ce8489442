"""Reports a customer can read and a machine can parse: HTML, Markdown, JSON (and a findings CSV).

::

    with Store(db) as store:
        report = build_report(store, "c-20261127-0001", resolve_zone("Europe/Berlin"))
    html = render(report, "html")            # one self-contained file: inline CSS and SVG, no script
    write_reports(store, case_id, "all", Path("out/"), zone)   # report.html, report.md, report.json, findings.csv

A report is built once from the case store (:func:`build_report`: findings by severity with their evidence and
procedure symptom, the timeline in the reader's zone, the journal grouped into actions with before-state,
result, verification and reversibility, the hash chain re-verified, what was not checked) and written by one
writer per format. Attacker-controlled text is inert in every format: HTML-escaped (and a CSP without script),
Markdown-escaped, CSV formula-neutralised, with control / bidi / zero-width characters made visible
(:func:`reclaim.text.visible`); the JSON keeps it as data and follows ``schema/report.schema.json``
(:func:`schema`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo
from importlib import resources
from pathlib import Path
from typing import Any

from reclaim.errors import BadInput
from reclaim.report._build import build_report, format_time
from reclaim.report._csv import findings_csv
from reclaim.report._html import report_html
from reclaim.report._json import SCHEMA_ID, report_json, to_document
from reclaim.report._markdown import report_markdown
from reclaim.report._tz import resolve_zone, zone_name
from reclaim.report.model import Report
from reclaim.store import Store

__all__ = [
    "FORMATS",
    "SCHEMA_ID",
    "Report",
    "Written",
    "build_report",
    "format_time",
    "render",
    "resolve_zone",
    "schema",
    "to_document",
    "write_reports",
    "zone_name",
]

_WRITERS: dict[str, tuple[Callable[[Report], str], str]] = {
    "html": (report_html, "report.html"),
    "md": (report_markdown, "report.md"),
    "json": (report_json, "report.json"),
    "csv": (findings_csv, "findings.csv"),
}
#: The formats ``reclaim report --format`` takes; ``all`` writes each into a directory.
FORMATS: tuple[str, ...] = (*_WRITERS, "all")


@dataclass(frozen=True)
class Written:
    format: str
    path: Path


def render(report: Report, fmt: str) -> str:
    """The report as text in one format: ``html``, ``md``, ``json`` or ``csv`` (the findings)."""
    try:
        writer, _ = _WRITERS[fmt]
    except KeyError:
        raise BadInput(f"unknown report format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}") from None
    return writer(report)


def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the JSON report, as shipped in the package."""
    text = resources.files("reclaim.report").joinpath("schema/report.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by the owner only (a report names people, addresses and IPs)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        path.chmod(0o600)
    except OSError as exc:
        raise BadInput(f"cannot write the report to {path}: {exc.strerror or exc}",
                       hint="choose another --out path") from exc


def write_reports(store: Store, case_id: str, fmt: str, out: Path, zone: tzinfo) -> list[Written]:
    """Write the report of ``case_id`` to ``out`` (a file; with ``all``, a directory of every format)."""
    if fmt not in FORMATS:
        raise BadInput(f"unknown report format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}")
    report = build_report(store, case_id, zone)
    if fmt != "all":
        _write_private(out, render(report, fmt))
        return [Written(fmt, out)]
    if out.exists() and not out.is_dir():
        raise BadInput(f"--format all writes several files: {out} is not a directory", hint="give a directory")
    written = []
    for name, (writer, filename) in _WRITERS.items():
        _write_private(out / filename, writer(report))
        written.append(Written(name, out / filename))
    return written
