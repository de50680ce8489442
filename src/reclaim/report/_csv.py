"""CSV export of the findings, safe to open in a spreadsheet.

A cell that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return (also after leading spaces) is
a formula to Excel, LibreOffice and Google Sheets; such cells get a leading apostrophe (OWASP's advice), so
``=HYPERLINK(...)`` in a rule name is shown as text. Control, bidi and zero-width characters are made
visible first.
"""

from __future__ import annotations

import csv
import io

from reclaim.report._build import format_time
from reclaim.report.model import FindingView, Report
from reclaim.text import visible

__all__ = ["COLUMNS", "csv_cell", "findings_csv"]

COLUMNS = ("case", "account", "severity", "kind", "check", "title", "symptom", "artifact_type", "artifact_id",
           "time", "evidence", "reasons")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_cell(value: object) -> str:
    """One cell: visible, and neutralised when a spreadsheet would read it as a formula."""
    text = visible("" if value is None else str(value))
    stripped = text.lstrip(" ")
    if stripped.startswith(_FORMULA_START) or text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _row(report: Report, f: FindingView) -> list[str]:
    zone = report.generated_at.tzinfo
    assert zone is not None
    facts = "; ".join(f"{x.label}: {x.value}" for x in f.facts)
    values = (report.case.id, report.summary.account, f.severity, f.kind, f.check, f.title, f.symptom,
              f.artifact_type, f.artifact_id, format_time(f.time, zone) if f.time else "", facts,
              " | ".join(f.reasons))
    return [csv_cell(v) for v in values]


def findings_csv(report: Report) -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for f in (*report.findings, *report.prevention):
        writer.writerow(_row(report, f))
    return buffer.getvalue()
