"""The report's "What the attacker touched" and "Coverage" sections, in HTML and Markdown, attacker text inert."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from reclaim.report import build_report, render
from reclaim.store import Store

SCRIPT = '<script>alert(1)</script>'
LINK = "[click](javascript:alert(1)) ![x](http://evil.example/p.png)"
MID = "<evil@attacker.example>"


def _summary() -> dict[str, Any]:
    touched = {"sessions": {"ips": ["203.0.113.45"], "sessionIds": ["s1", "s2"], "userAgents": []},
               "categories": [
                   {"category": "mailRead", "label": "Mail read", "count": 2, "records": 2, "users": [],
                    "first": "2026-12-01T16:59:02Z", "last": "2026-12-03T18:05:00Z",
                    "items": [{"access": "sync", "folder": "\\Inbox", "time": "2026-12-01T16:59:02Z"},
                              {"access": "bind", "folder": "\\RSS Feeds", "internetMessageId": MID,
                               "subject": SCRIPT, "time": "2026-12-03T18:05:00Z"}]},
                   {"category": "sharing", "label": "Sharing", "count": 1, "records": 1, "users": [],
                    "first": "2026-12-01T17:34:12Z", "last": "2026-12-01T17:34:12Z",
                    "items": [{"file": f"https://contoso-my.sharepoint.com/{LINK}", "operation": "AnonymousLinkCreated",
                               "time": "2026-12-01T17:34:12Z"}]}]}
    coverage = {"since": "2026-11-04T00:00:00Z", "until": "2026-12-04T00:00:00Z", "auditFrom": "2026-11-04T00:00:00Z",
                "trust": [{"what": "unified audit log ingestion", "ok": False,
                           "detail": "OFF (Get-AdminAuditLogConfig)"},
                          {"what": "mailbox auditing of pat@contoso.com", "ok": None,
                           "detail": f"not checked: {SCRIPT}"}],
                "recordTypes": [{"type": "MailItemsAccessed", "available": False, "why": "no Audit (Premium)"}],
                "searches": [{"kind": "activity_audit_records", "label": "mail read, sent, moved and deleted",
                              "records": 50000, "windows": 33, "splits": 32, "complete": False,
                              "why": "still at the search's cap of records after splitting"}],
                "notAvailable": [{"what": "MailItemsAccessed records", "why": "no Audit (Premium)"}]}
    return {"verdict": "compromised", "because": "x", "touched": {"pat@contoso.com": touched}, "coverage": coverage,
            "user": {"id": "u1", "userPrincipalName": "pat@contoso.com", "displayName": "Pat"}}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    store = Store(str(tmp_path_factory.mktemp("scope") / "cases.db"))
    try:
        now = datetime(2026, 12, 4, tzinfo=UTC)
        case = store.create_case("investigate", "pat@contoso.com", since=now, until=now)
        store.set_verdict(case.id, "compromised", summary=_summary())
        report = build_report(store, case.id, UTC)
        return {fmt: render(report, fmt) for fmt in ("html", "md")}
    finally:
        store.close()


def test_html_has_both_sections_with_attacker_text_escaped(rendered: dict[str, str]) -> None:
    html = rendered["html"]
    assert 'id="touched"' in html and 'id="coverage"' in html
    assert "What the attacker touched" in html and "Mail read" in html and "Sharing" in html
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;evil@attacker.example&gt;" in html
    assert 'href="javascript' not in html and "<img" not in html
    assert "OFF (Get-AdminAuditLogConfig)" in html and "not recorded" in html and "still at the search" in html


def test_markdown_has_both_sections_with_attacker_text_inert(rendered: dict[str, str]) -> None:
    md = rendered["md"]
    assert "## What the attacker touched" in md and "## Coverage" in md
    assert "\\<script\\>alert(1)" in md  # the subject, as escaped text
    assert f"`https://contoso-my.sharepoint.com/{LINK}`" in md  # the file name, as one inert code span
    assert "| Mail read | 2 | 2 |" in md
    assert "**unified audit log ingestion:** no: OFF" in md
    assert "MailItemsAccessed records" in md


def test_a_case_without_them_has_neither_section(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "cases.db"))
    try:
        case = store.create_case("investigate", "pat@contoso.com")
        store.set_verdict(case.id, "clean", summary={"verdict": "clean", "because": "nothing"})
        report = build_report(store, case.id, UTC)
        html, md = render(report, "html"), render(report, "md")
    finally:
        store.close()
    assert 'id="touched"' not in html and 'id="coverage"' not in html
    assert "## What the attacker touched" not in md and "## Coverage" not in md
