"""Queue jobs and read them back: what ``reclaim sweep --queue`` and ``reclaim jobs`` call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued

from reclaim.errors import BadInput
from reclaim.queue.tasks import INVESTIGATE_TASK, QUEUE, SWEEP_TASK, TENANT_LOCK, WATCH_TASK

if TYPE_CHECKING:
    from procrastinate.jobs import Job

    from reclaim.store import Store

JSON = dict[str, Any]


@dataclass(frozen=True)
class Enqueued:
    """One tenant's sweep: the job queued for it (or the one already waiting), and its case."""

    tenant: str
    job_id: int
    case: str
    already: bool = False

    def to_json(self) -> JSON:
        return {"tenant": self.tenant, "job": self.job_id, "case": self.case, "alreadyQueued": self.already}


@dataclass(frozen=True)
class JobInfo:
    """A job as ``reclaim jobs`` shows it, with its case's progress where it has one."""

    id: int
    task: str
    tenant: str | None
    case: str | None
    status: str
    attempts: int
    scheduled_at: datetime | None
    worker_id: int | None
    mailboxes_done: int | None = None
    case_status: str | None = None
    user: str | None = None

    def to_json(self) -> JSON:
        return {"id": self.id, "task": self.task, "tenant": self.tenant, "user": self.user, "case": self.case,
                "status": self.status,
                "attempts": self.attempts, "worker": self.worker_id,
                "scheduledAt": self.scheduled_at.isoformat() if self.scheduled_at else None,
                "mailboxesDone": self.mailboxes_done, "caseStatus": self.case_status}


def sweep_queueing_lock(tenant: str) -> str:
    return f"sweep:{tenant}"


async def enqueue_sweeps(app: procrastinate.App, store: Store, tenants: Sequence[str], *,
                         deep: bool = False) -> list[Enqueued]:
    """One sweep job per tenant, each with a sweep case of its own (made here, so every attempt of the job
    resumes the same case). A tenant whose sweep is already waiting in the queue gets no second one."""
    if not tenants:
        raise BadInput("no tenant to sweep")
    task = app.tasks[SWEEP_TASK]
    out: list[Enqueued] = []
    for tenant in tenants:
        waiting = await _waiting(app, sweep_queueing_lock(tenant))
        if waiting is not None:
            out.append(Enqueued(tenant, waiting[0], waiting[1], already=True))
            continue
        try:
            with store.transaction():  # the case exists only if its job was queued
                case = store.create_case("sweep", tenant, tenant=tenant,
                                         summary={"tenants": [tenant], "deep": deep, "queued": True})
                try:
                    job_id = await task.configure(lock=TENANT_LOCK.format(tenant),
                                                  queueing_lock=sweep_queueing_lock(tenant)
                                                  ).defer_async(tenant=tenant, case=case.id)
                except AlreadyEnqueued:
                    raise _Undo from None  # another process queued it between our look and our defer
        except _Undo:
            found = await _waiting(app, sweep_queueing_lock(tenant))
            if found is None:
                raise BadInput(f"the sweep of {tenant} was queued and finished meanwhile; queue it again") from None
            out.append(Enqueued(tenant, found[0], found[1], already=True))
            continue
        out.append(Enqueued(tenant, job_id, case.id))
    return out


class _Undo(Exception):
    """Control flow: roll back the case of a job another process queued first."""




async def enqueue_investigation(app: procrastinate.App, tenant: str, user: str, *, since: datetime | None = None,
                                follow: bool = True) -> Enqueued:
    """One investigation job (its case is made when it runs: ``reclaim cases list`` finds it). An investigation
    of the same user still waiting is not queued twice."""
    lock = f"investigate:{tenant}:{user.lower()}"
    try:
        job_id = await app.tasks[INVESTIGATE_TASK].configure(lock=TENANT_LOCK.format(tenant), queueing_lock=lock
                                                             ).defer_async(tenant=tenant, user=user, follow=follow,
                                                                           since=since.isoformat() if since else None)
    except AlreadyEnqueued:
        waiting = await _waiting(app, lock)
        if waiting is None:
            raise BadInput(f"the investigation of {user} was queued and started meanwhile") from None
        return Enqueued(tenant, waiting[0], "", already=True)
    return Enqueued(tenant, job_id, "")


async def enqueue_watch(app: procrastinate.App, tenants: Sequence[str]) -> list[tuple[str, int, bool]]:
    """One watch cycle job per tenant; a tenant whose previous cycle still waits gets no second one (a slow
    queue does not pile up cycles). Returns (tenant, job id, already waiting)."""
    task = app.tasks[WATCH_TASK]
    out: list[tuple[str, int, bool]] = []
    for tenant in tenants:
        lock = f"watch:{tenant}"
        try:
            job_id = await task.configure(lock=TENANT_LOCK.format(tenant), queueing_lock=lock
                                          ).defer_async(tenant=tenant)
            out.append((tenant, job_id, False))
        except AlreadyEnqueued:
            waiting = await _waiting(app, lock)
            if waiting is not None:
                out.append((tenant, waiting[0], True))
    return out


async def _waiting(app: procrastinate.App, queueing_lock: str) -> tuple[int, str] | None:
    for job in await app.job_manager.list_jobs_async(queueing_lock=queueing_lock, status="todo"):
        if job.id is not None:
            return job.id, str(job.task_kwargs.get("case", ""))
    return None


async def list_jobs(app: procrastinate.App, store: Store | None = None, *, status: str | None = None,
                    tenant: str | None = None) -> list[JobInfo]:
    """reclaim's jobs, newest first; with ``store``, each sweep's progress from its case's checkpoint."""
    jobs = await app.job_manager.list_jobs_async(queue=QUEUE, status=status,
                                                 lock=TENANT_LOCK.format(tenant) if tenant else None)
    return sorted((_info(j, store) for j in jobs), key=lambda j: j.id, reverse=True)


async def get_job(app: procrastinate.App, job_id: int, store: Store | None = None) -> JobInfo:
    found = [j for j in await app.job_manager.list_jobs_async(id=job_id) if j.queue == QUEUE]
    if not found:
        raise BadInput(f"no job {job_id}", hint="`reclaim jobs list` shows the jobs")
    return _info(found[0], store)


async def cancel_job(app: procrastinate.App, job_id: int) -> str:
    """Cancel a waiting job, or ask a running one to stop (the worker cancels it; a sweep case stops as
    ``interrupted``, resumable). Returns what happened."""
    job = await get_job(app, job_id)
    if job.status not in ("todo", "doing"):
        raise BadInput(f"job {job_id} is {job.status}: only waiting or running jobs can be cancelled")
    done = await app.job_manager.cancel_job_by_id_async(job_id, abort=job.status == "doing")
    if not done:
        raise BadInput(f"job {job_id} changed state meanwhile", hint=f"`reclaim jobs show {job_id}`")
    return "cancelled" if job.status == "todo" else "asked to stop"


def _info(job: Job, store: Store | None) -> JobInfo:
    assert job.id is not None
    kwargs = job.task_kwargs
    tenant = kwargs.get("tenant")
    case = kwargs.get("case")
    user = kwargs.get("user")
    done: int | None = None
    case_status: str | None = None
    if store is not None and isinstance(case, str) and isinstance(tenant, str):
        from reclaim.store import CaseNotFound

        try:
            case_status = store.get_case(case).status
        except CaseNotFound:
            case_status = "missing"
        else:
            checkpoint = store.get_checkpoint(case, tenant)
            done = checkpoint.mailboxes_done if checkpoint else 0
    return JobInfo(id=job.id, task=job.task_name, tenant=tenant if isinstance(tenant, str) else None,
                   case=case if isinstance(case, str) else None, status=job.status or "?",
                   attempts=job.attempts, scheduled_at=job.scheduled_at, worker_id=job.worker_id,
                   mailboxes_done=done, case_status=case_status,
                   user=user if isinstance(user, str) else None)
