"""``python -m reclaim.report.screenshot docs/report.png``: the README's picture of a report (``make screenshot``).

Runs the practice tenant's ``bec-classic`` scenario in-process, investigates its compromised user, applies
and verifies the remediation plan (the generated password is discarded: it is the emulator's), writes the
HTML report into a temporary directory and photographs it in headless Chromium.
"""

from __future__ import annotations

import asyncio
import copy
import sys
import tempfile
from datetime import UTC
from pathlib import Path

from reclaim.collect import investigate
from reclaim.emulator import Emulator
from reclaim.emulator.scenarios import load_scenario
from reclaim.emulator.server import serve_in_thread
from reclaim.errors import ReclaimError
from reclaim.m365 import Connection, ConnectionSettings
from reclaim.remediate import apply_plan, plan_for_case
from reclaim.report import build_report, render
from reclaim.report.browser import screenshot
from reclaim.store import Store

__all__ = ["main", "remediated_sample_case"]

SAMPLE_USER = "alice.wu@contoso.com"


def _discard(password: str, upn: str) -> str:
    return "discarded (practice tenant)"


def remediated_sample_case(store: Store, url: str, upn: str = SAMPLE_USER) -> str:
    """Investigate ``upn`` at the emulator ``url``, apply the plan, return the case id."""

    async def run() -> str:
        async with Connection.open(ConnectionSettings.for_endpoint(url)) as conn:
            case_id = (await investigate(conn, store, upn, identity_protection_spacing=0)).case_id
            await apply_plan(conn, store, plan_for_case(store, case_id), password_sink=_discard,
                             operator="responder@contoso.com")
            return case_id

    return asyncio.run(run())


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0] if args else "docs/report.png")
    fixture = copy.deepcopy(load_scenario("bec-classic"))
    fixture.setdefault("tenant", {}).setdefault("settings", {})["throttling"] = {"enabled": False}
    try:
        with tempfile.TemporaryDirectory(prefix="reclaim-screenshot-") as work:
            store = Store(Path(work) / "cases.db")
            try:
                with serve_in_thread(Emulator(fixture)) as url:
                    case_id = remediated_sample_case(store, url)
                report = build_report(store, case_id, UTC)
            finally:
                store.close()
            page = Path(work) / "report.html"
            page.write_text(render(report, "html"), encoding="utf-8")
            screenshot(page, target, width=1100, height=1900)
    except ReclaimError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code
    print(target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
