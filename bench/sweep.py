"""``sweep``: reclaim's tenant sweep of 10,000 mailboxes at 100 ms emulated latency (issue 7).

The emulator runs in its own process (``reclaim emulator serve --synthetic 10000 --latency-ms 100``,
Microsoft's throttling rules on). Three measurements against it, one after the other:

- reclaim: ``sweep()`` in a child process (a fresh SQLite case store), so its peak RSS is its own
  (``VmHWM``; its checks' helper process separately, ``helper_peak_rss_mb``); wall time from the first
  request to the stored summary, and the requests it sent;
- the floor: a minimal raw-httpx script in this process that sends the same requests (the tenant-wide
  lists with the same Identity Protection spacing, the same ``Get-Mailbox`` pages, the same 20-mailbox
  ``$batch`` envelopes, started as pages arrive, then for each envelope the same folder reads in
  ``$batch``: the ids the rules move or copy to, found with reclaim's own ``rule_folder_ids``) with
  16 connections in flight and no other processing;
- the serial baseline: for 1,000 mailboxes, one ``GET .../messageRules`` and one ``Get-Mailbox -Identity``
  each, one at a time (how the PowerShell tools do it), scaled to 10,000.

Before them, one unmeasured pass of the floor's requests warms the fresh emulator up (``warm_up_seconds``),
so that neither measurement pays for being first. The emulator's CPU seconds during each phase show
whether it was the bottleneck (``emulator_cpu_*``). Tokens are fetched before any clock starts.
Run: ``python -m bench sweep``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from bench import Result, register
from bench.emulator import cpu_seconds, serve
from reclaim.sweep.core import FOLDER_SELECT, rule_folder_ids

MAILBOXES = 10_000
LATENCY_MS = 100
SERIAL_SUBSET = 1_000
#: 16 envelopes (320 mailbox reads) in flight; more is slower with httpx: its connection pool scans every
#: connection for every queued request, so 64 connections cost ~9 s of client CPU here against ~2 s for 16.
FLOOR_CONNECTIONS = 16
IDENTITY_PROTECTION_SPACING = 1.0
ROOT = Path(__file__).resolve().parent.parent


# -- reclaim, in a child process --------------------------------------------------------------------------


class _Warm:
    """Tokens fetched before the clock starts, shared with the sweep's connection (which must not close them)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def get_token(self, scope: str, *, refresh: bool = False) -> Any:
        return await self.inner.get_token(scope, refresh=refresh)

    async def close(self) -> None:
        return None


async def _reclaim_sweep(url: str, db: str) -> dict[str, Any]:
    from reclaim.detect.worker import CheckProcess
    from reclaim.m365 import Connection, ConnectionSettings
    from reclaim.store import Store
    from reclaim.sweep import SweepOptions, SweepTarget, sweep

    # the checks' helper process: its own peak (VmHWM), read just before the sweep closes it
    helper_rss: list[float] = []
    close = CheckProcess.close

    async def measured_close(self: CheckProcess) -> None:
        helper_rss.append(_peak_rss_mb(f"/proc/{self.process.pid}/status"))
        await close(self)

    CheckProcess.close = measured_close  # type: ignore[method-assign]
    settings = ConnectionSettings.for_endpoint(url)
    async with Connection.open(settings) as warm:
        await warm.graph_token()
        await warm.exchange_token()
        tokens = _Warm(warm.tokens)
        store = Store(db)
        try:
            start = time.perf_counter()
            result = await sweep([SweepTarget("bench", settings)], store, options=SweepOptions(),
                                 connect=lambda s: Connection.open(s, tokens=tokens))
            seconds = time.perf_counter() - start
        finally:
            store.close()
    tenant = result.tenants[0]
    return {"seconds": seconds, "requests": tenant.requests, "mailboxes": tenant.mailboxes,
            "status": result.status, "flagged": len(result.flagged), "incomplete": tenant.incomplete,
            "error": tenant.error, "peak_rss_mb": _peak_rss_mb(), "helper_peak_rss_mb": max(helper_rss, default=0.0)}


def _peak_rss_mb(status: str = "/proc/self/status") -> float:
    """A process's peak RSS: ``VmHWM`` (its own address space); ``ru_maxrss`` also counts the parent's
    memory copied by fork() before exec, so it would report the bench driver's size, not the sweep's."""
    try:
        for line in Path(status).read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(url: str, db: str) -> None:
    print(json.dumps(asyncio.run(_reclaim_sweep(url, db))), flush=True)


def _run_reclaim(url: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([sys.executable, "-m", "bench.sweep", "child", url, str(Path(tmp) / "sweep.db")],
                              capture_output=True, text=True, cwd=ROOT, timeout=600, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"the sweep child failed: {proc.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# -- the floor: the same requests, raw ----------------------------------------------------------------------


class _Raw:
    def __init__(self, client: httpx.AsyncClient, tenant: str, graph: str, exchange: str) -> None:
        self.client = client
        self.tenant = tenant
        self.graph_headers = {"Authorization": f"Bearer {graph}"}
        self.exo_headers = {"Authorization": f"Bearer {exchange}", "Prefer": "odata.maxpagesize=1000",
                            "X-AnchorMailbox": f"APP:SystemMailbox{{bb558c35-97f1-4cb9-8ff7-d53741dc928c}}@{tenant}"}
        self.requests = 0

    async def graph_list(self, url: str, *, spacing: float = 0.0) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        next_url: str | None = url
        while next_url:
            if items and spacing:
                await asyncio.sleep(spacing)
            self.requests += 1
            r = await self.client.get(next_url, headers=self.graph_headers)
            r.raise_for_status()
            body = r.json()
            items.extend(body.get("value", []))
            next_url = body.get("@odata.nextLink")
        return items

    async def cmdlet_pages(self, cmdlet: str, parameters: dict[str, Any]) -> Any:
        url: str | None = f"/adminapi/beta/{self.tenant}/InvokeCommand"
        body = {"CmdletInput": {"CmdletName": cmdlet, "Parameters": parameters}}
        while url:
            self.requests += 1
            r = await self.client.post(url, json=body, headers=self.exo_headers)
            r.raise_for_status()
            page = r.json()
            yield page.get("value", [])
            url = page.get("@odata.nextLink")

    async def batch(self, urls: list[str]) -> Any:
        self.requests += 1
        r = await self.client.post("/v1.0/$batch", headers=self.graph_headers, json={
            "requests": [{"id": str(i + 1), "method": "GET", "url": u} for i, u in enumerate(urls)]})
        r.raise_for_status()
        return r


async def _floor(url: str, tokens: tuple[str, str, str]) -> tuple[float, int]:
    tenant, graph, exchange = tokens
    limits = httpx.Limits(max_connections=FLOOR_CONNECTIONS, max_keepalive_connections=FLOOR_CONNECTIONS)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:
        raw = _Raw(client, tenant, graph, exchange)
        slots = asyncio.Semaphore(FLOOR_CONNECTIONS)
        start = time.perf_counter()

        async def envelope(ids: list[str]) -> None:
            urls = [f"/users/{i}/mailFolders/inbox/messageRules" for i in ids]
            async with slots:
                r = await raw.batch(urls)
            # then, as reclaim does, the folders the rules move or copy to (same envelopes: each id once per
            # mailbox, well-known names skipped, 20 per envelope in flight together)
            by_id = {str(x["id"]): x for x in r.json()["responses"]}
            folders: list[str] = []
            for n, uid in enumerate(ids):
                body = by_id[str(n + 1)].get("body") or {}
                folders += [f"/users/{uid}/mailFolders/{quote(f, safe='=')}?$select={FOLDER_SELECT}"
                            for f in rule_folder_ids(body.get("value") or [])]

            async def more(part: list[str]) -> None:
                async with slots:
                    await raw.batch(part)

            await asyncio.gather(*(more(folders[k:k + 20]) for k in range(0, len(folders), 20)))

        async def mailboxes() -> None:
            tasks: list[asyncio.Task[None]] = []
            async for page in raw.cmdlet_pages("Get-Mailbox", {"ResultSize": "Unlimited"}):
                ids = [str(m["ExternalDirectoryObjectId"]) for m in page]
                tasks += [asyncio.create_task(envelope(ids[i:i + 20])) for i in range(0, len(ids), 20)]
            await asyncio.gather(*tasks)

        async def identity_protection() -> None:
            # one request per second per tenant: each page waits its turn, as reclaim's do
            await raw.graph_list("/v1.0/identityProtection/riskyUsers?$top=500", spacing=IDENTITY_PROTECTION_SPACING)
            await asyncio.sleep(IDENTITY_PROTECTION_SPACING)
            await raw.graph_list("/v1.0/identityProtection/riskDetections", spacing=IDENTITY_PROTECTION_SPACING)

        async def grants() -> None:
            found = await raw.graph_list("/v1.0/oauth2PermissionGrants")
            ids = sorted({g["clientId"] for g in found})
            await asyncio.gather(*(raw.batch([f"/servicePrincipals/{i}" for i in ids[k:k + 20]])
                                   for k in range(0, len(ids), 20)))

        async def cmdlet(name: str, parameters: dict[str, Any]) -> None:
            async for _ in raw.cmdlet_pages(name, parameters):
                pass

        await asyncio.gather(mailboxes(), identity_protection(), grants(),
                             raw.graph_list("/v1.0/domains?$select=id,isVerified,isDefault"),
                             cmdlet("Get-BlockedSenderAddress", {}),
                             cmdlet("Get-TransportRule", {"ResultSize": "Unlimited"}))
        return time.perf_counter() - start, raw.requests


# -- the serial baseline ------------------------------------------------------------------------------------


async def _serial(url: str, tokens: tuple[str, str, str]) -> float:
    tenant, graph, exchange = tokens
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        raw = _Raw(client, tenant, graph, exchange)
        first = [m async for page in raw.cmdlet_pages("Get-Mailbox", {"ResultSize": SERIAL_SUBSET}) for m in page]
        first = first[:SERIAL_SUBSET]
        start = time.perf_counter()
        for m in first:
            r = await client.get(f"/v1.0/users/{m['ExternalDirectoryObjectId']}/mailFolders/inbox/messageRules",
                                 headers=raw.graph_headers)
            r.raise_for_status()
            async for _ in raw.cmdlet_pages("Get-Mailbox", {"Identity": m["UserPrincipalName"]}):
                pass
        return (time.perf_counter() - start) * MAILBOXES / len(first)


async def _tokens(url: str) -> tuple[str, str, str]:
    """Tenant id and tokens of the practice tenant's well-known app (no state dump: it is 10,000 users)."""
    from reclaim.m365.connection import EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET

    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        out = []
        for scope in ("https://graph.microsoft.com/.default", "https://outlook.office365.com/.default"):
            r = await client.post("/organizations/oauth2/v2.0/token", data={
                "grant_type": "client_credentials", "client_id": EMULATOR_CLIENT_ID,
                "client_secret": EMULATOR_CLIENT_SECRET, "scope": scope})
            r.raise_for_status()
            out.append(str(r.json()["access_token"]))
    claims = json.loads(base64.urlsafe_b64decode(out[0].split(".")[1] + "=="))
    return str(claims["tid"]), out[0], out[1]


@register("sweep")
def sweep() -> Result:
    with serve("--synthetic", str(MAILBOXES), "--latency-ms", str(LATENCY_MS)) as (url, pid):
        tokens = asyncio.run(_tokens(url))
        # one unmeasured pass first: whichever ran first would also pay the fresh emulator's warm-up
        # (about half a second: first allocations, first listing of 10,000 mailboxes)
        warm_up, _ = asyncio.run(_floor(url, tokens))
        cpu0 = cpu_seconds(pid)
        reclaim = _run_reclaim(url)
        cpu1 = cpu_seconds(pid)
        floor_seconds, floor_requests = asyncio.run(_floor(url, tokens))
        cpu2 = cpu_seconds(pid)
        serial = asyncio.run(_serial(url, tokens))
    seconds = reclaim["seconds"]

    def cpu(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else round(b - a, 2)

    return {
        "mailboxes": reclaim["mailboxes"],
        "latency_ms": LATENCY_MS,
        "seconds": round(seconds, 3),
        "requests": reclaim["requests"],
        "floor_seconds": round(floor_seconds, 3),
        "floor_requests": floor_requests,
        "warm_up_seconds": round(warm_up, 3),
        "serial_seconds_scaled": round(serial, 1),
        "peak_rss_mb": round(reclaim["peak_rss_mb"], 1),
        "helper_peak_rss_mb": round(reclaim["helper_peak_rss_mb"], 1),
        "ratio_to_floor": round(seconds / floor_seconds, 2),
        "speedup_vs_serial": round(serial / seconds, 1),
        "emulator_cpu_seconds_sweep": cpu(cpu0, cpu1),
        "emulator_cpu_seconds_floor": cpu(cpu1, cpu2),
        "flagged_mailboxes": reclaim["flagged"],
        "status": reclaim["status"],
    }


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "child":
    _child(sys.argv[2], sys.argv[3])
