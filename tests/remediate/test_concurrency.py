"""One run per user at a time. Same store: the per-user lease refuses a second ``remediate --apply`` / ``undo``
(exit 2, who holds it and since when, nothing sent, no password file); a holder that died on this machine is
taken over. Two stores: the tenant is the witness, and the second run does not reset the password or revoke
sessions again. Two real processes started together on one user: never a doubled write, one password reset."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert
from typer.testing import CliRunner

from reclaim.cli.main import app
from reclaim.remediate.lease import LEASES, Lease, LeaseBusy
from reclaim.store import Store
from tests.remediate.helpers import Practice, practice, writes

ALICE = "alice.wu@contoso.com"
RECLAIM = str(Path(sys.executable).with_name("reclaim"))


@pytest.fixture(scope="module")
def classic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Practice]:
    with practice("bec-classic", [ALICE], tmp_path_factory.mktemp("concurrency"), throttling=False) as p:
        yield p


def _env(p: Practice, db: Path) -> dict[str, str]:
    return {"RECLAIM_ENDPOINT": p.url, "RECLAIM_DB": str(db), "RECLAIM_OPERATOR": "second", "COLUMNS": "250"}



def test_a_held_lease_refuses_a_second_run(classic: Practice, tmp_path: Path) -> None:
    db = classic.fresh(tmp_path)
    case_id = classic.cases[ALICE]
    pw = tmp_path / "pw"
    with Store(str(db)) as store:
        first = Lease(store, ALICE, case_id=case_id, command="remediate --apply", operator="first")
        first.start()
        try:
            classic.emulator.calls.clear()
            refused = CliRunner().invoke(app, ["remediate", ALICE, "--apply", "--yes", "--password-file", str(pw)],
                                         env=_env(classic, db))
            assert refused.exit_code == 2, refused.output
            assert f"another remediation of {ALICE} is running: remediate --apply by first on" in refused.output
            assert "since" in refused.output and "nothing was sent" in refused.output
            undo = CliRunner().invoke(app, ["undo", case_id, "--yes"], env=_env(classic, db))
            assert undo.exit_code == 2 and "is running" in undo.output
            assert not writes(classic.emulator) and not pw.exists()
            with pytest.raises(LeaseBusy):
                Lease(store, ALICE.upper(), case_id=case_id, command="undo").acquire()
        finally:
            first.release()
        done = CliRunner().invoke(app, ["remediate", ALICE, "--apply", "--yes", "--password-file", str(pw)],
                                  env=_env(classic, db))
        assert done.exit_code == 0, done.output
        assert Lease(store, ALICE, case_id=case_id, command="x").current() is None  # released at the end


def test_a_dead_holder_on_this_machine_is_taken_over(classic: Practice, tmp_path: Path) -> None:
    db = classic.fresh(tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    with Store(str(db)) as store:
        Lease(store, ALICE, case_id="x", command="x").engine.dispose()  # creates the table
        engine = create_engine(store.url)
        with engine.begin() as conn:
            conn.execute(insert(LEASES).values(subject=ALICE, holder="killed", operator="gone",
                                               host=socket.gethostname(), pid=int(dead.stdout), case_id="x",
                                               command="remediate --apply", acquired_at=time.time(),
                                               expires_at=time.time() + 600))
        engine.dispose()
    done = CliRunner().invoke(app, ["remediate", ALICE, "--apply", "--yes", "--password-file",
                                    str(tmp_path / "pw")], env=_env(classic, db))
    assert done.exit_code == 0, done.output


def test_two_stores_the_tenant_is_the_witness(classic: Practice, tmp_path: Path) -> None:
    one = classic.fresh(tmp_path)
    (tmp_path / "two").mkdir()
    two = tmp_path / "two" / "cases.db"
    two.write_bytes(one.read_bytes())
    classic.emulator.calls.clear()
    first = CliRunner().invoke(app, ["remediate", ALICE, "--apply", "--yes", "--password-file",
                                     str(tmp_path / "pw1")], env=_env(classic, one))
    assert first.exit_code == 0, first.output
    second = CliRunner().invoke(app, ["remediate", ALICE, "--apply", "--yes", "--json", "--password-file",
                                      str(tmp_path / "pw2")], env=_env(classic, two))
    assert second.exit_code == 1, second.output
    assert "moved to" in second.stdout and "since the investigation" in second.stdout
    resets = [c for c in classic.emulator.calls if c.method == "PATCH" and isinstance(c.body, dict)
              and "passwordProfile" in c.body]
    revokes = [c for c in classic.emulator.calls if c.method == "POST" and c.path.endswith("/revokeSignInSessions")]
    assert len(resets) == 1 and len(revokes) == 1
    assert (tmp_path / "pw1").read_text().strip() and not (tmp_path / "pw2").read_text().strip()


@pytest.mark.slow
def test_two_processes_on_one_user(classic: Practice, tmp_path: Path) -> None:
    db = classic.fresh(tmp_path)
    classic.emulator.calls.clear()
    base = {k: v for k, v in os.environ.items() if not k.startswith("RECLAIM_")}
    procs = [subprocess.Popen([RECLAIM, "remediate", ALICE, "--apply", "--yes", "--password-file",
                               str(tmp_path / f"pw{i}"), "--db", str(db)],
                              env={**base, **_env(classic, db)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for i in range(2)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        results.append((proc.returncode, out, err))
    codes = sorted(code for code, _, _ in results)
    assert codes in ([0, 0], [0, 2]), results
    if codes == [0, 2]:
        refused = next(err for code, _, err in results if code == 2)
        assert "is running" in refused, results
    state_writes: Counter[str] = Counter()
    for c in classic.emulator.calls:
        if c.status is not None and c.status < 300 and c.method in ("PATCH", "POST", "DELETE") \
                and "/oauth2/" not in c.path and not c.path.endswith(("$batch", "/queries")):
            key = c.path + (str(sorted(c.body)) if isinstance(c.body, dict) else "")
            if c.path.endswith("/InvokeCommand") and isinstance(c.body, dict):
                cmd = c.body.get("CmdletInput") or {}
                if str(cmd.get("CmdletName", "")).startswith("Get-"):
                    continue
                key = f"{cmd.get('CmdletName')} {sorted((cmd.get('Parameters') or {}).items(), key=str)}"
            state_writes[key] += 1
    assert state_writes and max(state_writes.values()) == 1, state_writes
    delivered = [p for p in (tmp_path / "pw0", tmp_path / "pw1") if p.exists() and p.read_text().strip()]
    assert len(delivered) == 1
