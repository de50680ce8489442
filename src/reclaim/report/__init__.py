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

import contextlib
import json
import os
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo
from importlib import resources
from pathlib import Path
from typing import Any

from reclaim.errors import BadInput
from reclaim.report._build import build_report, format_time
from reclaim.report._csv import findings_csv
from reclaim.report._html import evidence_html, report_html
from reclaim.report._json import SCHEMA_ID, report_json, to_document
from reclaim.report._markdown import report_markdown
from reclaim.report._notify import notify_csv
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
    "render_pdf",
    "resolve_zone",
    "schema",
    "to_document",
    "write_reports",
    "zone_name",
]

_WRITERS: dict[str, tuple[Callable[[Report], str], str]] = {
    "html": (report_html, "report.html"),
    "evidence": (evidence_html, "evidence.html"),
    "md": (report_markdown, "report.md"),
    "json": (report_json, "report.json"),
    "csv": (findings_csv, "findings.csv"),
    "notify": (lambda r: notify_csv(r.case.id, r.summary.account, r.notify), "notify.csv"),
}
#: The formats ``reclaim report --format`` takes: ``pdf`` prints the customer's report in headless Chromium;
#: ``all`` writes every text format into a directory, all of them or none.
FORMATS: tuple[str, ...] = (*_WRITERS, "pdf", "all")


@dataclass(frozen=True)
class Written:
    format: str
    path: Path


def render(report: Report, fmt: str) -> str:
    """The report as text in one format: ``html`` (the customer's report), ``evidence`` (the evidence document,
    HTML), ``md``, ``json`` or ``csv`` (the findings)."""
    try:
        writer, _ = _WRITERS[fmt]
    except KeyError:
        raise BadInput(f"unknown report format {fmt!r}", hint=f"use one of: {', '.join(_WRITERS)}") from None
    return writer(report)


def render_pdf(report: Report, *, timeout: float = 120) -> bytes:
    """The customer's report printed to PDF (A4) by headless Chromium (Debian's ``chromium``)."""
    from reclaim.report.browser import print_pdf

    with tempfile.TemporaryDirectory(prefix="reclaim-pdf-") as work:
        page = Path(work) / "report.html"
        page.write_text(report_html(report), encoding="utf-8")
        return print_pdf(page, Path(work) / "report.pdf", timeout=timeout).read_bytes()


def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the JSON report, as shipped in the package."""
    text = resources.files("reclaim.report").joinpath("schema/report.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _cannot_write(path: Path, exc: OSError) -> BadInput:
    return BadInput(f"cannot write the report to {path}: {exc.strerror or exc}", hint="choose another --out path")


def _write_private(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` readable by the owner only (a report names people, addresses and IPs)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        path.chmod(0o600)
    except OSError as exc:
        raise _cannot_write(path, exc) from exc


def _write_all(out: Path, files: dict[Path, str]) -> None:
    """Write every file or none: each goes to a temporary name in ``out`` first, then all are renamed into
    place; a failure removes the temporary files, puts back any file a rename replaced, and removes ``out``
    when this call created it."""
    created = not out.exists()
    temps: dict[Path, Path] = {}
    backups: dict[Path, Path] = {}
    placed: list[Path] = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        for target, text in files.items():
            temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
            temps[target] = temp
            _write_private(temp, text)
        for target, temp in temps.items():
            if target.exists():
                backup = target.with_name(f".{target.name}.{secrets.token_hex(4)}.bak")
                target.replace(backup)
                backups[target] = backup
            temp.replace(target)
            placed.append(target)
    except (OSError, BadInput) as exc:
        for target in placed:
            target.unlink(missing_ok=True)
        for target, backup in backups.items():
            with contextlib.suppress(OSError):
                backup.replace(target)
        for temp in temps.values():
            temp.unlink(missing_ok=True)
        if created:
            with contextlib.suppress(OSError):
                out.rmdir()
        if isinstance(exc, BadInput):
            raise
        raise _cannot_write(out, exc) from exc
    for backup in backups.values():
        backup.unlink(missing_ok=True)


def write_reports(store: Store, case_id: str, fmt: str, out: Path, zone: tzinfo) -> list[Written]:
    """Write the report of ``case_id`` to ``out`` (a file; with ``all``, a directory of every text format,
    written all or nothing)."""
    if fmt not in FORMATS:
        raise BadInput(f"unknown report format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}")
    report = build_report(store, case_id, zone)
    if fmt == "pdf":
        _write_private(out, render_pdf(report))
        return [Written(fmt, out)]
    if fmt != "all":
        _write_private(out, render(report, fmt))
        return [Written(fmt, out)]
    if out.exists() and not out.is_dir():
        raise BadInput(f"--format all writes several files: {out} is not a directory", hint="give a directory")
    rendered = {out / filename: writer(report) for writer, filename in _WRITERS.values()}
    _write_all(out, rendered)
    return [Written(name, out / filename) for name, (_, filename) in _WRITERS.items()]
