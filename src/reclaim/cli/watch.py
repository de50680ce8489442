"""``reclaim watch``: every configured tenant on a schedule; new findings become alerts."""

from __future__ import annotations

import asyncio
import re
import time
from typing import TYPE_CHECKING

import typer

from reclaim.cli.common import DB_OPTION, reclaim_errors
from reclaim.cli.console import console, err_console, inert_json, safe
from reclaim.cli.jobs import QUEUE_URL_OPTION, require_queue, with_queue
from reclaim.config import Config
from reclaim.errors import EXIT_CONNECT, EXIT_FINDINGS, EXIT_OK, BadInput

if TYPE_CHECKING:
    from reclaim.store import Store
    from reclaim.watch import Alert, WatchConfig, WatchCycle

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_every(text: str) -> float:
    match = re.fullmatch(r"\s*(\d+)\s*([smhd])\s*", text)
    if not match or int(match.group(1)) == 0:
        raise BadInput(f"--every {text!r}: give a period such as 15m, 1h or 30s")
    return int(match.group(1)) * _UNITS[match.group(2)]


def _tenants(tenant: str | None) -> list[str]:
    config = Config.load()
    names = sorted(config.tenants) if tenant in (None, "all") else [config.resolve(tenant).name]
    if not names:
        raise BadInput("no tenant configured", hint="`reclaim tenant add NAME ...`")
    return names


def watch_command(
    every: str = typer.Option("15m", "--every", metavar="DURATION",
                              help="How often each tenant is checked: 15m, 1h, 30s."),
    once: bool = typer.Option(False, "--once", help="One cycle of every tenant, then exit (for cron)."),
    tenant: str | None = typer.Option(None, "--tenant", metavar="NAME",
                                         help="One configured tenant (default: all of them)."),
    watch_config: str | None = typer.Option(None, "--config", envvar="RECLAIM_WATCH_CONFIG", metavar="FILE",
                                            help="The watch settings: alert webhooks and containment policies "
                                                 "(TOML; default: no webhook, no policy)."),
    queue: bool = typer.Option(False, "--queue", help="Queue each tenant's cycle for `reclaim worker` processes "
                                                      "instead of running it here."),
    as_json: bool = typer.Option(False, "--json", help="Print each cycle as JSON Lines."),
    db: str | None = DB_OPTION,
    queue_url: str | None = QUEUE_URL_OPTION,
) -> None:
    """Check every configured tenant on a schedule; what the previous cycle had not seen is alerted once
    (webhook: JSON, Microsoft Teams or Slack; and here). Containment policies, when configured, propose
    actions for a person to confirm with `reclaim remediate USER`; the watch changes nothing by itself.

    Exit codes (--once): 0 nothing new, 1 new findings, 2 bad input, 3 a tenant could not be read.
    """
    from reclaim.watch import WatchConfig

    with reclaim_errors():
        period = parse_every(every)
        names = _tenants(tenant)
        config = WatchConfig.load(watch_config)
        if queue:
            require_queue()
    while True:
        started = time.monotonic()
        if queue:
            _enqueue(names, db, queue_url, as_json)
            code = EXIT_OK
        else:
            code = _cycle_here(names, config, db, as_json)
        if once:
            raise typer.Exit(code)
        wait = max(0.0, period - (time.monotonic() - started))
        err_console.print(f"next cycle in {wait:.0f} s", style="dim", markup=False, highlight=False)
        time.sleep(wait)


def _cycle_here(names: list[str], config: WatchConfig, db: str | None, as_json: bool) -> int:
    from reclaim.store import Store

    with reclaim_errors():
        store = Store(db)
    try:
        with reclaim_errors():
            cycles = asyncio.run(_all(store, names, config, None if as_json else render_alert))
    finally:
        store.close()
    for cycle in cycles:
        if as_json:
            typer.echo(inert_json(cycle.to_json(), indent=None))
        else:
            render_cycle(cycle)
    if any(c.status != "complete" for c in cycles):
        return EXIT_CONNECT
    return EXIT_FINDINGS if any(c.new for c in cycles) else EXIT_OK


async def _all(store: Store, names: list[str], config: WatchConfig, on_alert: object) -> list[WatchCycle]:
    from reclaim.queue.tasks import configured_settings
    from reclaim.watch import watch_tenant

    out = []
    for name in names:  # one tenant after the other: the store is written from this one thread
        out.append(await watch_tenant(store, name, configured_settings(name), config,
                                      on_alert=on_alert if callable(on_alert) else None))
    return out


def _enqueue(names: list[str], db: str | None, queue_url: str | None, as_json: bool) -> None:
    from reclaim.queue.jobs import enqueue_watch

    queued = with_queue(queue_url, db, lambda app: enqueue_watch(app, names))
    for tenant_name, job_id, already in queued:
        if as_json:
            typer.echo(inert_json({"tenant": tenant_name, "job": job_id, "alreadyQueued": already}, indent=None))
        else:
            verb = "still waiting as" if already else "queued"
            console.print(f"{safe(tenant_name)}: watch cycle {verb} job {job_id}")


def render_alert(alert: Alert) -> None:
    console.print(f"[bold red]alert[/bold red] {safe(alert.tenant)}: {len(alert.findings)} new finding(s), "
                  f"case {safe(alert.case)}")
    for f in alert.findings:
        console.print(f"  {safe(f.severity)} {safe(f.user or '(tenant)')}: {safe(f.title)}")
    for p in alert.proposals:
        console.print(f"  [yellow]policy {safe(p.policy)}[/yellow] proposes for {safe(p.user)}: "
                      f"{safe(', '.join(p.actions))} — to apply, review and confirm: {safe(p.command)}")


def render_cycle(cycle: WatchCycle) -> None:
    line = f"{safe(cycle.tenant)}: {cycle.status}, {len(cycle.new)} new, {cycle.requests:,} requests, " \
           f"case {safe(cycle.case)}"
    if cycle.error:
        line += f" — [red]{safe(cycle.error)}[/red]"
    console.print(line)
    for d in cycle.deliveries:
        style = "green" if d.ok else "red"
        console.print(f"  [{style}]{safe(d.target)}: {safe(d.detail)}[/{style}]")
