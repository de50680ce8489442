"""Every format for the cases the investigate / remediate tests create: content, schema, inertness."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from html import unescape as html_unescape
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import jsonschema
import pytest
from markdown_it import MarkdownIt
from markupsafe import escape

from reclaim.remediate.actions.unblock_sender import UNBLOCK_DELAY
from reclaim.report import build_report, render, schema
from reclaim.store import Store
from tests.report.cases import HOSTILE_RULES, HOSTILE_UPN, SCRIPT_RULE, Investigated

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Elements(HTMLParser):
    """The element names and the text of an HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Elements:
    parser = Elements()
    parser.feed(html)
    parser.close()
    return parser


def rendered(investigated: Investigated, name: str, tz: str = "UTC") -> dict[str, str]:
    zone = UTC if tz == "UTC" else ZoneInfo(tz)
    with Store(investigated.db) as store:
        report = build_report(store, investigated.cases[name], zone)
    return {fmt: render(report, fmt) for fmt in ("html", "md", "json", "csv", "evidence")}


@pytest.mark.parametrize("name", ["bec-classic", "journal", "remediated", "clean", "hostile", "bec-campaign",
                                  "sweep", "hunt"])
def test_all_formats_for_every_case(investigated: Investigated, name: str) -> None:
    out = rendered(investigated, name)
    doc = json.loads(out["json"])
    jsonschema.Draft202012Validator(schema()).validate(doc)
    assert doc["case"]["id"] == investigated.cases[name]
    assert all(ord(c) < 128 for c in out["json"]), "JSON is written with ensure_ascii"
    html = parse(out["html"])
    assert not {t for t, _ in html.tags} & {"script", "iframe", "object", "embed", "link", "img", "form", "base"}
    assert not any(k.startswith("on") for _, attrs in html.tags for k in attrs), "no event handler attributes"
    assert not re.search(r"(?i)(src|href)\s*=\s*[\"']?(https?:|//)", out["html"]), "nothing is fetched"
    assert [t for t, a in html.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    text = "".join(html.text)
    for heading in ("Summary", "Findings by severity", "Timeline", "Remediation journal", "What was not checked"):
        assert heading in text
    assert doc["journal"]["chain"]["headHash"] in text and doc["journal"]["chain"]["headHash"] in out["md"]
    for line in out["md"].splitlines():
        assert "\x1b" not in line and "\u202e" not in line
    rows = list(csv.reader(io.StringIO(out["csv"])))
    assert rows[0][0] == "case" and len(rows) == 1 + len(doc["findings"]) + len(doc["prevention"])
    assert not any(cell.startswith(FORMULA_START) for row in rows for cell in row)


def test_bec_classic_summary_and_key_evidence(investigated: Investigated) -> None:
    out = rendered(investigated, "bec-classic")
    doc = json.loads(out["json"])
    summary = doc["summary"]
    assert summary["verdict"] == "compromised" and summary["account"] == "alice.wu@contoso.com"
    assert summary["suspiciousWindow"]["since"].startswith("20")
    needs = " ".join(summary["needsAPerson"])
    for must in ("received mail from this account", "Sent Items", "Re-enable access", "re-compromise"):
        assert must in needs
    assert "Nothing has been changed" in summary["done"][0]
    text = "".join(parse(out["html"]).text)
    # the exact rule, forwarding address, sign-in IP and place, method added, grant scopes
    for fact in ("RSS Feeds", "invoice, payment, wire, bank", "invoices.contoso@mailvault.example", "203.0.113.45",
                 "NG", "+234 8030000142", "Mail.ReadWrite, Mail.Send", "Outlook Secure Access"):
        assert fact in text, fact
        assert fact in out["md"].replace("\\", ""), fact
    # each finding names the procedure symptom it explains
    assert all(f["symptom"] for f in doc["findings"])
    assert "explains: remove mailbox forwarding" in text
    severities = [f["severity"] for f in doc["findings"]]
    order = ["critical", "high", "medium", "low", "info"]
    assert severities == sorted(severities, key=order.index), "most severe first"
    assert sum(doc["severityCounts"].values()) == len(doc["findings"])


def test_timeline_newest_last_in_the_readers_zone(investigated: Investigated) -> None:
    utc = json.loads(rendered(investigated, "journal")["json"])
    times = [t["time"] for t in utc["timeline"]]
    assert times == sorted(times) and len(times) > 20
    assert utc["timeline"][-1]["origin"] == "remediation"  # remediation happened after the evidence
    berlin = rendered(investigated, "journal", "Europe/Berlin")
    tokyo = rendered(investigated, "journal", "Asia/Tokyo")
    assert "Europe/Berlin" in berlin["html"] and " CET" in berlin["html"]
    assert " JST" in tokyo["html"] and " CET" not in tokyo["html"]
    # Tokyo has no daylight saving time: every UTC time moves by exactly 9 hours
    moment = datetime.fromisoformat(utc["timeline"][0]["time"].replace("Z", "+00:00"))
    assert (moment + timedelta(hours=9)).strftime("%Y-%m-%d %H:%M:%S JST") in tokyo["html"]
    berlin_time = moment.astimezone(ZoneInfo("Europe/Berlin"))
    assert berlin_time.strftime("%Y-%m-%d %H:%M:%S %Z") in berlin["html"]
    assert berlin_time.utcoffset() in (timedelta(hours=1), timedelta(hours=2))


def test_journal_actions_with_before_state_result_verification_reversibility(investigated: Investigated) -> None:
    out = rendered(investigated, "journal")
    doc = json.loads(out["json"])
    actions = {a["actionId"]: a for a in doc["journal"]["actions"]}
    block = actions["block-sign-in"]
    assert block["beforeState"] == {"id": block["target"], "accountEnabled": True}
    assert block["verification"] == "held" and block["reversible"] is True and block["outcome"] == "done and verified"
    assert block["request"]["body"] == {"accountEnabled": False}
    assert actions["reset-password"]["reversible"] is False
    assert actions["reset-password"]["request"]["body"]["passwordProfile"]["password"] == "[redacted]"
    assert actions["disable-inbox-rule"]["verification"] == "did not hold"
    assert actions["unblock-sender"]["outcome"].startswith("skipped: containment not verified")
    chain = doc["journal"]["chain"]
    assert chain["ok"] is True and chain["length"] == 13 and doc["intact"] is True
    html = parse(out["html"])
    text = "".join(html.text)
    assert "Hash chain verified" in text and chain["headHash"] in text
    assert "did not hold" in text
    assert actions["unblock-sender"]["reversible"] is None  # the journal does not say: shown as "not recorded"
    # the journal as sentences: what changed, from what to what, when, by whom, and the re-read
    done = doc["summary"]["done"]
    block_line = next(line for line in done if line.startswith("Block sign-in:"))
    assert "account enabled: yes → no" in block_line and "by responder@contoso.com" in block_line
    assert "Checked afterwards: sign-in is blocked" in block_line and block_line.endswith("It can be undone.")
    reset_line = next(line for line in done if line.startswith("Reset the password:"))
    assert "password: replaced (the new one is never recorded)" in reset_line and "[redacted]" not in reset_line
    rule_line = next(line for line in done if line.startswith("Disable inbox rule"))
    assert "it did NOT hold (the rule is enabled again)" in rule_line
    assert block["sentence"] == block_line.removesuffix(" It can be undone.")
    assert block["changes"] == ["account enabled: yes → no"] and block["operator"] == "responder@contoso.com"
    assert any("reclaim restore-access" in line for line in doc["summary"]["needsAPerson"])
    # the raw data stays, behind a disclosure (HTML <details>, Markdown too)
    assert re.search(r"<details><summary>Raw data for the responder: .*block-sign-in", out["html"])
    assert '"accountEnabled": false' in html_unescape(out["html"])
    md = out["md"]
    assert "### What was changed" in md and "<summary>Raw data for the responder</summary>" in md
    assert '`{"body": {"accountEnabled": false}, "method": "PATCH"' in md


def test_hostile_text_is_inert_and_visible(investigated: Investigated) -> None:
    out = rendered(investigated, "hostile")
    doc = json.loads(out["json"])
    names = {f["evidence"].get("name") for f in doc["findings"] if f["check"] == "inbox-rule-external-forward"}
    assert set(HOSTILE_RULES) <= names, "every hostile rule is a finding (the JSON keeps the text as data)"
    html = parse(out["html"])
    text = "".join(html.text)
    assert SCRIPT_RULE in text, "the script is shown as text"
    assert "\\x1b[2J\\x1b]0;owned\\x07" in text and "<U+202E>gpj.exe" in text, "escapes shown visibly"
    assert '=HYPERLINK("http://evil.example/x","Click me")' in text
    assert "[bold red]OK[/bold red]" in text
    assert "\x1b" not in out["html"] and "\u202e" not in out["html"]
    md = MarkdownIt("commonmark", {"html": True}).enable("table").render(out["md"])
    found = parse(md)
    assert not {t for t, _ in found.tags} & {"script", "img", "a", "em", "strong"} - {"strong"}
    assert not [a for t, a in found.tags if t == "a"], "no link forms from tenant text"
    assert SCRIPT_RULE in "".join(found.text)
    rows = list(csv.reader(io.StringIO(out["csv"])))
    titles = [r[5] for r in rows[1:]]
    assert any(SCRIPT_RULE in t for t in titles)


def test_the_display_name_and_subject_are_escaped_in_the_summary(investigated: Investigated) -> None:
    out = rendered(investigated, "hostile")
    doc = json.loads(out["json"])
    assert doc["summary"]["account"] == HOSTILE_UPN
    assert "<img src=x onerror=alert(1)>" in " ".join(doc["summary"]["needsAPerson"])
    assert "&lt;img src=x onerror=alert(1)&gt;" in out["html"]
    assert "\\<img src=x onerror=alert(1)\\>" in out["md"]


def test_schema_is_valid_and_strict(investigated: Investigated) -> None:
    jsonschema.Draft202012Validator.check_schema(schema())
    doc = json.loads(rendered(investigated, "clean")["json"])
    validator = jsonschema.Draft202012Validator(schema())
    broken = {**doc, "surprise": 1}
    assert list(validator.iter_errors(broken)), "unknown top-level keys are refused"
    bad_finding = json.loads(json.dumps(doc))
    bad_finding["severityCounts"]["critical"] = -1
    assert list(validator.iter_errors(bad_finding))


def test_clean_case_says_so_and_lists_nothing_to_fix(investigated: Investigated) -> None:
    doc = json.loads(rendered(investigated, "clean")["json"])
    assert doc["summary"]["verdict"] == "clean"
    assert doc["summary"]["headline"].startswith("No sign")
    assert not any(f["severity"] in ("critical", "high") for f in doc["findings"])


def test_a_case_remediated_by_reclaim(investigated: Investigated) -> None:
    out = rendered(investigated, "remediated")
    doc = json.loads(out["json"])
    actions = {a["actionId"]: a for a in doc["journal"]["actions"]}
    assert "run" not in actions, "the run brackets are not actions"
    assert {"block-sign-in", "revoke-sessions", "reset-password", "remove-forwarding", "disable-inbox-rule",
            "unblock-sender"} <= set(actions)
    for name in ("block-sign-in", "reset-password", "remove-forwarding", "disable-inbox-rule"):
        action = actions[name]
        assert action["verification"] == "held", action
        assert action["beforeEvidenceId"] is not None and action["beforeState"] is not None
        assert isinstance(action["reversible"], bool) and action["undo"]
    assert actions["block-sign-in"]["beforeState"]["accountEnabled"] is True
    assert actions["reset-password"]["reversible"] is False
    assert actions["unblock-sender"]["verification"] == "pending"  # the emulator lifts the block after a delay
    assert "[redacted]" in json.dumps(actions["reset-password"]["request"])
    assert doc["journal"]["chain"]["ok"] and doc["intact"]
    done = doc["summary"]["done"]
    assert done[0].startswith("Remediation run-1 by responder@contoso.com started") and "finished" in done[0]
    assert any(line.startswith("Block sign-in") and "account enabled: yes → no" in line
               and "Checked afterwards" in line and line.endswith("It can be undone.") for line in done)
    # one wording for the pending unblock: the summary, the timeline and the terminal (the runner) agree
    unblock = next(line for line in done if line.startswith("Restricted sender"))
    assert f"Pending: Microsoft applies it {UNBLOCK_DELAY}" in unblock
    pending = [t["summary"] for t in doc["timeline"] if t["source"] == "unblock-sender" and "pending" in t["summary"]]
    assert pending and all(UNBLOCK_DELAY in p for p in pending)
    assert not any("did not hold" in t["summary"] for t in doc["timeline"] if t["source"] == "unblock-sender")
    assert any(UNBLOCK_DELAY in line for line in doc["summary"]["needsAPerson"])
    assert "30 minutes" not in out["html"] and "within 1 h," not in out["html"]
    assert any("reclaim verify" in line and "--wait" in line for line in done)
    assert doc["summary"]["howFound"][0].startswith(
        f"reclaim read {sum(1 for e in doc['evidence'] if not e['kind'].startswith('snapshot:'))} pieces")
    kinds = [t["summary"] for t in doc["timeline"] if t["origin"] == "remediation"]
    assert kinds[0] == "remediation run-1 started" and kinds[-1] == "remediation run-1 finished"


def test_html_is_accessible_by_structure(investigated: Investigated) -> None:
    html = parse(rendered(investigated, "remediated")["html"])
    tags = [t for t, _ in html.tags]
    assert tags.count("h1") == 1 and tags.count("main") == 1 and tags.count("nav") == 1
    assert [a.get("lang") for t, a in html.tags if t == "html"] == ["en"]
    ids = {a["id"] for _, a in html.tags if a.get("id")}
    for tag, attrs in html.tags:
        if tag in ("section", "article", "svg") and "aria-labelledby" in attrs:
            assert set(str(attrs["aria-labelledby"]).split()) <= ids, attrs
    assert all("aria-labelledby" in a for t, a in html.tags if t == "section")
    assert all(a.get("role") == "img" and "aria-labelledby" in a for t, a in html.tags if t == "svg")
    scopes = [a.get("scope") for t, a in html.tags if t == "th"]
    assert scopes and all(scope in ("col", "row") for scope in scopes), "every header cell says what it heads"


def test_timeline_is_scaled_to_the_incident_with_the_context_folded(investigated: Investigated) -> None:
    with Store(investigated.db) as store:
        report = build_report(store, investigated.cases["remediated"], UTC)
    since = report.summary.window_since
    assert since is not None
    # the sample has a sign-in method registered a year before: routine context, not the incident
    assert report.context_timeline and min(t.time for t in report.context_timeline).year < since.year
    assert all(t.time < since for t in report.context_timeline)
    assert report.incident_timeline[0].time >= since
    assert len(report.incident_timeline) + len(report.context_timeline) == len(report.timeline)
    html = render(report, "html")
    # the strip: the suspicious window spans most of its 880 pixels (it was a few pixels when scaled from the
    # oldest evidence), and the context is one folded mark at the left edge
    window = re.search(r'<rect x="([\d.]+)" y="6" width="([\d.]+)"', html)
    assert window is not None and float(window.group(1)) < 60 and float(window.group(2)) > 800, window
    assert f"« {len(report.context_timeline)} earlier" in html
    marks = [float(x) for x in re.findall(r'<circle cx="([\d.]+)"', html)]
    assert len(marks) == len(report.incident_timeline) and len({round(x) for x in marks}) >= 15
    # the table leads with the incident; the context follows, folded behind a disclosure
    incident = html.index('class="timeline"')
    context = html.index('<details id="timeline-context">')
    first_context = str(escape(report.context_timeline[0].summary))
    assert incident < context < html.index(first_context, context)
    md = render(report, "md")
    assert md.index("## Timeline") < md.index(f"<summary>{len(report.context_timeline)} earlier events")


def test_evidence_document_holds_the_full_record(investigated: Investigated) -> None:
    with Store(investigated.db) as store:
        report = build_report(store, investigated.cases["journal"], UTC)
    evidence = render(report, "evidence")
    text = html_unescape(evidence)
    assert "<title>reclaim evidence " in evidence and "Content-Security-Policy" in evidence
    assert all(html_unescape(t.summary) in text or t.summary in text for t in report.timeline[:50])
    assert f"Timeline ({len(report.timeline)} events)" in text
    assert all(j.entry_hash in evidence for j in report.journal)
    assert all(e.sha256 in evidence for e in report.evidence)
    assert '"accountEnabled": false' in text  # the raw request, printed (no disclosure to open on paper)
    hostile = render_case(investigated, "hostile", "evidence")
    assert "<script" not in hostile and "<img" not in hostile and "&lt;script&gt;" in hostile


def render_case(investigated: Investigated, name: str, fmt: str) -> str:
    with Store(investigated.db) as store:
        return render(build_report(store, investigated.cases[name], UTC), fmt)


def test_sweep_and_hunt_cases_have_their_own_report(investigated: Investigated) -> None:
    sweep = rendered(investigated, "sweep")
    doc = json.loads(sweep["json"])
    view = doc["tenantView"]
    assert view["kind"] == "sweep" and view["tenant"] == "fabrikam"
    flagged = {row["user"] for row in view["flagged"]}
    assert {"tom.berg@fabrikam.com", "li.chen@fabrikam.com", "nina.fischer@fabrikam.com"} <= flagged
    facts = {f["label"]: f["value"] for f in view["facts"]}
    assert int(facts["Mailboxes swept"]) >= len(flagged) and facts["Status"] == "complete"
    assert f"{len(flagged)} mailbox(es) of {facts['Mailboxes swept']}" in view["blastRadius"]
    assert all(step.startswith("Investigate each flagged mailbox: `reclaim investigate ")
               for step in view["nextSteps"])
    html = sweep["html"]
    text = "".join(parse(html).text)
    assert "<h1>Tenant sweep report</h1>" in html and "Compromised account report" not in text
    assert "covering - to -" not in text and "account fabrikam" not in text
    assert "Flagged mailboxes" in text and "Findings about the tenant itself" in text
    assert "&lt;script&gt;" in html and "<script" not in html  # a flagged rule's name, as data
    assert sweep["md"].startswith("# Tenant sweep report: fabrikam")

    hunt = rendered(investigated, "hunt")
    hdoc = json.loads(hunt["json"])
    hview = hdoc["tenantView"]
    assert hview["kind"] == "hunt"
    assert f"case {investigated.cases['hostile']} (tom.berg@fabrikam.com)" in [f["value"] for f in hview["facts"]]
    assert [row["user"] for row in hview["flagged"]] == ["li.chen@fabrikam.com"]
    assert "<h1>Hunt report</h1>" in hunt["html"] and "Users matched (1)" in "".join(parse(hunt["html"]).text)
    assert any("reclaim investigate li.chen@fabrikam.com" in line for line in hdoc["summary"]["needsAPerson"])
    for document in (doc, hdoc):
        jsonschema.Draft202012Validator(schema()).validate(document)


def test_profile_fields_the_attacker_changed_are_shown_old_to_new(investigated: Investigated) -> None:
    out = rendered(investigated, "remediated")
    doc = json.loads(out["json"])
    change = "display name: \u201cAlice Wu\u201d \u2192 \u201cContoso Accounts Payable\u201d"
    assert doc["summary"]["needsAPerson"][0].startswith("Put the profile back as it was")
    assert change in doc["summary"]["needsAPerson"][0]
    text = "".join(parse(out["html"]).text)
    assert "Profile changed by the attacker" in text and change in text


def test_the_contents_link_to_every_section_there_is(investigated: Investigated) -> None:
    html = rendered(investigated, "remediated")["html"]
    nav = html[html.index("<nav"):html.index("</nav>")]
    targets = re.findall(r'href="#([\w-]+)"', nav)
    sections = re.findall(r'<section id="([\w-]+)"', html)
    assert targets == sections, (targets, sections)
