"""The Microsoft 365 client (``reclaim.m365``) against the emulator in its own process.

What it measures: requests per second and the client's own CPU per request for single Graph GETs at a
few concurrency bounds, the same requests through ``$batch`` (20 per envelope), Exchange
``InvokeCommand`` reads, and a run under 20 % injected faults (429, 503, resets) where every call
must still succeed. HTTP/2 is not measured: the emulator's server (uvicorn) speaks HTTP/1.1 and the
``h2`` package is not a dependency, so the client stays on pooled HTTP/1.1 keep-alive connections.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from bench import Result, register
from bench.emulator import serve
from reclaim.m365 import BatchRequest, Connection, ConnectionSettings, RetryPolicy

REQUESTS = 1000
CONCURRENCY = (4, 16, 64)


async def _measure(url: str) -> Result:
    out: Result = {"requests": REQUESTS, "cores": os.cpu_count()}
    for conc in CONCURRENCY:
        settings = ConnectionSettings.for_endpoint(url, max_concurrency=conc, initial_concurrency=conc)
        async with Connection.open(settings) as conn:
            users = [u["id"] async for u in conn.graph.paged("/users", {"$select": "id", "$top": "999"})]
            await conn.graph.get(f"/users/{users[0]}")
            cpu, wall = time.process_time(), time.perf_counter()
            await asyncio.gather(*(conn.graph.get(f"/users/{users[i % len(users)]}") for i in range(REQUESTS)))
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            out[f"get_rps_c{conc}"] = round(REQUESTS / wall, 1)
            out[f"get_client_cpu_ms_c{conc}"] = round(cpu / REQUESTS * 1000, 3)
            cpu, wall = time.process_time(), time.perf_counter()
            results = await conn.graph.batch([BatchRequest("GET", f"/users/{users[i % len(users)]}")
                                              for i in range(REQUESTS)])
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            assert all(r.ok for r in results)
            out[f"batch_subrequests_per_s_c{conc}"] = round(REQUESTS / wall, 1)
            out[f"batch_client_cpu_ms_per_subrequest_c{conc}"] = round(cpu / REQUESTS * 1000, 3)
    async with Connection.open(ConnectionSettings.for_endpoint(url)) as conn:
        mailboxes = [m.user_principal_name async for m in conn.exchange.iter_mailboxes()]
        n = min(200, len(mailboxes))
        wall = time.perf_counter()
        await asyncio.gather(*(conn.exchange.get_inbox_rules(str(mailboxes[i])) for i in range(n)))
        out["exchange_get_inboxrule_rps"] = round(n / (time.perf_counter() - wall), 1)
    return out


async def _faults(url: str) -> Result:
    policy = RetryPolicy(max_attempts=12, base_delay=0.05, max_delay=0.5, time_scale=0.01)
    async with Connection.open(ConnectionSettings.for_endpoint(url, policy=policy)) as conn:
        users = [u["id"] async for u in conn.graph.paged("/users", {"$select": "id", "$top": "999"})]
        wall = time.perf_counter()
        await asyncio.gather(*(conn.graph.get(f"/users/{users[i % len(users)]}") for i in range(REQUESTS)))
        wall = time.perf_counter() - wall
        stats = conn.pipeline.stats
        return {"faults": "429=0.1,503=0.05,reset=0.05", "requests": REQUESTS, "succeeded": REQUESTS,
                "sent": stats.requests, "retries": stats.retries, "throttled": stats.throttled,
                "transient": stats.transient, "rps": round(REQUESTS / wall, 1),
                "final_concurrency_limit": round(conn.pipeline.limit.limit, 1)}


@register("client")
def client() -> Result:
    with serve("--synthetic", "200", "--seed", "1", "--no-throttling") as (url, _pid):
        result: dict[str, Any] = asyncio.run(_measure(url))
    with serve("--synthetic", "200", "--seed", "1", "--no-throttling",
               "--faults", "429=0.1,503=0.05,reset=0.05,retry_after=0.1") as (url, _pid):
        result["with_faults"] = asyncio.run(_faults(url))
    return result
