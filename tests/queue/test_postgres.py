"""The queue on a real PostgreSQL with ``reclaim worker`` processes: two workers share many tenants and read each
mailbox once; a worker SIGKILLed mid-sweep loses nothing (another finishes its job from the checkpoint) and
doubles nothing; ``sweep --queue`` and ``jobs list/show/cancel`` end to end."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from reclaim.cli.main import app as cli
from reclaim.emulator.scenarios import synthetic
from reclaim.queue import list_jobs, queue_app
from reclaim.store import Store
from reclaim.sweep import flagged
from tests.queue.conftest import Tenants, serve_tenants

RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
ROOT = Path(__file__).resolve().parents[2]


def _reclaim() -> list[str]:
    script = Path(sys.executable).parent / "reclaim"
    return [str(script)] if script.exists() else [sys.executable, "-m", "reclaim.cli.main"]


def _expected(fixture: dict[str, Any]) -> set[str]:
    truth = fixture["scenarioTruth"]
    return {u for u, t in truth["users"].items() if RANK[t["maxSeverity"]] >= RANK["medium"]}


def _jobs(pg_url: str, db: Path) -> list[Any]:
    async def main() -> list[Any]:
        app = queue_app(pg_url)
        store = Store(str(db))
        try:
            async with app.open_async():
                return await list_jobs(app, store)
        finally:
            store.close()

    return asyncio.run(main())


def _wait(predicate: Any, what: str, procs: list[subprocess.Popen[bytes]], limit: float = 90) -> None:
    """Poll until ``predicate()``; a guard against a hang, not a speed assertion."""
    deadline = time.monotonic() + limit
    while not predicate():
        for p in procs:
            assert p.poll() is None, f"a worker exited early: {p.communicate()}"
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.1)


class Workers:
    def __init__(self, env: dict[str, str], db: Path, pg_url: str) -> None:
        self.env = {**os.environ, **env}
        self.db = db
        self.pg_url = pg_url
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, *extra: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([*_reclaim(), "worker", "--db", str(self.db), "--queue-url", self.pg_url,
                                 "--concurrency", "1", *extra], env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()


@pytest.fixture
def workers(tmp_path: Path, pg_url: str) -> Iterator[list[Workers]]:
    made: list[Workers] = []
    yield made
    for w in made:
        w.stop()


def _queue(t: Tenants, db: Path, pg_url: str, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["sweep", *args, "--queue", "--json", "--db", str(db), "--queue-url", pg_url],
                                env=t.env)
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.output)
    return doc


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_two_workers_sweep_many_tenants_reading_each_mailbox_once(tmp_path: Path, pg_url: str,
                                                                  workers: list[Workers], store: str) -> None:
    names = [f"t{i}" for i in range(6)]
    fixtures = {name: synthetic(40 + 10 * i, 100 + i) for i, name in enumerate(names)}
    # the case store in a file of this machine, or in the queue's own PostgreSQL (as several machines share it)
    db: Any = tmp_path / "cases.db" if store == "sqlite" else pg_url.replace("postgresql://", "postgresql+psycopg://")
    with ExitStack() as stack:
        t = serve_tenants(stack, tmp_path, fixtures, latency_ms=20)
        w = Workers(t.env, db, pg_url)
        workers.append(w)
        w.start("--name", "w1")
        w.start("--name", "w2")
        doc = _queue(t, db, pg_url, "--tenant", "all")
        assert sorted(q["tenant"] for q in doc["queued"]) == names
        def all_done() -> bool:
            statuses = {j.status for j in _jobs(pg_url, db)}
            assert "failed" not in statuses, "a job failed"
            return statuses == {"succeeded"}

        _wait(all_done, "every job done", w.procs)
        jobs = _jobs(pg_url, db)
        assert len(jobs) == 6 and len({j.worker_id for j in jobs}) == 2  # both workers took jobs
        cases = Store(str(db))
        try:
            for q in doc["queued"]:
                name = q["tenant"]
                assert cases.get_case(q["case"]).status == "complete"
                assert {m.user for m in flagged(cases, q["case"])} == _expected(t.fixtures[name])
                reads = [c.path for c in t.emulators[name].calls
                         if c.via == "$batch" and c.path.endswith("/messageRules")]
                mailboxes = sum(1 for u in t.fixtures[name]["users"] if u.get("mailbox") is not None)
                assert len(reads) == len(set(reads)) == mailboxes, name
        finally:
            cases.close()


def test_a_worker_killed_mid_sweep_loses_and_doubles_nothing(tmp_path: Path, pg_url: str,
                                                           workers: list[Workers]) -> None:
    fixture = synthetic(300, 9)
    db = tmp_path / "cases.db"
    with ExitStack() as stack:
        t = serve_tenants(stack, tmp_path, {"big": fixture}, latency_ms=60)
        w = Workers({**t.env}, db, pg_url)
        workers.append(w)
        doc = _queue(t, db, pg_url, "--tenant", "big")
        case = doc["queued"][0]["case"]
        first = w.start("--name", "doomed", "--heartbeat", "0.2", "--stalled-after", "1.5", "--sweep-workers", "1")

        def progressed() -> bool:
            store = Store(str(db))
            try:
                cp = store.get_checkpoint(case, "big")
            finally:
                store.close()
            return cp is not None and cp.mailboxes_done >= 60

        _wait(progressed, "the first worker's progress", [first])
        first.send_signal(signal.SIGKILL)
        first.communicate()
        store = Store(str(db))
        checkpoint = store.get_checkpoint(case, "big")
        store.close()
        assert checkpoint is not None and 0 < checkpoint.mailboxes_done < 300
        order = [u["userPrincipalName"].lower() for u in t.fixtures["big"]["users"] if u.get("mailbox") is not None]
        chunks = set(range(checkpoint.state["prefix"])) | set(checkpoint.state["done"])
        finished = {upn for i, upn in enumerate(order) if i // 20 in chunks}
        t.emulators["big"].calls.clear()
        second = w.start("--name", "rescuer", "--heartbeat", "0.2", "--stalled-after", "1.5")
        _wait(lambda: [j.status for j in _jobs(pg_url, db)] == ["succeeded"], "the job to finish elsewhere",
              [second])
        job = _jobs(pg_url, db)[0]
        assert job.attempts == 2 and job.case_status == "complete" and job.mailboxes_done == 300
        ids = {u["id"].lower(): u["userPrincipalName"].lower() for u in t.fixtures["big"]["users"]}
        calls = list(t.emulators["big"].calls)
        # the rescuer's calls: from its Get-Mailbox on (before it, the killed worker's last envelope, which the
        # emulator was still answering when the client died, may be logged; the rescuer only starts once the
        # dead worker's heartbeat is --stalled-after old)
        start = next(i for i, c in enumerate(calls) if c.path.endswith("InvokeCommand")
                     and c.body["CmdletInput"]["CmdletName"] == "Get-Mailbox")
        read = [ids.get(c.path.split("/")[3].lower(), c.path.split("/")[3].lower())
                for c in calls[start:] if c.via == "$batch" and c.path.endswith("/messageRules")]
        assert len(read) == len(set(read))           # nothing read twice by the rescuer
        assert set(read).isdisjoint(finished)          # nor what the killed worker had finished
        assert set(read) == set(order) - finished      # and nothing lost
        store = Store(str(db))
        try:
            findings = store.findings(case)
            keys = [(f.check_id, f.user, f.artifact_type, f.artifact_id) for f in findings]
            assert len(keys) == len(set(keys))        # no finding stored twice
            assert {m.user for m in flagged(store, case)} == _expected(t.fixtures["big"])
        finally:
            store.close()


def test_jobs_cli_lists_shows_and_cancels(tmp_path: Path, pg_url: str) -> None:
    db = tmp_path / "cases.db"
    with ExitStack() as stack:
        t = serve_tenants(stack, tmp_path, {"solo": synthetic(20, 3)})
        doc = _queue(t, db, pg_url, "--tenant", "solo")
        job = doc["queued"][0]["job"]
        again = _queue(t, db, pg_url, "--tenant", "solo")
        assert again["queued"][0] == {**doc["queued"][0], "alreadyQueued": True}
        runner = CliRunner()
        base = ["--db", str(db), "--queue-url", pg_url]
        listed = runner.invoke(cli, ["jobs", "list", "--json", *base], env=t.env)
        assert listed.exit_code == 0, listed.output
        rows = json.loads(listed.output)["jobs"]
        assert [(r["id"], r["tenant"], r["status"], r["mailboxesDone"]) for r in rows] == [(job, "solo", "todo", 0)]
        shown = runner.invoke(cli, ["jobs", "show", str(job), *base], env=t.env)
        assert shown.exit_code == 0 and "status: todo" in shown.output
        cancelled = runner.invoke(cli, ["jobs", "cancel", str(job), *base], env=t.env)
        assert cancelled.exit_code == 0 and "cancelled" in cancelled.output
        again_cancel = runner.invoke(cli, ["jobs", "cancel", str(job), *base], env=t.env)
        assert again_cancel.exit_code == 2 and "only waiting or running" in again_cancel.output
        missing = runner.invoke(cli, ["jobs", "show", "424242", *base], env=t.env)
        assert missing.exit_code == 2 and "no job 424242" in missing.output
        bad = runner.invoke(cli, ["jobs", "list", "--db", str(db), "--queue-url", "postgresql://nobody@127.0.0.1:9/x"],
                            env=t.env)
        assert bad.exit_code == 2 and "cannot reach the job queue" in bad.output
        endpoint = runner.invoke(cli, ["sweep", "--queue", "--endpoint", "http://127.0.0.1:9", *base], env=t.env)
        assert endpoint.exit_code == 2 and "--queue cannot be used with --endpoint" in endpoint.output
        upn = t.fixtures["solo"]["users"][0]["userPrincipalName"]
        inv = runner.invoke(cli, ["investigate", upn, "--queue", "--tenant", "solo", "--json", *base], env=t.env)
        assert inv.exit_code == 0, inv.output
        inv_job = json.loads(inv.output)["job"]
        rows = json.loads(runner.invoke(cli, ["jobs", "list", "--status", "todo", "--json", *base],
                                        env=t.env).output)["jobs"]
        assert [(r["id"], r["task"], r["user"]) for r in rows] == [(inv_job, "reclaim:investigate", upn)]


def test_jobs_of_one_tenant_never_run_together(tmp_path: Path, pg_url: str, workers: list[Workers]) -> None:
    """A sweep, a watch cycle and an investigation of one tenant, two idle workers: the tenant lock runs them one
    after the other (its throttle budget is never split), while another tenant's sweep runs beside them."""
    import psycopg

    db = tmp_path / "cases.db"
    with ExitStack() as stack:
        t = serve_tenants(stack, tmp_path, {"one": synthetic(60, 61), "two": synthetic(60, 62)}, latency_ms=20)
        w = Workers(t.env, db, pg_url)
        workers.append(w)
        runner = CliRunner()
        base = ["--db", str(db), "--queue-url", pg_url]
        upn = t.fixtures["one"]["users"][0]["userPrincipalName"]
        for args in (["sweep", "--tenant", "one", "--queue"], ["watch", "--once", "--tenant", "one", "--queue"],
                     ["investigate", upn, "--tenant", "one", "--queue", "--no-follow-actors"],
                     ["sweep", "--tenant", "two", "--queue"]):
            result = runner.invoke(cli, [*args, *base], env=t.env)
            assert result.exit_code == 0, result.output
        w.start("--name", "w1")
        w.start("--name", "w2")

        def all_done() -> bool:
            statuses = [j.status for j in _jobs(pg_url, db)]
            assert "failed" not in statuses, "a job failed"
            return statuses == ["succeeded"] * 4

        _wait(all_done, "every job done", w.procs)
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute(
            "SELECT j.lock, min(e.at) FILTER (WHERE e.type = 'started'), max(e.at) FILTER (WHERE e.type = 'succeeded')"
            " FROM procrastinate_jobs j JOIN procrastinate_events e ON e.job_id = j.id GROUP BY j.id, j.lock"
        ).fetchall()
    one = sorted((start, end) for lock, start, end in rows if lock == "tenant:one")
    assert len(one) == 3
    assert all(prev_end <= start for (_, prev_end), (start, _) in itertools.pairwise(one))
    assert {lock for lock, _, _ in rows} == {"tenant:one", "tenant:two"}
