"""``reclaim evidence``: export a case's evidence bundle for the customer and auditors, and check one offline."""

from __future__ import annotations

from pathlib import Path

import typer

from reclaim.cli.common import DB_OPTION, reclaim_errors
from reclaim.cli.console import console, inert_json, safe
from reclaim.errors import EXIT_FINDINGS

app = typer.Typer(help="Evidence to hand over: export a case as a zip with a SHA-256 manifest, and verify one.",
                  no_args_is_help=True, rich_markup_mode=None)


@app.command("export")
def export_command(
    case_id: str = typer.Argument(..., metavar="CASE", help="The case to export (reclaim cases list)."),
    out: Path = typer.Option(..., "--out", "-o", metavar="FILE", help="The zip file to write."),
    db: str | None = DB_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Write the case's raw evidence, findings, timeline, journal and a manifest of SHA-256 hashes to a zip."""
    from reclaim.evidence import export_bundle
    from reclaim.store import Store

    with reclaim_errors(), Store(db, create=False) as store:
        done = export_bundle(store, case_id, out)
    if as_json:
        typer.echo(inert_json({"path": str(done.path), "case": done.case_id, "files": done.files,
                               "evidence": done.evidence, "chainHead": done.chain_head, "sealHead": done.seal_head,
                               "sha256": done.sha256}))
        return
    console.print(f"wrote {safe(str(done.path))}: case {safe(done.case_id)}, {done.evidence} evidence item(s), "
                  f"{done.files} files")
    console.print(f"  journal chain head {done.chain_head}")
    console.print(f"  case seal head     {done.seal_head}")
    console.print(f"  bundle SHA-256     {done.sha256}  [dim](note it down: it identifies this bundle)[/dim]")


@app.command("verify")
def verify_command(
    path: Path = typer.Argument(..., metavar="FILE", help="The zip written by `reclaim evidence export`."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Check an evidence bundle offline: exit 0 when intact, 1 naming what was altered."""
    from reclaim.evidence import verify_bundle

    with reclaim_errors():
        result = verify_bundle(path)
    if as_json:
        typer.echo(inert_json(result.to_json()))
    elif result.ok:
        console.print(f"[green]intact[/green]: {safe(str(path))}, case {safe(result.case_id or '?')}, "
                      f"{result.files} files; journal chain head {safe(result.chain_head or '?')}")
    else:
        console.print(f"[red]ALTERED[/red]: {safe(str(path))}")
        for problem in result.problems:
            console.print(f"  - {safe(problem)}")
    if not result.ok:
        raise typer.Exit(EXIT_FINDINGS)
