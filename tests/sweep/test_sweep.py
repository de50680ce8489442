"""``sweep`` and ``hunt`` over real HTTP against synthetic tenants and the bec-classic scenario."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from reclaim.collect import investigate
from reclaim.emulator import Emulator
from reclaim.emulator.scenarios import load_scenario, synthetic
from reclaim.emulator.server import serve_in_thread
from reclaim.m365 import Connection, ConnectionSettings
from reclaim.store import Store
from reclaim.sweep import SweepOptions, SweepResult, SweepTarget, sweep
from reclaim.sweep.hunt import HuntResult, hunt, indicators_from_case, parse_iocs

JSON = dict[str, Any]
RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


@cache
def _synthetic(users: int, seed: int) -> JSON:
    return synthetic(users, seed)


def unthrottled(fixture: JSON) -> JSON:
    out = copy.deepcopy(fixture)
    out.setdefault("tenant", {}).setdefault("settings", {})["throttling"] = {"enabled": False}
    return out


@pytest.fixture(scope="module")
def tenant() -> Iterator[tuple[Emulator, str, JSON]]:
    fixture = unthrottled(_synthetic(300, 7))
    emulator = Emulator(fixture)
    with serve_in_thread(emulator) as url:
        yield emulator, url, fixture["scenarioTruth"]


def run_sweep(url: str, db: Path, **options: Any) -> SweepResult:
    async def main() -> SweepResult:
        store = Store(str(db))
        try:
            return await sweep([SweepTarget("endpoint", ConnectionSettings.for_endpoint(url))], store,
                               options=SweepOptions(identity_protection_spacing=0, **options))
        finally:
            store.close()

    return asyncio.run(main())


def test_exactly_the_planted_users_are_reported(tenant: tuple[Emulator, str, JSON], tmp_path: Path) -> None:
    emulator, url, truth = tenant
    emulator.calls.clear()
    result = run_sweep(url, tmp_path / "s.db")
    assert result.status == "complete" and result.tenants[0].mailboxes == 300
    flagged = {m.user: m.worst for m in result.flagged}
    expected = {u for u, t in truth["users"].items() if RANK[t["maxSeverity"]] >= RANK["medium"]}
    assert set(flagged) == expected
    # compromised users at high or more; the external payroll forwards (benign look-alikes) at medium only
    assert {u for u, w in flagged.items() if RANK[w] >= RANK["high"]} == set(truth["compromised"])
    assert len(truth["compromised"]) == 3
    # one Get-Mailbox listing, inbox rules in envelopes of 20, every mailbox's rules read once
    batches = [c for c in emulator.calls if c.path == "/v1.0/$batch"]
    rule_reads = [c.path for c in emulator.calls if c.via == "$batch" and c.path.endswith("/messageRules")]
    assert len(rule_reads) == 300 and len(set(rule_reads)) == 300
    assert all(len(c.body["requests"]) <= 20 for c in batches)
    assert sum(1 for c in emulator.calls if c.path.endswith("InvokeCommand")
               and c.body["CmdletInput"]["CmdletName"] == "Get-Mailbox") == 1
    # checks a sweep cannot run are named once, never reported per mailbox as clean
    skipped = {x["check"] for x in result.not_in_sweep}
    assert {"sign-in-anomalies", "inbox-rule-hidden", "sweep-rule"} <= skipped
    store = Store(str(tmp_path / "s.db"))
    case = store.get_case(result.case_id)
    assert case.kind == "sweep" and case.status == "complete" and case.verdict == "compromised"
    checkpoint = store.get_checkpoint(result.case_id, "endpoint")
    assert checkpoint is not None and checkpoint.mailboxes_done == 300 and checkpoint.state["prefix"] == 15
    kinds = {e.kind for e in store.evidence(result.case_id)}
    assert {"mailbox", "graph_rules", "risky_users", "blocked_senders", "oauth_grants"} <= kinds
    store.close()


def test_deep_finds_the_hidden_only_rule(tmp_path: Path) -> None:
    fixture = unthrottled(_synthetic(160, 3))
    truth = fixture["scenarioTruth"]
    hidden_only = [u for u, t in truth["users"].items() if "hiddenDeleteRule" in t["techniques"]
                   and not {"hidingRule", "forwardRule"} & set(t["techniques"])]
    assert hidden_only
    with serve_in_thread(Emulator(fixture)) as url:
        plain = run_sweep(url, tmp_path / "a.db")
        deep = run_sweep(url, tmp_path / "b.db", deep=True)

    def hidden_rules(result: SweepResult) -> set[str]:
        return {m.user for m in result.flagged for f in m.findings if f.check == "inbox-rule-hidden"}

    assert hidden_rules(plain) == set()
    assert set(hidden_only) <= hidden_rules(deep)
    assert "inbox-rule-hidden" not in {x["check"] for x in deep.not_in_sweep}


def test_throttled_rule_reads_are_retried(tmp_path: Path) -> None:
    """With Microsoft's throttling on and 429s injected into sub-requests, every mailbox is still checked."""
    from reclaim.emulator import FaultSpec
    from reclaim.m365 import RetryPolicy

    fixture = copy.deepcopy(_synthetic(120, 11))
    emulator = Emulator(fixture, faults=FaultSpec.parse("429=0.1"), seed=1)
    with serve_in_thread(emulator) as url:
        async def main() -> SweepResult:
            store = Store(str(tmp_path / "t.db"))
            settings = ConnectionSettings.for_endpoint(url, policy=RetryPolicy(time_scale=0.01))
            try:
                return await sweep([SweepTarget("endpoint", settings)], store,
                                   options=SweepOptions(identity_protection_spacing=0.01))
            finally:
                store.close()

        result = asyncio.run(main())
    assert result.status == "complete" and result.tenants[0].incomplete == 0
    assert {m.user for m in result.flagged if RANK[m.worst] >= 3} == set(fixture["scenarioTruth"]["compromised"])


@pytest.fixture(scope="module")
def bec() -> Iterator[tuple[Emulator, str]]:
    emulator = Emulator(unthrottled(load_scenario("bec-classic")))
    with serve_in_thread(emulator) as url:
        yield emulator, url


def test_hunt_from_the_bec_case_finds_the_second_victim(bec: tuple[Emulator, str], tmp_path: Path) -> None:
    _, url = bec
    truth = load_scenario("bec-classic")["scenarioTruth"]

    async def main() -> HuntResult:
        store = Store(str(tmp_path / "h.db"))
        try:
            async with Connection.open(ConnectionSettings.for_endpoint(url)) as conn:
                case = await investigate(conn, store, "alice.wu@contoso.com", identity_protection_spacing=0)
                indicators = indicators_from_case(store, case.case_id)
                assert "203.0.113.45" in indicators.ips
                assert indicators.addresses == set(truth["indicators"]["forwardingAddresses"])
                return await hunt(conn, store, indicators)
        finally:
            store.close()

    result = asyncio.run(main())
    users = result.users()
    assert "alice.wu@contoso.com" not in users  # the source is not its own blast radius
    mark = {(h.indicator, h.what, h.severity) for h in users["mark.davis@contoso.com"]}
    assert ("ip", "signIn", "high") in mark and ("address", "inboxRule", "high") in mark
    address = truth["indicators"]["forwardingAddresses"][0]
    assert result.campaigns == {address: ["alice.wu@contoso.com", "mark.davis@contoso.com"]}
    recipients = {u for u, hs in users.items() if any(h.what == "messageTrace" for h in hs)}
    assert recipients == set(truth["indicators"]["internalRecipients"])
    store = Store(str(tmp_path / "h.db"))
    assert store.get_case(result.case_id).kind == "hunt"
    assert {f.user for f in store.findings(result.case_id, min_severity="high")} == {"mark.davis@contoso.com"}
    store.close()


def test_hunt_with_given_indicators(bec: tuple[Emulator, str], tmp_path: Path) -> None:
    _, url = bec
    indicators = parse_iocs(["ip:203.0.113.45:50412", "address:INVOICES.contoso@mailvault.example",
                             "app:7a1d3e5f-2b4c-4d6e-8f90-a1b2c3d4e5f6"])
    assert indicators.ips == {"203.0.113.45"} and indicators.domains == {"mailvault.example"}

    async def main() -> HuntResult:
        store = Store(str(tmp_path / "i.db"))
        try:
            async with Connection.open(ConnectionSettings.for_endpoint(url)) as conn:
                return await hunt(conn, store, indicators)
        finally:
            store.close()

    users = asyncio.run(main()).users()
    # without a source case, alice is part of the blast radius too
    assert {h.what for h in users["alice.wu@contoso.com"]} >= {"signIn", "mailboxForwarding",
                                                              "oauth2PermissionGrant"}
    assert "mark.davis@contoso.com" in users


@pytest.mark.parametrize("bad", ["ip", "nope:1", "address:not-an-address", "app:"])
def test_bad_iocs_are_refused(bad: str) -> None:
    from reclaim.errors import BadInput

    with pytest.raises(BadInput):
        parse_iocs([bad])


def test_a_plain_sweep_reads_rule_folders_and_finds_the_rss_hiding_rule(tmp_path: Path) -> None:
    # seed 2 of a 60-user tenant: the compromised user has a keyword rule moving mail to "RSS Feeds" (a folder
    # Graph names by id only); a plain sweep resolves it and judges the rule as hiding
    fixture = unthrottled(_synthetic(60, 2))
    truth = fixture["scenarioTruth"]
    user = next(u for u in fixture["users"] if "hidingRule" in truth["users"].get(u["userPrincipalName"], {})
                .get("techniques", []))
    upn = user["userPrincipalName"]
    names = {f["id"]: f.get("displayName") for f in user["mailbox"]["folders"]}
    rule = next(r for r in user["mailbox"]["inboxRules"] if r["id"] in truth["users"][upn]["planted"]["inboxRules"]
                and names.get(r["actions"].get("moveToFolder")) == "RSS Feeds")
    emulator = Emulator(fixture)
    with serve_in_thread(emulator) as url:
        result = run_sweep(url, tmp_path / "s.db")
    assert result.status == "complete" and upn in {m.user for m in result.flagged}
    store = Store(str(tmp_path / "s.db"))
    try:
        found = [f for f in store.findings(result.case_id) if f.user == upn and f.artifact_id == rule["id"]]
        assert found and RANK[found[0].severity] >= RANK["high"]
        assert "RSS Feeds" in (found[0].detail or "")
        # every mailbox's rules could be judged: no folder left unread, nothing "not checked" for hiding
        assert not [n for n in store.not_collected(result.case_id) if n.kind == "folders"]
        assert "folders" in {e.kind for e in store.evidence(result.case_id)}
    finally:
        store.close()
    # the folders were read through $batch, each id once per mailbox, only ids (never a well-known name)
    reads = [c.path for c in emulator.calls if c.via == "$batch" and "/mailFolders/" in c.path
             and not c.path.endswith("/messageRules")]
    assert reads and len(reads) == len(set(reads))
    assert any(c.path.endswith(f"/mailFolders/{rule['actions']['moveToFolder']}") for c in emulator.calls
               if c.via == "$batch")
    assert all(c.via == "$batch" for c in emulator.calls if "/mailFolders/" in c.path)


def test_checks_in_a_helper_process_flag_the_same_mailboxes(tmp_path: Path) -> None:
    # a big tenant's checks run in a helper process (auto from 2,000 mailboxes); forced here on a small one
    fixture = unthrottled(_synthetic(60, 2))
    emulator = Emulator(fixture)
    with serve_in_thread(emulator) as url:
        here = run_sweep(url, tmp_path / "a.db", checks_in_process=False)
        there = run_sweep(url, tmp_path / "b.db", checks_in_process=True)
    assert here.status == there.status == "complete"
    assert [(m.user, m.worst, m.findings) for m in here.flagged] == \
        [(m.user, m.worst, m.findings) for m in there.flagged]
    assert here.flagged


def test_a_helper_that_dies_mid_sweep_leaves_the_checks_to_the_sweep(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from reclaim.detect import worker

    answered = 0
    real_run = worker.CheckProcess.run

    async def run_then_die(self: worker.CheckProcess, bundles: Any, check_ids: Any) -> Any:
        nonlocal answered
        out = await real_run(self, bundles, check_ids)
        answered += 1
        if answered == 2:
            self.process.kill()  # as the OOM killer would
        return out

    fixture = unthrottled(_synthetic(100, 3))
    with serve_in_thread(Emulator(fixture)) as url:
        here = run_sweep(url, tmp_path / "a.db", checks_in_process=False)
        monkeypatch.setattr(worker.CheckProcess, "run", run_then_die)
        there = run_sweep(url, tmp_path / "b.db", checks_in_process=True)
    assert answered >= 2  # the helper answered, then died; the other chunks were checked in the sweep
    assert there.status == "complete"
    assert [(m.user, m.findings) for m in here.flagged] == [(m.user, m.findings) for m in there.flagged]
    assert here.flagged
