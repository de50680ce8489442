"""Crash safety: a process killed with SIGKILL in the middle of a big write leaves a consistent, openable store."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from reclaim.store import Store

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

CHILD = textwrap.dedent("""
    import sys, time
    from datetime import UTC, datetime
    from reclaim.store import NewEvidence, Store

    store = Store(sys.argv[1])
    mode = sys.argv[2]
    now = datetime.now(UTC)
    if mode == "case":
        def forever():
            i = 0
            while True:
                if i == 3000:
                    print("inside", flush=True)
                yield NewEvidence("inboxRules", "graph", {"method": "GET", "url": f"/users/{i}/messageRules"},
                                  b"x" * 2048, now)
                i += 1
        with store.transaction():
            case = store.create_case("sweep", "contoso.com")
            store.add_evidence_many(case.id, forever(), batch_size=200)
    else:
        case_id = sys.argv[3]
        i = 0
        while True:
            store.append_journal(case_id, action_id="disable-inbox-rule", target=f"rule-{i}", step="applied",
                                 request={"isEnabled": False})
            i += 1
            if i == 20:
                print("inside", flush=True)
""")


def _run_and_kill(*args: str) -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD, *args], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "inside"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


def _integrity(path: Path) -> str:
    con = sqlite3.connect(path)
    try:
        return str(con.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        con.close()


def test_killed_during_a_big_transaction_leaves_no_half_case(tmp_path: Path) -> None:
    path = tmp_path / "cases.db"
    with Store(path) as store:
        kept = store.create_case("investigate", "alice@contoso.com")
        store.add_evidence(kept.id, "user", "graph", {"method": "GET", "url": "/users/alice"}, b'{"id":"a"}',
                           kept.created_at)
    _run_and_kill(str(path), "case")
    wal = Path(f"{path}-wal")
    assert wal.exists() and wal.stat().st_size > 3000 * 2048  # the uncommitted pages were in the WAL
    assert _integrity(path) == "ok"
    with Store(path) as store:
        assert [item.case.id for item in store.list_cases()] == [kept.id]
        (evidence,) = store.evidence(kept.id)
        assert evidence.hash_ok
        again = store.create_case("sweep", "contoso.com")  # writable, and the half-written id is free
        assert again.id == kept.id[:-4] + "0002"
    assert _integrity(path) == "ok"


def test_killed_while_appending_the_journal_keeps_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "cases.db"
    with Store(path) as store:
        case = store.create_case("investigate", "alice@contoso.com")
    _run_and_kill(str(path), "journal", case.id)
    assert _integrity(path) == "ok"
    with Store(path) as store:
        status = store.verify_chain(case.id)
        assert status.ok and status.length >= 20
        store.append_journal(case.id, action_id="disable-inbox-rule", target="resume", step="verified")
        assert store.verify_chain(case.id).ok
