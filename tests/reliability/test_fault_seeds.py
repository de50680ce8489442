"""Seeded fault runs: ``investigate`` and ``remediate --apply`` under injected faults give the same findings and
the same end state as a clean run, raise nothing unexpected, and no write takes effect twice.

- 20 % of all requests (429 with and without Retry-After, also inside ``$batch``; 500/502/503/504; connection
  resets; answers slower than the client's timeout, whose write still lands) for seeds 1..N;
- a matrix: each fault kind alone at 30 %;
- every write's first answer lost after the write took effect;
- the access token expiring at the service mid-run, again and again.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from reclaim.collect import Investigation, investigate
from reclaim.m365 import Connection, RetryPolicy
from reclaim.remediate import PlanOptions, RunReport, apply_plan, plan_for_case, undo_case
from reclaim.store import Store
from tests.reliability.support import (
    TWENTY_PERCENT,
    Tenant,
    doubled_writes,
    effective_writes,
    scratch,
    served,
    tenant_view,
    write_key,
)

ALICE = "alice.wu@contoso.com"
#: seeds of the 20 % run; RECLAIM_FAULT_SEEDS raises it for a longer soak
SEEDS = int(os.environ.get("RECLAIM_FAULT_SEEDS", "20"))
#: faults met over all seeds, by kind (and "writes": faults that hit a write)
MET: dict[str, int] = {}


@dataclass
class Options:
    transport: httpx.AsyncBaseTransport | None = None
    policy: RetryPolicy | None = None
    first_answers_lost: bool = False


@pytest.fixture(scope="module")
def classic() -> Iterator[Tenant]:
    with served("bec-classic") as tenant:
        yield tenant


@pytest.fixture
def fast_dir() -> Iterator[Path]:
    with scratch() as path:
        yield path


def _investigate(tenant: Tenant, db: Path, upn: str, options: Options | None = None) -> Investigation:
    options = options or Options()
    store = Store(str(db))

    async def work(conn: Connection) -> Investigation:
        return await investigate(conn, store, upn, audit_wait=5, identity_protection_spacing=0)

    try:
        return tenant.run(work, transport=options.transport, policy=options.policy)
    finally:
        store.close()


def _remediate(tenant: Tenant, db: Path, case_id: str, passwords: list[str],
               options: Options | None = None, plan: PlanOptions | None = None) -> RunReport:
    options = options or Options()
    store = Store(str(db))
    planned = plan_for_case(store, case_id, plan or PlanOptions())

    def sink(upn: str, password: str) -> str:
        passwords.append(password)
        return "terminal"

    async def work(conn: Connection) -> RunReport:
        return await apply_plan(conn, store, planned, password_sink=sink, operator="reliability")

    try:
        return tenant.run(work, transport=options.transport, policy=options.policy)
    finally:
        store.close()


def _findings(result: Investigation) -> list[tuple[str, str, str, str]]:
    return sorted((f.check, f.severity.value, f.artifact.type, f.artifact.id) for f in result.analysis.findings)


def _end_state(tenant: Tenant, initial: dict[str, Any]) -> dict[str, Any]:
    view = tenant_view(tenant.emulator, ALICE)
    for moment in ("passwordChanged", "sessionsValidFrom"):
        view[moment] = view[moment] != initial[moment]
    return view


@pytest.fixture(scope="module")
def reference(classic: Tenant) -> Iterator[dict[str, Any]]:
    with scratch() as tmp:
        classic.faults(None, 0)
        initial = tenant_view(classic.emulator, ALICE)
        found = _investigate(classic, tmp / "cases.db", ALICE)
        assert not found.analysis.not_checked, found.analysis.not_checked
        report = _remediate(classic, tmp / "cases.db", found.case_id, [])
        assert max(effective_writes(classic.emulator.calls).values()) == 1
        yield {"findings": _findings(found), "verdict": found.analysis.verdict.name, "initial": initial,
               "state": _end_state(classic, initial),
               "outcomes": sorted((o.step.key, o.state.value) for o in report.outcomes)}


def _round(tenant: Tenant, reference: dict[str, Any], db: Path, options: Options | None = None) -> None:
    """Investigate then remediate, and compare with the clean run."""
    found = _investigate(tenant, db, ALICE, options)
    assert not found.analysis.not_checked, found.analysis.not_checked
    assert _findings(found) == reference["findings"]
    assert found.analysis.verdict.name == reference["verdict"]
    passwords: list[str] = []
    report = _remediate(tenant, db, found.case_id, passwords, options)
    assert sorted((o.step.key, o.state.value) for o in report.outcomes) == reference["outcomes"]
    assert _end_state(tenant, reference["initial"]) == reference["state"]
    options = options or Options()
    assert not doubled_writes(tenant.emulator.calls, first_answers_lost=options.first_answers_lost)
    # one password, and only password-reset requests carry it (a re-send after a lost answer carries the same one)
    assert len(passwords) == 1
    carrying = [c for c in tenant.emulator.calls if passwords[0] in repr(c.body)]
    assert carrying and all(c.method == "PATCH" and "passwordProfile" in repr(c.body) for c in carrying)
    store = Store(str(db))
    try:
        assert store.verify_chain(found.case_id).ok
    finally:
        store.close()


@pytest.mark.parametrize("seed", range(1, SEEDS + 1))
def test_twenty_percent_faults(classic: Tenant, reference: dict[str, Any], fast_dir: Path, seed: int) -> None:
    classic.faults(TWENTY_PERCENT, seed)
    _round(classic, reference, fast_dir / "cases.db")
    injected = classic.emulator.faults.injected
    assert sum(injected.values()) >= 5, injected
    for kind, n in injected.items():
        MET[kind] = MET.get(kind, 0) + n
    MET["writes"] = MET.get("writes", 0) + sum(1 for c in classic.emulator.calls if c.fault and write_key(c))


def test_the_seeds_met_every_fault_kind() -> None:
    """Runs after the seeds (file order): over all of them, every kind was injected, writes included."""
    print(f"\nfaults injected over {SEEDS} seeds: {MET}")
    assert set(MET) >= {"429", "500", "502", "503", "504", "reset", "slow", "writes"}, MET
    assert MET["writes"] >= SEEDS // 2, MET


MATRIX = ["429", "429-no-retry-after", "500", "502", "503", "504", "reset", "slow"]


@pytest.mark.parametrize("kind", MATRIX)
def test_each_fault_kind_alone(classic: Tenant, reference: dict[str, Any], fast_dir: Path, kind: str) -> None:
    fault = kind.split("-")[0]
    classic.faults(f"{fault}=0.3", 2 if kind == "429" else 1)  # even seeds send Retry-After, odd ones do not
    _round(classic, reference, fast_dir / "cases.db")
    calls = classic.emulator.calls
    assert classic.emulator.faults.injected.get(fault, 0) >= 5
    assert any(c.fault == fault for c in calls if write_key(c) is not None), "no write met the fault"


class LoseFirstAnswers(httpx.AsyncBaseTransport):
    """The real server, but the answer to the first attempt of every write is lost after the write took effect."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.seen: set[str] = set()
        self.lost = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        key = _request_write_key(request)
        if key is not None and key not in self.seen:
            await response.aread()
            self.seen.add(key)
            self.lost += 1
            raise httpx.ReadError("connection reset by peer", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def _request_write_key(request: httpx.Request) -> str | None:
    path = request.url.path
    if request.method not in ("PATCH", "POST", "DELETE", "PUT") or "/oauth2/" in path or path.endswith(
            ("/$batch", "/security/auditLog/queries")):
        return None
    if path.endswith("/InvokeCommand"):
        body = request.content.decode()
        return None if '"CmdletName": "Get-' in body or '"CmdletName":"Get-' in body else f"{path} {body}"
    return f"{request.method} {path} {request.content.decode()}"


def test_every_writes_first_answer_lost(classic: Tenant, reference: dict[str, Any], fast_dir: Path) -> None:
    classic.faults(None, 0)
    transport = LoseFirstAnswers()
    _round(classic, reference, fast_dir / "cases.db", Options(transport=transport, first_answers_lost=True))
    assert transport.lost >= 10  # every kind of write the plan makes


class ExpireTokens(httpx.AsyncBaseTransport):
    """The real server, whose clock jumps past the token lifetime before chosen requests: the token the client
    holds expires at the service while the client still trusts it (clock skew, revocation)."""

    def __init__(self, tenant: Tenant, every: int) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.tenant = tenant
        self.every = every
        self.sent = 0
        self.jumps = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        if self.sent % self.every == 0:
            self.tenant.emulator.clock.advance(400)
            self.jumps += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_token_expires_mid_run(classic: Tenant, reference: dict[str, Any], fast_dir: Path) -> None:
    classic.faults(None, 0)
    emulator = classic.emulator
    emulator.state.settings["tokenLifetimeSeconds"] = 300
    transport = ExpireTokens(classic, every=37)
    try:
        _round(classic, reference, fast_dir / "cases.db", Options(transport=transport))
    finally:
        emulator.state.settings.pop("tokenLifetimeSeconds", None)
    assert transport.jumps >= 2, transport.sent
    refused = [c for c in emulator.calls if c.status == 401]
    assert len(refused) >= transport.jumps, "the expired tokens were not met"
    assert sum(1 for c in emulator.calls if "/oauth2/" in c.path and c.status == 200) >= 2 + transport.jumps


def _undo(tenant: Tenant, db: Path, case_id: str) -> RunReport:
    store = Store(str(db))

    async def work(conn: Connection) -> RunReport:
        return await undo_case(conn, store, case_id, operator="reliability")

    try:
        return tenant.run(work)
    finally:
        store.close()


@pytest.fixture(scope="module")
def undone(classic: Tenant) -> Iterator[dict[str, Any]]:
    """A clean apply with rules deleted (so undo re-creates them), then a clean undo: the reference end."""
    with scratch() as tmp:
        classic.faults(None, 0)
        initial = tenant_view(classic.emulator, ALICE)
        found = _investigate(classic, tmp / "cases.db", ALICE)
        _remediate(classic, tmp / "cases.db", found.case_id, [], options=None, plan=PlanOptions(delete_rules=True))
        report = _undo(classic, tmp / "cases.db", found.case_id)
        yield {"initial": initial, "state": _undo_view(classic), "outcomes": _outcomes(report)}


def _undo_view(tenant: Tenant) -> dict[str, Any]:
    view = tenant_view(tenant.emulator, ALICE)
    user = tenant.emulator.state.find_user(ALICE)
    assert user is not None
    # re-created rules get new ids: compare them by what they are
    view["rules"] = sorted((r.get("displayName"), r.get("isEnabled", True)) for r in user["mailbox"]["inboxRules"])
    for moment in ("passwordChanged", "sessionsValidFrom"):
        view.pop(moment)
    return view


def _outcomes(report: RunReport) -> list[tuple[str, str]]:
    return sorted((o.step.key, o.state.value) for o in report.outcomes)


@pytest.mark.parametrize("seed", range(1, int(os.environ.get("RECLAIM_UNDO_SEEDS", "6")) + 1))
def test_undo_under_twenty_percent_faults(classic: Tenant, undone: dict[str, Any], fast_dir: Path,
                                          seed: int) -> None:
    classic.faults(None, 0)
    db = fast_dir / "cases.db"
    found = _investigate(classic, db, ALICE)
    _remediate(classic, db, found.case_id, [], plan=PlanOptions(delete_rules=True))
    # No "slow" here: a creation (the rule re-created by POST) held by the service past the client's timeout AND
    # past the client's verify read lands after the re-send: twice. verify-before-retry cannot see a request the
    # service has not processed yet; that residual race is documented, not hidden (see the suite's report).
    classic.faults("429=0.05,500=0.02,502=0.02,503=0.03,504=0.02,reset=0.06", seed, reset=False)
    report = _undo(classic, db, found.case_id)
    assert _outcomes(report) == undone["outcomes"]
    assert _undo_view(classic) == undone["state"]
    assert not doubled_writes(classic.emulator.calls)
