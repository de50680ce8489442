"""The built-in scenarios: they load, round-trip, and their ``scenarioTruth`` matches what is in the tenant."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest

from reclaim.collect.investigate import SIGN_IN_BASELINE
from reclaim.emulator import Emulator
from reclaim.emulator.scenarios import load_scenario, scenarios, synthetic
from reclaim.emulator.scenarios._common import GRAPH_APP_ID, JUNK_RULE_NAME, MICROSOFT_TENANT_ID, OOF_RULE_NAMES
from reclaim.emulator.scenarios._tenant import ZOOM_APP_ID, ZOOM_OWNER_TENANT, ZOOM_SCOPE

JSON = dict[str, Any]
NAMES = sorted(s.name for s in scenarios())
_TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@cache
def _fixture(name: str) -> str:
    """Each scenario built once per test run (as JSON, so every test gets a fresh copy)."""
    if name.startswith("synthetic:"):
        _, n, seed = name.split(":")
        return json.dumps(synthetic(int(n), int(seed)))
    return json.dumps(load_scenario(name))


def fixture(name: str) -> JSON:
    doc: JSON = json.loads(_fixture(name))
    return doc


def parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def external(address: str, domains: list[str]) -> bool:
    addr = address.lower().removeprefix("smtp:")
    return addr.rsplit("@", 1)[-1] not in {d.lower() for d in domains}


def rule_targets(rule: JSON) -> list[str]:
    acts = rule.get("actions") or {}
    return [r["emailAddress"]["address"] for k in ("forwardTo", "redirectTo", "forwardAsAttachmentTo")
            for r in acts.get(k) or []]


def check_truth(doc: JSON) -> None:
    """Every artifact ``scenarioTruth`` names exists where it says, and the verdict lists partition the users."""
    truth = doc["scenarioTruth"]
    users = {u["userPrincipalName"]: u for u in doc["users"]}
    listed = truth["compromised"] + truth["suspicious"] + truth["clean"]
    assert sorted(listed) == sorted(users), "compromised/suspicious/clean must partition the users"
    for verdict in ("compromised", "suspicious"):
        for upn in truth[verdict]:
            assert truth["users"][upn]["verdict"] == verdict
    sign_ins = {s["id"]: s for s in doc["signIns"]}
    audits = {a["id"] for a in doc["directoryAudits"]}
    records = {r["Id"] for r in doc["auditRecords"]}
    traces = {t["id"]: t for t in doc["messageTraces"]}
    alerts = {a["id"] for a in doc["alerts"]}
    detections = {d["id"] for d in doc["riskDetections"]}
    sps = {s["id"] for s in doc["servicePrincipals"]}
    blocked = {b["senderAddress"].lower() for b in doc["blockedSenders"]}
    for upn, entry in truth["users"].items():
        user = users[upn]
        assert user["id"] == entry["id"]
        assert entry["verdict"] in entry["verdictsAccepted"]
        mbx = user["mailbox"]
        p, keep = entry["planted"], entry["keep"]
        rules = {r["id"]: r for r in mbx["inboxRules"]}
        for rid in p["inboxRules"]:
            assert rid in rules and not rules[rid]["hidden"], (upn, rid)
        for rid in p["hiddenInboxRules"]:
            assert rid in rules and rules[rid]["hidden"], (upn, rid)
        sweeps = {s["ruleId"] for s in mbx["sweepRules"]}
        assert set(p["sweepRules"]) <= sweeps
        if p["forwarding"]:
            for k, v in p["forwarding"].items():
                assert mbx[k] == v, (upn, k)
        methods = {m["id"] for m in user["authenticationMethods"]}
        assert set(p["authenticationMethods"]) <= methods
        grants = {g["id"]: g for g in user["oauth2PermissionGrants"]}
        assert set(p["oauth2PermissionGrants"]) <= set(grants)
        assert set(p["servicePrincipals"]) <= sps
        for g in grants.values():
            assert g["clientId"] in sps and g["resourceId"] in sps and g["principalId"] == user["id"]
        assert set(p["mobileDevices"]) <= {d["id"] for d in mbx["mobileDevices"]}
        perms = [(x["user"], x["accessRights"]) for x in mbx["permissions"]]
        assert all((x["user"], x["accessRights"]) in perms for x in p["mailboxPermissions"])
        sendas = [(x["trustee"], x["accessRights"]) for x in mbx["recipientPermissions"]]
        assert all((x["trustee"], x["accessRights"]) in sendas for x in p["recipientPermissions"])
        for sid in p["signIns"]:
            assert sign_ins[sid]["userId"] == user["id"]
        assert set(p["directoryAudits"]) <= audits
        assert set(p["auditRecords"]) <= records
        assert set(p["alerts"]) <= alerts
        assert set(p["riskDetections"]) <= detections
        sent = {m["internetMessageId"] for m in mbx["messages"].get("sentitems", [])}
        for tid in p["messageTraces"]:
            assert traces[tid]["senderAddress"] == user["mail"] and traces[tid]["messageId"] not in sent
        inbox = {m["id"]: m for m in mbx["messages"].get("inbox", [])}
        for mid in p["ndrMessages"]:
            assert "5.1.8" in inbox[mid]["body"]["content"]
        assert p["blockedSender"] == (user["mail"].lower() in blocked)
        if p["automaticReplies"]:
            assert mbx["automaticRepliesSetting"]["status"] != "disabled"
        assert not set(keep["inboxRules"]) & (set(p["inboxRules"]) | set(p["hiddenInboxRules"]))
        assert set(keep["inboxRules"]) <= set(rules)
        assert not set(keep["authenticationMethods"]) & set(p["authenticationMethods"])
        assert not set(keep["mobileDevices"]) & set(p["mobileDevices"])
        if entry["verdict"] == "compromised":
            assert p["signIns"] and any(sign_ins[s]["ipAddress"] in truth["indicators"]["ips"] for s in p["signIns"])


def check_clean(doc: JSON) -> None:
    """Users the truth calls clean have nothing of the attacker's and no external forwarding above medium."""
    truth = doc["scenarioTruth"]
    domains = doc["tenant"]["domains"]
    attacker_ips = set(truth["indicators"]["ips"])
    attacker_addresses = {a.lower() for a in truth["indicators"]["forwardingAddresses"]}
    by_user: dict[str, list[JSON]] = {}
    for s in doc["signIns"]:
        by_user.setdefault(s["userPrincipalName"], []).append(s)
    for user in doc["users"]:
        upn = user["userPrincipalName"]
        if upn not in truth["clean"]:
            continue
        mbx = user["mailbox"]
        entry = truth["users"].get(upn, {"maxSeverity": "low"})
        assert not mbx["forwardingSmtpAddress"] or not external(mbx["forwardingSmtpAddress"], domains), upn
        if mbx["forwardingAddress"]:
            assert not external(mbx["forwardingAddress"], domains), upn
        for rule in mbx["inboxRules"]:
            if rule["hidden"]:
                assert rule["displayName"] in (JUNK_RULE_NAME, *OOF_RULE_NAMES), (upn, rule["displayName"])
            targets = rule_targets(rule)
            assert not {t.lower() for t in targets} & attacker_addresses
            if any(external(t, domains) for t in targets):
                assert entry["maxSeverity"] == "medium", (upn, rule["displayName"])
        assert not {s["ipAddress"] for s in by_user.get(upn, [])} & attacker_ips, upn
        assert user["risk"]["riskLevel"] == "none"
        assert user["accountEnabled"] is True


def timestamps(node: Any, key: str = "") -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for k, v in node.items():
            found.extend(timestamps(v, k))
    elif isinstance(node, list):
        for v in node:
            found.extend(timestamps(v, key))
    elif isinstance(node, str) and (key.endswith(("DateTime", "Datetime", "Time")) or key == "dateTime"):
        found.append((key, node))
    return found


# ---------------------------------------------------------------------------------------------- every scenario
@pytest.mark.parametrize("name", [*NAMES, "synthetic:300:7"])
def test_scenario_loads_and_round_trips(name: str) -> None:
    doc = fixture(name)
    first = Emulator(doc).state.dump()
    again = Emulator(json.loads(json.dumps(first))).state.dump()
    assert again == first
    assert first["scenarioTruth"] == doc["scenarioTruth"]  # unknown top-level fields are kept


@pytest.mark.parametrize("name", [*NAMES, "synthetic:300:7", "synthetic:2000:11"])
def test_truth_matches_content(name: str) -> None:
    doc = fixture(name)
    check_truth(doc)
    check_clean(doc)
    planted = set(doc["scenarioTruth"].get("tenant", {}).get("planted", {}).get("transportRules", []))
    for g in planted:
        assert g in {r["Guid"] for r in doc["transportRules"]}, g
    for rule in doc["transportRules"]:  # any rule the truth does not name as planted is a look-alike
        if rule["Guid"] in planted:
            continue
        targets = rule.get("BlindCopyTo", []) + rule.get("RedirectMessageTo", []) + rule.get("CopyTo", [])
        assert not any(external(t, doc["tenant"]["domains"]) for t in targets), rule["Name"]


@pytest.mark.parametrize("name", NAMES)
def test_timestamps_are_utc_z_and_ids_are_stable(name: str) -> None:
    doc = fixture(name)
    stamps = [v for _k, v in timestamps(doc)]
    assert stamps and all(_TS.fullmatch(v) for v in stamps), [v for v in stamps if not _TS.fullmatch(v)][:3]
    # Two builds differ at most in their times.
    strip = _TS.sub("T", json.dumps(load_scenario(name)))
    assert strip == _TS.sub("T", _fixture(name))
    for u in doc["users"]:
        assert u["accountEnabled"] is True


@pytest.mark.parametrize("name", NAMES)
def test_activity_is_inside_the_default_window(name: str) -> None:
    doc = fixture(name)
    now = datetime.now(UTC)
    window = now - timedelta(days=30)
    baseline = window - SIGN_IN_BASELINE  # investigate reads sign-ins this far back for the user's usual places
    for section, key in (("signIns", "createdDateTime"), ("directoryAudits", "activityDateTime"),
                         ("messageTraces", "receivedDateTime"), ("auditRecords", "CreationTime")):
        earliest = baseline if section == "signIns" else window
        for item in doc[section]:
            assert earliest <= parse(item[key]) <= now, (section, item[key])


@pytest.mark.parametrize("name", [*NAMES, "synthetic:300:7"])
def test_every_tenant_has_the_shared_preamble(name: str) -> None:
    """What ``_tenant`` gives every tenant: an initial onmicrosoft.com domain, Entra ID P1, Microsoft Graph as a
    first-party app (Microsoft's, no publisher verification); and where users consented to Zoom, a verified app
    that they consented to for the same ordinary scopes."""
    doc = fixture(name)
    tenant = doc["tenant"]
    assert tenant["domains"][-1].endswith(".onmicrosoft.com") and not tenant["domains"][0].endswith(".onmicrosoft.com")
    settings = tenant["settings"]
    assert settings["licenses"]["entraIdP1"] is True and settings["securityDefaultsEnabled"] is False
    sps = {sp["appId"]: sp for sp in doc["servicePrincipals"]}
    graph = sps[GRAPH_APP_ID]
    assert graph["appOwnerOrganizationId"] == MICROSOFT_TENANT_ID and graph["verifiedPublisher"]["displayName"] is None
    if ZOOM_APP_ID in sps:
        zoom = sps[ZOOM_APP_ID]
        assert zoom["appOwnerOrganizationId"] == ZOOM_OWNER_TENANT and zoom["verifiedPublisher"]["displayName"]
        zoom_grants = [g for u in doc["users"] for g in u["oauth2PermissionGrants"] if g["clientId"] == zoom["id"]]
        assert zoom_grants and all(g["scope"] == ZOOM_SCOPE and g["resourceId"] == graph["id"] for g in zoom_grants)


# ---------------------------------------------------------------------------------------------- bec-classic
def test_bec_classic_plants_every_symptom() -> None:
    doc = fixture("bec-classic")
    truth = doc["scenarioTruth"]
    users = {u["userPrincipalName"]: u for u in doc["users"]}
    alice = users["alice.wu@contoso.com"]
    mbx = alice["mailbox"]
    folders = {f["id"]: f for f in mbx["folders"]}
    p = truth["users"]["alice.wu@contoso.com"]["planted"]
    rules = {r["id"]: r for r in mbx["inboxRules"]}
    hide = rules[p["inboxRules"][0]]
    assert hide["displayName"] == "."
    target = folders[hide["actions"]["moveToFolder"]]
    assert target["displayName"] == "RSS Feeds" and target["wellKnownName"] is None
    assert hide["actions"]["markAsRead"] and hide["actions"]["stopProcessingRules"]
    assert {"invoice", "payment", "wire", "bank"} <= set(hide["conditions"]["bodyOrSubjectContains"])
    hidden = rules[p["hiddenInboxRules"][0]]
    assert hidden["hidden"] and hidden["actions"]["delete"]
    assert {"hacked", "phishing", "did you send"} <= set(hidden["conditions"]["bodyOrSubjectContains"])
    assert mbx["forwardingSmtpAddress"].endswith("invoices.contoso@mailvault.example")
    assert mbx["deliverToMailboxAndForward"] is False
    # spam in message trace, missing from Sent Items; her normal mail is in both
    sent = {m["internetMessageId"] for m in mbx["messages"]["sentitems"]}
    mine = [t for t in doc["messageTraces"] if t["senderAddress"] == alice["mail"]]
    spam = [t for t in mine if t["messageId"] not in sent]
    assert len(spam) >= 100 and len({t["subject"] for t in spam}) == 1
    assert all(t["fromIP"] == "203.0.113.45" for t in spam)
    assert sum(external(t["recipientAddress"], doc["tenant"]["domains"]) for t in spam) >= 100
    assert sent <= {t["messageId"] for t in mine}
    # restricted sender, NDRs, alert
    assert any(b["senderAddress"] == alice["mail"] and b["reason"] == "OutboundSpamLimitExceeded"
               for b in doc["blockedSenders"])
    ndrs = [m for m in mbx["messages"]["inbox"] if "550 5.1.8" in m["body"]["content"]]
    assert len(ndrs) >= 3 and all(m["subject"].startswith("Undeliverable:") for m in ndrs)
    assert any(a["title"] == "User restricted from sending email" for a in doc["alerts"])
    # impossible travel: the IMAP sign-in from abroad shortly after her last sign-in in Seattle
    hers = sorted((s for s in doc["signIns"] if s["userId"] == alice["id"]), key=lambda s: s["createdDateTime"])
    imap = next(s for s in hers if s["clientAppUsed"] == "IMAP4")
    before = [s for s in hers if s["createdDateTime"] < imap["createdDateTime"]][-1]
    assert before["location"]["countryOrRegion"] == "US" and imap["location"]["countryOrRegion"] == "NG"
    assert parse(imap["createdDateTime"]) - parse(before["createdDateTime"]) < timedelta(hours=2)
    assert imap["riskLevelDuringSignIn"] == "high"
    # the attacker's phone is new, her authenticator app is old
    methods = {m["@odata.type"]: m for m in alice["authenticationMethods"]}
    now = datetime.now(UTC)
    assert now - parse(methods["#microsoft.graph.phoneAuthenticationMethod"]["createdDateTime"]) < timedelta(days=30)
    assert now - parse(methods["#microsoft.graph.microsoftAuthenticatorAuthenticationMethod"]["createdDateTime"]) \
        > timedelta(days=90)
    # the consent to an unverified app with mail scopes
    grant = alice["oauth2PermissionGrants"][0]
    sp = next(s for s in doc["servicePrincipals"] if s["id"] == grant["clientId"])
    assert sp["verifiedPublisher"]["displayName"] is None and "Mail.Send" in grant["scope"]
    # the display name change
    change = next(a for a in doc["directoryAudits"] if a["activityDisplayName"] == "Update user"
                  and any(m["displayName"] == "DisplayName" for t in a["targetResources"]
                          for m in t["modifiedProperties"]) and a["targetResources"][0]["id"] == alice["id"])
    assert change["initiatedBy"]["user"]["ipAddress"] == "203.0.113.45"
    # the rule creations in the unified audit log
    ops = {r["Operation"] for r in doc["auditRecords"] if r["UserId"] == alice["userPrincipalName"]}
    assert {"New-InboxRule", "Set-InboxRule", "Set-Mailbox"} <= ops
    # prevention: MFA is not required for her
    assert any(alice["id"] in c["conditions"]["users"]["excludeUsers"] for c in doc["conditionalAccessPolicies"])


def test_bec_classic_second_victim_shares_ip_and_destination() -> None:
    doc = fixture("bec-classic")
    truth = doc["scenarioTruth"]
    assert truth["compromised"] == ["alice.wu@contoso.com", "mark.davis@contoso.com"]
    assert truth["suspicious"] == ["pat.kim@contoso.com"]
    mark = next(u for u in doc["users"] if u["userPrincipalName"] == "mark.davis@contoso.com")
    ips = {s["ipAddress"] for s in doc["signIns"] if s["userId"] == mark["id"]}
    assert "203.0.113.45" in ips
    targets = [t for r in mark["mailbox"]["inboxRules"] for t in rule_targets(r)]
    assert "invoices.contoso@mailvault.example" in targets
    assert mark["risk"]["riskLevel"] == "none"  # less obvious than Alice


def test_campaign_has_several_technique_mixes() -> None:
    truth = fixture("bec-campaign")["scenarioTruth"]
    assert len(truth["compromised"]) >= 3 and len(truth["clean"]) >= 3
    mixes = {tuple(sorted(truth["users"][u]["techniques"])) for u in truth["compromised"]}
    assert len(mixes) == len(truth["compromised"])


def test_campaign_hostile_text_is_in_the_tenant() -> None:
    doc = fixture("bec-campaign")
    hostile = doc["scenarioTruth"]["hostileText"]
    text = json.dumps({k: v for k, v in doc.items() if k != "scenarioTruth"})
    assert hostile and all(json.dumps(h)[1:-1] in text for h in hostile)
    assert any("\x1b" in h for h in hostile) and any(h.startswith("=") for h in hostile)


# ---------------------------------------------------------------------------------------------- synthetic
def test_synthetic_is_deterministic_and_sized() -> None:
    a = _TS.sub("T", json.dumps(synthetic(500, 5)))
    b = _TS.sub("T", _fixture_uncached(500, 5))
    assert a == b
    assert a != _TS.sub("T", json.dumps(synthetic(500, 6)))
    for n, expected in ((0, 0), (5, 0), (20, 1), (500, 5), (2000, 20)):
        doc = synthetic(n, 1) if n != 2000 else fixture("synthetic:2000:11")
        assert len(doc["users"]) == n
        assert len(doc["scenarioTruth"]["compromised"]) == expected
        assert len({u["userPrincipalName"] for u in doc["users"]}) == n


def _fixture_uncached(n: int, seed: int) -> str:
    return json.dumps(synthetic(n, seed))


def test_synthetic_spread_is_realistic() -> None:
    doc = fixture("synthetic:2000:11")
    counts = [sum(not r["hidden"] for r in u["mailbox"]["inboxRules"]) for u in doc["users"]]
    assert max(counts) >= 5 and counts.count(0) > 200
    truth = doc["scenarioTruth"]
    techniques = {t for u in truth["compromised"] for t in truth["users"][u]["techniques"]}
    assert len(techniques) >= 8
    # one compromised user is only visible with -IncludeHidden
    assert any(truth["users"][u]["techniques"][1:] == ["hiddenDeleteRule"] for u in truth["compromised"])


def test_synthetic_10k_generation_time() -> None:
    start = time.perf_counter()
    doc = synthetic(10_000, 42)
    seconds = time.perf_counter() - start
    assert len(doc["users"]) == 10_000 and len(doc["scenarioTruth"]["compromised"]) == 100
    print(f"\nsynthetic 10,000 users: {seconds:.2f} s, {len(doc['signIns'])} sign-ins, "
          f"{sum(len(u['mailbox']['inboxRules']) for u in doc['users'])} inbox rules")
