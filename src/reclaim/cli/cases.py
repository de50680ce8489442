"""``reclaim cases``: list the cases in the case store (with their remediation status), show one, close one.

Thin: open the store, read, render. Every string that came from a tenant (subjects, titles, artifact ids,
request URLs, journal targets) goes through :func:`reclaim.cli.console.safe` before it reaches rich.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import typer
from rich import box
from rich.table import Table

from reclaim.cli.common import DB_OPTION, reclaim_errors
from reclaim.cli.console import console, inert_json, safe
from reclaim.errors import EXIT_FINDINGS, BadInput

if TYPE_CHECKING:
    from reclaim.store import (
        CaseDetail,
        CaseListItem,
        ChainStatus,
        EvidenceInfo,
        Finding,
        JournalEntry,
        Store,
        TimelineEvent,
    )
    from reclaim.store.models import Case

app = typer.Typer(help="The case store: past investigations, sweeps and hunts, with their evidence and journal.",
                  no_args_is_help=True, rich_markup_mode=None)

ROWS = 50  # evidence items and timeline events listed without --all (a sweep has thousands)
_SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


def _open(db: str | None) -> Store:
    from reclaim.store import Store

    # Only the default location is created on first use; a store named explicitly must exist.
    return Store(db, create=db is None)


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M:%SZ")


def _short(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M")


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


@app.command("list")
def list_cases(
    db: str | None = DB_OPTION,
    kind: str | None = typer.Option(None, "--kind", metavar="KIND",
                                    help="Only cases of this kind (investigate, sweep, hunt)."),
    subject: str | None = typer.Option(None, "--subject", metavar="USER", help="Only cases about this user or tenant."),
    limit: int | None = typer.Option(None, "--limit", min=1, metavar="N", help="At most this many (newest first)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List cases, newest first: the user or tenant, the verdict, the count of findings of medium severity or
    above, the remediation status (none, planned, interrupted, applied, pending, did not hold, verified,
    undone) and whether the case is closed."""
    with reclaim_errors(), _open(db) as store:
        items = store.list_cases(kind=kind, subject=subject, limit=limit)
        statuses = [remediation_status(store.journal(item.case.id)) for item in items]
    if as_json:
        typer.echo(inert_json([{**_list_item_json(item), "remediation": status}
                               for item, status in zip(items, statuses, strict=True)]))
        return
    if not items:
        console.print("no cases yet")
        return
    table = Table(title="Cases", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("case", no_wrap=True)
    table.add_column("created")
    table.add_column("kind", no_wrap=True)
    table.add_column("subject", overflow="fold")
    table.add_column("verdict")
    table.add_column("≥med", justify="right")
    table.add_column("remediation")
    table.add_column("status")
    for item, status in zip(items, statuses, strict=True):
        case = item.case
        table.add_row(safe(case.id), _short(case.created_at), safe(case.kind), safe(case.subject),
                      _verdict(case), str(item.findings_medium_or_above), _remediation_style(status),
                      safe(case.status))
    console.print(table)


_REMEDIATION_STYLE = {"verified": "green", "pending": "yellow", "did not hold": "bold red", "interrupted": "bold red",
                      "undone": "cyan", "planned": "dim", "none": "dim"}


def remediation_status(journal: Sequence[JournalEntry]) -> str:
    """One word for where a case's remediation stands, from its journal."""
    runs = [e for e in journal if e.action_id == "run"]
    last: dict[tuple[str, str], JournalEntry] = {}
    for entry in journal:
        if entry.action_id != "run":
            last[(entry.action_id, entry.target)] = entry
    if not last:
        return "none"
    steps = [e.step for e in last.values()]
    if (runs and runs[-1].step == "applying") or any(s in ("applying", "snapshot", "undoing") for s in steps):
        return "interrupted"
    if all(s == "planned" for s in steps):
        return "planned"
    if all(s in ("undone", "planned", "skipped") for s in steps) and "undone" in steps:
        return "undone"
    held_states = [(e.verify or {}).get("state") for e in last.values() if e.step == "not_held"]
    if any(state != "pending" for state in held_states) or "failed" in steps:
        return "did not hold"
    if held_states:
        return "pending"
    if any(s == "applied" for s in steps):
        return "applied"
    return "verified"


def _remediation_style(status: str) -> str:
    style = _REMEDIATION_STYLE.get(status)
    return f"[{style}]{status}[/{style}]" if style else status


@app.command("close")
def close_case(
    case_id: str = typer.Argument(..., metavar="CASE", help="The case id, e.g. c-20261127-0001."),
    db: str | None = DB_OPTION,
) -> None:
    """Close a case: the work on it is done (its evidence and journal stay, unchanged, and still verify)."""
    with reclaim_errors(), _open(db) as store:
        case = store.get_case(case_id)
        if case.status in ("open", "interrupted"):
            raise BadInput(f"case {case_id} is {case.status}: finish it first",
                           hint=f"resume it (`reclaim remediate --resume {case_id}` or `reclaim sweep --resume "
                                f"{case_id}`), or let it complete")
        status = remediation_status(store.journal(case_id))
        store.set_status(case_id, "closed")
    console.print(f"closed {safe(case_id)} ({safe(case.kind)} of {safe(case.subject)}; remediation: {status})")


@app.command("show")
def show_case(
    case_id: str = typer.Argument(..., metavar="CASE", help="The case id, e.g. c-20261127-0001."),
    db: str | None = DB_OPTION,
    show_all: bool = typer.Option(False, "--all", help=f"List every evidence item and timeline event "
                                                        f"(default: the first {ROWS}, and every hash mismatch)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (always complete)."),
) -> None:
    """Show a case: summary, findings by severity, what was not checked, evidence with hashes, timeline, journal.

    Exits 1 when the case was altered: its seal, journal chain or an evidence hash no longer matches (a record
    deleted, added or changed outside reclaim). A read-only store is opened read-only.
    """
    with reclaim_errors(), _open(db) as store:
        detail = store.case_detail(case_id)
    if as_json:
        typer.echo(inert_json(_detail_json(detail)))
    else:
        _render(detail, rows=None if show_all else ROWS)
    if not _intact(detail):
        raise typer.Exit(EXIT_FINDINGS)


def _intact(detail: CaseDetail) -> bool:
    return detail.intact


def _verdict(case: Case) -> str:
    if case.verdict is None:
        return f"[dim]{safe(case.status)}[/dim]"
    style = {"compromised": "bold red", "suspicious": "yellow", "clean": "green"}.get(case.verdict, "")
    return f"[{style}]{safe(case.verdict)}[/{style}]" if style else safe(case.verdict)


# -- terminal -------------------------------------------------------------------------------------------


def _render(detail: CaseDetail, *, rows: int | None) -> None:
    case = detail.case
    console.print(f"[bold]case {safe(case.id)}[/bold]  {safe(case.kind)}  {safe(case.subject)}")
    console.print(f"verdict: {_verdict(case)}   status: {safe(case.status)}   tenant: {safe(case.tenant or '-')}")
    console.print(f"created {_when(case.created_at)}   window {_when(case.since)} → {_when(case.until)}"
                  + (f"   operator {safe(case.operator)}" if case.operator else ""))
    _render_findings(detail.findings, case.subject)
    if detail.not_collected:
        console.print("\n[bold]not checked[/bold]")
        for nc in detail.not_collected:
            who = f" ({safe(nc.subject)})" if nc.subject else ""
            more = f": {safe(nc.detail)}" if nc.detail else ""
            console.print(f"  {safe(nc.kind)}{who} — {safe(nc.reason)}{more}")
    _render_evidence(detail.evidence, rows)
    _render_timeline(detail.timeline, rows)
    _render_journal(detail.journal, detail.chain)
    _render_seal(detail)


def _render_findings(findings: list[Finding], subject: str) -> None:
    from reclaim.store import SEVERITIES

    if not findings:
        console.print("\nno findings")
        return
    for severity in reversed(SEVERITIES):
        group = [f for f in findings if f.severity == severity]
        if not group:
            continue
        style = _SEVERITY_STYLE[severity]
        console.print(f"\n[{style}]{severity} ({len(group)})[/{style}]")
        for f in group:
            artifact = f"  [{safe(f.artifact_type)} {safe(f.artifact_id or '')}]" if f.artifact_type else ""
            user = f"  {safe(f.user)}" if f.user and f.user.casefold() != subject.casefold() else ""
            kind = f"  ({safe(f.kind)})" if f.kind != "compromise" else ""
            kind += "  (tenant-wide)" if f.scope == "tenant" else ""
            console.print(f"  {safe(f.check_id)}: {safe(f.title)}{kind}{user}{safe(artifact)}")
            if f.detail:
                console.print(f"    {safe(f.detail)}")


def _more(hidden: int) -> None:
    if hidden:
        console.print(f"  … {hidden} more (--all lists them, --json has everything)")


def _render_evidence(evidence: list[EvidenceInfo], rows: int | None) -> None:
    bad = sum(not e.hash_ok for e in evidence)
    note = f", [bold red]{bad} do not match their SHA-256[/bold red]" if bad else ", every hash verified"
    console.print(f"\n[bold]evidence ({len(evidence)})[/bold]{note if evidence else ''}")
    if not evidence:
        return
    shown = [e for i, e in enumerate(evidence) if rows is None or i < rows or not e.hash_ok]
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("id", justify="right")
    table.add_column("kind", overflow="fold")
    table.add_column("source")
    table.add_column("request", overflow="fold")
    table.add_column("collected", no_wrap=True)
    table.add_column("bytes", justify="right")
    table.add_column("sha256", no_wrap=True)
    table.add_column("hash", no_wrap=True)
    for e in shown:
        table.add_row(str(e.id), safe(e.kind), safe(e.source), safe(_request_text(e.request)), _short(e.collected_at),
                      str(e.size), e.sha256[:12] + "…", "ok" if e.hash_ok else "[bold red]MISMATCH[/bold red]")
    console.print(table)
    _more(len(evidence) - len(shown))


def _render_timeline(timeline: list[TimelineEvent], rows: int | None) -> None:
    if not timeline:
        return
    console.print(f"\n[bold]timeline ({len(timeline)})[/bold]")
    shown = timeline if rows is None else timeline[:rows]
    for t in shown:
        source = f"  ({safe(t.source)})" if t.source else ""
        console.print(f"  {_when(t.time)}  {safe(t.kind)}  {safe(t.summary)}{source}")
    _more(len(timeline) - len(shown))


def _request_text(request: dict[str, Any]) -> str:
    if "cmdlet" in request:
        return f"{request['cmdlet']} {json.dumps(request.get('parameters') or {}, ensure_ascii=False)}"
    if "url" in request:
        return f"{request.get('method', 'GET')} {request['url']}"
    return json.dumps(request, ensure_ascii=False)


def _render_journal(journal: list[JournalEntry], chain: ChainStatus) -> None:
    console.print(f"\n[bold]journal ({len(journal)})[/bold]")
    for entry in journal:
        before = f"  before: evidence {entry.before_evidence_id}" if entry.before_evidence_id is not None else ""
        console.print(f"  {entry.seq:>3}  {_when(entry.recorded_at)}  {safe(entry.action_id)}  {safe(entry.step)}  "
                      f"{safe(entry.target)}{before}")
    if chain.ok:
        console.print(f"chain: [green]intact[/green] ({chain.length} entries, head {chain.head_hash[:16]}…)")
    else:
        console.print(f"chain: [bold red]BROKEN at entry {chain.first_bad_seq}[/bold red]: {safe(chain.reason)}")


def _render_seal(detail: CaseDetail) -> None:
    seal = detail.integrity
    if detail.intact:
        console.print(f"case: [green]intact[/green] ({seal.length} seal entries, head {seal.head})")
        return
    problems = list(seal.problems) or ["its journal chain or an evidence hash no longer matches (above)"]
    console.print("case: [bold red]ALTERED[/bold red] (changed outside reclaim; do not rely on it)")
    for problem in problems:
        console.print(f"  - {safe(problem)}", style="red")
    console.print(f"  seal head recorded: {seal.head}", style="dim")


# -- JSON -----------------------------------------------------------------------------------------------


def _case_json(case: Case) -> dict[str, Any]:
    return {"id": case.id, "created": _iso(case.created_at), "updated": _iso(case.updated_at), "kind": case.kind,
            "subject": case.subject, "tenant": case.tenant, "verdict": case.verdict, "status": case.status,
            "since": _iso(case.since), "until": _iso(case.until), "operator": case.operator, "summary": case.summary}


def _list_item_json(item: CaseListItem) -> dict[str, Any]:
    return {**_case_json(item.case), "findings": {"mediumOrAbove": item.findings_medium_or_above,
                                                  "total": item.findings_total}}


def _finding_json(f: Finding) -> dict[str, Any]:
    return {"check": f.check_id, "severity": f.severity, "kind": f.kind, "scope": f.scope, "title": f.title,
            "detail": f.detail,
            "artifact": {"type": f.artifact_type, "id": f.artifact_id}, "evidence": f.evidence,
            "evidenceIds": list(f.evidence_ids), "user": f.user}


def _detail_json(detail: CaseDetail) -> dict[str, Any]:
    chain = detail.chain
    return {
        "case": _case_json(detail.case),
        "findings": [_finding_json(f) for f in detail.findings],
        "notChecked": [{"check": nc.kind, "reason": nc.reason, "detail": nc.detail, "subject": nc.subject}
                       for nc in detail.not_collected],
        "evidence": [{"id": e.id, "kind": e.kind, "source": e.source, "request": e.request,
                      "collectedAt": _iso(e.collected_at), "contentType": e.content_type, "size": e.size,
                      "sha256": e.sha256, "hashOk": e.hash_ok} for e in detail.evidence],
        "timeline": [{"time": _iso(t.time), "kind": t.kind, "summary": t.summary,
                      "artifact": {"type": t.artifact_type, "id": t.artifact_id}, "source": t.source,
                      "evidenceId": t.evidence_id, "user": t.user} for t in detail.timeline],
        "journal": {
            "entries": [{"seq": j.seq, "actionId": j.action_id, "target": j.target, "step": j.step,
                         "beforeEvidenceId": j.before_evidence_id, "request": j.request, "result": j.result,
                         "verify": j.verify, "operator": j.operator, "startedAt": _iso(j.started_at),
                         "recordedAt": _iso(j.recorded_at), "prevHash": j.prev_hash, "entryHash": j.entry_hash}
                        for j in detail.journal],
            "chain": {"ok": chain.ok, "length": chain.length, "headHash": chain.head_hash,
                      "firstBadSeq": chain.first_bad_seq, "reason": chain.reason},
        },
        "seal": {"state": "intact" if detail.intact else "altered", "headHash": detail.integrity.head,
                 "length": detail.integrity.length, "problems": list(detail.integrity.problems)},
        "intact": _intact(detail),
    }
