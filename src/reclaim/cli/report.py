"""``reclaim report CASE --format html|evidence|md|json|csv|pdf|all [--out PATH] [--tz ZONE]``.

Thin: open the store, build the report, write it (to ``--out`` or standard output), say where. Exits 1
when the case was altered (its seal, journal chain or evidence hashes do not verify; the report is still written,
and says so),
2 on bad input (unknown case, format or zone; an unwritable path).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from reclaim.cli.common import DB_OPTION, reclaim_errors
from reclaim.cli.console import err_console, safe
from reclaim.errors import EXIT_FINDINGS, BadInput


def report_command(
    case_id: str = typer.Argument(..., metavar="CASE", help="The case id, e.g. c-20261127-0001."),
    fmt: str = typer.Option("html", "--format", "-f",
                            metavar="FORMAT",
                            help="html (the customer's report: prints in at most 8 A4 pages), evidence (the full "
                                 "record as its own HTML document: every event, each finding's evidence, the raw "
                                 "journal), md (for a ticket), json (for a SIEM / SOAR; schema shipped in the "
                                 "package), csv (the findings), notify (the outside recipients of the attacker's "
                                 "mail, CSV), pdf (the customer's report printed by headless Chromium), or all "
                                 "(every format but pdf into the --out directory, all or none)."),
    out: Path | None = typer.Option(None, "--out", "-o",
                                    metavar="PATH",
                                    help="Write to this file (a directory with --format all); default: standard "
                                         "output. Files are created readable by you only."),
    tz: str | None = typer.Option(None, "--tz", metavar="ZONE",
                                  help="Show times in this zone (IANA name such as Europe/Berlin, "
                                                     "or UTC); default: this machine's zone."),
    db: str | None = DB_OPTION,
) -> None:
    """Write the report of a case: summary, findings with evidence, timeline, remediation journal, what was not
    checked."""
    from reclaim.report import FORMATS, build_report, render, render_pdf, resolve_zone, write_reports
    from reclaim.store import Store

    with reclaim_errors():
        fmt = fmt.strip().lower()
        if fmt == "markdown":
            fmt = "md"
        if fmt not in FORMATS:
            raise BadInput(f"unknown report format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}")
        if fmt == "all" and out is None:
            raise BadInput("--format all needs --out DIRECTORY")
        zone = resolve_zone(tz)
        with Store(db, create=db is None) as store:
            if out is None:
                report = build_report(store, case_id, zone)
                if fmt == "pdf":
                    if sys.stdout.isatty():
                        raise BadInput("--format pdf writes a binary file, not to a terminal",
                                       hint="give --out report.pdf (or redirect standard output)")
                    sys.stdout.buffer.write(render_pdf(report))
                    sys.stdout.buffer.flush()
                else:
                    sys.stdout.write(render(report, fmt))
                    sys.stdout.flush()
                intact = report.intact
            else:
                written = write_reports(store, case_id, fmt, out, zone)
                intact = store.case_detail(case_id).intact
                for item in written:
                    err_console.print(f"wrote {safe(item.format)} report: {safe(item.path)}")
    if not intact:
        err_console.print("warning: the case was altered: its seal, journal chain or evidence hashes do not verify "
                          "(see the report)")
        raise typer.Exit(EXIT_FINDINGS)
