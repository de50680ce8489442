"""``reclaim worker`` and ``reclaim jobs``: run queued jobs on any number of machines, and look at them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import typer
from rich.table import Table

from reclaim.cli.common import DB_OPTION, reclaim_errors
from reclaim.cli.console import console, inert_json, safe
from reclaim.errors import BadInput

if TYPE_CHECKING:
    import procrastinate

    from reclaim.queue import JobInfo
    from reclaim.store import Store

T = TypeVar("T")

QUEUE_URL_OPTION: str | None = typer.Option(
    None, "--queue-url", envvar="RECLAIM_QUEUE_URL", metavar="URL",
    help="The job queue's PostgreSQL (default: $RECLAIM_QUEUE_URL, else --db when it is PostgreSQL).")

app = typer.Typer(help="List, show and cancel queued jobs.", no_args_is_help=True)


def with_queue(queue_url: str | None, db: str | None, work: Callable[[procrastinate.App], Awaitable[T]]) -> T:
    """Open the queue (creating its tables the first time), run ``work``, close it; errors as one line."""
    with reclaim_errors():
        require_queue()
        from reclaim.queue import ensure_schema, queue_app
        from reclaim.queue import queue_url as resolve

        conninfo = resolve(queue_url, db)

        async def main() -> T:
            await _connected(ensure_schema(conninfo), conninfo)
            app = queue_app(conninfo)
            async with app.open_async():
                return await work(app)

        return asyncio.run(main())


def require_queue() -> None:
    """The job queue is an optional extra: say how to install it rather than fail with an ImportError."""
    import importlib.util

    if importlib.util.find_spec("procrastinate") is None or importlib.util.find_spec("psycopg") is None:
        raise BadInput("the job queue is not installed", hint="pip install 'reclaim[team]'")


async def _connected(step: Awaitable[T], conninfo: str) -> T:
    import psycopg

    from reclaim.queue import QueueUnavailable

    try:
        return await step
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise QueueUnavailable(f"cannot reach the job queue: {first}",
                               hint="check --queue-url / RECLAIM_QUEUE_URL") from exc


def worker_command(
    concurrency: int = typer.Option(2, "--concurrency", min=1, max=64, metavar="N",
                                    help="Jobs this worker runs at once (each a different tenant)."),
    until_empty: bool = typer.Option(False, "--until-empty", help="Stop when the queue is empty."),
    stalled_after: float = typer.Option(30.0, "--stalled-after", min=1.0, metavar="SECONDS",
                                        help="Seconds without a heartbeat after which another worker's running "
                                             "jobs are queued again (it was killed or lost)."),
    heartbeat: float = typer.Option(5.0, "--heartbeat", min=0.1, metavar="SECONDS",
                                   help="Seconds between this worker's heartbeats."),
    name: str | None = typer.Option(None, "--name", metavar="NAME", help="This worker's name in the logs."),
    sweep_workers: int = typer.Option(16, "--sweep-workers", min=1, max=256, metavar="N",
                                      help="$batch envelopes (20 mailboxes each) in flight per tenant swept."),
    watch_config: str | None = typer.Option(None, "--watch-config", envvar="RECLAIM_WATCH_CONFIG", metavar="FILE",
                                            help="The watch settings (alert webhooks, policies) for watch cycles."),
    db: str | None = DB_OPTION,
    queue_url: str | None = QUEUE_URL_OPTION,
) -> None:
    """Run queued sweeps and watch cycles until stopped (Ctrl-C / SIGTERM: running jobs finish first).
    Start one per machine, or several; tenants come from this machine's config (`reclaim tenant add`)."""
    import logging

    from reclaim.queue import WorkerRuntime, run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("procrastinate").setLevel(logging.WARNING)
    from reclaim.sweep import SweepOptions
    from reclaim.watch import WatchConfig

    with reclaim_errors():
        watch = WatchConfig.load(watch_config)
    runtime = WorkerRuntime(store_url=db, sweep_options=SweepOptions(workers=sweep_workers), watch=watch)

    async def work(app: procrastinate.App) -> None:
        await run_worker(app, runtime, concurrency=concurrency, name=name, wait=not until_empty,
                         stalled_after=stalled_after, heartbeat=heartbeat)

    with_queue(queue_url, db, work)


def _store(db: str | None) -> Store:
    from reclaim.store import Store

    with reclaim_errors():
        return Store(db, create=False)


@app.command("list")
def list_command(
    status: str | None = typer.Option(None, "--status", metavar="STATUS",
                                       help="todo, doing, succeeded, failed, cancelled, aborted."),
    tenant: str | None = typer.Option(None, "--tenant", metavar="NAME", help="Only this tenant's jobs."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    db: str | None = DB_OPTION,
    queue_url: str | None = QUEUE_URL_OPTION,
) -> None:
    """The jobs, newest first, with each sweep's progress (mailboxes done) from its case."""
    from reclaim.queue import list_jobs

    store = _store(db)
    try:
        jobs = with_queue(queue_url, db, lambda app: list_jobs(app, store, status=status, tenant=tenant))
    finally:
        store.close()
    if as_json:
        typer.echo(inert_json({"jobs": [j.to_json() for j in jobs]}))
        return
    if not jobs:
        console.print("no jobs")
        return
    table = Table(show_edge=False, pad_edge=False)
    for column in ("job", "task", "tenant", "status", "tries", "case", "progress"):
        table.add_column(column)
    for j in jobs:
        table.add_row(str(j.id), safe(j.task), safe(j.tenant or ""), _status(j), str(j.attempts), safe(j.case or ""),
                      _progress(j))
    console.print(table)


@app.command("show")
def show_command(job: int = typer.Argument(..., metavar="JOB", help="The job id."),
                 as_json: bool = typer.Option(False, "--json"),
                 db: str | None = DB_OPTION, queue_url: str | None = QUEUE_URL_OPTION) -> None:
    """One job: its task, tenant, status, attempts, worker and its case's progress."""
    from reclaim.queue import get_job

    store = _store(db)
    try:
        info = with_queue(queue_url, db, lambda app: get_job(app, job, store))
    finally:
        store.close()
    if as_json:
        typer.echo(inert_json(info.to_json()))
        return
    for key, value in info.to_json().items():
        console.print(f"{key}: {safe('' if value is None else str(value))}")


@app.command("cancel")
def cancel_command(job: int = typer.Argument(..., metavar="JOB", help="The job id."),
                   db: str | None = DB_OPTION, queue_url: str | None = QUEUE_URL_OPTION) -> None:
    """Cancel a waiting job, or stop a running one (its sweep case stops as interrupted and can be queued
    again or resumed)."""
    from reclaim.queue import cancel_job

    outcome = with_queue(queue_url, db, lambda app: cancel_job(app, job))
    console.print(f"job {job}: {outcome}")


def _status(j: JobInfo) -> str:
    style = {"succeeded": "green", "failed": "red", "doing": "yellow", "cancelled": "dim", "aborted": "dim"}
    s = style.get(j.status)
    return f"[{s}]{j.status}[/{s}]" if s else j.status


def _progress(j: JobInfo) -> str:
    if j.mailboxes_done is None:
        return ""
    return f"{j.mailboxes_done:,} mailboxes" + (f" ({safe(j.case_status)})" if j.case_status else "")
