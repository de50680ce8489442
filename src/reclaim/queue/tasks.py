"""The jobs a worker runs. Each names its tenant by its configured name; the worker resolves how to connect
(:class:`WorkerRuntime`), so no credential or store password is ever written into the queue."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import procrastinate
from procrastinate import JobContext, RetryStrategy

from reclaim.errors import ReclaimError

if TYPE_CHECKING:
    from reclaim.m365 import ConnectionSettings
    from reclaim.sweep import SweepOptions

log = logging.getLogger("reclaim.queue")

QUEUE = "reclaim"
SWEEP_TASK = "reclaim:sweep"
WATCH_TASK = "reclaim:watch"
INVESTIGATE_TASK = "reclaim:investigate"
#: the lock every job of one tenant carries: procrastinate runs at most one job per lock at a time
TENANT_LOCK = "tenant:{}"

def configured_settings(tenant: str) -> ConnectionSettings:
    """A tenant of the worker's config file (``reclaim tenant add``; secrets from its own environment)."""
    from reclaim.config import Config

    return Config.load().resolve(tenant).settings()


@dataclass(frozen=True)
class WorkerRuntime:
    """What a worker process brings to every job: its case store and how it reaches a tenant by name."""

    store_url: str | None = None
    settings_for: Callable[[str], ConnectionSettings] = configured_settings
    sweep_options: SweepOptions | None = None
    #: the watch's alert destinations and policies by tenant (``reclaim.watch.WatchConfig``)
    watch: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


class TenantIncomplete(ReclaimError):
    """A tenant's sweep stopped before its end (throttled beyond the retry budget): the job is retried and the
    next attempt resumes from the checkpoint."""


def runtime(context: JobContext) -> WorkerRuntime:
    value = context.additional_context.get("runtime")
    if not isinstance(value, WorkerRuntime):
        raise RuntimeError("this worker was started without reclaim's WorkerRuntime (use reclaim worker)")
    return value


async def sweep_job(context: JobContext, *, tenant: str, case: str) -> dict[str, Any]:
    """Sweep one tenant into the sweep case made when the job was queued, from its checkpoint on."""
    from reclaim.store import Store
    from reclaim.sweep import SweepOptions, SweepTarget, sweep

    rt = runtime(context)
    store = Store(rt.store_url)
    try:
        case_row = store.get_case(case)
        deep = bool(case_row.summary.get("deep"))
        options = rt.sweep_options or SweepOptions()
        if options.deep != deep:
            from dataclasses import replace

            options = replace(options, deep=deep)
        result = await sweep([SweepTarget(tenant, rt.settings_for(tenant))], store, options=options, resume=case)
    finally:
        store.close()
    summary = result.tenants[0]
    if summary.status == "interrupted":
        raise TenantIncomplete(f"sweep of {tenant} stopped early: {summary.error}")
    if summary.status == "failed":
        # not retried: a wrong credential or a missing permission needs a person
        raise ReclaimError(f"sweep of {tenant} failed: {summary.error}")
    log.info("swept %s into %s: %d mailboxes, %d requests", tenant, case, summary.mailboxes, summary.requests)
    return {"case": case, "mailboxes": summary.mailboxes, "requests": summary.requests,
            "flagged": len(result.flagged)}


async def watch_job(context: JobContext, *, tenant: str) -> dict[str, Any]:
    """One watch cycle of one tenant (alerts sent from the worker, with the worker's watch settings)."""
    from reclaim.store import Store
    from reclaim.watch import WatchConfig, watch_tenant

    rt = runtime(context)
    config = rt.watch if rt.watch is not None else WatchConfig.load()
    store = Store(rt.store_url)
    try:
        cycle = await watch_tenant(store, tenant, rt.settings_for(tenant), config, options=rt.sweep_options)
    finally:
        store.close()
    if cycle.status != "complete":
        raise TenantIncomplete(f"watch cycle of {tenant} stopped early: {cycle.error}")
    log.info("watched %s: %d new, case %s", tenant, len(cycle.new), cycle.case)
    return {"case": cycle.case, "new": len(cycle.new), "delivered": cycle.delivered}


async def investigate_job(context: JobContext, *, tenant: str, user: str, since: str | None = None,
                          follow: bool = True) -> dict[str, Any]:
    """Investigate one user of one tenant into a case of its own (and, with ``follow``, the accounts that made
    the tenant-wide changes found). Read-only: a retried attempt makes a new case and changes nothing."""
    from datetime import datetime

    from reclaim.collect import investigate
    from reclaim.collect.investigate import follow_actors
    from reclaim.m365 import Connection
    from reclaim.store import Store

    rt = runtime(context)
    start = datetime.fromisoformat(since) if since else None
    store = Store(rt.store_url)
    try:
        async with Connection.open(rt.settings_for(tenant)) as conn:
            result = await investigate(conn, store, user, since=start, **rt.extra.get("investigate", {}))
            if follow:
                await follow_actors(conn, store, result, since=start, **rt.extra.get("investigate", {}))
    finally:
        store.close()
    log.info("investigated %s in %s: case %s", user, tenant, result.case_id)
    return {"case": result.case_id}


def blueprint() -> procrastinate.Blueprint:
    """reclaim's tasks, registered afresh (procrastinate renames a blueprint's tasks when an app takes them)."""
    bp = procrastinate.Blueprint()
    bp.task(name="sweep", queue=QUEUE, pass_context=True,
            retry=RetryStrategy(max_attempts=4, exponential_wait=5, retry_exceptions={TenantIncomplete}))(sweep_job)
    bp.task(name="investigate", queue=QUEUE, pass_context=True)(investigate_job)
    bp.task(name="watch", queue=QUEUE, pass_context=True,
            retry=RetryStrategy(max_attempts=2, wait=60, retry_exceptions={TenantIncomplete}))(watch_job)
    return bp
