"""kill -9 at the worst moments: the remediation (the installed command, in a subprocess) is SIGKILLed by the
tenant itself right after its N-th write took effect and before the answer leaves, for every write of the
plan. ``remediate --resume CASE`` then converges to the end state of an uninterrupted run, the journal's hash
chain stays valid, every step ends held, and no write takes effect twice (but a password reset whose answer never
reached the operator, which is made again with a new password). The journal-step kill points are in
tests/remediate/test_resume.py; the store's own crash safety in tests/store/test_crash.py."""

from __future__ import annotations

import asyncio
import os
import shutil
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
from reclaim.collect import investigate
from reclaim.emulator import Emulator
from reclaim.emulator.app import CallRecord
from reclaim.m365 import Connection
from reclaim.store import Store
from tests.reliability.support import Tenant, effective_writes, scratch, served, tenant_view, write_key

ALICE = "alice.wu@contoso.com"
RECLAIM = str(Path(sys.executable).with_name("reclaim"))


@dataclass
class KillAfterWrite:
    """ASGI middleware: once ``after`` writes have taken effect, SIGKILL ``pid`` before the answer is sent."""

    inner: Any
    emulator: Emulator
    pid: int | None = None
    after: int = 0
    killed_at: list[str] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def guarded(message: Any) -> None:
            if message["type"] == "http.response.start" and self.pid is not None and not self.killed_at:
                calls = self.emulator.calls
                answered = [c for c in calls if _took_effect(c, message["status"])]
                if len(answered) >= self.after:
                    os.kill(self.pid, signal.SIGKILL)
                    self.killed_at.append(write_key(answered[-1]) or "?")
                    await asyncio.sleep(0.05)  # let the process die before the answer could reach it
            await send(message)

        await self.inner(scope, receive, guarded)


def _took_effect(call: CallRecord, status: int) -> bool:
    code = call.status if call.status is not None else status
    return write_key(call) is not None and call.fault is None and code < 300


@dataclass
class Bed:
    tenant: Tenant
    killer: KillAfterWrite
    template: Path
    case_id: str
    work: Path


@pytest.fixture(scope="module")
def bed() -> Iterator[Bed]:
    killers: list[KillAfterWrite] = []

    def wrap(emulator: Emulator) -> None:
        killers.append(KillAfterWrite(emulator.app, emulator))
        emulator.app = killers[0]  # type: ignore[assignment]

    with served("bec-classic", latency_ms=0, prepare=wrap) as tenant, scratch() as work:
        template = work / "template.db"
        store = Store(str(template))

        async def run(conn: Connection) -> str:
            return (await investigate(conn, store, ALICE, audit_wait=5, identity_protection_spacing=0)).case_id

        try:
            case_id = tenant.run(run, timeout=30)
        finally:
            store.close()
        yield Bed(tenant, killers[0], template, case_id, work)


def _env(bed: Bed) -> dict[str, str]:
    return {"RECLAIM_ENDPOINT": bed.tenant.url, "RECLAIM_OPERATOR": "kill-test", "COLUMNS": "200"}


def _fresh(bed: Bed, name: str) -> tuple[Path, Path]:
    bed.tenant.faults(None, 0)  # the scenario's state, an empty call log
    db = bed.work / f"{name}.db"
    for old in bed.work.glob(f"{name}.db*"):
        old.unlink()
    shutil.copy(bed.template, db)
    pw = bed.work / f"{name}.pw"
    pw.unlink(missing_ok=True)
    return db, pw


def _apply_killed(bed: Bed, db: Path, pw: Path, after: int) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECLAIM_")}
    env.update(_env(bed))
    process = subprocess.Popen([RECLAIM, "remediate", ALICE, "--apply", "--yes", "--password-file", str(pw),
                                "--db", str(db)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    bed.killer.pid, bed.killer.after, bed.killer.killed_at = process.pid, after, []
    try:
        out, err = process.communicate(timeout=120)
    finally:
        bed.killer.pid = None
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def _end_state(bed: Bed, initial: dict[str, Any]) -> dict[str, Any]:
    view = tenant_view(bed.tenant.emulator, ALICE)
    for moment in ("passwordChanged", "sessionsValidFrom"):
        view[moment] = view[moment] != initial[moment]
    return view


@pytest.fixture(scope="module")
def reference(bed: Bed) -> dict[str, Any]:
    db, pw = _fresh(bed, "reference")
    initial = tenant_view(bed.tenant.emulator, ALICE)
    done = CliRunner().invoke(app, ["remediate", ALICE, "--apply", "--yes", "--password-file", str(pw), "--db",
                                    str(db)], env=_env(bed))
    assert done.exit_code == 0, done.stdout + done.stderr
    writes = effective_writes(bed.tenant.emulator.calls)
    assert max(writes.values()) == 1
    return {"initial": initial, "state": _end_state(bed, initial), "writes": sum(writes.values())}


#: after the 1st, 2nd, ... write: one point per write of bec-classic's plan for Alice
KILL_POINTS = range(1, 30)


def test_every_write_has_a_kill_point(reference: dict[str, Any]) -> None:
    assert reference["writes"] == len(KILL_POINTS), "the plan changed: make KILL_POINTS cover every write"


@pytest.mark.parametrize("after", KILL_POINTS)
def test_killed_after_a_write_resumes_to_the_same_end(bed: Bed, reference: dict[str, Any], after: int) -> None:
    db, pw = _fresh(bed, f"kill{after}")
    killed = _apply_killed(bed, db, pw, after)
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stdout[-500:], killed.stderr[-500:])
    assert bed.killer.killed_at, "the kill point was not reached"
    resumed = CliRunner().invoke(app, ["remediate", "--resume", bed.case_id, "--yes", "--password-file", str(pw),
                                       "--db", str(db)], env=_env(bed))
    assert resumed.exit_code == 0, resumed.stdout + resumed.stderr
    assert _end_state(bed, reference["initial"]) == reference["state"]
    calls = bed.tenant.emulator.calls
    doubled = {k: n for k, n in effective_writes(calls).items() if n > 1}
    # Only the write whose answer died with the process may be made again, and only when a read cannot tell it
    # took effect: a password reset (a new password, delivered this time) or the restricted-sender removal
    # (Microsoft applies it later; asking again changes nothing). Everything else is read, seen done, not re-sent.
    in_doubt = bed.killer.killed_at[0]
    for key, n in doubled.items():
        assert n == 2 and key == in_doubt, (doubled, in_doubt)
        assert "passwordProfile" in key or key.startswith("Remove-BlockedSenderAddress"), key
    assert sum(1 for k in effective_writes(calls) if "passwordProfile" in k) <= 2
    password = pw.read_text().strip()
    assert password and oct(pw.stat().st_mode & 0o777) == "0o600"
    store = Store(str(db))
    try:
        assert store.verify_chain(bed.case_id).ok
        journal = store.journal(bed.case_id)
    finally:
        store.close()
    assert password not in repr(journal)
    last: dict[tuple[str, str], str] = {}
    for entry in journal:
        if entry.action_id != "run" and entry.step != "planned":
            reason = str((entry.result or {}).get("reason")) if entry.step == "skipped" else entry.step
            last[(entry.action_id, entry.target)] = reason
    assert set(last.values()) <= {"verified", "already holds", "not_held"}, last
    assert [k for k, v in last.items() if v == "not_held"] == [("unblock-sender", ALICE)]  # pending: the delay
