"""``investigate``: wall time of one user's investigation at 100 ms emulated latency (issue 4).

The emulator runs in its own process (``reclaim emulator serve --scenario bec-classic --latency-ms 100``);
this process investigates the compromised user of ``bec-classic`` through the real client and stores the
case in a throwaway SQLite file. Tokens are fetched before the clock starts (a real run reuses them).

Reported next to the wall time: the number of requests, the round-trip time, and the floor the platform
sets — Identity Protection and Conditional Access answer one request per second per tenant, and an
investigation reads three of them (risky user, Conditional Access policies, risk detections).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from bench import Result, register
from bench.emulator import serve

LATENCY_MS = 100
USER = "alice.wu@contoso.com"


async def _investigate(url: str, db: Path) -> tuple[float, int, str]:
    from reclaim.collect import investigate
    from reclaim.m365 import Connection, ConnectionSettings
    from reclaim.store import Store

    store = Store(str(db))
    try:
        async with Connection.open(ConnectionSettings.for_endpoint(url)) as conn:
            await conn.graph_token()
            await conn.exchange_token()
            await conn.tenant_id()
            start = time.perf_counter()
            result = await investigate(conn, store, USER)
            seconds = time.perf_counter() - start
    finally:
        store.close()
    return seconds, result.requests, result.analysis.verdict.name.value


@register("investigate")
def investigate() -> Result:
    with tempfile.TemporaryDirectory() as tmp, serve("--scenario", "bec-classic",
                                                     "--latency-ms", str(LATENCY_MS)) as (url, _pid):
        seconds, requests, verdict = asyncio.run(_investigate(url, Path(tmp) / "bench.db"))
    rtt = LATENCY_MS / 1000
    return {
        "latency_ms": LATENCY_MS,
        "seconds": round(seconds, 3),
        "requests": requests,
        "round_trips": round(seconds / rtt, 1),
        "identity_protection_floor_seconds": 2.0,
        "round_trips_beyond_floor": round((seconds - 2.0) / rtt, 1),
        "user": USER,
        "verdict": verdict,
    }
