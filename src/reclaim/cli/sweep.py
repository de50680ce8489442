"""``reclaim sweep``: every mailbox of a tenant (or of every configured tenant); ``reclaim hunt``: who else?"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from reclaim.cli.common import (
    DB_OPTION,
    ENDPOINT_OPTION,
    STRICT_OPTION,
    TENANT_OPTION,
    reclaim_errors,
    resolve_settings,
    run_connected,
    strict_exit,
)
from reclaim.cli.console import console, err_console, inert_json, safe
from reclaim.cli.jobs import QUEUE_URL_OPTION, require_queue, with_queue
from reclaim.config import Config
from reclaim.errors import EXIT_CONNECT, EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_OK, BadInput

if TYPE_CHECKING:
    from reclaim.m365 import Connection
    from reclaim.sweep import SweepResult, SweepTarget
    from reclaim.sweep.hunt import HuntResult

_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


class _Rate(ProgressColumn):
    """Mailboxes per second (rich's speed column counts bytes)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} mailboxes/s", style="dim")


class _Bar:
    """The sweep's progress on stderr: one bar per tenant, rate and ETA."""

    def __init__(self, enabled: bool) -> None:
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), _Rate(),
                                 TimeRemainingColumn(), console=err_console, disable=not enabled, transient=False)
        self.tasks: dict[str, TaskID] = {}
        self.enabled = enabled

    def _task(self, tenant: str) -> TaskID:
        if tenant not in self.tasks:
            self.tasks[tenant] = self.progress.add_task(safe(tenant), total=None)
        return self.tasks[tenant]

    def started(self, case_id: str, resumed: bool) -> None:
        verb = "resuming" if resumed else "sweep case"
        err_console.print(f"{verb} {case_id} (interrupted? continue with: reclaim sweep --resume {case_id})",
                          markup=False, highlight=False, style="dim")

    def listed(self, tenant: str, mailboxes: int, complete: bool) -> None:
        task = self._task(tenant)
        current = self.progress.tasks[self.tasks[tenant]].total or 0
        self.progress.update(task, total=mailboxes if complete else max(current, mailboxes))

    def advanced(self, tenant: str, mailboxes: int) -> None:
        self.progress.advance(self._task(tenant), mailboxes)


def _targets(tenant: str | None, endpoint: str | None) -> list[SweepTarget]:
    from reclaim.sweep import SweepTarget

    if tenant == "all":
        with reclaim_errors():
            if endpoint:
                raise BadInput("--tenant all uses each tenant's own endpoint; leave out --endpoint")
            config = Config.load()
            if not config.tenants:
                raise BadInput("no tenant configured", hint="`reclaim tenant add NAME ...`")
            return [SweepTarget(name, entry.settings()) for name, entry in sorted(config.tenants.items())]
    settings = resolve_settings(tenant, endpoint)
    return [SweepTarget(settings.name or "endpoint", settings)]


def sweep_command(
    deep: bool = typer.Option(False, "--deep", help="(With --resume: taken from the case.) Also read hidden inbox "
                                                    "rules and sweep rules per mailbox "
                                                    "through the Exchange admin API (slower)."),
    resume: str | None = typer.Option(None, "--resume", metavar="CASE",
                                      help="Continue an interrupted sweep case from its checkpoint."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
    as_jsonl: bool = typer.Option(False, "--jsonl", help="Print JSON Lines: one per flagged mailbox, per tenant, "
                                                         "then a summary (for big tenants)."),
    workers: int = typer.Option(16, "--workers", min=1, max=256,
                                metavar="N", help="$batch envelopes (20 mailboxes each) in flight per tenant."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show the progress bar on stderr."),
    strict: bool = STRICT_OPTION,
    queue: bool = typer.Option(False, "--queue", help="Queue one job per tenant for `reclaim worker` processes "
                                                      "instead of sweeping here; `reclaim jobs list` follows them."),
    queue_url: str | None = QUEUE_URL_OPTION,
    db: str | None = DB_OPTION,
    tenant: str | None = TENANT_OPTION,
    endpoint: str | None = ENDPOINT_OPTION,
) -> None:
    """Check every mailbox of the tenant (`--tenant all`: of every configured tenant) and list those with
    findings of medium severity or more.

    Exit codes: 0 nothing of medium or above, 1 compromise indicators found, 2 bad input,
    3 a tenant could not be reached or read (with --strict: a mailbox or an evidence kind could not be
    checked; the checks a sweep never runs do not count), 4 interrupted (continue with --resume CASE),
    70 internal error.
    """
    import asyncio

    from reclaim.store import Store
    from reclaim.sweep import SweepOptions, sweep

    if as_json and as_jsonl:
        with reclaim_errors():
            raise BadInput("choose one of --json and --jsonl")
    if queue:
        _enqueue(tenant, endpoint, deep, resume, db, queue_url, as_json)
        return
    targets = _targets(tenant, endpoint)
    with reclaim_errors():
        store = Store(db)
    bar = _Bar(progress and err_console.is_terminal)
    if resume is not None and not deep:
        # --resume continues the case as it was started: a deep sweep stays deep without --deep again
        with reclaim_errors():
            try:
                deep = bool(store.get_case(resume).summary.get("deep"))
            except BaseException:
                store.close()
                raise
    options = SweepOptions(deep=deep, workers=workers)
    try:
        with reclaim_errors(), bar.progress:
            result = asyncio.run(sweep(targets, store, options=options, progress=bar, resume=resume))
    finally:
        store.close()
    if as_json:
        typer.echo(inert_json(result.to_json()))
    elif as_jsonl:
        for line in _jsonl(result):
            typer.echo(inert_json(line, indent=None))
    else:
        render(result)
    raise typer.Exit(strict_exit(exit_code(result), sweep_gaps(result), strict=strict))


def _enqueue(tenant: str | None, endpoint: str | None, deep: bool, resume: str | None, db: str | None,
             queue_url: str | None, as_json: bool) -> None:
    from reclaim.store import Store

    with reclaim_errors():
        require_queue()
        from reclaim.queue.jobs import enqueue_sweeps

        if endpoint or resume:
            raise BadInput(f"--queue cannot be used with {'--endpoint' if endpoint else '--resume'}",
                           hint="workers reach tenants by their configured name (`reclaim tenant add`)")
        config = Config.load()
        names = sorted(config.tenants) if tenant == "all" else [config.resolve(tenant).name]
        if not names:
            raise BadInput("no tenant configured", hint="`reclaim tenant add NAME ...`")
        store = Store(db)
    try:
        queued = with_queue(queue_url, db, lambda app: enqueue_sweeps(app, store, names, deep=deep))
    finally:
        store.close()
    if as_json:
        typer.echo(inert_json({"queued": [q.to_json() for q in queued]}))
        return
    for q in queued:
        verb = "already queued as" if q.already else "queued"
        console.print(f"{safe(q.tenant)}: {verb} job {q.job_id}, case {safe(q.case)}")
    console.print("[dim]follow with: reclaim jobs list[/dim]")


def exit_code(result: SweepResult) -> int:
    if result.status == "interrupted":
        return EXIT_INTERRUPTED
    if result.status == "failed":
        return EXIT_CONNECT
    return EXIT_FINDINGS if result.flagged else EXIT_OK


def sweep_gaps(result: SweepResult) -> list[str]:
    """What the sweep could not check: mailboxes left incomplete, evidence not collected (per tenant)."""
    out: list[str] = []
    for t in result.tenants:
        if t.incomplete:
            out.append(f"{t.tenant}: {t.incomplete} mailbox(es)")
        out += [f"{t.tenant}: {kind}" for kind in sorted(t.not_collected)]
    return out


def _jsonl(result: SweepResult) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = [{"type": "mailbox", **m.to_json()} for m in result.flagged]
    lines += [{"type": "tenant", **t.to_json()} for t in result.tenants]
    summary = result.to_json()
    for key in ("tenants", "flagged"):
        summary.pop(key)
    lines.append({"type": "summary", **summary})
    return lines


def render(result: SweepResult) -> None:
    mailboxes = sum(t.mailboxes for t in result.tenants)
    requests = sum(t.requests for t in result.tenants)
    console.print(f"case [bold]{safe(result.case_id)}[/bold] · {mailboxes:,} mailboxes · "
                  f"{len(result.flagged)} with findings of medium or more · {requests:,} requests · "
                  f"{result.seconds:.1f} s")
    for t in result.tenants:
        line = f"  {safe(t.tenant)}: {t.status}, {t.mailboxes:,} mailboxes"
        if t.resumed:
            line += f" ({t.resumed:,} done by the earlier run)"
        if t.incomplete:
            line += f", [yellow]{t.incomplete} not checked[/yellow] (reasons in the case)"
        if t.error:
            line += f" — [red]{safe(t.error)}[/red]"
        console.print(line)
        for kind, reason in sorted(t.not_collected.items()):
            console.print(f"    [yellow]not collected[/yellow] {safe(kind)}: {safe(reason)}")
    if result.flagged:
        multi = len(result.tenants) > 1
        table = Table(show_edge=False, pad_edge=False)
        if multi:
            table.add_column("tenant")
        table.add_column("mailbox")
        table.add_column("worst")
        table.add_column("findings")
        for m in result.flagged:
            titles = "\n".join(f"{safe(f.severity)}: {safe(f.title)}" for f in m.findings[:4])
            if len(m.findings) > 4:
                titles += f"\n… {len(m.findings) - 4} more"
            row = [safe(m.user), f"[{_STYLE[m.worst]}]{m.worst}[/{_STYLE[m.worst]}]", titles]
            table.add_row(*([safe(m.tenant)] if multi else []), *row)
        console.print(table)
    skipped = ", ".join(x["check"] for x in result.not_in_sweep)
    console.print(f"[dim]not part of this sweep (investigate a user for these): {safe(skipped)}[/dim]")
    steps = [f"reclaim investigate {safe(m.user)}" for m in result.flagged]
    if result.status != "complete":
        steps.insert(0, f"reclaim sweep --resume {safe(result.case_id)}")
    _next_steps([*steps, f"reclaim report {safe(result.case_id)} --format html --out sweep.html"])


def _next_steps(commands: list[str], limit: int = 8) -> None:
    """What to run next, after the results: one command a line (the first ``limit``)."""
    if not commands:
        return
    console.print("\n[bold]next[/bold]")
    for command in commands[:limit]:
        console.print(f"  {command}")
    if len(commands) > limit:
        console.print(f"  … and {len(commands) - limit} more (listed above)")


def hunt_command(
    case: str | None = typer.Argument(None, metavar="CASE",
                                      help="An investigation case whose indicators to hunt for."),
    from_case: str | None = typer.Option(None, "--from-case", metavar="CASE", hidden=True,
                                         help="The same as the CASE argument (kept for existing scripts)."),
    ioc: list[str] = typer.Option([], "--ioc", metavar="KIND:VALUE",
                                  help="An indicator from elsewhere: ip:192.0.2.7, address:x@evil.example, "
                                       "domain:evil.example, app:<appId>, rule:<name>, subject:<text> (repeatable)."),
    since: str | None = typer.Option(None, "--since", metavar="WHEN", show_default=False,
                                     help="How far back to look: 7d, 30d, 12h or a date (default: the case's "
                                          "window, else 30d)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
    strict: bool = STRICT_OPTION,
    db: str | None = DB_OPTION,
    tenant: str | None = TENANT_OPTION,
    endpoint: str | None = ENDPOINT_OPTION,
) -> None:
    """Find a case's indicators (attacker IPs, forwarding destinations, rules, apps, phishing subjects)
    across the tenant: who else is hit?

    Exit codes: 0 nobody else found at medium or above, 1 other users found, 2 bad input, 3 cannot connect
    (with --strict: an indicator's evidence could not be collected), 70 internal error.
    """
    from reclaim.collect import parse_since
    from reclaim.store import Store
    from reclaim.sweep.hunt import Indicators, hunt, indicators_from_case, parse_iocs

    with reclaim_errors():
        if case and from_case and case != from_case:
            raise BadInput(f"two cases given: {case} and --from-case {from_case}", hint="give one CASE")
        from_case = case or from_case
        if not from_case and not ioc:
            raise BadInput("nothing to hunt for", hint="give a CASE (reclaim hunt CASE) or --ioc KIND:VALUE")
        given = parse_iocs(ioc)  # before the store: a bad --ioc writes nothing
        store = Store(db)
        try:
            found = indicators_from_case(store, from_case) if from_case else Indicators()
        except BaseException:
            store.close()
            raise
        indicators = found.merged(given)
        start = None if from_case and since is None and found.since else parse_since(since or "30d")
    settings = resolve_settings(tenant, endpoint)

    async def work(conn: Connection) -> HuntResult:
        return await hunt(conn, store, indicators, since=start)

    try:
        result = run_connected(settings, work)
    finally:
        store.close()
    if as_json:
        typer.echo(inert_json(result.to_json()))
    else:
        render_hunt(result)
    rank = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
    code = EXIT_FINDINGS if any(rank[h.severity] >= 2 for h in result.hits) else EXIT_OK
    raise typer.Exit(strict_exit(code, sorted(result.not_collected), strict=strict))


def render_hunt(result: HuntResult, *, hints: bool = True) -> None:
    ind = result.indicators
    console.print(f"hunt case [bold]{safe(result.case_id)}[/bold]"
                  + (f" · from {safe(ind.source)} ({safe(ind.source_case)})" if ind.source else "")
                  + f" · {result.requests} requests · {result.seconds:.1f} s")
    for label, values in (("IPs", ind.ips), ("addresses", ind.addresses), ("domains", ind.domains),
                          ("rule names", ind.rule_names), ("apps", ind.app_ids), ("subjects", ind.subjects)):
        if values:
            console.print(f"  [dim]{label}:[/dim] {safe(', '.join(sorted(values)))}")
    for dest, senders in sorted(result.campaigns.items()):
        console.print(f"  [red]campaign[/red]: {len(senders)} users send mail to {safe(dest)}: "
                      f"{safe(', '.join(senders))}")
    users = result.users()
    if not users:
        console.print("nobody else in the tenant matches these indicators")
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("user")
    table.add_column("found")
    for user, hits in sorted(users.items()):
        table.add_row(safe(user), "\n".join(f"[{_STYLE[h.severity]}]{h.severity}[/{_STYLE[h.severity]}] "
                                            f"{safe(h.title)}" for h in hits))
    if users:
        console.print(table)
    for kind, reason in sorted(result.not_collected.items()):
        console.print(f"  [yellow]not checked[/yellow] {safe(kind)}: {safe(reason)}")
    if hints:
        _next_steps([f"reclaim investigate {safe(user)}" for user in sorted(users)]
                    + [f"reclaim report {safe(result.case_id)} --format html --out hunt.html"])
