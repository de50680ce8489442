"""Jobs for many machines: sweeps (and watch cycles) queued in PostgreSQL, run by ``reclaim worker`` processes.

The engine is procrastinate (https://procrastinate.readthedocs.io): jobs are rows in PostgreSQL, workers take
them with ``SELECT ... FOR UPDATE SKIP LOCKED``, send heartbeats, and no second broker runs. The queue lives in
the PostgreSQL the case store can share (``RECLAIM_QUEUE_URL``, else a ``postgresql`` ``--db``).

::

    app = queue_app(queue_url(None, store_url))
    async with app.open_async():
        await ensure_schema(app)
        ids = await enqueue_sweeps(app, store, ["contoso", "fabrikam"])     # one job per tenant
        await run_worker(app, WorkerRuntime(store_url=...), concurrency=4)   # on any number of machines

Per tenant, one job at a time: every job of a tenant carries the lock ``tenant:<name>``, so procrastinate never
runs two of them together on any worker; Graph and Exchange limits are per app per tenant, so the tenant's
throttle budget is not split between workers, while different tenants run in parallel. A sweep job names a
sweep case created when it was queued; every attempt resumes that case from its checkpoint, so a worker killed
mid-job (its heartbeat stops; :func:`recover_stalled` puts the job back) loses nothing and reads nothing twice.
"""

from reclaim.queue.engine import QUEUE_ENV, QueueUnavailable, ensure_schema, libpq_url, queue_app, queue_url
from reclaim.queue.jobs import JobInfo, cancel_job, enqueue_sweeps, get_job, list_jobs
from reclaim.queue.tasks import TENANT_LOCK, WorkerRuntime
from reclaim.queue.worker import recover_stalled, run_worker

__all__ = [
    "QUEUE_ENV",
    "TENANT_LOCK",
    "JobInfo",
    "QueueUnavailable",
    "WorkerRuntime",
    "cancel_job",
    "enqueue_sweeps",
    "ensure_schema",
    "get_job",
    "libpq_url",
    "list_jobs",
    "queue_app",
    "queue_url",
    "recover_stalled",
    "run_worker",
]
