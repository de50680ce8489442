"""Markdown for the breach-scope sections: "What the attacker touched" (``summary.touched``) and "Coverage"
(``summary.coverage``). The HTML writer has them as ``touched.html.j2`` and ``coverage.html.j2``.

Every value from the tenant (subjects, file names, folders, message ids) goes through ``md_text`` / ``md_code``:
attacker text never becomes markup.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reclaim.report._markdown import md_code, md_text

#: items listed per category (the counts are always complete)
ITEMS_SHOWN = 50
_DETAIL_KEYS = ("access", "folder", "subject", "operation", "target", "to")


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def touched_markdown(summary: Mapping[str, Any]) -> list[str]:
    touched = _dict(summary.get("touched"))
    if not touched:
        return []
    out = ["## What the attacker touched", "",
           "Every audit record of the attacker's sessions (their addresses and session ids), by what it did: the "
           "input to a breach-notification decision. The user's own activity is not counted. Times UTC.", ""]
    for user in sorted(touched):
        body = _dict(touched[user])
        sessions = _dict(body.get("sessions"))
        out += [f"### {md_text(user)}", "",
                f"Attacker sessions: addresses {md_code(', '.join(map(str, _list(sessions.get('ips')))) or '-')}; "
                f"{len(_list(sessions.get('sessionIds')))} session id(s).", "",
                _row("What", "Count", "Audit records", "First (UTC)", "Last (UTC)"), _row("---", "---:", "---:", "---",
                                                                                        "---")]
        categories = [_dict(c) for c in _list(body.get("categories"))]
        for c in categories:
            out.append(_row(md_text(c.get("label", "")), md_text(c.get("count", 0)), md_text(c.get("records", 0)),
                            md_text(c.get("first") or "-"), md_text(c.get("last") or "-")))
        out.append("")
        for c in categories:
            items = [_dict(i) for i in _list(c.get("items"))]
            if not items:
                continue
            out += [f"#### {md_text(c.get('label', ''))} ({md_text(c.get('count', 0))})", "",
                    _row("Item", "Detail", "Time (UTC)"), _row("---", "---", "---")]
            for i in items[:ITEMS_SHOWN]:
                what = i.get("internetMessageId") or i.get("file") or i.get("folder") or i.get("operation") or "-"
                detail = "; ".join(f"{k}: {i[k]}" for k in _DETAIL_KEYS if i.get(k))
                out.append(_row(md_code(what), md_text(detail or "-"), md_text(i.get("time") or "-")))
            count = c.get("count", 0)
            if isinstance(count, int) and count > ITEMS_SHOWN:
                out += ["", f"{count - ITEMS_SHOWN} more in the case's evidence (kind attacker\\_activity) and the "
                            "JSON report."]
            out.append("")
    return out


def _state(value: Any, yes: str, no: str) -> str:
    return yes if value is True else no if value is False else "not checked"


def coverage_markdown(summary: Mapping[str, Any]) -> list[str]:
    cov = _dict(summary.get("coverage"))
    if not cov:
        return []
    out = ["## Coverage", "",
           "What the audit log searches really covered, and what was not available and why. Where something was "
           "not available, the absence of a record means \u201cunknown\u201d, not \u201cnothing happened\u201d.", "",
           f"- **Range:** {md_text(cov.get('auditFrom') or cov.get('since') or '-')} \u2013 "
           f"{md_text(cov.get('until') or '-')} (UTC)"]
    if cov.get("formats"):
        out.append(f"- **Formats read:** {md_text(', '.join(map(str, _list(cov.get('formats')))))}")
    for t in map(_dict, _list(cov.get("trust"))):
        out.append(f"- **{md_text(t.get('what', ''))}:** {_state(t.get('ok'), 'ok', 'no')}: "
                   f"{md_text(t.get('detail', ''))}")
    for t in map(_dict, _list(cov.get("recordTypes"))):
        out.append(f"- **{md_text(t.get('type', ''))} records:** "
                   f"{_state(t.get('available'), 'recorded', 'not recorded')}: {md_text(t.get('why', ''))}")
    out.append("")
    searches = [_dict(s) for s in _list(cov.get("searches"))]
    if searches:
        out += [_row("Search", "Records", "Windows", "Complete"), _row("---", "---:", "---:", "---")]
        for s in searches:
            done = "yes" if s.get("complete") else f"no: {md_text(s.get('why', ''))}"
            records = s.get("records")
            out.append(_row(md_text(s.get("label", "")), md_text("-" if records is None else records),
                            md_text(s.get("windows") or "-"), done))
        out.append("")
    gaps = [_dict(g) for g in _list(cov.get("notAvailable")) + _list(cov.get("skipped"))]
    if gaps:
        out += ["### Not available", ""]
        out += [f"- **{md_text(g.get('what') or g.get('path') or '')}:** {md_text(g.get('why', ''))}" for g in gaps]
    else:
        out.append("Every audit source was available for the whole range.")
    out.append("")
    return out


__all__ = ["coverage_markdown", "touched_markdown"]
