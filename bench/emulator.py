"""The emulator's own throughput: requests/s for a simple GET and for 20-request ``$batch`` es.

The emulator runs in a separate process (``reclaim emulator serve --synthetic 1000 --no-throttling``)
and is driven from this one over loopback HTTP with httpx (async, a bounded pool of connections), so
the numbers include the real HTTP stack. On a 2-core machine the client competes with the server for
CPU; ``emulator_cpu_share`` (emulator CPU seconds / wall seconds) tells whether the emulator was the
saturated side (close to 1.0: it was); ``cpu_ms_per_*`` and ``*_per_cpu_second`` are the emulator's
own cost, steady even when other work shares the machine. A second run with ``--latency-ms 100`` checks
that delayed requests overlap (``latency.get_rps`` close to ``latency.ideal_rps``).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import httpx

from bench import Result, register

USERS = 1000
CONNECTIONS = 48
#: httpx's async pool slows down as connections grow; 8 is about its best here.
HTTPX_CONNECTIONS = 8
HTTPX_SECONDS = 3.0
PHASE_SECONDS = 6.0
WARMUP_SECONDS = 0.5
BATCH_SIZE = 20
#: the second run: every response delayed, as issue 7's sweep benchmark serves it
LATENCY_MS = 100
LATENCY_CONNECTIONS = 64
LATENCY_SECONDS = 3.0


def _reclaim_command() -> list[str]:
    script = Path(sys.executable).with_name("reclaim")
    if script.exists():
        return [str(script)]
    found = shutil.which("reclaim")
    if found:
        return [found]
    return [sys.executable, "-c", "import sys; from reclaim.cli.main import run; sys.argv[0] = 'reclaim'; run()"]


@contextlib.contextmanager
def serve(*args: str) -> Iterator[tuple[str, int]]:
    """Start ``reclaim emulator serve ARGS`` in its own process; yield (base URL, pid)."""
    command = [*_reclaim_command(), "emulator", "serve", *args]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.startswith("http"):
            _, err = proc.communicate(timeout=10)
            raise RuntimeError(f"the emulator did not start ({' '.join(command)}): {line} {err.strip()}")
        _wait_ready(line)
        yield line, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_ready(url: str) -> None:
    deadline = time.monotonic() + 15
    while True:
        try:
            httpx.get(f"{url}/_emulator/clock", timeout=1.0)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc); None where it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    # fields after "(comm)": state is [0]; utime, stime are fields 14 and 15 of the full line -> [11], [12]
    return (int(fields[11]) + int(fields[12])) / ticks


async def _token(client: httpx.AsyncClient) -> str:
    """A Graph token for the tenant's first app (read from the control plane's state dump)."""
    state = (await client.get("/_emulator/state")).json()
    tenant, app = state["tenant"]["id"], state["apps"][0]
    r = await client.post(f"/{tenant}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": app["clientId"],
        "client_secret": app["clientSecret"], "scope": "https://graph.microsoft.com/.default"})
    r.raise_for_status()
    return str(r.json()["access_token"])


async def _user_ids(client: httpx.AsyncClient) -> list[str]:
    ids: list[str] = []
    url: str | None = "/v1.0/users?$select=id&$top=999"
    while url:
        r = await client.get(url)
        r.raise_for_status()
        body = r.json()
        ids.extend(str(u["id"]) for u in body["value"])
        url = body.get("@odata.nextLink")
    return ids


class RawConnection:
    """A minimal HTTP/1.1 keep-alive client (asyncio streams) used only to generate load.

    httpx's async pool costs ~2-3 ms of client CPU per request here, so on a 2-core machine an httpx
    load generator measures httpx, not the emulator (see ``get_rps_httpx``). This client writes the
    request bytes and reads ``Content-Length`` bytes back: the emulator's cost dominates.
    """

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port = host, port
        self.head = f"Host: {host}:{port}\r\nAuthorization: Bearer {token}\r\n".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        extra = b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body) if body else b""
        self.writer.write(f"{method} {path} HTTP/1.1\r\n".encode() + self.head + extra + b"\r\n" + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        payload = await self.reader.readexactly(length) if length else b""
        return status, payload

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(ConnectionError):
                await self.writer.wait_closed()


async def _run_phase(request: Callable[[int, random.Random], Awaitable[bool]], connections: int,
                     seconds: float) -> tuple[int, int, float, int]:
    """Run ``request(worker, rnd)`` from ``connections`` workers for ``seconds`` after a warm-up;
    returns (succeeded, failed, wall seconds) of the measured part, and all requests sent."""
    counts = [0, 0]
    sent = 0
    measuring = False
    stop = False

    async def worker(n: int) -> None:
        rnd = random.Random(n)
        nonlocal sent
        while not stop:
            ok = await request(n, rnd)
            sent += 1
            if measuring:
                counts[0 if ok else 1] += 1

    tasks = [asyncio.create_task(worker(n)) for n in range(connections)]
    await asyncio.sleep(WARMUP_SECONDS)
    measuring = True
    started = time.perf_counter()
    await asyncio.sleep(seconds)
    measuring = False
    wall = time.perf_counter() - started
    stop = True
    await asyncio.gather(*tasks)
    return counts[0], counts[1], wall, sent


async def _sign_in(client: httpx.AsyncClient) -> tuple[str, list[str]]:
    """Authorise ``client`` with a Graph token; returns (the token, every user id)."""
    token = await _token(client)
    client.headers["Authorization"] = f"Bearer {token}"
    return token, await _user_ids(client)


class _Phases(NamedTuple):
    """One ``_run_phase`` result (succeeded, failed, wall seconds, sent) for single GETs and one for ``$batch``es,
    and the emulator's CPU seconds before, between and after them (None where not read)."""

    get: tuple[int, int, float, int]
    batch: tuple[int, int, float, int]
    cpu: tuple[float | None, float | None, float | None]


async def _get_then_batch(url: str, token: str, ids: list[str], connections: int, seconds: float, *,
                          pid: int | None = None, check_subrequests: bool = False) -> _Phases:
    """A phase of ``GET /users/{id}`` then one of 20-request ``$batch``es, each from ``connections`` raw
    connections for ``seconds``. ``pid``: read that process's CPU time around the phases. ``check_subrequests``:
    a ``$batch`` succeeds only if every response in it is a 200 (else: the ``$batch`` itself is a 200)."""
    host, port = httpx.URL(url).host, int(httpx.URL(url).port or 80)
    raw = [RawConnection(host, port, token) for _ in range(connections)]

    async def get_user(n: int, rnd: random.Random) -> bool:
        status, _ = await raw[n].request("GET", f"/v1.0/users/{rnd.choice(ids)}")
        return status == 200

    async def batch(n: int, rnd: random.Random) -> bool:
        body = {"requests": [{"id": str(i), "method": "GET", "url": f"/users/{rnd.choice(ids)}"}
                             for i in range(BATCH_SIZE)]}
        status, payload = await raw[n].request("POST", "/v1.0/$batch", json.dumps(body).encode())
        if not check_subrequests:
            return status == 200
        return status == 200 and all(x["status"] == 200 for x in json.loads(payload)["responses"])

    def cpu() -> float | None:
        return None if pid is None else cpu_seconds(pid)

    cpu0 = cpu()
    gets = await _run_phase(get_user, connections, seconds)
    cpu1 = cpu()
    batches = await _run_phase(batch, connections, seconds)
    cpu2 = cpu()
    for connection in raw:
        await connection.close()
    return _Phases(gets, batches, (cpu0, cpu1, cpu2))


async def _measure(url: str, pid: int) -> Result:
    limits = httpx.Limits(max_connections=HTTPX_CONNECTIONS, max_keepalive_connections=HTTPX_CONNECTIONS)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        token, ids = await _sign_in(client)
        phases = await _get_then_batch(url, token, ids, CONNECTIONS, PHASE_SECONDS, pid=pid, check_subrequests=True)

        async def get_user_httpx(n: int, rnd: random.Random) -> bool:
            r = await client.get(f"/v1.0/users/{rnd.choice(ids)}")
            return r.status_code == 200

        httpx_ok, httpx_failed, httpx_wall, _ = await _run_phase(get_user_httpx, HTTPX_CONNECTIONS, HTTPX_SECONDS)
    get_ok, get_failed, get_wall, get_sent = phases.get
    batch_ok, batch_failed, batch_wall, batch_sent = phases.batch
    cpu0, cpu1, cpu2 = phases.cpu

    def share(a: float | None, b: float | None, wall: float) -> float | None:
        return None if a is None or b is None else round((b - a) / (wall + WARMUP_SECONDS), 2)

    def per_request_ms(a: float | None, b: float | None, sent: int) -> float | None:
        return None if a is None or b is None or not sent else round((b - a) * 1000 / sent, 3)

    def capacity(a: float | None, b: float | None, sent: int) -> float | None:
        return None if a is None or b is None or b <= a else round(sent / (b - a), 1)

    return {
        "get_rps": round(get_ok / get_wall, 1),
        "batch_rps": round(batch_ok / batch_wall, 1),
        "batch_subrequests_per_s": round(batch_ok * BATCH_SIZE / batch_wall, 1),
        "get_rps_httpx": round(httpx_ok / httpx_wall, 1),
        "failed": get_failed + batch_failed + httpx_failed,
        "cpu_seconds": None if cpu0 is None or cpu2 is None else round(cpu2 - cpu0, 2),
        "emulator_cpu_share": {"get": share(cpu0, cpu1, get_wall), "batch": share(cpu1, cpu2, batch_wall)},
        # emulator CPU per request: steadier than rates on a machine shared with other work
        "cpu_ms_per_get": per_request_ms(cpu0, cpu1, get_sent),
        "cpu_ms_per_batch": per_request_ms(cpu1, cpu2, batch_sent),
        # what one fully used core of the emulator serves (1000 / cpu_ms): its capacity, whatever the load
        "get_per_cpu_second": capacity(cpu0, cpu1, get_sent),
        "batch_per_cpu_second": capacity(cpu1, cpu2, batch_sent),
        "users": len(ids),
        "connections": CONNECTIONS,
        "httpx_connections": HTTPX_CONNECTIONS,
        "seconds_per_phase": PHASE_SECONDS,
        "python": platform.python_version(),
        "cores": os.cpu_count(),
    }


def _plain_fixture(users: int) -> dict[str, Any]:
    """A tenant of ``users`` users with mailboxes, for when ``--synthetic`` is not available."""
    return {"tenant": {"id": "0b1e7c2a-5d4f-4e3a-9c8b-7a6f5e4d3c2b", "displayName": "Bench",
                       "domains": ["bench.example"]},
            "users": [{"id": f"00000000-0000-4000-8000-{n:012d}", "userPrincipalName": f"user{n}@bench.example",
                       "displayName": f"User {n}", "mailbox": {}} for n in range(users)]}


def _has_synthetic() -> bool:
    """Whether ``--synthetic`` is implemented (looked up without importing reclaim into this process)."""
    spec = importlib.util.find_spec("reclaim")
    roots = list(spec.submodule_search_locations or []) if spec is not None else []
    return any((Path(root) / "emulator" / "scenarios" / "synthetic.py").exists() for root in roots)


@register("emulator")
def emulator() -> Result:
    """Serve ``--synthetic 1000`` without throttling in a child process and load it from this one."""
    with tempfile.TemporaryDirectory() as tmp:
        if _has_synthetic():
            args = ["--synthetic", str(USERS), "--seed", "1"]
        else:  # the synthetic generator is not there yet: an equivalent plain tenant
            fixture = Path(tmp) / "tenant.json"
            fixture.write_text(json.dumps(_plain_fixture(USERS)), encoding="utf-8")
            args = ["--fixture", str(fixture)]
        with serve(*args, "--no-throttling") as (url, pid):
            result = asyncio.run(_measure(url, pid))
        with serve(*args, "--no-throttling", "--latency-ms", str(LATENCY_MS)) as (url, _):
            result["latency"] = asyncio.run(_measure_latency(url))
    result["command"] = "reclaim emulator serve " + " ".join([*args, "--no-throttling"]).replace(tmp, "$TMP")
    return result


async def _measure_latency(url: str) -> Result:
    """With ``--latency-ms``, concurrent requests overlap: rate ≈ connections / latency (the sleep never
    blocks the loop), and one ``$batch`` costs one latency, not twenty."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        token, ids = await _sign_in(client)
    phases = await _get_then_batch(url, token, ids, LATENCY_CONNECTIONS, LATENCY_SECONDS)
    get_ok, get_failed, get_wall, _ = phases.get
    batch_ok, batch_failed, batch_wall, _ = phases.batch
    return {
        "latency_ms": LATENCY_MS,
        "connections": LATENCY_CONNECTIONS,
        "ideal_rps": round(LATENCY_CONNECTIONS * 1000 / LATENCY_MS, 1),
        "get_rps": round(get_ok / get_wall, 1),
        "batch_rps": round(batch_ok / batch_wall, 1),
        "failed": get_failed + batch_failed,
    }
