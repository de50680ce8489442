"""``workers``: queued sweeps of many tenants by 1, 2 and 4 ``reclaim worker`` processes (issue 21).

Each tenant is an emulator process on loopback (``reclaim emulator serve --fixture``, Microsoft's throttling
rules on, ``LATENCY_MS`` added to every response), configured by name as a worker sees it. For each worker
count: a fresh case store (SQLite, shared by the workers of this one machine) and an empty queue (PostgreSQL:
``RECLAIM_BENCH_POSTGRES_URL``, else ``RECLAIM_TEST_POSTGRES_URL``, as ``.ci/postgres start`` prints it); N
workers started with ``--concurrency 1`` (so N jobs run at a time) and, once all have registered, one sweep job
per tenant queued; wall time from the queueing to the last job's end (worker startup is not counted: a worker
runs for days). Per worker (``os.wait4`` after SIGTERM): CPU seconds (startup included) and peak RSS.
Per tenant, the emulator's answers with status 429 (a tenant over its throttle budget). The load average
before and after is reported: on a shared machine it, not reclaim, may bound the scaling.

Reported: jobs/s and mailboxes/s per worker count, ``speedup_2`` and ``speedup_4`` (over one worker), CPU per
mailbox (all workers' CPU over all mailboxes: from it, the scaling on more machines can be read — this machine
has 2 cores, shared with the emulators), peak RSS per worker, throttled answers. Without PostgreSQL the entry
says so and measures nothing. Run: ``python -m bench workers``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench import Result, register
from bench.emulator import _reclaim_command, cpu_seconds, serve

TENANTS = int(os.environ.get("RECLAIM_BENCH_WORKERS_TENANTS", "8"))
MAILBOXES = int(os.environ.get("RECLAIM_BENCH_WORKERS_MAILBOXES", "300"))
LATENCY_MS = 50
WORKER_COUNTS = tuple(int(x) for x in os.environ.get("RECLAIM_BENCH_WORKERS_COUNTS", "1,2,4").split(","))
PG_ENVS = ("RECLAIM_BENCH_POSTGRES_URL", "RECLAIM_TEST_POSTGRES_URL")


def _fixture(index: int) -> dict[str, Any]:
    from reclaim.emulator.scenarios.synthetic import build
    from reclaim.emulator.state import ALL_GRAPH_PERMISSIONS, DEFAULT_APP_ROLES

    fx = build(MAILBOXES, 500 + index)
    fx["apps"] = [{"clientId": str(uuid.UUID(int=index + 1)), "clientSecret": f"bench-{index}",
                   "permissions": list(ALL_GRAPH_PERMISSIONS), "roles": list(DEFAULT_APP_ROLES)}]
    return fx


def _queue_db(server: str) -> str:
    """A fresh database on the server for this run (libpq URL)."""
    import psycopg

    from reclaim.queue import libpq_url

    base = libpq_url(server)
    name = f"reclaim_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return base.rsplit("/", 1)[0] + "/" + name


def _drop(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _enqueue(pg: str, db: Path, tenants: list[str]) -> None:
    from reclaim.queue import enqueue_sweeps, ensure_schema, queue_app
    from reclaim.store import Store

    async def main() -> None:
        await ensure_schema(pg)
        app = queue_app(pg)
        store = Store(str(db))
        try:
            async with app.open_async():
                await enqueue_sweeps(app, store, tenants)
        finally:
            store.close()

    asyncio.run(main())


def _truncate(pg: str) -> None:
    import psycopg

    from reclaim.queue import ensure_schema

    asyncio.run(ensure_schema(pg))
    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute("TRUNCATE procrastinate_jobs, procrastinate_workers RESTART IDENTITY CASCADE")


def _throttled(urls: dict[str, str]) -> dict[str, int]:
    out: dict[str, int] = {}
    with httpx.Client(timeout=30) as client:
        for name, url in urls.items():
            calls = client.get(f"{url}/_emulator/calls").json()["value"]
            out[name] = sum(1 for c in calls if c.get("status") == 429)
            client.delete(f"{url}/_emulator/calls")
    return out


def _count(pg: str, query: str) -> int:
    import psycopg

    with psycopg.connect(pg) as conn:
        row = conn.execute(query).fetchone()  # a constant query of this module
    return int(row[0]) if row else 0


def _run(count: int, pg: str, env: dict[str, str], tmp: Path, tenants: list[str]) -> Result:
    db = tmp / f"cases-{count}.db"
    _truncate(pg)
    command = [*_reclaim_command(), "worker", "--concurrency", "1", "--db", str(db), "--queue-url", pg]
    procs = [subprocess.Popen([*command, "--name", f"w{i}"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE) for i in range(count)]
    try:
        # the clock starts once every worker is up (registered, heartbeat sent): startup is not throughput
        deadline = time.monotonic() + 120
        while _count(pg, "SELECT count(*) FROM procrastinate_workers") < count:
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise RuntimeError("the workers did not start")
            time.sleep(0.05)
        started = time.perf_counter()
        _enqueue(pg, db, tenants)
        while _count(pg, "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')") > 0:
            if time.monotonic() > deadline + 600 or any(p.poll() is not None for p in procs):
                raise RuntimeError("the jobs did not finish")
            time.sleep(0.05)
        seconds = time.perf_counter() - started
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
    usage: list[Any] = []
    for p in procs:
        _, status, rusage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        usage.append(rusage)
        if p.stderr is not None:
            p.stderr.close()
    failed = _count(pg, "SELECT count(*) FROM procrastinate_jobs WHERE status <> 'succeeded'")
    from reclaim.store import Store

    store = Store(str(db))
    try:
        cases = [c.case for c in store.list_cases(kind="sweep")]
        complete = sum(1 for c in cases if c.status == "complete")
        mailboxes = sum(cp.mailboxes_done for c in cases for cp in store.checkpoints(c.id))
    finally:
        store.close()
    # CPU of the whole worker processes, startup included (a long-running worker pays it once)
    cpu = sum(r.ru_utime + r.ru_stime for r in usage)
    job_seconds = _job_seconds(pg)
    return {"workers": count, "seconds": round(seconds, 2), "jobs": len(tenants), "jobs_complete": complete,
            "jobs_not_succeeded": failed, "mailboxes": mailboxes, "jobs_per_s": round(len(tenants) / seconds, 3),
            "mailboxes_per_s": round(mailboxes / seconds, 1),
            "worker_cpu_s": round(cpu, 2), "cpu_ms_per_mailbox": round(1000 * cpu / max(mailboxes, 1), 3),
            "peak_rss_mb_per_worker": round(max(r.ru_maxrss for r in usage) / 1024, 1),
            "job_seconds_mean": round(sum(job_seconds) / max(len(job_seconds), 1), 2),
            "job_seconds_max": round(max(job_seconds, default=0.0), 2)}


def _job_seconds(pg: str) -> list[float]:
    """Each job's time from started to succeeded (procrastinate's event log)."""
    import psycopg

    with psycopg.connect(pg) as conn:
        rows = conn.execute("SELECT job_id, type, at FROM procrastinate_events "
                            "WHERE type IN ('started', 'succeeded') ORDER BY at").fetchall()
    started: dict[int, Any] = {}
    out: list[float] = []
    for job_id, kind, at in rows:
        if kind == "started":
            started[job_id] = at
        elif job_id in started:
            out.append((at - started[job_id]).total_seconds())
    return out


@register("workers")
def workers() -> Result:
    server = next((os.environ[e] for e in PG_ENVS if os.environ.get(e)), None)
    if server is None:
        return {"skipped": "no PostgreSQL: set RECLAIM_BENCH_POSTGRES_URL (eval \"$(.ci/postgres start)\")"}
    load_before = os.getloadavg()[0]
    pg = _queue_db(server)
    try:
        with tempfile.TemporaryDirectory() as tmpdir, contextlib.ExitStack() as stack:
            tmp = Path(tmpdir)
            urls: dict[str, str] = {}
            pids: dict[str, int] = {}
            lines: list[str] = []
            env = {**os.environ}
            for i in range(TENANTS):
                name = f"t{i:02d}"
                fx = _fixture(i)
                path = tmp / f"{name}.json"
                path.write_text(json.dumps(fx), encoding="utf-8")
                url, pid = stack.enter_context(serve("--fixture", str(path), "--latency-ms", str(LATENCY_MS)))
                urls[name], pids[name] = url, pid
                env[f"BENCH_SECRET_{i}"] = f"bench-{i}"
                lines.append(f'[tenants.{name}]\ntenant_id = "{fx["tenant"]["id"]}"\n'
                             f'client_id = "{fx["apps"][0]["clientId"]}"\nauth = "secret"\n'
                             f'secret_env = "BENCH_SECRET_{i}"\nendpoint = "{url}"\n')
            (tmp / "config.toml").write_text("\n".join(lines), encoding="utf-8")
            env["RECLAIM_CONFIG"] = str(tmp / "config.toml")
            names = sorted(urls)
            runs: list[Result] = []
            for count in WORKER_COUNTS:
                emulator_cpu = sum(cpu_seconds(p) or 0.0 for p in pids.values())
                run = _run(count, pg, env, tmp, names)
                run["emulator_cpu_s"] = round(sum(cpu_seconds(p) or 0.0 for p in pids.values()) - emulator_cpu, 2)
                throttled = _throttled(urls)
                run["throttled_429"] = sum(throttled.values())
                runs.append(run)
    finally:
        _drop(pg)
    base = runs[0]["jobs_per_s"]
    by = {r["workers"]: r for r in runs}
    return {
        "tenants": TENANTS, "mailboxes_per_tenant": MAILBOXES, "latency_ms": LATENCY_MS,
        "engine": "procrastinate on PostgreSQL; case store SQLite (one machine)",
        "cores": os.cpu_count(),
        "load_average_1m": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
        **{f"speedup_{n}": round(by[n]["jobs_per_s"] / base, 2) for n in by if n != 1},
        "cpu_ms_per_mailbox": round(sum(r["cpu_ms_per_mailbox"] for r in runs) / len(runs), 3),
        "peak_rss_mb_per_worker": max(r["peak_rss_mb_per_worker"] for r in runs),
        "runs": runs,
    }
