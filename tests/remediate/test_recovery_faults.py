"""The recovery actions under injected faults (429, 5xx, connection resets, in $batch sub-requests too): every
message ends where a clean run puts it, each message moved at most once (immutable ids make a re-sent move
harmless), and the journal chain holds (seeded, so a failure replays)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reclaim.emulator import Emulator
from reclaim.emulator.faults import FaultSpec
from reclaim.m365 import Connection
from reclaim.remediate import PlanOptions, RunReport, apply_plan, plan_for_case
from reclaim.store import Store
from tests.remediate.helpers import Practice, practice

ALICE = "alice.wu@contoso.com"
FAULTS = "429=0.1,500=0.04,503=0.04,reset=0.04,retry_after=0.5"
RECOVERY = frozenset({"restore-hidden-mail", "restore-deleted-mail", "purge-sent-mail"})
OPTIONS = PlanOptions(only=RECOVERY, include=frozenset({"purge-sent-mail"}))


@pytest.fixture(scope="module")
def classic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Practice]:
    with practice("bec-classic", [ALICE], tmp_path_factory.mktemp("recovery-faults")) as p:
        yield p


def mail(emulator: Emulator) -> dict[str, str]:
    """mailbox|internetMessageId → folder, for every message of every mailbox (Purges included)."""
    out: dict[str, str] = {}
    for user in emulator.state.iter_mailbox_users():
        upn = user["userPrincipalName"]
        for items in user["mailbox"]["messages"].values():
            for m in items:
                out[f"{upn}|{m.get('internetMessageId')}|{m.get('subject')}"] = str(m.get("parentFolderId"))
        for m in user["mailbox"].get("purgedItems") or []:
            out[f"{upn}|{m.get('internetMessageId')}|{m.get('subject')}"] = "purges"
    return out


def _run(p: Practice, db: Path) -> RunReport:
    store = Store(str(db))
    plan = plan_for_case(store, p.cases[ALICE], OPTIONS)

    async def work(conn: Connection) -> RunReport:
        return await apply_plan(conn, store, plan, password_sink=None, operator="faults")

    try:
        return p.run(work)
    finally:
        store.close()


def _moves(p: Practice) -> Counter[str]:
    """Moves that took effect (answered 2xx), by message (immutable id) and destination; $batch included."""
    out: Counter[str] = Counter()
    for call in p.emulator.calls:
        if call.status is not None and call.status < 300 and call.path.endswith("/move"):
            body = call.body if isinstance(call.body, dict) else {}
            out[f"{call.path} {body.get('destinationId')}"] += 1
        if call.path.endswith("/InvokeCommand") and call.status is not None and call.status < 300:
            cmd = (call.body if isinstance(call.body, dict) else {}).get("CmdletInput") or {}
            if cmd.get("CmdletName") == "Restore-RecoverableItems":
                out[f"restore {sorted((cmd.get('Parameters') or {}).items())}"] += 1
    return out


@pytest.fixture(scope="module")
def clean(classic: Practice, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    db = classic.fresh(tmp_path_factory.mktemp("clean"))
    before = mail(classic.emulator)
    report = _run(classic, db)
    assert report.ok, {o.step.key: (o.state.value, o.detail) for o in report.outcomes}
    after = mail(classic.emulator)
    assert after != before
    return {"before": before, "after": after}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_recovery_under_faults_reaches_the_clean_end_state(classic: Practice, clean: dict[str, Any], tmp_path: Path,
                                                           seed: int) -> None:
    db = classic.fresh(tmp_path)
    assert mail(classic.emulator) == clean["before"]
    classic.emulator.faults.configure(FaultSpec.parse(FAULTS))
    classic.emulator.faults._random = random.Random(seed)
    try:
        report = _run(classic, db)
    finally:
        classic.emulator.faults.configure(FaultSpec())
    assert sum(dict(classic.emulator.faults.injected).values()) > 0
    if not report.ok:  # retries ran out on a step: the re-run (resume) finishes it
        report = _run(classic, db)
    assert report.ok, {o.step.key: (o.state.value, o.detail) for o in report.outcomes}
    end = mail(classic.emulator)
    # regular ids change with every move: compare where each message is, not its id
    assert end == clean["after"]
    moves = _moves(classic)
    assert len(moves) >= 12  # 4 hidden in RSS Feeds, 3+ hidden warnings, 2 deletions, 1 restore, 4 colleagues
    doubled = {k: n for k, n in moves.items() if n > 1}
    assert not doubled, doubled
    store = Store(str(db))
    try:
        assert store.verify_chain(classic.cases[ALICE]).ok
    finally:
        store.close()
