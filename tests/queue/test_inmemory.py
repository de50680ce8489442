"""The queue's logic on procrastinate's in-memory connector (no PostgreSQL): one job and one case per tenant,
the tenant lock on every job, no second job for a tenant already waiting, and a worker that runs them against
emulated tenants."""

from __future__ import annotations

import asyncio
from contextlib import ExitStack
from pathlib import Path

import pytest
from procrastinate.testing import InMemoryConnector

from reclaim.emulator import Emulator
from reclaim.emulator.scenarios import synthetic
from reclaim.emulator.server import serve_in_thread
from reclaim.errors import BadInput
from reclaim.m365 import ConnectionSettings
from reclaim.queue import (
    QueueUnavailable,
    WorkerRuntime,
    enqueue_sweeps,
    get_job,
    libpq_url,
    list_jobs,
    queue_app,
    queue_url,
    run_worker,
)
from reclaim.queue.jobs import cancel_job
from reclaim.store import Store
from reclaim.sweep import SweepOptions, flagged
from tests.queue.conftest import unthrottled

RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


def test_queue_url_is_postgresql_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECLAIM_QUEUE_URL", raising=False)
    assert libpq_url("postgresql+psycopg://u:p@127.0.0.1:5/db") == "postgresql://u:p@127.0.0.1:5/db"
    assert queue_url(None, "postgresql+psycopg://u@h/cases") == "postgresql://u@h/cases"
    with pytest.raises(QueueUnavailable, match="needs PostgreSQL"):
        queue_url("sqlite:///x.db", None)
    with pytest.raises(QueueUnavailable, match="no job queue configured"):
        queue_url(None, "/tmp/cases.db")
    monkeypatch.setenv("RECLAIM_QUEUE_URL", "postgresql://q@h/jobs")
    assert queue_url(None, "postgresql://u@h/cases") == "postgresql://q@h/jobs"


def test_one_job_per_tenant_runs_into_its_own_resumable_case(tmp_path: Path) -> None:
    fixtures = {"alpha": unthrottled(synthetic(60, 31)), "beta": unthrottled(synthetic(80, 32))}
    with ExitStack() as stack:
        urls = {name: stack.enter_context(serve_in_thread(Emulator(fx))) for name, fx in fixtures.items()}
        store = Store(str(tmp_path / "q.db"))
        connector = InMemoryConnector()
        app = queue_app(connector=connector)

        async def main() -> None:
            async with app.open_async():
                queued = await enqueue_sweeps(app, store, ["alpha", "beta"])
                assert [q.tenant for q in queued] == ["alpha", "beta"] and not any(q.already for q in queued)
                rows = {row["id"]: row for row in connector.jobs.values()}
                assert {r["lock"] for r in rows.values()} == {"tenant:alpha", "tenant:beta"}
                assert {r["queueing_lock"] for r in rows.values()} == {"sweep:alpha", "sweep:beta"}
                # nothing secret in the queue: the tenant's name and the case only
                assert all(set(r["args"]) == {"tenant", "case"} for r in rows.values())
                again = await enqueue_sweeps(app, store, ["alpha"])
                assert again[0].already and again[0].job_id == queued[0].job_id
                assert again[0].case == queued[0].case
                assert len(store.list_cases(kind="sweep")) == 2  # the second request made no case
                runtime = WorkerRuntime(store_url=str(tmp_path / "q.db"),
                                        settings_for=lambda name: ConnectionSettings.for_endpoint(urls[name]),
                                        sweep_options=SweepOptions(identity_protection_spacing=0))
                await run_worker(app, runtime, concurrency=2, wait=False, install_signal_handlers=False)
                jobs = await list_jobs(app, store)
                assert {j.status for j in jobs} == {"succeeded"}
                by_tenant = {j.tenant: j for j in jobs}
                assert by_tenant["alpha"].mailboxes_done == 60 and by_tenant["beta"].mailboxes_done == 80
                assert by_tenant["alpha"].case_status == "complete"
                with pytest.raises(BadInput, match="only waiting or running"):
                    await cancel_job(app, queued[0].job_id)
                with pytest.raises(BadInput, match="no job 999"):
                    await get_job(app, 999)
                for q in queued:
                    truth = fixtures[q.tenant]["scenarioTruth"]
                    expected = {u for u, t in truth["users"].items() if RANK[t["maxSeverity"]] >= RANK["medium"]}
                    assert {m.user for m in flagged(store, q.case)} == expected, q.tenant

        try:
            asyncio.run(main())
        finally:
            store.close()


def test_an_investigation_runs_as_a_job(tmp_path: Path) -> None:
    from reclaim.emulator.scenarios import load_scenario
    from reclaim.queue.jobs import enqueue_investigation

    with serve_in_thread(Emulator(unthrottled(load_scenario("bec-classic")))) as url:
        store = Store(str(tmp_path / "i.db"))
        app = queue_app(connector=InMemoryConnector())

        async def main() -> None:
            async with app.open_async():
                queued = await enqueue_investigation(app, "contoso", "alice.wu@contoso.com", follow=False)
                again = await enqueue_investigation(app, "contoso", "Alice.Wu@contoso.com", follow=False)
                assert again.already and again.job_id == queued.job_id  # not queued twice while waiting
                other = await enqueue_investigation(app, "contoso", "mark.davis@contoso.com", follow=False)
                assert not other.already
                assert store.list_cases() == []  # nothing happens until a worker takes them
                runtime = WorkerRuntime(store_url=str(tmp_path / "i.db"),
                                        settings_for=lambda name: ConnectionSettings.for_endpoint(url),
                                        extra={"investigate": {"identity_protection_spacing": 0, "audit_wait": 5}})
                await run_worker(app, runtime, wait=False, install_signal_handlers=False)
                jobs = await list_jobs(app, store)
                assert [(j.user, j.status) for j in jobs] == [("mark.davis@contoso.com", "succeeded"),
                                                              ("alice.wu@contoso.com", "succeeded")]

        try:
            asyncio.run(main())
            verdicts = {c.case.subject: c.case.verdict for c in store.list_cases(kind="investigate")}
            assert verdicts["alice.wu@contoso.com"] == "compromised"
            assert set(verdicts) == {"alice.wu@contoso.com", "mark.davis@contoso.com"}
        finally:
            store.close()
