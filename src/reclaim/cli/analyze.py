"""``reclaim analyze``: offline analysis of exported evidence (no tenant needed).

``reclaim analyze rules FILE.csv --domain contoso.com [--domain ...] [--json]`` runs the inbox-rule
checks of ``investigate`` on a ``Get-InboxRule | Export-Csv`` file (Microsoft-Extractor-Suite or Hawk),
per mailbox. Exit codes as in DESIGN.md: 0 nothing of medium severity or more, 1 compromise
indicators found, 2 bad input (one line naming the row and column).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import typer
from rich.console import Console

from reclaim.cli.common import DB_OPTION, reclaim_errors
from reclaim.cli.console import console, err_console, inert_json, safe
from reclaim.errors import EXIT_FINDINGS, EXIT_OK, BadInput

if TYPE_CHECKING:
    from reclaim.detect.attribution import Touched
    from reclaim.detect.engine import Analysis
    from reclaim.detect.model import Finding
    from reclaim.logs.analysis import LogAnalysis

app = typer.Typer(help="Analyse exported evidence offline (no tenant needed).", no_args_is_help=True,
                  rich_markup_mode=None)

# by Severity value (a StrEnum: its members look up their own value)
_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}
_VERDICT_STYLE = {"compromised": "bold red", "suspicious": "yellow", "clean": "green"}


def _domain(value: str) -> str:
    d = value.strip().strip(".").lower()
    if d.startswith("*."):
        d = d[2:]
    if not d or "." not in d or any(c.isspace() or c in "@/\\:" for c in d):
        raise BadInput(f"--domain {value!r} is not a domain name", hint="for example --domain contoso.com")
    return d


def indicates_compromise(analyses: Sequence[Analysis]) -> bool:
    """Exit code 1: a compromise indicator of medium or more, about the user or about the tenant."""
    from reclaim.detect.model import Severity

    return any(f.kind == "compromise" and f.severity.rank >= Severity.MEDIUM.rank
               for a in analyses for f in a.findings)


def render_finding(out: Console, finding: Finding) -> None:
    """One finding: severity, title, reasons. Every attacker-controlled string goes through ``safe()``."""
    style = _STYLE[finding.severity]
    out.print(f"  [{style}]{finding.severity.value.upper():8}[/{style}] {safe(finding.title)}")
    when = f" · {finding.time.strftime('%Y-%m-%d %H:%M')} UTC" if finding.time else ""
    out.print(f"           [dim]{safe(finding.check)} · {safe(finding.artifact.type)} {safe(finding.artifact.id)}"
              f"{when}[/dim]")
    for reason in finding.reasons:
        out.print(f"           - {safe(reason)}")


def render_analysis(out: Console, analysis: Analysis, followed: Mapping[str, Followed] | None = None) -> None:
    """The verdict, the findings by kind, the tenant's own section and what was not checked. ``followed``:
    the accounts that made tenant changes and were investigated too, by case-folded UPN."""
    verdict = analysis.verdict.name.value
    style = _VERDICT_STYLE[verdict]
    out.print(f"[bold]{safe(analysis.user)}[/bold]  [{style}]{verdict}[/{style}]  "
              f"[dim]{safe(analysis.verdict.because)}[/dim]")
    if analysis.window is not None and analysis.window.since is not None:
        out.print(f"  [dim]suspicious window from {analysis.window.since.strftime('%Y-%m-%d %H:%M')} UTC[/dim]")
    ordered = sorted(analysis.user_findings, key=lambda f: (-f.severity.rank, f.title))
    for finding in (f for f in ordered if f.kind == "compromise"):
        render_finding(out, finding)
    for title, kind in (("context (no verdict rests on these)", "context"),
                        ("exposure: advice, not a sign of compromise", "exposure")):
        chosen = [f for f in ordered if f.kind == kind]
        if chosen:
            out.print(f"  [bold]{title}[/bold]")
            for finding in chosen:
                render_finding(out, finding)
    render_tenant(out, analysis, followed or {})
    for nc in analysis.not_checked:
        out.print(f"  [dim]not checked: {safe(nc.check)}: {safe(nc.reason)}[/dim]")


class Followed(NamedTuple):
    """An account that made a tenant change, investigated as a user: its case and verdict."""

    case: str
    verdict: str
    because: str


def render_tenant(out: Console, analysis: Analysis, followed: Mapping[str, Followed]) -> None:
    """The tenant's own verdict and findings, apart from the user's (they never make the user compromised)."""
    tenant = analysis.tenant_findings
    if not tenant:
        return
    verdict = analysis.tenant.name.value
    style = _VERDICT_STYLE[verdict]
    out.print(f"  [bold]the tenant[/bold]  [{style}]{verdict}[/{style}]  [dim]{safe(analysis.tenant.because)}; "
              "tenant-wide, not this user's verdict[/dim]")
    for finding in sorted(tenant, key=lambda f: (-f.severity.rank, f.title)):
        render_finding(out, finding)
    seen: set[str] = set()
    for actor in analysis.actors():
        user = str(actor["user"])
        out.print(f"           [dim]{safe(actor.get('operation') or 'changed')} by[/dim] {safe(user)} "
                  f"[dim]at {safe(actor.get('time') or '?')} from {safe(actor.get('ip') or '?')}[/dim]")
        if user.casefold() != analysis.user.casefold() and user.casefold() not in seen:
            seen.add(user.casefold())
            if (done := followed.get(user.casefold())) is not None:
                style = _VERDICT_STYLE.get(done.verdict, "")
                out.print(f"           investigated {safe(user)}: [{style}]{safe(done.verdict)}[/{style}] "
                          f"[dim]{safe(done.because)} (case {safe(done.case)})[/dim]")
                continue
            out.print(f"           next: [bold]reclaim investigate {safe(user)}[/bold] (the account that made "
                      "this change)")


def rules_document(path: Path, domains: Sequence[str], analyses: Sequence[Analysis], rule_count: int) -> dict[str, Any]:
    return {
        "source": str(path), "acceptedDomains": list(domains), "rules": rule_count,
        "users": [{"user": {"userPrincipalName": a.user}, **a.to_json()} for a in analyses],
    }


@app.command("rules")
def rules(
    file: Path = typer.Argument(..., metavar="FILE",
                                help="A Get-InboxRule | Export-Csv file (Microsoft-Extractor-Suite, Hawk)."),
    domain: list[str] = typer.Option(..., "--domain", metavar="DOMAIN",
                                     help="An accepted domain of the tenant (repeat for each)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Run the inbox-rule checks on exported rules, per mailbox."""
    from reclaim.detect.engine import analyze_rules
    from reclaim.detect.rulecsv import by_user, parse_file

    with reclaim_errors():  # a bad export or domain: one line, exit 2 (also when called in-process)
        domains = sorted({_domain(d) for d in domain})
        rows = parse_file(file)
    grouped = by_user(rows)
    analyses = [analyze_rules(r, domains=domains, mailbox=user) for user, r in grouped.items()]
    if as_json:
        typer.echo(inert_json(rules_document(file, domains, analyses, len(rows))))
    else:
        console.print(f"{len(rows)} rules of {len(grouped)} mailboxes in {safe(file)}; accepted domains: "
                      f"{safe(', '.join(domains))}")
        for analysis in sorted(analyses, key=lambda a: (-(a.worst.rank if a.worst else -1), a.user)):
            if analysis.findings:
                render_analysis(console, analysis)
        quiet = [a.user for a in analyses if not a.findings]
        if quiet:
            console.print(f"[green]no findings[/green] for {len(quiet)} mailbox(es): {safe(', '.join(sorted(quiet)))}")
    raise typer.Exit(EXIT_FINDINGS if indicates_compromise(analyses) else EXIT_OK)


@app.command("logs")
def logs(
    paths: list[Path] = typer.Argument(..., metavar="PATH...", help="Audit-log exports: files, folders or zip "
                                       "files (Purview / Search-UnifiedAuditLog CSV, Management Activity API, "
                                       "Graph audit log query, Sentinel, Graph sign-ins / directory audits, "
                                       "Defender CloudAppEvents); recognised by content."),
    domain: list[str] = typer.Option([], "--domain", metavar="DOMAIN",
                                     help="An accepted domain of the tenant (repeat for each)."),
    db: str | None = DB_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Run the checks on exported audit, sign-in and directory logs and find what the attacker touched.

    The analysis is stored as a case (reclaim report CASE). Exit codes: 0 nothing of medium severity or
    above, 1 compromise indicators found, 2 an unknown or broken file (nothing stored).
    """
    from reclaim.logs.analysis import document, run
    from reclaim.logs.case import CaseWriter
    from reclaim.store import Store

    with reclaim_errors(), _progress(paths, quiet=as_json) as progress:
        domains = sorted({_domain(d) for d in domain})
        store = Store(db)
        try:
            with CaseWriter(store) as writer:  # each user stored as analysed: none held for the whole run
                result = run(paths, domains=domains, progress=progress, sink=writer)
                case_id = writer.finish(result)
        finally:
            store.close()
    if as_json:
        typer.echo(inert_json(document(result, case_id)))
    else:
        render_logs(console, result, case_id)
    raise typer.Exit(EXIT_FINDINGS if indicates_compromise(result.analyses) else EXIT_OK)


@contextmanager
def _progress(paths: Sequence[Path], *, quiet: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    """A progress bar on the terminal (stderr) over the bytes of the files given, while they are read."""
    if quiet or not err_console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    total = sum(f.stat().st_size for p in paths for f in ([p] if p.is_file() else p.rglob("*") if p.is_dir()
                                                           else []) if f.is_file())
    records = 0
    with Progress(TextColumn("reading"), BarColumn(), DownloadColumn(), TextColumn("{task.fields[records]:,} records"),
                  TimeElapsedColumn(), console=err_console, transient=True) as bar:
        task = bar.add_task("read", total=total or None, records=0)

        def advance(_label: str, count: int, size: int) -> None:
            nonlocal records
            records += count
            bar.update(task, advance=size, records=records)

        yield advance


def render_logs(out: Console, result: LogAnalysis, case_id: str) -> None:
    """Files read, each user's verdict and findings, what the attacker touched, what was not checked."""
    from reclaim.detect.attribution import CHECK_ID

    out.print(f"{result.records} records in {sum(1 for f in result.files if f.format)} file(s); case "
              f"{safe(case_id)}")
    for f in result.files:
        if f.skipped:
            out.print(f"  [dim]skipped {safe(f.path)}: {safe(f.skipped)}[/dim]")
        else:
            out.print(f"  [dim]{safe(f.path)}: {safe(f.format)}, {f.records} records[/dim]")
    for analysis in sorted(result.analyses, key=lambda a: (-(a.worst.rank if a.worst else -1), a.user)):
        if not analysis.findings:
            continue
        shown = replace(analysis, findings=tuple(f for f in analysis.findings if f.check != CHECK_ID),
                        not_checked=())
        render_analysis(out, shown)
        touched = result.touched.get(analysis.user)
        if touched:
            render_touched(out, touched)
    quiet = [a.user for a in result.analyses if not a.findings]
    if quiet:
        out.print(f"[green]no findings[/green] for {len(quiet)} user(s)")
    for nc in result.not_checked():
        out.print(f"  [dim]not checked: {safe(nc['check'])}: {safe(nc['reason'])}[/dim]")


def render_touched(out: Console, touched: Touched) -> None:
    """The "What the attacker touched" section: per category the count, first and last time, a few items."""
    body = touched.to_json()
    sessions = body["sessions"]
    out.print(f"  [bold]What the attacker touched[/bold] [dim](sessions: IPs {safe(', '.join(sessions['ips']))}"
              f"; {len(sessions['sessionIds'])} session id(s))[/dim]")
    for cat in body["categories"]:
        out.print(f"    {safe(cat['label'])}: {cat['count']} ({cat['records']} records) "
                  f"[dim]{safe(cat['first'] or '?')} – {safe(cat['last'] or '?')}[/dim]")
        for item in cat["items"][:10]:
            what = item.get("internetMessageId") or item.get("file") or item.get("folder") or item.get("operation")
            extra = " · ".join(str(item[k]) for k in ("access", "folder", "subject", "target")
                               if item.get(k) and item.get(k) != what)
            out.print(f"      - {safe(str(what))}" + (f" [dim]({safe(extra)})[/dim]" if extra else ""))
        if len(cat["items"]) > 10:
            out.print(f"      [dim]... and {cat['count'] - 10} more (reclaim report / --json)[/dim]")


@app.command("case")
def case(
    case_id: str = typer.Argument(..., metavar="CASE", help="An investigation case (reclaim cases list)."),
    db: str | None = DB_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Re-run today's checks on a stored investigation's evidence (no tenant needed) and compare.

    Says which findings are new, gone or rated differently than when the case was made. Exit codes:
    0 nothing of medium severity or above, 1 compromise indicators found, 2 bad input.
    """
    from reclaim.collect.reanalyze import reanalyze
    from reclaim.store import Store

    with reclaim_errors():
        store = Store(db)
        try:
            result = reanalyze(store, case_id)
        finally:
            store.close()
    if as_json:
        typer.echo(inert_json(result.to_json()))
    else:
        render_analysis(console, result.analysis)
        if result.same:
            console.print(f"[green]same as stored[/green]: today's checks find what case {safe(case_id)} found")
        else:
            console.print(f"[yellow]differs from stored[/yellow] (verdict then: {safe(result.stored_verdict)}):")
            for label, keys in (("new", result.added), ("gone", result.removed)):
                for check, kind, artifact in keys:
                    console.print(f"  {label:7} {safe(check)} · {safe(kind)} {safe(artifact)}")
            for (check, kind, artifact), (then, now) in result.changed.items():
                console.print(f"  changed {safe(check)} · {safe(kind)} {safe(artifact)}: {safe(then)} → {safe(now)}")
    raise typer.Exit(EXIT_FINDINGS if indicates_compromise([result.analysis]) else EXIT_OK)


@app.command("checks")
def list_checks(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the checks: id, what they find, how severity is earned, the procedure symptom they cover."""
    from reclaim.detect.registry import checks

    items = [{"id": c.meta.id, "title": c.meta.title, "kind": c.meta.kind, "severity": c.meta.severity,
              "symptom": c.meta.symptom, "evidence": list(c.meta.needs), "references": list(c.meta.references)}
             for c in checks()]
    if as_json:
        typer.echo(json.dumps(items, indent=2))
        return
    for item in items:
        console.print(f"[bold]{safe(item['id'])}[/bold]  {safe(item['title'])}  [dim]({safe(item['kind'])})[/dim]")
        console.print(f"    covers: {safe(item['symptom'])}")
        console.print(f"    severity: {safe(item['severity'])}")
