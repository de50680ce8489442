"""Remediation wall time on ``bec-classic`` with 150 ms of emulated latency (the emulator in its own process).

``contain_seconds``: from the start of the run until the account is contained (blocked, sessions revoked,
password reset, each confirmed by a read); ``total_seconds``: until the whole plan is applied and verified
(the restricted-sender unblock counts once requested: Microsoft's delay is excluded); ``requests``: HTTP
requests the run sent (reads and writes, retries included); ``verify_seconds``: the verify after it (every step
re-read, the attacker's collections re-listed); ``applied_and_verified_seconds``: both. The investigation before
it is not timed. Targets of issue 16: contained in ≤ 4 round trips (≤ 0.6 s at 150 ms), applied and verified in
≤ 3 s (``contain_round_trips`` is ``contain_seconds`` in units of the emulated latency: journal writes count).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from bench import Result, register
from bench.emulator import serve

LATENCY_MS = 150
USER = "alice.wu@contoso.com"


@register("remediate")
def remediate() -> Result:
    from reclaim.collect import investigate
    from reclaim.m365 import Connection, ConnectionSettings
    from reclaim.remediate import apply_plan, plan_for_case, verify_case
    from reclaim.store import Store

    with tempfile.TemporaryDirectory() as tmp, serve("--scenario", "bec-classic", "--latency-ms",
                                                     str(LATENCY_MS)) as (url, _pid):
        store = Store(str(Path(tmp) / "bench.db"))

        def discard(upn: str, password: str) -> str:
            return "nowhere (benchmark)"

        async def main() -> Result:
            async with Connection.open(ConnectionSettings.for_endpoint(url)) as conn:
                case_id = (await investigate(conn, store, USER)).case_id
                plan = plan_for_case(store, case_id)
                sent = conn.pipeline.stats.requests
                started = time.monotonic()
                report = await apply_plan(conn, store, plan, password_sink=discard, operator="bench")
                wall = time.monotonic() - started
                requests = conn.pipeline.stats.requests - sent
                checked = await verify_case(conn, store, case_id, operator="bench")
                verified = time.monotonic() - started - wall
                contain = report.contain_seconds or 0.0
                return {
                    "latency_ms": LATENCY_MS,
                    "contain_seconds": round(contain, 3),
                    "contain_round_trips": round(contain / (LATENCY_MS / 1000), 1),
                    "total_seconds": round(wall, 3),
                    "verify_seconds": round(verified, 3),
                    "applied_and_verified_seconds": round(wall + verified, 3),
                    "requests": requests,
                    "verify_requests": checked.requests,
                    "relisted": len(checked.relisted),
                    "steps": len(plan.steps),
                    "ok": report.ok and checked.ok,
                    "states": sorted({o.state.value for o in report.outcomes}),
                    "targets": {"contain_seconds": 0.6, "applied_and_verified_seconds": 3.0},
                }

        try:
            return asyncio.run(main())
        finally:
            store.close()
