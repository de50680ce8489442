"""``reclaim demo``: the whole job against the built-in practice tenant, no tenant needed.

The practice tenant runs in-process on an ephemeral loopback port; everything below talks to it over
HTTP through the same client a real tenant gets. Cases go to a store in ``--out`` (``./reclaim-demo``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from reclaim.cli.analyze import render_analysis
from reclaim.cli.common import reclaim_errors, run_connected
from reclaim.cli.console import console, safe
from reclaim.cli.remediate import remediate_demo

if TYPE_CHECKING:
    from reclaim.collect import Investigation
    from reclaim.m365 import Connection
    from reclaim.store import Store
    from reclaim.sweep.hunt import HuntResult


def demo(
    scenario: str = typer.Option("bec-classic", "--scenario", metavar="NAME", help="Built-in scenario to run against."),
    out: Path = typer.Option(Path("reclaim-demo"), "--out", metavar="PATH",
                             help="Folder for the demo's case store and report."),
) -> None:
    """Start the practice tenant, investigate its compromised user, remediate, verify, write the report."""
    from reclaim.collect import investigate
    from reclaim.emulator import Emulator
    from reclaim.emulator.scenarios import load_scenario
    from reclaim.emulator.server import serve_in_thread
    from reclaim.m365 import ConnectionSettings
    from reclaim.report import resolve_zone, write_reports
    from reclaim.store import Store

    with reclaim_errors():
        fixture = load_scenario(scenario)
        out.mkdir(parents=True, exist_ok=True)
        store = Store(str(out / "cases.db"))
    truth = fixture.get("scenarioTruth", {})
    targets = list(truth.get("compromised", []))[:1]
    emulator = Emulator(fixture)
    try:
        with serve_in_thread(emulator) as url:
            console.print(f"practice tenant [bold]{safe(scenario)}[/bold] at {safe(url)}")
            settings = ConnectionSettings.for_endpoint(url)

            async def work(conn: Connection) -> list[Investigation]:
                await _show_tenant(conn)
                results = []
                for upn in targets:
                    console.print(f"\n[bold]investigate {safe(upn)}[/bold]")
                    results.append(await investigate(conn, store, upn))
                    console.print(f"case [bold]{safe(results[-1].case_id)}[/bold] · {results[-1].requests} requests")
                    render_analysis(console, results[-1].analysis)
                    await remediate_demo(conn, store, results[-1].case_id, out)
                    await _show_shares(conn, store, results[-1].case_id)
                if results:
                    hunted.append(await _hunt(conn, store, results[0].case_id))
                return results

            hunted: list[HuntResult] = []
            results = run_connected(settings, work)
        reports = []
        with reclaim_errors():
            for result in results:
                path = out / f"report-{result.case_id}.html"
                write_reports(store, result.case_id, "html", path, resolve_zone(None))
                reports.append(path)
    finally:
        store.close()
    console.print(f"\n{len(results)} user(s) investigated and remediated")
    console.print(f"\ncase store: {safe(out / 'cases.db')}  (reclaim cases list --db {safe(out / 'cases.db')})")
    for path in reports:
        console.print(f"report: {safe(path.resolve())}")
    # the other victims: users the hunt found with a high or critical hit (received phishing mail is low)
    others = sorted({u for h in hunted for u, hits in h.users().items()
                     if any(x.severity in ("high", "critical") for x in hits)} - {r.analysis.user for r in results})
    db = safe(out / "cases.db")
    console.print("\n[bold]next[/bold]  (against the practice tenant: reclaim emulator serve --scenario "
                  f"{safe(scenario)}, then add --endpoint URL --db {db})")
    for user in others:
        console.print(f"  reclaim investigate {safe(user)}   # another victim the hunt found")
        console.print(f"  reclaim remediate {safe(user)}     # then its plan")
    for h in hunted:
        console.print(f"  reclaim report {safe(h.case_id)} --format html --out hunt.html --db {db}")


async def _hunt(conn: Connection, store: Store, case_id: str) -> HuntResult:
    """Who else: the first case's indicators (attacker IPs, forwarding address, rules, app) across the tenant."""
    from reclaim.cli.sweep import render_hunt
    from reclaim.sweep.hunt import hunt, indicators_from_case

    console.print(f"\n[bold]hunt {safe(case_id)}[/bold] (who else: this case's indicators across the tenant)")
    result = await hunt(conn, store, indicators_from_case(store, case_id))
    render_hunt(result, hints=False)
    return result


async def _show_shares(conn: Connection, store: Store, case_id: str) -> None:
    """The OneDrive shares of the case, re-read from the tenant after remediation: gone or still there."""
    from urllib.parse import quote

    from reclaim.m365 import NotFound

    shares = [f for f in store.findings(case_id) if f.check_id == "sharing-link-created" and f.evidence.get("active")]
    if not shares:
        return
    table = Table(title="OneDrive shares after remediation")
    for col in ("file", "share", "made", "now"):
        table.add_column(col)
    for f in shares:
        ev = f.evidence
        url = (f"/drives/{quote(str(ev['driveId']), safe='!')}/items/{quote(str(ev['itemId']), safe='!')}"
               f"/permissions/{quote(str(ev['permissionId']), safe='')}")
        try:
            await conn.graph.get(url)
            now = "still there" + (" (the user's own: left alone)" if not ev.get("byAttacker") else "")
        except NotFound:
            now = "removed"
        share = f"{ev.get('scope')} {ev.get('type')}" + (f" for {ev['target']}" if ev.get("target") else "")
        table.add_row(safe(ev.get("path") or ""), safe(share),
                      "by the attacker" if ev.get("byAttacker") else "by the user", now)
    console.print(table)


async def _show_tenant(conn: Connection) -> None:
    select = {"$select": "id,userPrincipalName,displayName,accountEnabled"}
    users = [u async for u in conn.graph.paged("/users", select)]
    mailboxes = {str(m.get("UserPrincipalName", "")).lower(): m
                 for m in await conn.exchange.invoke("Get-Mailbox", {"ResultSize": "Unlimited"})}
    blocked = {str(b.get("SenderAddress", "")).lower()
               for b in await conn.exchange.invoke("Get-BlockedSenderAddress", {})}
    table = Table(title="The practice tenant")
    for col in ("user", "display name", "sign-in", "inbox rules", "forwarding", "restricted"):
        table.add_column(col)
    for user in users:
        upn = str(user.get("userPrincipalName", ""))
        rules = await conn.exchange.invoke("Get-InboxRule", {"Mailbox": upn, "IncludeHidden": True})
        names = [str(r.get("Name", "")) for r in rules]
        mbx = mailboxes.get(upn.lower(), {})
        forward = mbx.get("ForwardingSmtpAddress") or mbx.get("ForwardingAddress") or ""
        table.add_row(safe(upn), safe(user.get("displayName") or ""),
                      "enabled" if user.get("accountEnabled") else "blocked",
                      safe(", ".join(names)) or "-", safe(forward) or "-",
                      "yes" if upn.lower() in blocked else "")
    console.print(table)
