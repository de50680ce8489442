"""The case store survives the real commands dying mid-write (extends tests/store/test_crash.py, which kills a
synthetic writer): ``investigate`` and ``sweep`` are SIGKILLed from inside the store call that writes their
results, after part of the transaction was written. The store then opens, passes SQLite's integrity check,
holds no half-written case (the investigation left nothing; the sweep's last checkpoint is whole), and the
next run completes."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reclaim.cli.main import app
from reclaim.emulator import Emulator
from reclaim.emulator.scenarios import synthetic
from reclaim.emulator.server import serve_in_thread
from reclaim.store import Store
from tests.reliability.support import quiet_fixture

ALICE = "alice.wu@contoso.com"

#: runs the console command, but the named Store method kills the process (SIGKILL) on its n-th call, after
#: doing its writes: the transaction around it is open, part of it written
CHILD = textwrap.dedent("""
    import os, signal, sys
    from reclaim.store import Store
    method, nth = sys.argv[1], int(sys.argv[2])
    original = getattr(Store, method)
    calls = []
    def dying(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        calls.append(1)
        if len(calls) >= nth:
            os.kill(os.getpid(), signal.SIGKILL)
        return result
    setattr(Store, method, dying)
    from reclaim.cli.main import run
    sys.argv = ["reclaim", *sys.argv[3:]]
    run()
""")


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    fixture = quiet_fixture("bec-classic")
    extra = synthetic(60, 5)  # more mailboxes for the sweep: three envelopes, three checkpoints
    fixture["users"] = fixture["users"] + [u for u in extra["users"] if "@contoso.com" not in u["userPrincipalName"]]
    for section in ("servicePrincipals",):
        fixture[section] = fixture.get(section, []) + extra.get(section, [])
    with serve_in_thread(Emulator(fixture)) as base:
        yield base


def _die(url: str, method: str, nth: int, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECLAIM_")}
    env.update({"RECLAIM_ENDPOINT": url, "COLUMNS": "200"})
    return subprocess.run([sys.executable, "-c", CHILD, method, str(nth), *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def _integrity(db: Path) -> None:
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.parametrize("method", ["add_evidence_many", "set_verdict"])  # the transaction's first and last write
def test_investigate_killed_inside_its_transaction_leaves_no_half_case(url: str, tmp_path: Path,
                                                                       method: str) -> None:
    db = tmp_path / "cases.db"
    died = _die(url, method, 1, "investigate", ALICE, "--audit-wait", "5", "--db", str(db))
    assert died.returncode == -9, died.stdout[-300:] + died.stderr[-300:]
    _integrity(db)
    store = Store(str(db))
    try:
        assert store.list_cases() == []  # the transaction never committed: no case, no orphan evidence
    finally:
        store.close()
    with sqlite3.connect(db) as raw:
        for table in ("evidence", "findings", "timeline"):
            rows = raw.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 - fixed table names
            assert rows == (0,), table
    again = CliRunner().invoke(app, ["investigate", ALICE, "--json", "--audit-wait", "5", "--db", str(db)],
                               env={"RECLAIM_ENDPOINT": url})
    assert again.exit_code == 1, again.stderr
    case = json.loads(again.stdout)["case"]
    store = Store(str(db))
    try:
        assert store.get_case(case).verdict == "compromised" and store.findings(case)
    finally:
        store.close()


@pytest.mark.parametrize("nth", [2])
def test_sweep_killed_inside_a_checkpoint_resumes_whole(url: str, tmp_path: Path, nth: int) -> None:
    db = tmp_path / "cases.db"
    died = _die(url, "put_checkpoint", nth, "sweep", "--no-progress", "--workers", "1", "--db", str(db))
    assert died.returncode == -9, died.stdout[-300:] + died.stderr[-300:]
    _integrity(db)
    store = Store(str(db))
    try:
        (item,) = store.list_cases()
        case_id = item.case.id
        checkpoint = store.get_checkpoint(case_id, "endpoint")
        done = 0 if checkpoint is None else checkpoint.mailboxes_done
        assert done % 20 == 0  # whole envelopes only: the killed checkpoint's group is not there at all
    finally:
        store.close()
    resumed = CliRunner().invoke(app, ["sweep", "--no-progress", "--json", "--resume", case_id, "--db", str(db)],
                                 env={"RECLAIM_ENDPOINT": url})
    assert resumed.exit_code == 1, resumed.stdout[-500:] + resumed.stderr[-500:]
    doc = json.loads(resumed.stdout)
    assert doc["status"] == "complete"
    store = Store(str(db))
    try:
        findings = store.findings(case_id)
        keys = [(f.user, f.check_id, f.artifact_type, f.artifact_id) for f in findings]
        assert len(keys) == len(set(keys)), "a finding was stored twice"
        assert ALICE in {f.user for f in findings}
    finally:
        store.close()
