"""``reclaim worker``: take jobs from the queue until stopped; put back the jobs of workers that died."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import procrastinate

from reclaim.queue.tasks import QUEUE, WorkerRuntime

log = logging.getLogger("reclaim.queue")

#: a worker that sent no heartbeat for this long is dead (killed, its machine gone): its jobs are retried
STALLED_AFTER_S = 30.0
HEARTBEAT_S = 5.0


async def recover_stalled(app: procrastinate.App, *, seconds: float = STALLED_AFTER_S) -> list[int]:
    """Put back in the queue the running jobs of workers silent for ``seconds`` (SIGKILL, power loss); their
    next attempt resumes from the case's checkpoint. Returns the job ids."""
    stalled = await app.job_manager.get_stalled_jobs(queue=QUEUE, seconds_since_heartbeat=seconds)
    ids: list[int] = []
    for job in stalled:
        await app.job_manager.retry_job(job)
        assert job.id is not None
        ids.append(job.id)
        log.warning("job %s (%s) was running on a worker that stopped answering: queued again", job.id,
                    job.task_name)
    return ids


async def run_worker(app: procrastinate.App, runtime: WorkerRuntime, *, concurrency: int = 1,
                     name: str | None = None, wait: bool = True, stalled_after: float = STALLED_AFTER_S,
                     heartbeat: float = HEARTBEAT_S, poll: float = 1.0,
                     install_signal_handlers: bool = True) -> None:
    """Run jobs until stopped (SIGINT/SIGTERM: running jobs finish first), or, ``wait=False``, until the
    queue is empty. Every ``stalled_after / 2`` seconds, jobs of dead workers are put back."""
    options: dict[str, Any] = {
        "queues": [QUEUE], "concurrency": concurrency, "wait": wait, "name": name,
        "additional_context": {"runtime": runtime}, "update_heartbeat_interval": heartbeat,
        "stalled_worker_timeout": stalled_after, "fetch_job_polling_interval": poll,
        "install_signal_handlers": install_signal_handlers, "delete_jobs": "never",
    }
    await recover_stalled(app, seconds=stalled_after)

    async def reaper() -> None:
        while True:
            await asyncio.sleep(stalled_after / 2)
            await recover_stalled(app, seconds=stalled_after)

    watcher = asyncio.create_task(reaper()) if wait else None
    try:
        await app.run_worker_async(**options)
    finally:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
