"""The reports in a real browser (headless Chromium): no script runs, the key facts are visible, a screenshot.

Skips only when Chromium is not installed (``.ci/run`` installs Debian's ``chromium`` and sets
``RECLAIM_REQUIRE_BROWSER=1``, which turns that skip into a failure). Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from html.parser import HTMLParser
from pathlib import Path

import pytest

from reclaim.report import build_report, render
from reclaim.report.browser import find_chromium, load, print_pdf
from reclaim.store import Store
from tests.report.cases import ANSI_RULE, FORMULA_RULE, IMG_RULE, MARKUP_RULE, SCRIPT_RULE, Investigated

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
REPORT_TITLE = re.compile(r"^reclaim report c-\d{8}-\d{4}: ")


@pytest.fixture(scope="module")
def chromium() -> str:
    found = find_chromium()
    if found is None:
        if os.environ.get("RECLAIM_REQUIRE_BROWSER"):
            pytest.fail("RECLAIM_REQUIRE_BROWSER is set but headless Chromium was not found")
        pytest.skip("headless Chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)")
    return found


class Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text = ""
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False if tag == "title" else self._in_title

    def handle_data(self, data: str) -> None:
        self.text += data
        if self._in_title:
            self.title += data


def parse(html: str) -> Dom:
    dom = Dom()
    dom.feed(html)
    dom.close()
    return dom


def test_reports_in_headless_chromium(chromium: str, investigated: Investigated, tmp_path: Path) -> None:
    pages: dict[str, Path] = {}
    with Store(investigated.db) as store:
        for name in ("journal", "hostile"):
            page = tmp_path / f"{name}.html"
            page.write_text(render(build_report(store, investigated.cases[name], UTC), "html"), encoding="utf-8")
            pages[name] = page
    # The control: the same payloads unescaped, without the report's CSP, do run in this browser, so the
    # checks below would see it if they ran in a report.
    control = tmp_path / "control.html"
    control.write_text(f"<!DOCTYPE html><html><head><title>control</title></head><body><p>{SCRIPT_RULE}</p>"
                       f"<p>{IMG_RULE}</p></body></html>", encoding="utf-8")
    pages["control"] = control

    pngs = {name: ARTIFACTS / f"report-{name}.png" for name in ("journal", "hostile")}
    for png in pngs.values():
        png.unlink(missing_ok=True)
    with ThreadPoolExecutor(max_workers=3) as pool:  # one Chromium per page: DOM and screenshot in one run
        futures = {name: pool.submit(load, page, png=pngs.get(name), height=2000) for name, page in pages.items()}
        printed = pool.submit(print_pdf, pages["journal"], ARTIFACTS / "report-journal.pdf")
        dumped = {name: future.result() for name, future in futures.items()}
        pdf = printed.result().read_bytes()

    control_dom = parse(dumped["control"])
    assert control_dom.title == "pwned", "the control page's script must run (else this test proves nothing)"
    assert ("body", {"data-pwned": "img"}) in control_dom.elements or any(
        a.get("data-pwned") for _, a in control_dom.elements)

    for name in ("journal", "hostile"):
        dom = parse(dumped[name])
        assert REPORT_TITLE.match(dom.title), f"{name}: document.title was changed: {dom.title!r}"
        tags = {tag for tag, _ in dom.elements}
        assert not tags & {"script", "img", "iframe", "object", "embed"}, f"{name}: injected elements {tags}"
        assert not any("data-pwned" in attrs for _, attrs in dom.elements), f"{name}: a payload ran"
        assert "Summary" in dom.text and "Hash chain verified" in dom.text
        assert pngs[name].stat().st_size > 20_000

    # printed with the print stylesheet: several pages, all of one paper size (A4 or Letter, the browser's default)
    pages_printed = re.findall(rb"/Type\s*/Page[^s]", pdf)
    boxes = set(re.findall(rb"/MediaBox\s*\[([^\]]*)\]", pdf))
    assert len(pages_printed) >= 3 and len(boxes) == 1, (len(pages_printed), boxes)
    width, height = (float(n) for n in boxes.pop().split()[2:])
    assert any(abs(width - w) < 2 and abs(height - h) < 2 for w, h in ((612, 792), (595, 842))), (width, height)

    alice = parse(dumped["journal"]).text
    for fact in ("COMPROMISED", "alice.wu@contoso.com", "invoices.contoso@mailvault.example", "203.0.113.45 (NG)",
                 "+234 8030000142", "Mail.ReadWrite, Mail.Send", "Block sign-in", "done and verified",
                 "What still needs a person", "Watch for re-compromise"):
        assert fact in alice, fact
    head = re.search(r"[0-9a-f]{64}", alice[alice.index("Head hash"):])
    assert head is not None

    hostile = parse(dumped["hostile"]).text
    assert SCRIPT_RULE in hostile and IMG_RULE in hostile  # shown as text
    assert FORMULA_RULE in hostile and MARKUP_RULE in hostile
    assert "\x1b" not in hostile and "\u202e" not in hostile
    assert "\\x1b[2J\\x1b]0;owned\\x07" in hostile and "<U+202E>gpj.exe" in hostile  # escapes shown visibly
    assert ANSI_RULE.replace("\x1b", "\\x1b").replace("\x07", "\\x07").replace("\u202e", "<U+202E>") in hostile
    assert "Updated banking details for outstanding invoices <img src=x onerror=alert(1)>" in hostile


#: A4 minus the report's print margins (12 mm each side), in CSS pixels: the width a printed line has.
A4_LINE_PX = round((210 - 24) / 25.4 * 96)
#: For the measurement copy only: every column header word whose text is laid out on more than one line.
MEASURE_SCRIPT = """<script>
const broken = [];
for (const th of document.querySelectorAll('th')) {
  const walker = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const re = /\\S+/g; let m;
    while ((m = re.exec(node.data)) !== null) {
      const range = document.createRange();
      range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
      const tops = new Set(Array.from(range.getClientRects()).filter(r => r.width > 0).map(r => Math.round(r.top)));
      if (tops.size > 1) broken.push(m[0]);
    }
  }
}
document.body.setAttribute('data-headers', String(document.querySelectorAll('th').length));
document.body.setAttribute('data-broken', broken.join('|'));
</script>"""


def pdf_pages(pdf: bytes) -> tuple[int, set[bytes]]:
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf)), set(re.findall(rb"/MediaBox\s*\[([^\]]*)\]", pdf))


def is_a4(boxes: set[bytes]) -> bool:
    width, height = (float(n) for n in next(iter(boxes)).split()[2:])
    return len(boxes) == 1 and abs(width - 595) < 2 and abs(height - 842) < 2


def print_layout_copy(html: str) -> str:
    """The page as printed (its print rules applied on screen), without its CSP, with the measuring script."""
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    return html.replace("@media print", "@media all").replace("</body>", MEASURE_SCRIPT + "</body>")


def test_customer_report_prints_in_8_a4_pages_and_evidence_apart(chromium: str, investigated: Investigated,
                                                                  tmp_path: Path) -> None:
    from reclaim.report import render_pdf

    pages: dict[str, Path] = {}
    pdfs: dict[str, bytes] = {}
    with Store(investigated.db) as store:
        for name in ("remediated", "journal"):
            report = build_report(store, investigated.cases[name], UTC)
            pdfs[name] = render_pdf(report)
            for fmt in ("html", "evidence"):
                page = tmp_path / f"{name}-{fmt}.html"
                page.write_text(render(report, fmt), encoding="utf-8")
                pages[f"{name}-{fmt}"] = page
                measure = tmp_path / f"{name}-{fmt}-measure.html"
                measure.write_text(print_layout_copy(render(report, fmt)), encoding="utf-8")
                pages[f"{name}-{fmt}-measure"] = measure
    (ARTIFACTS / "report-remediated.pdf").write_bytes(pdfs["remediated"])
    with ThreadPoolExecutor(max_workers=2) as pool:
        evidence_pdf = pool.submit(print_pdf, pages["remediated-evidence"], ARTIFACTS / "evidence-remediated.pdf")
        measured = {name: pool.submit(load, page, width=A4_LINE_PX, height=1100)
                    for name, page in pages.items() if name.endswith("-measure")}
        evidence = evidence_pdf.result().read_bytes()
        doms = {name: future.result() for name, future in measured.items()}

    for name, pdf in pdfs.items():
        count, boxes = pdf_pages(pdf)
        assert is_a4(boxes), (name, boxes)
        assert 2 <= count <= 8, f"{name}: the customer's report prints on {count} A4 pages (at most 8)"
    count, boxes = pdf_pages(evidence)
    assert is_a4(boxes) and count > 8, (count, boxes)  # the full record: its own, longer document

    for name, dom in doms.items():
        body = next(attrs for tag, attrs in parse(dom).elements if tag == "body")
        assert int(body.get("data-headers") or 0) >= 2, f"{name}: the measurement did not run"
        assert body.get("data-broken") == "", f"{name}: column headers broken inside a word: {body['data-broken']}"
