"""Contract tests for the emulated Exchange admin API (``InvokeCommand``) over real HTTP."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from reclaim.emulator.exchange_objects import rule_identity
from reclaim.emulator.state import DEFAULT_CLIENT_SECRET
from reclaim.emulator.throttle import Rejection
from tests.conftest import EXCHANGE_SCOPE, TenantClient

TENANT = "11111111-2222-3333-4444-555555555555"
RSS = "AAMkRSSfeeds="
ALL = ["User.Read.All", "MailboxSettings.ReadWrite", "Exchange.ManageAsApp"]


def _app(client_id: str, roles: list[str], permissions: list[str] | None = None) -> dict[str, Any]:
    return {"clientId": client_id, "clientSecret": DEFAULT_CLIENT_SECRET,
            "permissions": ALL if permissions is None else permissions, "roles": roles}


FIXTURE: dict[str, Any] = {
    "tenant": {"id": TENANT, "displayName": "Contoso", "domains": ["contoso.com"]},
    "apps": [
        _app("app-admin", ["Exchange Administrator"]),
        _app("app-reader", ["Global Reader"]),
        _app("app-norole", []),
        _app("app-secreader", ["Security Reader"]),
        _app("app-ga", ["Global Administrator"]),
        _app("app-nomanage", ["Exchange Administrator"], ["User.Read.All"]),
    ],
    "users": [
        {"id": "u-alice", "userPrincipalName": "alice@contoso.com", "displayName": "Alice Wu",
         "createdDateTime": "2024-03-01T08:00:00Z",
         "mailbox": {
             "forwardingSmtpAddress": "attacker@evil.example", "deliverToMailboxAndForward": False,
             "folders": [{"id": RSS, "displayName": "RSS Feeds", "wellKnownName": None}],
             "inboxRules": [
                 {"id": "rule-finance", "displayName": "Finance", "sequence": 1, "isEnabled": True,
                  "conditions": {"subjectContains": ["invoice", "payment"]},
                  "actions": {"moveToFolder": RSS, "markAsRead": True, "stopProcessingRules": True}},
                 {"id": "rule-hidden", "displayName": ".", "sequence": 3, "isEnabled": True, "hidden": True,
                  "conditions": {"bodyContains": ["warning"]}, "actions": {"delete": True}},
                 {"id": "rule-fwd", "displayName": "Fwd", "sequence": 2, "isEnabled": True,
                  "conditions": {"fromAddresses": [{"emailAddress": {"address": "ceo@contoso.com"}}]},
                  "actions": {"forwardTo": [
                      {"emailAddress": {"name": "Mallory", "address": "attacker@evil.example"}},
                      {"emailAddress": {"name": "Bob", "address": "bob@contoso.com"}}]}},
             ],
             "sweepRules": [{"ruleId": "c3dlZXAx", "name": "Sweep bank mail", "sourceFolder": "inbox",
                             "destinationFolder": "alice@contoso.com:\\Deleted Items", "enabled": True}],
             "permissions": [{"user": "bob@contoso.com", "accessRights": ["FullAccess"]}],
             "recipientPermissions": [{"trustee": "bob@contoso.com", "accessRights": ["SendAs"]}],
             "mobileDevices": [{"id": "6f1c1a4e-0000-4000-8000-000000000001", "deviceType": "iPhone",
                                "deviceId": "ABCDEF0123", "deviceModel": "iPhone 15",
                                "firstSyncTime": "2026-11-20T10:00:00Z"}],
         }},
        {"id": "u-bob", "userPrincipalName": "bob@contoso.com", "displayName": "Bob", "mailbox": {}},
        {"id": "u-carol", "userPrincipalName": "carol@contoso.com", "displayName": "Carol (no mailbox)"},
    ],
    "blockedSenders": [{"senderAddress": "alice@contoso.com",
                        "reason": "ExceedingLimitType:External;InternalCount:0;ExternalCount:501",
                        "createdDatetime": "2026-11-26T07:00:00Z"}],
    "transportRules": [{"Name": "Copy to partner", "State": "Enabled", "Priority": 0, "Mode": "Enforce",
                        "BlindCopyTo": ["archive@partner.example"],
                        "Guid": "0d3e2c44-5f55-4a6e-9f27-5a1f0c0b0c11"}],
}


def fixture(**settings: Any) -> dict[str, Any]:
    doc = copy.deepcopy(FIXTURE)
    if settings:
        doc["tenant"]["settings"] = settings
    return doc


@pytest.fixture
def clients() -> Iterator[list[TenantClient]]:
    opened: list[TenantClient] = []
    yield opened
    for client in opened:
        client.close()


def as_app(c: TenantClient, client_id: str, opened: list[TenantClient]) -> TenantClient:
    app = c.emulator.state.find_app(client_id)
    assert app is not None
    other = TenantClient(c.emulator, c.base_url, app=app)
    opened.append(other)
    return other


def ok(r: httpx.Response) -> list[dict[str, Any]]:
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["adminapi.warnings@odata.type"] == "#Collection(String)"
    assert body["@odata.context"].endswith("/$metadata#Collection(Exchange.GenericHashTable)")
    value: list[dict[str, Any]] = body["value"]
    return value


def detail(r: httpx.Response) -> str:
    message: str = r.json()["error"]["details"][0]["message"]
    return message


def mailbox_state(c: TenantClient, user_id: str) -> dict[str, Any]:
    user = c.emulator.state.find_user(user_id)
    assert user is not None
    mbx: dict[str, Any] = user["mailbox"]
    return mbx


# ------------------------------------------------------------------------------------------ mailboxes
def test_get_mailbox_lists_mailboxes_with_forwarding(serve: Callable[..., TenantClient]) -> None:
    c = serve(fixture())
    value = ok(c.exo("Get-Mailbox", {"ResultSize": "Unlimited"}))
    assert [m["UserPrincipalName"] for m in value] == ["alice@contoso.com", "bob@contoso.com"]  # carol: none
    alice = value[0]
    assert alice["Identity"] == alice["Name"] == alice["ExternalDirectoryObjectId"] == "u-alice"
    assert alice["ForwardingSmtpAddress"] == "smtp:attacker@evil.example"
    assert alice["ForwardingAddress"] is None and alice["DeliverToMailboxAndForward"] is False
    assert alice["RecipientTypeDetails"] == "UserMailbox" and alice["PrimarySmtpAddress"] == "alice@contoso.com"
    assert alice["DisplayName"] == "Alice Wu"
    assert alice["WhenCreated"] == "2024-03-01T08:00:00.0000000+00:00"
    assert alice["WhenCreated@data.type"] == "System.DateTime"
    assert alice["EmailAddresses@odata.type"] == "#Collection(String)"
    one = ok(c.exo("Get-Mailbox", {"Identity": "ALICE@contoso.com"}))
    assert [m["Identity"] for m in one] == ["u-alice"]


def test_set_mailbox_changes_and_clears_forwarding(serve: Callable[..., TenantClient]) -> None:
    c = serve(fixture())
    r = c.exo("Set-Mailbox", {"Identity": "alice@contoso.com", "ForwardingSmtpAddress": None,
                              "DeliverToMailboxAndForward": False})
    assert ok(r) == []
    assert mailbox_state(c, "u-alice")["forwardingSmtpAddress"] is None
    assert ok(c.exo("Get-Mailbox", {"Identity": "u-alice"}))[0]["ForwardingSmtpAddress"] is None
    again = c.exo("Set-Mailbox", {"Identity": "alice@contoso.com", "ForwardingSmtpAddress": None})
    assert ok(again) == [] and "no settings of 'u-alice' have been modified" in again.json()["@adminapi.warnings"][0]

    ok(c.exo("Set-Mailbox", {"Identity": "bob@contoso.com", "ForwardingAddress": "alice@contoso.com",
                             "DeliverToMailboxAndForward": True}))
    bob = ok(c.exo("Get-Mailbox", {"Identity": "bob@contoso.com"}))[0]
    assert bob["ForwardingAddress"] == "u-alice" and bob["DeliverToMailboxAndForward"] is True
    ok(c.exo("Set-Mailbox", {"Identity": "bob", "ForwardingSmtpAddress": "smtp:x@elsewhere.example"}))
    assert ok(c.exo("Get-Mailbox", {"Identity": "bob"}))[0]["ForwardingSmtpAddress"] == "smtp:x@elsewhere.example"

    bad = c.exo("Set-Mailbox", {"Identity": "bob", "ForwardingSmtpAddress": "not an address"})
    assert bad.status_code == 400 and "isn't correct" in detail(bad)
    nobody = c.exo("Set-Mailbox", {"Identity": "bob", "ForwardingAddress": "nobody@contoso.com"})
    assert nobody.status_code == 404 and "Couldn't find object \"nobody@contoso.com\"" in detail(nobody)


def test_cas_mailbox_defaults_and_protocol_switches(serve: Callable[..., TenantClient]) -> None:
    c = serve(fixture())
    cas = ok(c.exo("Get-CASMailbox", {"Identity": "alice@contoso.com"}))[0]
    assert cas["ImapEnabled"] is cas["PopEnabled"] is cas["ActiveSyncEnabled"] is True
    assert cas["OWAEnabled"] is cas["MAPIEnabled"] is cas["EwsEnabled"] is True
    assert cas["SmtpClientAuthenticationDisabled"] is None and cas["HasActiveSyncDevicePartnership"] is True
    ok(c.exo("Set-CASMailbox", {"Identity": "alice@contoso.com", "ImapEnabled": False, "PopEnabled": "$false",
                                "SmtpClientAuthenticationDisabled": True}))
    assert mailbox_state(c, "u-alice")["casMailbox"] == {"imapEnabled": False, "popEnabled": False,
                                                         "smtpClientAuthenticationDisabled": True}
    cas = ok(c.exo("Get-CASMailbox", {"Identity": "u-alice"}))[0]
    assert cas["ImapEnabled"] is False and cas["PopEnabled"] is False and cas["SmtpClientAuthenticationDisabled"]
    assert len(ok(c.exo("Get-CASMailbox", {"ResultSize": "Unlimited"}))) == 2
    bad = c.exo("Set-CASMailbox", {"Identity": "u-alice", "ImapEnabled": "maybe"})
    assert bad.status_code == 400 and "System.Boolean" in detail(bad)


# ------------------------------------------------------------------------------------------ paging
def _many(n: int, **settings: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"tenant": {"id": TENANT, "domains": ["contoso.com"]},
                           "users": [{"id": f"u-{i:04d}", "userPrincipalName": f"user{i:04d}@contoso.com",
                                      "mailbox": {}} for i in range(n)]}
    if settings:
        doc["tenant"]["settings"] = settings
    return doc


def test_paging_follows_next_link_with_the_same_body(serve: Callable[..., TenantClient]) -> None:
    c = serve(_many(25, exchangePageSize=10))
    seen: list[str] = []
    r = c.exo("Get-Mailbox", {"ResultSize": "Unlimited"})
    sizes = []
    while True:
        page = ok(r)
        sizes.append(len(page))
        seen.extend(m["Identity"] for m in page)
        link = r.json().get("@odata.nextLink")
        if not link:
            break
        assert link.startswith(c.base_url + f"/adminapi/beta/{TENANT}/InvokeCommand?") and "$skiptoken=" in link
        r = c.exo("Get-Mailbox", {"ResultSize": "Unlimited"}, url=link)
    assert sizes == [10, 10, 5]
    assert seen == [f"u-{i:04d}" for i in range(25)]

    first = c.exo("Get-Mailbox", {"ResultSize": "Unlimited"})
    other_body = c.exo("Get-CASMailbox", {}, url=first.json()["@odata.nextLink"])
    assert other_body.status_code == 400


def test_prefer_maxpagesize_and_default_result_size(serve: Callable[..., TenantClient]) -> None:
    c = serve(_many(1001))
    r = c.exo("Get-Mailbox", {"ResultSize": "Unlimited"}, headers={"Prefer": "odata.maxpagesize=400"})
    assert len(ok(r)) == 400 and r.headers["Preference-Applied"] == "odata.maxpagesize=400"
    assert r.headers["Content-Type"].startswith("application/json;odata.metadata=minimal")
    big = c.exo("Get-Mailbox", {"ResultSize": "Unlimited"}, headers={"Prefer": "odata.maxpagesize=5000"})
    assert len(ok(big)) == 1000 and "@odata.nextLink" in big.json()  # the server caps pages at 1000
    default = c.exo("Get-Mailbox", {})
    assert len(ok(default)) == 1000 and "@odata.nextLink" not in default.json()
    assert "-ResultSize Unlimited" in default.json()["@adminapi.warnings"][0]
    assert len(ok(c.exo("Get-Mailbox", {"ResultSize": 3}))) == 3


# ------------------------------------------------------------------------------------------ errors
def test_unknown_cmdlet_parameter_and_mailbox(serve: Callable[..., TenantClient]) -> None:
    c = serve(fixture())
    unknown = c.exo("Get-Mailboxx", {})
    assert unknown.status_code == 400
    assert "'Get-Mailboxx' is not recognized as the name of a cmdlet" in detail(unknown)
    assert "CommandNotFoundException" in detail(unknown)
    err = unknown.json()["error"]
    assert err["message"] == "Error executing cmdlet"
    assert "is not recognized" in err["innererror"]["internalexception"]["message"]

    param = c.exo("Get-Mailbox", {"Identity": "alice@contoso.com", "Bogus": 1})
    assert param.status_code == 400
    assert "A parameter cannot be found that matches parameter name 'Bogus'." in detail(param)

    missing = c.exo("Get-Mailbox", {"Identity": "ghost@contoso.com"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NotFound"
    assert detail(missing).startswith("Ex6F9304|Microsoft.Exchange.Configuration.Tasks."
                                      "ManagementObjectNotFoundException|The operation couldn't be performed "
                                      "because object 'ghost@contoso.com' couldn't be found")
    no_mailbox = c.exo("Get-InboxRule", {"Mailbox": "carol@contoso.com"})
    assert no_mailbox.status_code == 404

    mandatory = c.exo("Set-Mailbox", {"ForwardingSmtpAddress": None})
    assert mandatory.status_code == 400 and "missing mandatory parameters: Identity" in detail(mandatory)
    bad_body = c.http.post(f"/adminapi/beta/{TENANT}/InvokeCommand", json={"nope": 1},
                           headers={"Authorization": f"Bearer {c.token(EXCHANGE_SCOPE)}"})
    assert bad_body.status_code == 400
    other_tenant = c.exo("Get-Mailbox", {}, url="/adminapi/beta/fabrikam.com/InvokeCommand")
    assert other_tenant.status_code == 401
    by_domain = c.exo("Get-Mailbox", {}, url="/adminapi/beta/contoso.com/InvokeCommand")
    assert len(ok(by_domain)) == 2


def test_roles_and_permissions(serve: Callable[..., TenantClient], clients: list[TenantClient]) -> None:
    c = serve(fixture())
    reader = as_app(c, "app-reader", clients)
    assert len(ok(reader.exo("Get-Mailbox", {}))) == 2
    assert len(ok(reader.exo("Get-InboxRule", {"Mailbox": "alice@contoso.com"}))) == 2
    hidden = reader.exo("Get-InboxRule", {"Mailbox": "alice@contoso.com", "IncludeHidden": True})
    assert hidden.status_code == 403 and "IncludeHidden" in detail(hidden)
    write = reader.exo("Set-Mailbox", {"Identity": "alice@contoso.com", "ForwardingSmtpAddress": None})
    assert write.status_code == 403 and "User is not allowed to call Set-Mailbox" in detail(write)
    assert mailbox_state(c, "u-alice")["forwardingSmtpAddress"] == "attacker@evil.example"

    norole = as_app(c, "app-norole", clients).exo("Get-Mailbox", {})
    assert norole.status_code == 403
    assert "The role assigned to application app-norole isn't supported in this scenario" in detail(norole)
    sec = as_app(c, "app-secreader", clients)
    assert len(ok(sec.exo("Get-MobileDevice", {}))) == 1
    assert sec.exo("Remove-MobileDevice", {"Identity": "ABCDEF0123"}).status_code == 403
    ga = as_app(c, "app-ga", clients)
    assert len(ok(ga.exo("Get-InboxRule", {"Mailbox": "alice@contoso.com", "IncludeHidden": True}))) == 3
    ok(ga.exo("Set-Mailbox", {"Identity": "alice@contoso.com", "ForwardingSmtpAddress": None}))
    assert mailbox_state(c, "u-alice")["forwardingSmtpAddress"] is None
    nomanage = as_app(c, "app-nomanage", clients).exo("Get-Mailbox", {})
    assert nomanage.status_code == 401 and "Exchange.ManageAsApp" in nomanage.json()["error"]["message"]


class _Rejecting:
    """A throttler that refuses every Exchange request and records releases."""

    def __init__(self) -> None:
        self.released = 0

    def admit(self, *, kind: str, app_id: str, mailbox: str | None = None, write: bool = False,
              cost: int = 1) -> Rejection | None:
        assert kind == "exchange" and mailbox is None
        return Rejection(retry_after=2.5)

    def release(self, *, kind: str, app_id: str, mailbox: str | None = None) -> None:
        self.released += 1


class _Counting(_Rejecting):
    def admit(self, *, kind: str, app_id: str, mailbox: str | None = None, write: bool = False,
              cost: int = 1) -> Rejection | None:
        self.writes = write
        return None


def test_throttled_requests_get_429_and_admitted_ones_are_released(serve: Callable[..., TenantClient]) -> None:
    c = serve(fixture())
    c.token(EXCHANGE_SCOPE)
    rejecting = _Rejecting()
    c.emulator.throttle = rejecting  # type: ignore[assignment]
    r = c.exo("Get-Mailbox", {})
    assert r.status_code == 429 and r.headers["Retry-After"] == "2.500"
    assert r.json()["error"]["code"] == "TooManyRequests" and rejecting.released == 0
    counting = _Counting()
    c.emulator.throttle = counting  # type: ignore[assignment]
    ok(c.exo("Disable-InboxRule", {"Identity": "Finance", "Mailbox": "alice@contoso.com"}))
    assert counting.writes is True and counting.released == 1
    failed = c.exo("Get-Mailbox", {"Identity": "ghost"})
    assert failed.status_code == 404 and counting.released == 2


# ------------------------------------------------------------------------------------------ inbox rules
def test_get_inbox_rule_maps_graph_rules_and_hides_hidden_ones(serve: Callable[..., TenantClient]) -> None:
    c = serve(fixture())
    rules = ok(c.exo("Get-InboxRule", {"Mailbox": "alice@contoso.com"}))
    assert [r["Name"] for r in rules] == ["Finance", "Fwd"]  # by priority; the hidden rule is left out
    finance, fwd = rules
    rid = rule_identity("rule-finance")
    assert finance["RuleIdentity"] == rid and isinstance(finance["RuleIdentity"], int)
    assert finance["Identity"] == f"u-alice\\{rid}"
    assert finance["Priority"] == 1 and finance["Enabled"] is True
    assert finance["MoveToFolder"] == "u-alice:\\RSS Feeds"
    assert finance["SubjectContainsWords"] == ["invoice", "payment"]
    assert finance["MarkAsRead"] is True and finance["StopProcessingRules"] is True
    assert finance["DeleteMessage"] is False and finance["ForwardTo"] is None
    assert "'invoice' or 'payment'" in finance["Description"] and "RSS Feeds" in finance["Description"]
    assert fwd["ForwardTo"][0] == "\"Mallory\" [SMTP:attacker@evil.example]"
    assert fwd["ForwardTo"][1].startswith("\"Bob\" [EX:/o=ExchangeLabs/")
    assert fwd["From"] == ["\"ceo@contoso.com\" [SMTP:ceo@contoso.com]"]

    every = ok(c.exo("Get-InboxRule", {"Mailbox": "alice@contoso.com", "IncludeHidden": True}))
    assert [r["Name"] for r in every] == ["Finance", "Fwd", "."]
    assert every[2]["DeleteMessage"] is True and every[2]["BodyContainsWords"] == ["warning"]

    by_identity = ok(c.exo("Get-InboxRule", {"Identity": f"alice@contoso.com\\{rid}"}))
    assert [r["Name"] for r in by_identity] == ["Finance"]
    by_name = ok(c.exo("Get-InboxRule", {"Mailbox": "u-alice", "Identity": "Fwd"}))
    assert [r["Name"] for r in by_name] == ["Fwd"]
    hidden_id = f"u-alice\\{rule_identity('rule-hidden')}"
    assert c.exo("Get-InboxRule", {"Identity": hidden_id}).status_code == 404
    assert len(ok(c.exo("Get-InboxRule", {"Identity": hidden_id, "IncludeHidden": True}))) == 1


def test_inbox_rule_writes_change_the_one_state(serve: Callable[..., TenantClient]) -> None:
    c = serve(fixture())
    hidden_id = f"u-alice\\{rule_identity('rule-hidden')}"
    ok(c.exo("Disable-InboxRule", {"Identity": hidden_id, "AlwaysDeleteOutlookRulesBlob": True,
                                   "Confirm": False}))
    rules = {r["id"]: r for r in mailbox_state(c, "u-alice")["inboxRules"]}
    assert rules["rule-hidden"]["isEnabled"] is False and "RuleIdentity" not in rules["rule-hidden"]
    ok(c.exo("Enable-InboxRule", {"Identity": hidden_id}))
    assert rules["rule-hidden"]["isEnabled"] is True

    rules["rule-finance"]["isEnabled"] = False  # as a Graph PATCH does
    finance = ok(c.exo("Get-InboxRule", {"Mailbox": "alice@contoso.com", "Identity": "Finance"}))[0]
    assert finance["Enabled"] is False

    ok(c.exo("Remove-InboxRule", {"Identity": hidden_id, "Confirm": False}))
    assert [r["id"] for r in mailbox_state(c, "u-alice")["inboxRules"]] == ["rule-finance", "rule-fwd"]
    assert c.exo("Remove-InboxRule", {"Identity": hidden_id}).status_code == 404
    assert c.exo("Disable-InboxRule", {"Identity": "Finance"}).status_code == 400  # no -Mailbox


def _graph_rules(c: TenantClient) -> httpx.Response:
    return c.graph("GET", "/users/u-alice/mailFolders/inbox/messageRules")


def test_graph_and_exchange_see_each_others_rule_changes(serve: Callable[..., TenantClient]) -> None:
    c = serve(fixture())
    probe = _graph_rules(c)
    if probe.status_code != 200:
        pytest.skip("the Graph messageRules route is not in this tree yet")
    ok(c.exo("Disable-InboxRule", {"Identity": "Finance", "Mailbox": "alice@contoso.com"}))
    graph = {r["id"]: r for r in _graph_rules(c).json()["value"]}
    assert graph["rule-finance"]["isEnabled"] is False
    assert "rule-hidden" not in graph
    patched = c.graph("PATCH", "/users/u-alice/mailFolders/inbox/messageRules/rule-fwd", json={"isEnabled": False})
    assert patched.status_code == 200, patched.text
    fwd = ok(c.exo("Get-InboxRule", {"Mailbox": "alice@contoso.com", "Identity": "Fwd"}))[0]
    assert fwd["Enabled"] is False


# ------------------------------------------------------------------------------------------ sweep rules
def test_sweep_rules(serve: Callable[..., TenantClient]) -> None:
    c = serve(fixture())
    sweep = ok(c.exo("Get-SweepRule", {"Mailbox": "alice@contoso.com"}))
    assert len(sweep) == 1
    assert sweep[0]["Name"] == "Sweep bank mail" and sweep[0]["Enabled"] is True
    assert sweep[0]["SourceFolder"] == "u-alice:\\Inbox" and sweep[0]["DestinationFolder"] == "u-alice:\\Deleted Items"
    assert sweep[0]["Identity"] == "u-alice\\c3dlZXAx"
    ok(c.exo("Disable-SweepRule", {"Identity": sweep[0]["Identity"]}))
    assert mailbox_state(c, "u-alice")["sweepRules"][0]["enabled"] is False
    assert ok(c.exo("Get-SweepRule", {"Mailbox": "u-alice"}))[0]["Enabled"] is False
    ok(c.exo("Remove-SweepRule", {"Identity": "Sweep bank mail", "Mailbox": "alice@contoso.com"}))
    assert ok(c.exo("Get-SweepRule", {"Mailbox": "u-alice"})) == []
    assert ok(c.exo("Get-SweepRule", {"Mailbox": "bob@contoso.com"})) == []


# ------------------------------------------------------------------------------------------ restricted senders
def test_unblock_takes_effect_after_the_configured_delay(serve: Callable[..., TenantClient]) -> None:
    c = serve(fixture(unblockDelaySeconds=3600, tokenLifetimeSeconds=86400))
    blocked = ok(c.exo("Get-BlockedSenderAddress", {}))
    assert [b["SenderAddress"] for b in blocked] == ["alice@contoso.com"]
    assert blocked[0]["Reason"].startswith("ExceedingLimitType:External")
    assert blocked[0]["CreatedDatetime"] == "2026-11-26T07:00:00.0000000Z"
    ok(c.exo("Remove-BlockedSenderAddress", {"SenderAddress": "alice@contoso.com", "Reason": "contained"}))
    entry = c.emulator.state.data["blockedSenders"][0]
    assert entry["removalRequestedDateTime"] and entry["removalReason"] == "contained"
    first_request = entry["removalRequestedDateTime"]
    assert len(ok(c.exo("Get-BlockedSenderAddress", {"SenderAddress": "alice@contoso.com"}))) == 1
    c.emulator.clock.advance(1800)
    ok(c.exo("Remove-BlockedSenderAddress", {"SenderAddress": "alice@contoso.com"}))  # asking again: no change
    assert entry["removalRequestedDateTime"] == first_request
    c.emulator.clock.advance(1790)
    assert len(ok(c.exo("Get-BlockedSenderAddress", {}))) == 1
    c.emulator.clock.advance(20)
    assert ok(c.exo("Get-BlockedSenderAddress", {})) == []
    gone = c.exo("Remove-BlockedSenderAddress", {"SenderAddress": "alice@contoso.com"})
    assert gone.status_code == 404


def test_unblock_is_immediate_by_default(serve: Callable[..., TenantClient]) -> None:
    c = serve(fixture())
    ok(c.exo("Remove-BlockedSenderAddress", {"SenderAddress": "ALICE@contoso.com"}))
    assert ok(c.exo("Get-BlockedSenderAddress", {})) == []
    assert c.exo("Remove-BlockedSenderAddress", {}).status_code == 400


# ------------------------------------------------------------------------------------------ delegates, devices
def test_mailbox_and_recipient_permissions(serve: Callable[..., TenantClient]) -> None:
    c = serve(fixture())
    perms = ok(c.exo("Get-MailboxPermission", {"Identity": "alice@contoso.com"}))
    assert [(p["User"], p["AccessRights"]) for p in perms] == [
        ("NT AUTHORITY\\SELF", ["FullAccess, ReadPermission"]), ("bob@contoso.com", ["FullAccess"])]
    assert perms[1]["Identity"] == "u-alice" and perms[1]["IsInherited"] is False and perms[1]["Deny"] is False
    assert len(ok(c.exo("Get-MailboxPermission", {"Identity": "u-alice", "User": "u-bob"}))) == 1
    ok(c.exo("Remove-MailboxPermission", {"Identity": "alice@contoso.com", "User": "bob@contoso.com",
                                          "AccessRights": ["FullAccess"], "InheritanceType": "All",
                                          "Confirm": False}))
    assert mailbox_state(c, "u-alice")["permissions"] == []
    again = c.exo("Remove-MailboxPermission", {"Identity": "alice@contoso.com", "User": "bob@contoso.com",
                                               "AccessRights": "FullAccess"})
    assert ok(again) == [] and "the ACE doesn't exist on the object" in again.json()["@adminapi.warnings"][0]
    wrong = c.exo("Remove-MailboxPermission", {"Identity": "u-alice", "User": "u-bob", "AccessRights": "Owner"})
    assert wrong.status_code == 400

    send_as = ok(c.exo("Get-RecipientPermission", {"Identity": "alice@contoso.com"}))
    assert [(p["Trustee"], p["AccessRights"]) for p in send_as] == [
        ("NT AUTHORITY\\SELF", ["SendAs"]), ("bob@contoso.com", ["SendAs"])]
    assert send_as[1]["AccessControlType"] == "Allow"
    tenant_wide = ok(c.exo("Get-RecipientPermission", {"Trustee": "bob@contoso.com", "ResultSize": "Unlimited"}))
    assert [p["Identity"] for p in tenant_wide] == ["u-alice"]
    ok(c.exo("Remove-RecipientPermission", {"Identity": "u-alice", "Trustee": "bob@contoso.com",
                                            "AccessRights": "SendAs", "Confirm": False}))
    assert mailbox_state(c, "u-alice")["recipientPermissions"] == []
    assert ok(c.exo("Get-RecipientPermission", {"Trustee": "bob@contoso.com"})) == []


def test_mobile_devices(serve: Callable[..., TenantClient]) -> None:
    c = serve(fixture())
    devices = ok(c.exo("Get-MobileDevice", {"Mailbox": "alice@contoso.com"}))
    assert len(devices) == 1
    device = devices[0]
    assert device["Identity"] == "u-alice\\ExchangeActiveSyncDevices\\iPhone§ABCDEF0123"
    assert device["DeviceModel"] == "iPhone 15" and device["DeviceId"] == "ABCDEF0123"
    assert device["FirstSyncTime"] == "2026-11-20T10:00:00.0000000Z" and device["ClientType"] == "EAS"
    assert device["Guid"] == "6f1c1a4e-0000-4000-8000-000000000001"
    assert len(ok(c.exo("Get-MobileDevice", {}))) == 1
    ok(c.exo("Remove-MobileDevice", {"Identity": device["Identity"], "Confirm": False}))
    assert mailbox_state(c, "u-alice")["mobileDevices"] == []
    assert c.exo("Remove-MobileDevice", {"Identity": device["Identity"]}).status_code == 404


def test_transport_rules_are_returned_as_given(serve: Callable[..., TenantClient]) -> None:
    c = serve(fixture())
    rules = ok(c.exo("Get-TransportRule", {}))
    assert rules == [{"Name": "Copy to partner", "State": "Enabled", "Priority": 0, "Mode": "Enforce",
                      "BlindCopyTo@odata.type": "#Collection(String)", "BlindCopyTo": ["archive@partner.example"],
                      "Guid": "0d3e2c44-5f55-4a6e-9f27-5a1f0c0b0c11"}]
    assert len(ok(c.exo("Get-TransportRule", {"Identity": "Copy to partner"}))) == 1
    assert c.exo("Get-TransportRule", {"Identity": "nope"}).status_code == 404


def test_select_on_the_url_keeps_only_those_properties(serve: Callable[..., TenantClient]) -> None:
    c = serve(fixture())
    r = c.exo("Get-Mailbox", {"Identity": "alice@contoso.com"},
              url=f"/adminapi/beta/{TENANT}/InvokeCommand?$select=UserPrincipalName,EmailAddresses")
    assert ok(r) == [{"UserPrincipalName": "alice@contoso.com", "EmailAddresses@odata.type": "#Collection(String)",
                      "EmailAddresses": ["SMTP:alice@contoso.com"]}]


def test_writes_survive_a_state_dump(serve: Callable[..., TenantClient]) -> None:
    c = serve(fixture())
    ok(c.exo("Set-CASMailbox", {"Identity": "bob@contoso.com", "ActiveSyncEnabled": False}))
    dumped = c.http.get("/_emulator/state").json()
    bob = next(u for u in dumped["users"] if u["id"] == "u-bob")
    assert bob["mailbox"]["casMailbox"] == {"activeSyncEnabled": False}
    assert bob["mailbox"]["whenChanged"]


@pytest.mark.parametrize("name", ["bec-classic", "clean"])
def test_every_read_cmdlet_runs_on_the_built_in_scenarios(serve: Callable[..., TenantClient], name: str) -> None:
    from reclaim.emulator.scenarios import load_scenario

    c = serve(load_scenario(name))
    mailboxes = ok(c.exo("Get-Mailbox", {"ResultSize": "Unlimited"}))
    assert mailboxes
    for mbx in mailboxes:
        who = mbx["UserPrincipalName"]
        for cmdlet, params in (("Get-InboxRule", {"Mailbox": who, "IncludeHidden": True}),
                               ("Get-SweepRule", {"Mailbox": who}),
                               ("Get-MailboxPermission", {"Identity": who}),
                               ("Get-RecipientPermission", {"Identity": who}),
                               ("Get-MobileDevice", {"Mailbox": who}),
                               ("Get-CASMailbox", {"Identity": who})):
            ok(c.exo(cmdlet, params))
    ok(c.exo("Get-BlockedSenderAddress", {}))
    ok(c.exo("Get-TransportRule", {}))
