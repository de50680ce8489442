"""Attacker text through each writer's escaping: Markdown, CSV, HTML (hypothesis plus the known payloads)."""

from __future__ import annotations

import csv
import io
from datetime import UTC
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from reclaim.report._csv import csv_cell
from reclaim.report._markdown import md_code, md_text
from reclaim.text import visible, visible_line
from tests.report.cases import HOSTILE_RULES

MD = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
# Text with Markdown's, HTML's and terminals' special characters well represented.
_PIECES = [*"\\`*_~[]()<>#|!{}$&:@=+-.'\"/ \t\n\r1aZwW", "\x1b", "\u202e", "\u200b", "http://", "www.", "<script>",
           "![x](y)", "&lt;", "&#60;", "- ", "1. ", "```", "~~"]
hostile_text = st.lists(st.sampled_from(_PIECES), max_size=40).map("".join) | st.text(max_size=40)


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text += data


def html_of(markdown: str) -> Tags:
    parser = Tags()
    parser.feed(MD.render(markdown))
    parser.close()
    return parser


@settings(max_examples=200, deadline=None)
@given(hostile_text)
def test_md_text_in_a_list_item_stays_one_plain_item(text: str) -> None:
    parsed = html_of(f"- {md_text(text)}\n")
    assert parsed.tags == ["ul", "li"], (text, MD.render(f"- {md_text(text)}\n"))
    assert parsed.text.strip() == visible_line(text).strip()


@settings(max_examples=200, deadline=None)
@given(hostile_text, hostile_text)
def test_md_text_in_a_table_stays_in_its_cell(left: str, right: str) -> None:
    doc = f"| a | b |\n| --- | --- |\n| {md_text(left)} | {md_text(right)} |\n"
    parsed = html_of(doc)
    assert parsed.tags == ["table", "thead", "tr", "th", "th", "tbody", "tr", "td", "td"], (left, right)


@settings(max_examples=200, deadline=None)
@given(hostile_text)
def test_md_code_is_one_code_span(text: str) -> None:
    parsed = html_of(f"- x {md_code(text)}\n")
    assert parsed.tags == ["ul", "li", "code"], (text, md_code(text))
    shown = visible_line(text)
    assert parsed.text[2:].strip() == shown.replace("|", "\\|").strip() or not shown.strip()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_csv_cells_never_start_a_formula(text: str) -> None:
    cell = csv_cell(text)
    assert not cell.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r", "\n"))
    assert "\x1b" not in cell and "\u202e" not in cell


@pytest.mark.parametrize(("text", "expected"), [
    ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
    ("+1+1", "'+1+1"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"),
    ("\r=1", "\\x0d=1"),  # a carriage return is made visible, so the cell no longer starts with it
    ("  =1", "'  =1"), ("plain", "plain"), ("a=b", "a=b"),
])
def test_csv_cell_examples(text: str, expected: str) -> None:
    assert csv_cell(text) == expected


def test_known_payloads_in_markdown() -> None:
    for payload in HOSTILE_RULES:
        parsed = html_of(f"- {md_text(payload)}\n")
        assert parsed.tags == ["ul", "li"]
    assert md_text("see www.evil.example and http://evil.example") == \
        "see www\\.evil.example and http\\://evil.example"
    assert md_text("mention @evil") == "mention \\@evil" and md_text("mailto:x") == "mailto\\:x"
    assert md_text("# heading") == "\\# heading" and md_text("1. item") == "1\\. item"
    assert md_code("a`b") == "``a`b``" and md_code("`x") == "`` `x ``"


def test_visible_shows_what_hides() -> None:
    assert visible("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert visible("x\u202egpj.exe") == "x<U+202E>gpj.exe"
    assert visible("pay\u200bpal") == "pay<U+200B>pal"
    assert visible("\u061c\u00ad\U000e0041") == "<U+061C><U+00AD><U+E0041>"
    assert visible_line("a\tb\nc") == "a\\tb\\nc"
    assert visible("bad\udcff byte") == "bad<U+DCFF> byte"  # undecodable input stays writable as UTF-8


def test_very_long_hostile_strings_stay_bounded_and_inert(tmp_path: Path) -> None:
    from reclaim.report import build_report, render
    from reclaim.store import NewFinding, Store

    huge = ("<script>x</script>=cmd|' /C calc'!A0 \x1b[31m\u202e" * 2000)[:60_000]
    with Store(tmp_path / "c.db") as store:
        case = store.create_case("investigate", "pat@contoso.com")
        store.add_findings(case.id, [NewFinding("inbox-rule-hiding", "high", f"Inbox rule {huge}",
                                                artifact_type="inboxRule", artifact_id="r1",
                                                evidence={"name": huge, "reasons": [huge]})])
        report = build_report(store, case.id, UTC)
    facts = {f.label: f.value for f in report.findings[0].facts}
    assert len(facts["Rule name"]) < 700 and facts["Rule name"].endswith("more characters)")
    out = {fmt: render(report, fmt) for fmt in ("html", "md", "json", "csv")}
    assert "<script>x" not in out["html"] and "\x1b" not in out["html"] and "\u202e" not in out["html"]
    title_line = next(line for line in out["md"].splitlines() if line.startswith("#### HIGH"))
    assert len(title_line) > 60_000 and "\\<script\\>" in title_line  # whole, escaped, on one line
    rows = list(csv.reader(io.StringIO(out["csv"])))
    assert len(rows) == 2 and rows[1][-1].startswith("<script>x</script>=cmd")  # reasons: kept whole, as text
    assert "\x1b" not in out["csv"] and "\\x1b[31m" in out["csv"]


def test_markdown_escapes_only_what_markdown_needs() -> None:
    # issue 22: "alice.wu\\@contoso.com\\:" was over-escaped; an address and a trailing colon mean nothing.
    assert md_text("alice.wu@contoso.com: signed in at 10:42") == "alice.wu@contoso.com: signed in at 10:42"
    assert md_text("Tom & Jerry, 50% off; a+b=c") == "Tom & Jerry, 50% off; a+b=c"
    assert md_text("&amp; &#60;") == "\\&amp; \\&\\#60;"
