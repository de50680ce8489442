"""The Markdown report (for a ticket): attacker-controlled text cannot add Markdown or HTML.

- :func:`md_text` for prose that carries tenant text: made visible and kept on one line; only what Markdown /
  GFM would interpret is backslash-escaped: ``\\ ` * _ ~ [ ] < > # | ! $``, an ``&`` that could start an
  entity, an ``@`` that could start a mention (not the one inside an address: ``alice.wu@contoso.com`` stays
  as written), the colon of ``scheme://``, ``mailto:`` and ``xmpp:``, the dot of ``www.`` and a leading
  ``- + = >`` or ``1.`` (block starts inside list items): no emphasis, link, image, raw HTML, entity, table
  cell, URL autolink, mention or heading can form;
- :func:`md_code` for raw values (ids, hashes, addresses): a code span whose backtick fence is longer than
  any run of backticks inside (nothing in a code span is interpreted), pipes escaped for tables.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from reclaim.report._build import format_time, value_text
from reclaim.report._files import FilesView
from reclaim.report._notify import NotifyView
from reclaim.report.model import SEVERITY_ORDER, FindingView, Report
from reclaim.text import visible_line

__all__ = ["md_code", "md_text", "report_markdown"]

_SPECIAL = re.compile(r"[\\`*_~\[\]<>#|!$]|&(?=[#A-Za-z])|(?<![\w.+-])@(?=\w)"
                      r"|(?<=[A-Za-z]):(?=//)|(?i:(?<=mailto)|(?<=xmpp)):")
_WWW = re.compile(r"(?i)\b(www)\.")
_LEADING = re.compile(r"^(\s*)([-+=>]|\d{1,9}(?=[.)]))")
_BACKTICKS = re.compile(r"`+")


def md_text(value: object) -> str:
    """Tenant text as inert Markdown inline text, on one line."""
    text = _SPECIAL.sub(lambda m: "\\" + m.group(), visible_line(str(value)))
    text = _WWW.sub(r"\1\\.", text)
    return _LEADING.sub(lambda m: m.group(1) + ("\\" + m.group(2) if not m.group(2)[0].isdigit()
                                               else m.group(2) + "\\"), text, count=1)


def md_code(value: object) -> str:
    """Tenant text as an inert code span (longest backtick run + 1 as the fence), pipes escaped for tables."""
    text = visible_line(str(value)).replace("|", "\\|")
    if not text:
        return "` `"
    longest = max((len(m.group()) for m in _BACKTICKS.finditer(text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith(("`", " ")) or text.endswith(("`", " ")) else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def _finding(f: FindingView, lines: list[str], when: str) -> None:
    lines.append(f"#### {f.severity.upper()}: {md_text(f.title)}")
    lines.append("")
    meta = f"Check {md_code(f.check)} · explains: {md_text(f.symptom)}"
    if f.time is not None:
        meta += f" · {md_text(when)}"
    lines.append(meta)
    lines.append("")
    for fact in f.facts:
        lines.append(f"- **{md_text(fact.label)}:** {md_code(fact.value)}")
    for reason in f.reasons:
        lines.append(f"- {md_text(reason)}")
    lines.append("")


def _files_section(view: FilesView) -> list[str]:
    """Shares the account made and files attacker sessions touched; every file name through md_text."""
    out = ["## Files", "", "OneDrive and SharePoint: what was shared from the account, and what attacker sessions "
           "downloaded, opened or deleted (for the breach-notification decision).", ""]
    if view.shares:
        out += ["### Shares", "", _row("File", "Who can use it", "Access", "Shared with", "Created", "From", "Now"),
                _row("---", "---", "---", "---", "---", "---", "---")]
        for r in view.shares:
            out.append(_row(md_code(r.path), md_text(r.scope), md_text(r.type), md_code(r.target or "-"),
                            md_text(r.created or "-"), md_code(r.client_ip or "-"), md_text(r.status)))
        out.append("")
    for burst in view.mass_downloads:
        out += [f"**Mass download:** {md_text(burst)}", ""]
    if view.files:
        out += ["### Files the attacker downloaded, opened or deleted", "",
                _row("Access", "File", "Time (UTC)", "From"), _row("---", "---", "---", "---")]
        for f in view.files:
            out.append(_row(md_text(f.access), md_code(f.path), md_text(f.time or "-"), md_code(f.ip or "-")))
        out.append("")
    return out


def _notify_section(view: NotifyView) -> list[str]:
    """Outside recipients of the attacker's mail (the people to tell) and the colleagues who got it."""
    out = ["## People to notify", "", "Mail the attacker sent from the account. Outside recipients cannot be "
           "reached by reclaim: tell them the mail was not sent by the account's owner (also in notify.csv).", ""]
    if view.external:
        out += [f"### Outside recipients ({len(view.external)})", "",
                _row("Recipient", "Time (UTC)", "Subject", "Delivery"), _row("---", "---", "---", "---")]
        for r in view.external:
            out.append(_row(md_code(r.address), md_text(r.time or "-"), md_text(r.subject), md_text(r.status or "-")))
        out.append("")
    if view.internal:
        out += ["### Colleagues who received it", "", _row("Mailbox", "Time (UTC)", "Subject", "Their copy"),
                _row("---", "---", "---", "---")]
        for r, state in view.internal:
            out.append(_row(md_code(r.address), md_text(r.time or "-"), md_text(r.subject), md_text(state)))
        out.append("")
    return out


def _tenant_section(report: Report) -> list[str]:
    """A sweep's or hunt's tenant-wide view: facts, blast radius, flagged users, tenant findings."""
    tv = report.tenant
    if tv is None:
        return []
    out = ["## " + ("The tenant and its mailboxes" if tv.kind == "sweep" else "Who else: the indicators across "
                    "the tenant"), ""]
    out += [f"- **{md_text(label)}:** {md_text(value)}" for label, value in tv.facts]
    out += ["", f"**Blast radius:** {md_text(tv.blast_radius)}", "",
            f"### {'Flagged mailboxes' if tv.kind == 'sweep' else 'Users matched'} ({len(tv.flagged)})", ""]
    if tv.flagged:
        out += [_row("User", "Worst", "Why"), _row("---", "---", "---")]
        out += [_row(md_code(row.user), md_text(row.worst), md_text("; ".join(row.why))) for row in tv.flagged]
    else:
        out.append("None.")
    out.append("")
    if tv.kind == "sweep":
        out += [f"### Findings about the tenant itself ({len(tv.tenant_findings)})", ""]
        out += [f"- {md_text(f.severity.upper())}: {md_text(f.title)}" for f in tv.tenant_findings] or ["None."]
        out.append("")
    if tv.campaigns:
        out += ["### Forwarding destinations shared by several users", ""]
        out += [f"- {md_code(d)}: {md_text(', '.join(users))}" for d, users in tv.campaigns]
        out.append("")
    return out


def _compact(value: Any, cap: int) -> str:
    """Raw journal data as one line of JSON (exactly what was sent / read), capped."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= cap else text[:cap] + f"… ({len(text) - cap} more characters)"


def report_markdown(report: Report) -> str:
    zone = report.generated_at.tzinfo
    assert zone is not None

    def when(moment: datetime | None) -> str:
        return format_time(moment, zone)

    s, case, chain = report.summary, report.case, report.chain
    out: list[str] = [
        f"# {md_text(report.title)}: {md_text(s.account)}",
        "",
        f"Case {md_code(case.id)} · {md_text(case.kind)} · written {md_text(when(report.generated_at))} by reclaim."
        f" All times are in **{md_text(report.tz_name)}**.",
        "",
        "## Summary",
        "",
        f"**Verdict: {md_text((s.verdict or case.status).upper())}.** {md_text(s.headline)}",
        "",
        f"**{'Tenant' if report.tenant else 'Account'}:** {md_code(s.account)}"
        + (f" (display name now {md_code(s.display_name)})" if s.display_name else ""),
        "",
        f"**When:** {md_text(s.when)}",
        "",
        "### How it was found",
        "",
        *[f"- {md_text(line)}" for line in s.how_found],
        "",
        "### What was done",
        "",
        *[f"- {md_text(line)}" for line in s.done],
        "",
        "### What still needs a person",
        "",
        *[f"{i}. {md_text(line)}" for i, line in enumerate(s.needs_a_person, 1)],
        "",
        *_tenant_section(report),
        "## Findings by severity",
        "",
        _row("Severity", "Findings"),
        _row("---", "---:"),
        *[_row(name, str(report.severity_counts[name])) for name in SEVERITY_ORDER],
        "",
    ]
    if not report.findings:
        out += ["No compromise indicators were found.", ""]
    for name in SEVERITY_ORDER:
        group = [f for f in report.findings if f.severity == name]
        if group:
            out += [f"### {name.capitalize()} ({len(group)})", ""]
            for f in group:
                _finding(f, out, when(f.time))
    out += ["### Prevention", ""]
    if report.prevention:
        for f in report.prevention:
            _finding(f, out, when(f.time))
    else:
        out += ["No prevention findings.", ""]

    out += ["## Timeline", "", f"The incident first, oldest to newest; times in {md_text(report.tz_name)}.", ""]
    if report.timeline:
        out += [_row(f"Time ({md_text(report.tz_name)})", "Kind", "Event"), _row("---", "---", "---")]
        for t in report.incident_timeline:
            kind = f"{t.severity} {t.kind}" if t.severity else t.kind
            out.append(_row(md_text(when(t.time)), md_text(kind), md_text(t.summary)))
        out.append("")
        if report.context_timeline:
            out += ["<details>", f"<summary>{len(report.context_timeline)} earlier events, before the suspicious "
                    "window (routine context)</summary>", "",
                    _row(f"Time ({md_text(report.tz_name)})", "Kind", "Event"), _row("---", "---", "---")]
            for t in report.context_timeline:
                out.append(_row(md_text(when(t.time)), md_text(t.kind), md_text(t.summary)))
            out += ["", "</details>", ""]
    else:
        out += ["The case has no timeline events.", ""]

    if report.files is not None:
        out += _files_section(report.files)
    if report.notify is not None:
        out += _notify_section(report.notify)
    from reclaim.report._breach_scope import (  # here: it imports md_text from this module
        coverage_markdown,
        touched_markdown,
    )
    out += touched_markdown(report.case.summary or {}) + coverage_markdown(report.case.summary or {})

    out += ["## Remediation journal", ""]
    if (seal := report.integrity) is not None:
        if seal.ok:
            out.append(f"**Case seal intact:** {seal.length} seal entries cover its verdict, evidence, findings, "
                       "timeline, not-checked records and journal.")
        else:
            out.append(f"**Case ALTERED:** {md_text('; '.join(seal.problems))}. Do not rely on this case.")
        out += ["", f"Seal head (the anchor: compare with `reclaim verify --offline {case.id}`): "
                    f"{md_code(seal.head)}", ""]
    if chain.ok:
        out.append(f"**Hash chain verified:** {chain.length} journal entries, each pointing at the hash of the one "
                   "before; every before-state snapshot matches its SHA-256.")
    else:
        out.append(f"**Hash chain BROKEN at entry {chain.first_bad_seq}:** {md_text(chain.reason or '')}. "
                   "Do not rely on this journal.")
    out += ["", f"Head hash: {md_code(chain.head_hash)}", ""]
    bad = [e for e in report.evidence if not e.hash_ok]
    if bad:
        out += [f"**{len(bad)} evidence item(s) no longer match their SHA-256.**", ""]
    if report.actions:
        out += ["### What was changed", ""]
        for a in report.actions:
            undo = {True: "can be undone", False: "cannot be undone", None: "reversibility not recorded"}[a.reversible]
            out.append(f"- {md_text(a.sentence)} ({md_text(undo)})")
        out += ["", "<details>", "<summary>Raw data for the responder</summary>", "",
                _row("Action", "Target", "Before the change", "Request", "Re-read"),
                _row("---", "---", "---", "---", "---")]
        for a in report.actions:
            before = ("no snapshot" if a.before_evidence_id is None else
                      f"evidence {a.before_evidence_id} {md_code(value_text(a.before_state, cap=300))}")
            request = md_code(_compact(a.request, 300)) if a.request else "-"
            check = md_text(a.verification) + (f" {md_code(_compact(a.verify, 200))}" if a.verify else "")
            out.append(_row(md_code(a.action_id), md_code(a.target), before, request, check))
        out += ["", "### Entries", "",
                _row("#", "Time", "Action", "Target", "Step", "Entry hash"),
                _row("---:", "---", "---", "---", "---", "---")]
        for j in report.journal:
            out.append(_row(str(j.seq), md_text(when(j.recorded_at)), md_code(j.action_id), md_code(j.target),
                            md_text(j.step), md_code(j.entry_hash)))
        out += ["", "</details>", ""]
    else:
        out += ["No remediation has been journaled for this case: nothing was changed in the tenant by reclaim.", ""]

    out += ["## What was not checked", ""]
    if report.not_checked:
        out += ["For these, the absence of a finding means \u201cunknown\u201d, not \u201cclean\u201d.", "",
                _row("What", "Why not"), _row("---", "---")]
        for n in report.not_checked:
            what = md_code(n.what) + (" (evidence)" if n.source == "evidence" else "")
            out.append(_row(what, md_text(n.reason + (f": {n.detail}" if n.detail else ""))))
        out.append("")
    else:
        out += ["Everything reclaim checks was checked: every source could be read.", ""]

    out += ["## Evidence", "", _row("#", "Kind", "Source", "Collected", "Bytes", "SHA-256", "Hash"),
            _row("---:", "---", "---", "---", "---:", "---", "---")]
    for e in report.evidence:
        out.append(_row(str(e.id), md_code(e.kind), md_text(e.source), md_text(when(e.collected_at)), str(e.size),
                        md_code(e.sha256), "ok" if e.hash_ok else "**MISMATCH**"))
    out += ["", "---", "",
            f"Written by reclaim from case {md_code(case.id)}; journal head hash {md_code(chain.head_hash)}"
            + ("." if report.integrity is None else f"; seal head {md_code(report.integrity.head)}."), ""]
    return "\n".join(out)
