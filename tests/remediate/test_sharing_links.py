"""remove-sharing-link over real HTTP against bec-classic: every attacker-made share removed, the user's own
older shares and colleagues' shares untouched, verify confirms, a second run writes nothing, undo says why it
cannot bring a link back; and the same under injected faults."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reclaim.emulator.faults import FaultSpec
from reclaim.m365 import Connection
from reclaim.remediate import PlanOptions, RunReport, State, apply_plan, plan_for_case, undo_case, verify_case
from reclaim.store import Store
from tests.remediate.helpers import Practice, practice, writes

ALICE = "alice.wu@contoso.com"
BEN = "ben.carter@contoso.com"
ONLY = PlanOptions(only=frozenset({"remove-sharing-link"}))


@pytest.fixture(scope="module")
def classic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Practice]:
    with practice("bec-classic", [ALICE], tmp_path_factory.mktemp("bec-drive")) as p:
        yield p


def _permissions(p: Practice, upn: str) -> set[str]:
    user = p.emulator.state.find_user(upn)
    assert user is not None
    return {str(perm["id"]) for item in user["drive"]["items"] for perm in item.get("permissions", [])}


def _run(p: Practice, db: Path, work: Any) -> Any:
    store = Store(str(db))
    try:
        return p.run(lambda conn: work(conn, store))
    finally:
        store.close()


def _apply(p: Practice, db: Path) -> RunReport:
    async def work(conn: Connection, store: Store) -> RunReport:
        plan = plan_for_case(store, p.cases[ALICE], ONLY)
        return await apply_plan(conn, store, plan, password_sink=p.sink, operator="test")

    result: RunReport = _run(p, db, work)
    return result


def test_plan_removes_attacker_shares_and_lists_the_users_own(classic: Practice, tmp_path: Path) -> None:
    db = classic.fresh(tmp_path)
    truth = classic.truth["users"][ALICE]["drive"]
    store = Store(str(db))
    try:
        plan = plan_for_case(store, classic.cases[ALICE], ONLY)
    finally:
        store.close()
    chosen = [s for s in plan.steps if s.action == "remove-sharing-link" and not s.opt_in]
    assert sorted(s.params["permissionId"] for s in chosen) == sorted(truth["plantedShares"])
    left = " ".join(a.why for a in plan.left_alone)
    assert "Q4 accruals.xlsx" in left and "Offsite photos.zip" in left and "left alone" in left


def test_apply_verify_rerun_and_undo(classic: Practice, tmp_path: Path) -> None:
    db = classic.fresh(tmp_path)
    truth = classic.truth["users"][ALICE]["drive"]
    before_alice, before_ben = _permissions(classic, ALICE), _permissions(classic, BEN)
    classic.emulator.calls.clear()
    report = _apply(classic, db)
    assert report.ok, [(o.step.key, o.state.value, o.detail) for o in report.outcomes]
    removed = [o for o in report.outcomes if o.step.action == "remove-sharing-link"]
    assert {o.state for o in removed} == {State.HELD} and len(removed) == 3
    after_alice = _permissions(classic, ALICE)
    assert after_alice == before_alice - set(truth["plantedShares"])
    assert set(truth["keepShares"]) <= after_alice
    assert _permissions(classic, BEN) == before_ben  # a colleague's own link: untouched
    deletes = [w for w in writes(classic.emulator) if w.startswith("DELETE /v1.0/drives/")]
    assert len(deletes) == 3

    # the journal keeps the removed links' URLs
    store = Store(str(db))
    try:
        entries = store.journal(classic.cases[ALICE])
    finally:
        store.close()
    urls = [str((e.request or {}).get("removedLinkUrl")) for e in entries
            if e.action_id == "remove-sharing-link" and e.step == "applied"]
    assert sum(u.startswith("https://contoso-my.sharepoint.com/") for u in urls) == 2

    async def verify(conn: Connection, store: Store) -> RunReport:
        return await verify_case(conn, store, classic.cases[ALICE], operator="test")

    checked = _run(classic, db, verify)
    assert all(o.state is State.HELD for o in checked.outcomes if o.step.action == "remove-sharing-link")

    classic.emulator.calls.clear()
    again = _apply(classic, db)
    assert again.ok and not [w for w in writes(classic.emulator) if "/drives/" in w]

    async def undo(conn: Connection, store: Store) -> RunReport:
        return await undo_case(conn, store, classic.cases[ALICE], only="remove-sharing-link", operator="test")

    undone = _run(classic, db, undo)
    states = [(o.state, o.detail) for o in undone.outcomes if o.step.action == "remove-sharing-link"]
    assert len(states) == 3 and all(s is State.NOT_UNDOABLE for s, _ in states)
    assert sum("cannot be re-created with the same URL" in d and "createLink" in d for _, d in states) == 2
    assert _permissions(classic, ALICE) == after_alice  # undo opened nothing again


def test_a_permission_gone_meanwhile_is_already_held(classic: Practice, tmp_path: Path) -> None:
    db = classic.fresh(tmp_path)
    truth = classic.truth["users"][ALICE]["drive"]
    user = classic.emulator.state.find_user(ALICE)
    assert user is not None
    for item in user["drive"]["items"]:  # the user removed one link herself before remediation
        item["permissions"] = [p for p in item["permissions"] if p["id"] != truth["plantedShares"][0]]
    report = _apply(classic, db)
    states = {o.step.params["permissionId"]: o.state for o in report.outcomes if o.step.action == "remove-sharing-link"}
    assert states[truth["plantedShares"][0]] is State.ALREADY
    assert {states[p] for p in truth["plantedShares"][1:]} == {State.HELD}


def test_injected_faults_still_remove_every_attacker_share(classic: Practice, tmp_path: Path) -> None:
    db = classic.fresh(tmp_path)
    truth = classic.truth["users"][ALICE]["drive"]
    classic.emulator.faults = type(classic.emulator.faults)(FaultSpec.parse("429=0.2,503=0.1,reset=0.05"), seed=7)
    classic.emulator.calls.clear()
    try:
        report = _apply(classic, db)
    finally:
        classic.emulator.faults = type(classic.emulator.faults)(FaultSpec(), seed=None)
    faulted = [c for c in classic.emulator.calls if c.fault and "/drives/" in c.path]
    assert faulted, "no fault reached a drive request: the test would prove nothing"
    outcomes = [o for o in report.outcomes if o.step.action == "remove-sharing-link"]
    assert {o.state for o in outcomes} <= {State.HELD, State.ALREADY}, [(o.state, o.detail) for o in outcomes]
    assert not (_permissions(classic, ALICE) & set(truth["plantedShares"]))
    assert set(truth["keepShares"]) <= _permissions(classic, ALICE)
