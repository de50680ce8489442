"""Crash and resume: the remediation, run as the real command in a subprocess, is killed right after a given
journal entry (``RECLAIM_TEST_CRASH_AFTER``, a test-only hook that calls ``os._exit`` as SIGKILL would).
The next plain run exits 4 (interrupted); ``--resume CASE`` (the same command, run in this process to save
the start-up time) converges to the same end state as an
uninterrupted run, with a valid journal chain and no write sent twice (only a password reset whose answer
never reached the operator is made again)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from reclaim.cli.main import app
from reclaim.store import Store
from tests.remediate.helpers import Practice, practice, tenant_view

ALICE = "alice.wu@contoso.com"
RECLAIM = str(Path(sys.executable).with_name("reclaim"))
pytestmark = pytest.mark.slow  # about 20 s: each crash point starts the command in a new process


@pytest.fixture(scope="module")
def quiet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Practice]:
    with practice("bec-classic", [ALICE], tmp_path_factory.mktemp("resume"), throttling=False) as p:
        yield p


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def _reclaim(p: Practice, *args: str, crash_after: int | None = None) -> Ran:
    """The command in a subprocess when it is to be killed; in this process otherwise (no start-up cost)."""
    env = {"RECLAIM_ENDPOINT": p.url, "RECLAIM_OPERATOR": "crash-test", "COLUMNS": "200"}
    if crash_after is None:
        assert "RECLAIM_TEST_CRASH_AFTER" not in os.environ
        result = CliRunner().invoke(app, list(args), env=env)
        return Ran(result.exit_code, result.stdout, result.stderr)
    full = {k: v for k, v in os.environ.items() if not k.startswith("RECLAIM_")}
    full.update(env, RECLAIM_TEST_CRASH_AFTER=str(crash_after))
    done = subprocess.run([RECLAIM, *args], env=full, capture_output=True, text=True, timeout=120, check=False)
    return Ran(done.returncode, done.stdout, done.stderr)


def _apply(p: Practice, db: Path, pw: Path, crash_after: int | None = None) -> Ran:
    return _reclaim(p, "remediate", ALICE, "--apply", "--yes", "--password-file", str(pw), "--db", str(db),
                    crash_after=crash_after)


def _end_state(p: Practice, initial: dict[str, Any]) -> dict[str, Any]:
    view = tenant_view(p.emulator, ALICE)
    for moment in ("passwordChanged", "sessionsValidFrom"):
        view[moment] = view[moment] != initial[moment]
    return view


def _writes(p: Practice) -> Counter[str]:
    """Each write by what it changes (method, path and the body's keys / the cmdlet and its identity)."""
    out: Counter[str] = Counter()
    for call in p.emulator.calls:
        body = call.body if isinstance(call.body, dict) else {}
        if call.path.endswith("/InvokeCommand"):
            cmd = body.get("CmdletInput") or {}
            name = str(cmd.get("CmdletName"))
            if not name.startswith("Get-"):
                out[f"{name} {sorted((cmd.get('Parameters') or {}).items(), key=str)}"] += 1
        elif call.method in ("PATCH", "POST", "DELETE") and "/oauth2/" not in call.path \
                and not call.path.endswith(("/$batch", "/security/auditLog/queries")):
            out[f"{call.method} {call.path} {sorted(body)}"] += 1
    return out


@pytest.fixture(scope="module")
def reference(quiet: Practice, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("reference")
    db = quiet.fresh(tmp)
    initial = tenant_view(quiet.emulator, ALICE)
    done = _apply(quiet, db, tmp / "pw")
    assert done.returncode == 0, done.stdout + done.stderr
    store = Store(str(db))
    entries = len(store.journal(quiet.cases[ALICE]))
    store.close()
    assert max(_writes(quiet).values()) == 1
    return {"state": _end_state(quiet, initial), "entries": entries, "initial": initial}


def test_reference_run_is_complete(reference: dict[str, Any]) -> None:
    state = reference["state"]
    assert state["accountEnabled"] is False and state["passwordChanged"] and state["sessionsValidFrom"]
    assert state["forwarding"] == (None, None, False)


# After each kind of journal step: block-sign-in snapshot (3: after its planned entry) / applying (4: nothing
# sent) / applied (5: sent, not verified); reset-password applying (14: its answer, the password, never reached
# the operator, so it is made again); the last step's verification (-2: before the run's end entry).
# (Each point costs two command runs, ~3 s; `make test` must stay fast.)
CRASH_POINTS = [3, 4, 5, 14, -2]


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_killed_run_resumes_to_the_same_end(quiet: Practice, reference: dict[str, Any], tmp_path: Path,
                                            point: int) -> None:
    crash_after = point if point > 0 else reference["entries"] + point
    db = quiet.fresh(tmp_path)
    pw = tmp_path / "pw"
    killed = _apply(quiet, db, pw, crash_after=crash_after)
    assert killed.returncode == 137, killed.stdout + killed.stderr
    if point == 5:
        again = _apply(quiet, db, pw)
        assert again.returncode == 4, again.stdout + again.stderr
        assert "--resume" in again.stderr and "interrupted" in again.stderr
    case_id = quiet.cases[ALICE]
    asked = _reclaim(quiet, "remediate", "--resume", case_id, "--password-file", str(pw), "--db", str(db))
    assert asked.returncode == 2 and "steps to do" in asked.stderr and "not confirmed" in asked.stderr
    resumed = _reclaim(quiet, "remediate", "--resume", case_id, "--yes", "--password-file", str(pw), "--db",
                       str(db))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert _end_state(quiet, reference["initial"]) == reference["state"]
    writes = _writes(quiet)
    doubled = {k: n for k, n in writes.items() if n > 1}
    # only a password reset whose answer never reached the operator is sent again
    assert all(k.startswith("PATCH /v1.0/users/") and "passwordProfile" in k for k in doubled), doubled
    assert pw.read_text().strip() and oct(pw.stat().st_mode & 0o777) == "0o600"
    password = pw.read_text().strip()
    assert password.encode() not in db.read_bytes()
    store = Store(str(db))
    try:
        assert store.verify_chain(case_id).ok
        journal = store.journal(case_id)
    finally:
        store.close()
    # every step of the plan ended held (verified or already holding), none lost
    last: dict[tuple[str, str], str] = {}
    for e in journal:
        if e.action_id != "run" and e.step != "planned":
            last[(e.action_id, e.target)] = e.step if e.step != "skipped" else str((e.result or {}).get("reason"))
    assert set(last.values()) <= {"verified", "already holds", "not_held"}
    assert [k for k, v in last.items() if v == "not_held"] == [("unblock-sender", ALICE)]  # pending: the delay
    if point == 3:
        # and a further run changes nothing
        quiet.emulator.calls.clear()
        final = _apply(quiet, db, pw)
        assert final.returncode == 0, final.stdout + final.stderr
        assert not _writes(quiet)
