"""A run that could not reach the tenant is not a result: apply, verify, undo and restore-access stop with exit 3
when the connection is lost, journal it once at the run's level as "not reached", and every step keeps its last
real result in the journal (never "failed" or "did not hold" because the cable was cut). An object that could
not be read is "could not read", never "held" or "already holds".

The cable is cut by an HTTP transport wrapped around the real one (every request before the cut reaches the
emulator over HTTP; after it, each fails to connect, as with a dead network)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from typer.testing import CliRunner

from reclaim.cli.main import app
from reclaim.m365 import Connection
from reclaim.remediate import RunReport, State, apply_plan, plan_for_case, restore_access, undo_case, verify_case
from reclaim.store import JournalEntry, Store
from tests.remediate.helpers import Practice, practice, tenant_view, writes

ALICE = "alice.wu@contoso.com"
T = TypeVar("T")


class Cable(httpx.AsyncBaseTransport):
    """The real transport until ``cut`` is set (or ``cut_after_writes`` writes were answered); then every request
    fails to connect. ``throttle`` answers matching reads 429 (the client's retry budget runs out)."""

    def __init__(self, *, cut_after_writes: int | None = None,
                 throttle: Callable[[httpx.Request], bool] | None = None) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.cut = cut_after_writes == 0
        self.cut_after_writes = cut_after_writes
        self.writes = 0
        self.throttle = throttle
        self.refused = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.cut:
            self.refused += 1
            raise httpx.ConnectError("the cable was cut", request=request)
        if self.throttle is not None and self.throttle(request):
            return httpx.Response(429, headers={"Retry-After": "1"}, json={"error": {
                "code": "TooManyRequests", "message": "throttled"}}, request=request)
        response = await self.inner.handle_async_request(request)
        if request.method in ("PATCH", "POST", "DELETE") and "$batch" not in request.url.path:
            self.writes += 1
            if self.cut_after_writes is not None and self.writes >= self.cut_after_writes:
                self.cut = True
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture(scope="module")
def classic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Practice]:
    with practice("bec-classic", [ALICE], tmp_path_factory.mktemp("not-reached")) as p:
        yield p


def _run(p: Practice, cable: Cable | None, work: Callable[[Connection], Coroutine[Any, Any, T]]) -> T:
    async def main() -> T:
        async with Connection.open(p.settings(), transport=cable) as conn:
            return await work(conn)

    return asyncio.run(main())


def _apply(p: Practice, store: Store, cable: Cable | None = None) -> RunReport:
    plan = plan_for_case(store, p.cases[ALICE])
    return _run(p, cable, lambda conn: apply_plan(conn, store, plan, password_sink=p.sink, operator="test"))


def _last_real(journal: list[JournalEntry]) -> dict[str, str]:
    """Each step's last journal entry (the report's view of it)."""
    return {f"{e.action_id}:{e.target}": e.step for e in journal if e.action_id != "run"}


def test_apply_cut_mid_run_stops_and_a_rerun_finishes(classic: Practice, tmp_path: Path) -> None:
    db = classic.fresh(tmp_path)
    with Store(str(db)) as store:
        cable = Cable(cut_after_writes=1)  # block-sign-in's PATCH gets through, then the network is gone
        report = _apply(classic, store, cable)
        assert report.exit_code == 3 and report.not_reached and "cannot connect" in report.not_reached
        states = [o.state for o in report.outcomes]
        assert states[0] is not State.HELD  # its confirming read was cut too: not reached, never "held"
        assert set(states) == {State.NOT_REACHED}
        journal = store.journal(classic.cases[ALICE])
        assert not [e for e in journal if e.step in ("failed", "not_held")]
        end = journal[-1]
        assert end.action_id == "run" and end.step == "applied" and (end.result or {}).get("notReached")
        assert cable.refused >= 1
        # a plain re-run (not --resume: the run ended) confirms the block and does the rest, nothing doubled
        classic.emulator.calls.clear()
        again = _apply(classic, store)
        assert again.ok and again.exit_code == 0, {o.step.key: o.state.value for o in again.outcomes}
        assert not any(w.startswith("PATCH") and "passwordProfile" in w for w in writes(classic.emulator)[1:])
        assert tenant_view(classic.emulator, ALICE)["accountEnabled"] is False


def test_verify_undo_restore_unreachable_keep_the_last_real_result(classic: Practice, tmp_path: Path) -> None:
    db = classic.fresh(tmp_path)
    case_id = classic.cases[ALICE]
    with Store(str(db)) as store:
        assert _apply(classic, store).ok
        before = _last_real(store.journal(case_id))
        view = tenant_view(classic.emulator, ALICE)
        checked = _run(classic, Cable(cut_after_writes=0), lambda conn: verify_case(conn, store, case_id))
        assert checked.exit_code == 3 and {o.state for o in checked.outcomes} <= {State.NOT_REACHED, State.UNDONE}
        undone = _run(classic, Cable(cut_after_writes=0), lambda conn: undo_case(conn, store, case_id))
        assert undone.exit_code == 3
        # what needs no request (a step that cannot be undone) is answered; nothing else
        assert {o.state for o in undone.outcomes} <= {State.NOT_REACHED, State.SKIPPED, State.NOT_UNDOABLE}
        answered = {o.step.key for o in undone.outcomes if o.state is State.NOT_UNDOABLE}
        restored = _run(classic, Cable(cut_after_writes=0), lambda conn: restore_access(conn, store, case_id))
        assert restored.state is State.NOT_REACHED
        journal = store.journal(case_id)
        after = _last_real(journal)
        # the steps' own entries are as they were (plus restore-access's "planned": it never ran)
        assert {k: v for k, v in after.items() if not k.startswith("enable-sign-in") and k not in answered} == \
            {k: v for k, v in before.items() if k not in answered}
        kinds = [(e.target.split("-")[0], (e.result or {}).get("state")) for e in journal
                 if e.action_id == "run" and e.step == "skipped"]
        assert kinds == [("verify", "not reached"), ("undo", "not reached")]
        assert tenant_view(classic.emulator, ALICE) == view
        # with the tenant back, verify gives the real results again
        ok = _run(classic, None, lambda conn: verify_case(conn, store, case_id))
        assert ok.exit_code == 0, {o.step.key: (o.state.value, o.detail) for o in ok.outcomes}


def test_unreadable_is_could_not_read_never_held(classic: Practice, tmp_path: Path) -> None:
    db = classic.fresh(tmp_path)
    case_id = classic.cases[ALICE]
    with Store(str(db)) as store:
        assert _apply(classic, store).ok
        before = _last_real(store.journal(case_id))

        def rules(request: httpx.Request) -> bool:
            return request.method == "GET" and request.url.path.endswith("/messageRules")

        checked = _run(classic, Cable(throttle=rules), lambda conn: verify_case(conn, store, case_id))
        unread = [o for o in checked.outcomes if o.state is State.UNREAD]
        assert unread and {o.step.key for o in unread} == {
            o.step.key for o in checked.outcomes
            if o.step.action == "disable-inbox-rule" and o.step.params.get("source") != "exchange"}
        assert all("could not read" in o.detail for o in unread)
        assert checked.exit_code == 3 and checked.not_reached is None
        journal = store.journal(case_id)
        assert _last_real(journal) == {k: v for k, v in _last_real(journal).items() if k in before}
        for key in (o.step.key for o in unread):
            assert _last_real(journal)[key] == before[key]
        end = journal[-1]
        assert end.action_id == "run" and (end.result or {}).get("state") == "could not read"
        # and an apply re-run that cannot read a rule does not call it "already holds"
        again = _run(classic, Cable(throttle=rules), lambda conn: apply_plan(
            conn, store, plan_for_case(store, case_id), password_sink=classic.sink))
        assert {o.state for o in again.outcomes if o.step.action == "disable-inbox-rule"
                and o.step.params.get("source") != "exchange"} == {State.UNREAD}
        assert again.exit_code == 3


def test_cli_exit_3_when_the_tenant_is_down(classic: Practice, tmp_path: Path) -> None:
    db = classic.fresh(tmp_path)
    case_id = classic.cases[ALICE]
    with Store(str(db)) as store:
        assert _apply(classic, store).ok
    with httpx.Client() as probe:  # a port nobody listens on
        dead = classic.url.rsplit(":", 1)[0] + ":9"
        with pytest.raises(httpx.TransportError):
            probe.get(dead)
    env = {"RECLAIM_ENDPOINT": dead, "RECLAIM_DB": str(db), "RECLAIM_OPERATOR": "t", "COLUMNS": "200"}
    result = CliRunner().invoke(app, ["verify", case_id], env=env)
    assert result.exit_code == 3, result.output
    assert "could not reach" in result.output or "cannot reach" in result.output
    assert "did not hold" not in result.output and "Traceback" not in result.output


class KilledAfterPost(Cable):
    """The process dies (Ctrl-C) right after the tenant accepted a POST: its answer never reaches the journal."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        if request.method == "POST" and request.url.path.endswith("/messageRules"):
            raise KeyboardInterrupt
        return response


def test_undo_after_a_kill_looks_before_recreating(classic: Practice, tmp_path: Path) -> None:
    from reclaim.remediate import PlanOptions

    db = classic.fresh(tmp_path)
    case_id = classic.cases[ALICE]
    name = "."
    with Store(str(db)) as store:
        plan = plan_for_case(store, case_id, PlanOptions(delete_rules=True))
        done = _run(classic, None, lambda conn: apply_plan(conn, store, plan, password_sink=classic.sink))
        assert done.ok

        def named() -> list[str]:
            user = classic.emulator.state.find_user(ALICE)
            assert user is not None
            return [r["id"] for r in user["mailbox"]["inboxRules"] if r.get("displayName") == name]

        assert named() == []
        with pytest.raises(KeyboardInterrupt):
            _run(classic, KilledAfterPost(), lambda conn: undo_case(conn, store, case_id, only="delete-inbox-rule"))
        assert len(named()) == 1  # re-created; the journal says "undoing" only
        again = _run(classic, None, lambda conn: undo_case(conn, store, case_id, only="delete-inbox-rule"))
        assert {o.state for o in again.outcomes} <= {State.UNDONE, State.NOT_UNDOABLE}, again.outcomes
        assert len(named()) == 1  # not created a second time
