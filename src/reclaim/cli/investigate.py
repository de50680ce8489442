"""``reclaim investigate USER``: is this account compromised, and how?"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import typer

from reclaim.cli.analyze import Followed, indicates_compromise, render_analysis, render_touched
from reclaim.cli.common import (
    DB_OPTION,
    ENDPOINT_OPTION,
    STRICT_OPTION,
    TENANT_OPTION,
    check_upn,
    reclaim_errors,
    resolve_settings,
    run_connected,
    strict_exit,
)
from reclaim.cli.console import console, err_console, inert_json, safe
from reclaim.cli.jobs import QUEUE_URL_OPTION, require_queue, with_queue
from reclaim.cli.progress import describe
from reclaim.errors import EXIT_FINDINGS, EXIT_OK

if TYPE_CHECKING:
    from datetime import datetime

    from reclaim.collect import Investigation
    from reclaim.m365 import Connection


def investigate_command(
    user: str = typer.Argument(..., metavar="USER", help="The user's principal name, e.g. alice@contoso.com."),
    since: str = typer.Option("30d", "--since", metavar="WHEN",
                              help="Window start: 7d, 30d, 12h or a date (2026-11-01)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document (DESIGN.md's investigate shape)."),
    audit_wait: float = typer.Option(30.0, "--audit-wait", min=0, max=3600,
                                     metavar="SECONDS", help="Seconds to wait for the unified audit log query."),
    follow: bool = typer.Option(True, "--follow-actors/--no-follow-actors",
                                help="Also investigate, each in a case of its own, the accounts that made the "
                                     "tenant-wide changes found (the admin an attacker acted as)."),
    strict: bool = STRICT_OPTION,
    queue: bool = typer.Option(False, "--queue", help="Queue the investigation for `reclaim worker` processes "
                                                      "(a configured --tenant) instead of running it here."),
    queue_url: str | None = QUEUE_URL_OPTION,
    db: str | None = DB_OPTION,
    tenant: str | None = TENANT_OPTION,
    endpoint: str | None = ENDPOINT_OPTION,
) -> None:
    """Collect the evidence about USER, run every check, store the case and print the verdict.

    Exit codes: 0 nothing of medium severity or above, 1 compromise indicators found,
    2 bad input, 3 cannot authenticate / reach the tenant / nothing could be checked (with --strict:
    anything could not be checked), 70 internal error.
    """
    from reclaim.collect import investigate, parse_since
    from reclaim.collect.investigate import follow_actors
    from reclaim.store import Store

    with reclaim_errors():
        start = parse_since(since)
        check_upn(user)
    if queue:
        _enqueue(user, start, follow, tenant, endpoint, db, queue_url, as_json)
        return
    settings = resolve_settings(tenant, endpoint)  # a bad --tenant / --endpoint: nothing written yet
    with reclaim_errors():
        store = Store(db)

    seen: set[str] = set()

    def progress(kind: str) -> None:
        if not as_json:
            seen.add(kind)
            err_console.print(f"  {describe(kind, len(seen))}", style="dim", markup=False, highlight=False)

    async def work(conn: Connection) -> Investigation:
        shown = None if as_json else progress
        result = await investigate(conn, store, user, since=start, progress=shown, audit_wait=audit_wait)
        if follow:
            await follow_actors(conn, store, result, since=start, progress=shown, audit_wait=audit_wait)
        return result

    try:
        result = run_connected(settings, work)
    finally:
        store.close()
    if as_json:
        typer.echo(inert_json(result.to_json()))
    else:
        render(result)
    analyses = [result.analysis, *(a.analysis for a in result.actors)]
    code = EXIT_FINDINGS if indicates_compromise(analyses) else EXIT_OK
    raise typer.Exit(strict_exit(code, gaps(result), strict=strict))


def _enqueue(user: str, start: datetime | None, follow: bool, tenant: str | None, endpoint: str | None,
             db: str | None, queue_url: str | None, as_json: bool) -> None:
    from reclaim.config import Config
    from reclaim.errors import BadInput

    with reclaim_errors():
        require_queue()
        from reclaim.queue.jobs import enqueue_investigation

        if endpoint:
            raise BadInput("--queue cannot be used with --endpoint",
                           hint="workers reach tenants by their configured name (`reclaim tenant add`)")
        name = Config.load().resolve(tenant).name
    queued = with_queue(queue_url, db, lambda app: enqueue_investigation(app, name, user, since=start,
                                                                         follow=follow))
    if as_json:
        typer.echo(inert_json({"tenant": name, "user": user, "job": queued.job_id, "alreadyQueued": queued.already}))
        return
    verb = "already queued as" if queued.already else "queued"
    console.print(f"investigation of {safe(user)} ({safe(name)}): {verb} job {queued.job_id}; "
                  "follow with: reclaim jobs list, then reclaim cases list")


def gaps(result: Investigation) -> list[str]:
    """The checks the investigation (and those of the accounts it followed) could not run. Evidence that was not
    collected counts through the checks that needed it: a user without a OneDrive is a fact, not a gap."""
    out: list[str] = []
    for done in (result, *result.actors):
        who = "" if done is result else f"{done.upn}: "
        out += [f"{who}{n.check}" for n in done.analysis.not_checked]
    return out


def render(result: Investigation) -> None:
    console.print(f"case [bold]{safe(result.case_id)}[/bold] · {len(result.analysis.findings)} findings · "
                  f"{result.requests} requests")
    followed = {a.upn.casefold(): Followed(a.case_id, a.analysis.verdict.name.value, a.analysis.verdict.because)
                for a in result.actors}
    from reclaim.detect.attribution import CHECK_ID

    shown = replace(result.analysis, findings=tuple(f for f in result.analysis.findings if f.check != CHECK_ID))
    render_analysis(console, shown, followed)
    if result.touched:
        render_touched(console, result.touched)
    if result.coverage:
        render_coverage(result.coverage)
    upn = safe(result.analysis.user) if result.analysis.user else None
    console.print("\n[bold]next[/bold]")
    verdict = result.analysis.verdict.name.value
    if verdict in ("compromised", "suspicious") and upn:
        console.print(f"  reclaim remediate {upn}          # the plan: what would change, nothing changes yet")
        console.print(f"  reclaim hunt {safe(result.case_id)}          # who else: these indicators across the tenant")
    console.print(f"  reclaim report {safe(result.case_id)} --format html --out report.html")


def render_coverage(cov: dict[str, Any]) -> None:
    """The coverage section: what the audit searches really covered, and what was not available and why."""
    console.print(f"  [bold]Coverage[/bold] [dim]audit log searched from {safe(str(cov.get('auditFrom')))} to "
                  f"{safe(str(cov.get('until')))}[/dim]")
    for search in cov.get("searches") or []:
        state = f"{search['records']} records" if search.get("complete") else "[yellow]incomplete[/yellow]"
        split = f", split into {search['windows']} windows" if search.get("splits") else ""
        console.print(f"    {safe(str(search['label']))}: {state}{split}")
    for gap in cov.get("notAvailable") or []:
        console.print(f"    [yellow]not available[/yellow]: {safe(str(gap['what']))}: {safe(str(gap['why']))}")
