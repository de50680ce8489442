"""The HTML report: one self-contained file (inline CSS and SVG, no script, no fetch), Jinja2 with autoescape.

Every value printed by the template passes ``finalize``: text is made :func:`reclaim.text.visible` (control,
bidi and zero-width characters shown as data) and then HTML-escaped by autoescape. A Content-Security-Policy
of ``default-src 'none'`` is a second wall: even injected markup could neither run script nor fetch anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from reclaim.report._build import format_time, value_text
from reclaim.report.model import SEVERITY_ORDER, Report
from reclaim.text import visible

__all__ = ["evidence_html", "report_html"]

SEVERITY_COLOURS = {"critical": "#7f1d1d", "high": "#b91c1c", "medium": "#92400e", "low": "#1e40af",
                    "info": "#4b5563"}
_STRIP_WIDTH = 880
_STRIP_LEFT = 10
_JSON_CAP = 4000


def _finalize(value: Any) -> Any:
    if isinstance(value, Markup):
        return value
    if value is None:
        return ""
    if isinstance(value, str):
        return visible(value)
    return value


def _pretty(value: Any) -> str:
    """A JSON value (before-state, request, result) as indented text, capped for the page."""
    if value is None:
        return "-"
    text = json.dumps(value, indent=1, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= _JSON_CAP else text[:_JSON_CAP] + f"\n… ({len(text) - _JSON_CAP} more characters)"


@dataclass(frozen=True)
class Bar:
    severity: str
    count: int
    y: int
    width: int
    colour: str


@dataclass(frozen=True)
class Mark:
    x: float
    kind: str
    label: str
    colour: str
    radius: float


@dataclass(frozen=True)
class Strip:
    """The timeline graphic: marks on a time axis, the suspicious window shaded."""

    marks: tuple[Mark, ...]
    window_x: float | None
    window_width: float
    start: str
    end: str
    #: events before the suspicious window, folded into one mark at the left edge
    folded: int = 0


def _bars(report: Report) -> tuple[Bar, ...]:
    top = max(report.severity_counts.values(), default=0) or 1
    return tuple(Bar(sev, report.severity_counts[sev], 8 + i * 30, round(420 * report.severity_counts[sev] / top),
                     SEVERITY_COLOURS[sev]) for i, sev in enumerate(SEVERITY_ORDER))


def _strip(report: Report, zone: tzinfo) -> Strip | None:
    """The incident on a time axis: from just before the suspicious window to the last event; what came
    before (routine context, e.g. a sign-in method registered a year earlier) is folded into one mark."""
    items = report.incident_timeline
    if not items:
        return None
    since = report.summary.window_since
    end = items[-1].time
    first = items[0].time if since is None else min(since, items[0].time)
    pad = max((end - first).total_seconds() * 0.03, 60.0)
    start = first - timedelta(seconds=pad)
    span = max((end - start).total_seconds(), 1.0)

    def x(moment: datetime) -> float:
        return round(_STRIP_LEFT + _STRIP_WIDTH * max((moment - start).total_seconds(), 0.0) / span, 1)

    marks: list[Mark] = []
    for item in items:
        if item.origin == "remediation":
            colour, radius = "#166534", 6.0
        elif item.severity is not None:
            colour, radius = SEVERITY_COLOURS.get(item.severity, "#4b5563"), 6.0
        else:
            colour, radius = "#6b7280", 3.5
        marks.append(Mark(x(item.time), item.kind, f"{format_time(item.time, zone)} {item.summary}", colour, radius))
    until = report.summary.window_until
    window_x: float | None = None
    width = 0.0
    if since is not None:
        right = min(until or end, end)
        if right >= since:
            window_x = x(since)
            width = max(x(right) - window_x, 2.0)
    return Strip(tuple(marks), window_x, width, format_time(start, zone), format_time(end, zone),
                 len(report.context_timeline))


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("reclaim.report", "templates"), autoescape=True, finalize=_finalize,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["value"] = value_text
    env.filters["pretty"] = _pretty
    return env


_ENV = _environment()


def report_html(report: Report) -> str:
    zone = report.generated_at.tzinfo
    assert zone is not None

    def when(moment: datetime | None) -> str:
        return format_time(moment, zone)

    template = _ENV.get_template("report.html.j2")
    return template.render(r=report, s=report.summary, when=when, bars=_bars(report), strip=_strip(report, zone),
                           severities=SEVERITY_ORDER, colours=SEVERITY_COLOURS)


def evidence_html(report: Report) -> str:
    """The evidence document: every timeline event, each finding's evidence record, the raw journal and the
    evidence inventory, laid out to print cleanly on its own (the customer's report stays short)."""
    zone = report.generated_at.tzinfo
    assert zone is not None

    def when(moment: datetime | None) -> str:
        return format_time(moment, zone)

    template = _ENV.get_template("evidence_document.html.j2")
    return template.render(r=report, s=report.summary, when=when, severities=SEVERITY_ORDER, colours=SEVERITY_COLOURS)
