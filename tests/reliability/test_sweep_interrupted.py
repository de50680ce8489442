"""The sweep, interrupted and under faults: kill -9 the installed command after its 1st or 6th ``$batch`` envelope
was answered, then ``sweep --resume CASE``: the same flagged mailboxes as an uninterrupted sweep, every mailbox
counted once, the case complete. And seeded sweeps under 20 % faults (429 with and without Retry-After and 5xx
inside ``$batch`` too) flag exactly what a clean sweep flags."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from reclaim.cli.main import app
from reclaim.emulator import Emulator
from reclaim.emulator.faults import FaultInjector, FaultSpec
from reclaim.emulator.scenarios import synthetic
from reclaim.emulator.server import serve_in_thread
from reclaim.store import Store
from tests.reliability.support import TWENTY_PERCENT, scratch

RECLAIM = str(Path(sys.executable).with_name("reclaim"))
USERS = 200  # 10 envelopes of 20 mailboxes


@dataclass
class KillAfterBatch:
    """ASGI middleware: SIGKILL ``pid`` when the ``after``-th ``$batch`` envelope's answer is about to leave."""

    inner: Any
    pid: int | None = None
    after: int = 0
    seen: int = 0
    killed: list[int] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        batch = scope.get("type") == "http" and scope.get("path") == "/v1.0/$batch"

        async def guarded(message: Any) -> None:
            if batch and message["type"] == "http.response.start" and self.pid is not None and not self.killed:
                self.seen += 1
                if self.seen >= self.after:
                    os.kill(self.pid, signal.SIGKILL)
                    self.killed.append(self.seen)
            await send(message)

        await self.inner(scope, receive, guarded)


@dataclass
class SweepBed:
    emulator: Emulator
    url: str
    killer: KillAfterBatch
    work: Path
    truth: dict[str, Any]


@pytest.fixture(scope="module")
def bed() -> Iterator[SweepBed]:
    fixture = synthetic(USERS, 11)
    fixture.setdefault("tenant", {}).setdefault("settings", {})["throttling"] = {"enabled": False}
    emulator = Emulator(fixture)
    killer = KillAfterBatch(emulator.app)
    emulator.app = killer  # type: ignore[assignment]
    with serve_in_thread(emulator) as url, scratch() as work:
        yield SweepBed(emulator, url, killer, work, fixture["scenarioTruth"])


def _env(bed: SweepBed) -> dict[str, str]:
    return {"RECLAIM_ENDPOINT": bed.url, "COLUMNS": "200"}


def _sweep_json(bed: SweepBed, db: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(app, ["sweep", "--no-progress", "--json", "--db", str(db), *extra], env=_env(bed))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, json.loads(result.stdout)


def _flagged(doc: dict[str, Any]) -> dict[str, str]:
    return {str(m["user"]): str(m["worst"]) for m in doc["flagged"]}


@pytest.fixture(scope="module")
def reference(bed: SweepBed) -> dict[str, Any]:
    bed.emulator.reset()
    code, doc = _sweep_json(bed, bed.work / "reference.db")
    assert code == 1 and doc["status"] == "complete", doc.get("status")
    assert doc["tenants"][0]["mailboxes"] == USERS
    return doc


@pytest.mark.parametrize("after", [1, 6])
def test_a_killed_sweep_resumes_to_the_same_result(bed: SweepBed, reference: dict[str, Any], after: int) -> None:
    bed.emulator.reset()
    db = bed.work / f"killed{after}.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECLAIM_")}
    env.update(_env(bed))
    process = subprocess.Popen([RECLAIM, "sweep", "--no-progress", "--json", "--workers", "1", "--db", str(db)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    bed.killer.pid, bed.killer.after, bed.killer.seen, bed.killer.killed = process.pid, after, 0, []
    try:
        out, err = process.communicate(timeout=120)
    finally:
        bed.killer.pid = None
    assert process.returncode == -signal.SIGKILL, (process.returncode, out[-300:], err[-300:])
    store = Store(str(db))
    try:
        (case,) = [item.case for item in store.list_cases() if item.case.kind == "sweep"]
        case_id = case.id
        assert case.status != "complete"
    finally:
        store.close()
    code, doc = _sweep_json(bed, db, "--resume", case_id)
    assert code == 1 and doc["status"] == "complete"
    assert _flagged(doc) == _flagged(reference)
    assert doc["tenants"][0]["mailboxes"] == USERS  # every mailbox counted once: resumed + swept now
    store = Store(str(db))
    try:
        findings = store.findings(case_id)
        keys = [(f.user, f.check_id, f.artifact_type, f.artifact_id) for f in findings]
        assert len(keys) == len(set(keys)), "a finding was stored twice"
        checkpoint = store.get_checkpoint(case_id, "endpoint")
        assert checkpoint is not None and checkpoint.mailboxes_done == USERS
    finally:
        store.close()


SWEEP_SEEDS = range(1, 4)


@pytest.mark.parametrize("seed", SWEEP_SEEDS)
def test_sweep_under_twenty_percent_faults(bed: SweepBed, reference: dict[str, Any], seed: int) -> None:
    bed.emulator.reset()
    spec = FaultSpec.parse(TWENTY_PERCENT)
    spec.slow_seconds = 0.4
    spec.retry_after = None if seed % 2 else 0.05
    bed.emulator.faults = FaultInjector(spec, seed=seed)
    try:
        code, doc = _sweep_json(bed, bed.work / f"faults{seed}.db")
    finally:
        bed.emulator.faults = FaultInjector(FaultSpec(), seed=None)
    assert code == 1 and doc["status"] == "complete", doc
    assert _flagged(doc) == _flagged(reference)
    assert doc["tenants"][0]["mailboxes"] == USERS
    sub_faults = [c.fault for c in bed.emulator.calls if c.via == "$batch" and c.fault]
    assert sub_faults, "no $batch sub-request met a fault"
