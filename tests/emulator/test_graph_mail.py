"""Contract tests for the emulator's Graph mail surface: folders, inbox rules, messages, mailbox settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from reclaim.emulator.state import ALL_GRAPH_PERMISSIONS
from tests.conftest import TenantClient
from tests.emulator.graph_helpers import as_app, follow

ALICE = "alice@contoso.com"
BASE = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _messages(n: int, *, prefix: str = "Report") -> list[dict[str, Any]]:
    return [{"id": f"m{i:03d}", "subject": f"{prefix} {i}", "receivedDateTime": _iso(BASE + timedelta(hours=i)),
             "sentDateTime": _iso(BASE + timedelta(hours=i, minutes=-1)), "isRead": i % 2 == 0,
             "from": {"emailAddress": {"name": "Vendor", "address": f"billing{i % 3}@vendor.example"}},
             "body": {"contentType": "text", "content": "invoice attached" if i % 5 == 0 else "hello"}}
            for i in range(n)]


def fixture() -> dict[str, Any]:
    return {
        "tenant": {"id": "11111111-2222-3333-4444-555555555555", "domains": ["contoso.com"],
                   "settings": {"throttling": False}},
        "apps": [
            {"clientId": "full", "clientSecret": "s1", "permissions": list(ALL_GRAPH_PERMISSIONS),
             "roles": ["Exchange Administrator"]},
            {"clientId": "directory-only", "clientSecret": "s2", "permissions": ["User.Read.All"]},
            {"clientId": "settings-read", "clientSecret": "s3", "permissions": ["MailboxSettings.Read"]},
            {"clientId": "mail-basic", "clientSecret": "s4", "permissions": ["Mail.ReadBasic.All"]},
        ],
        "users": [
            {"id": "u-alice", "userPrincipalName": ALICE, "displayName": "Alice", "mailbox": {
                "folders": [
                    {"id": "f-rss", "displayName": "RSS Feeds", "wellKnownName": None},
                    {"id": "f-hidden", "displayName": "Secret", "wellKnownName": None, "isHidden": True},
                    {"id": "f-child", "displayName": "Projects", "wellKnownName": None, "parentFolderId": "f-rss"},
                ],
                "inboxRules": [
                    {"id": "r-visible", "displayName": "Move invoices", "sequence": 1,
                     "conditions": {"subjectContains": ["invoice"]}, "actions": {"moveToFolder": "f-rss"}},
                    {"id": "r-hidden", "displayName": "Delete warnings", "sequence": 2, "hidden": True,
                     "actions": {"delete": True}},
                    {"id": "r-later", "displayName": "Flag boss", "sequence": 3, "isEnabled": False,
                     "custom": "kept"},
                ],
                "automaticRepliesSetting": {"status": "alwaysEnabled", "externalReplyMessage": "Away"},
                "messages": {"inbox": _messages(25), "sentitems": _messages(3, prefix="Sent")},
            }},
            {"id": "u-nombx", "userPrincipalName": "nomailbox@contoso.com"},
        ],
    }


@pytest.fixture
def c(serve: Callable[..., TenantClient]) -> TenantClient:
    return serve(fixture())


# ---------------------------------------------------------------------------------------- folders
def test_folders_hide_hidden_unless_asked_and_resolve_well_known_names(c: TenantClient) -> None:
    visible, _ = follow(c, f"/users/{ALICE}/mailFolders", params={"$top": "100"})
    names = {f["displayName"] for f in visible}
    assert {"Inbox", "Sent Items", "RSS Feeds", "Deleted Items"} <= names
    assert "Secret" not in names and "Projects" not in names  # hidden; and a child, not top level
    assert "Top of Information Store" not in names
    assert all("wellKnownName" not in f for f in visible)
    everything, _ = follow(c, f"/users/{ALICE}/mailFolders", params={"includeHiddenFolders": "true", "$top": "100"})
    hidden = next(f for f in everything if f["id"] == "f-hidden")
    assert hidden["isHidden"] is True
    inbox = c.graph("GET", f"/users/{ALICE}/mailFolders/inbox").json()
    assert inbox["displayName"] == "Inbox" and inbox["totalItemCount"] == 25 and inbox["unreadItemCount"] == 12
    rss = c.graph("GET", f"/users/{ALICE}/mailFolders/f-rss", params={"$select": "displayName"}).json()
    assert rss["id"] == "f-rss" and rss["displayName"] == "RSS Feeds" and "totalItemCount" not in rss
    children = c.graph("GET", f"/users/{ALICE}/mailFolders/f-rss/childFolders").json()["value"]
    assert [f["id"] for f in children] == ["f-child"]
    missing = c.graph("GET", f"/users/{ALICE}/mailFolders/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "ErrorItemNotFound"


def test_folder_paging_default_is_ten(c: TenantClient) -> None:
    r = c.graph("GET", f"/users/{ALICE}/mailFolders")
    assert len(r.json()["value"]) == 9 and "@odata.nextLink" not in r.json()
    r = c.graph("GET", f"/users/{ALICE}/mailFolders", params={"$top": "4"})
    assert len(r.json()["value"]) == 4 and "@odata.nextLink" in r.json()


def test_mailbox_errors(c: TenantClient) -> None:
    r = c.graph("GET", "/users/nomailbox@contoso.com/mailFolders")
    assert r.status_code == 404 and r.json()["error"]["code"] == "MailboxNotEnabledForRESTAPI"
    r = c.graph("GET", "/users/ghost@contoso.com/mailFolders/inbox/messageRules")
    assert r.status_code == 404 and r.json()["error"]["code"] == "ErrorInvalidUser"


# ---------------------------------------------------------------------------------------- rules
def test_hidden_rules_never_appear_in_graph(c: TenantClient) -> None:
    r = c.graph("GET", f"/users/{ALICE}/mailFolders/inbox/messageRules")
    assert r.status_code == 200
    body = r.json()
    assert "@odata.nextLink" not in body
    rules = body["value"]
    assert [x["id"] for x in rules] == ["r-visible", "r-later"]
    assert all("hidden" not in x for x in rules)
    assert rules[1]["isEnabled"] is False and rules[1]["custom"] == "kept"
    assert rules[0]["hasError"] is False and rules[0]["isReadOnly"] is False
    for method, kwargs in (("GET", {}), ("PATCH", {"json": {"isEnabled": False}}), ("DELETE", {})):
        r = c.graph(method, f"/users/{ALICE}/mailFolders/inbox/messageRules/r-hidden", **kwargs)
        assert r.status_code == 404 and r.json()["error"]["code"] == "ErrorItemNotFound", method
    state_rules = c.emulator.state.find_user(ALICE)["mailbox"]["inboxRules"]  # type: ignore[index]
    assert next(x for x in state_rules if x["id"] == "r-hidden")["isEnabled"] is True


def test_rule_create_update_delete(c: TenantClient) -> None:
    url = f"/users/{ALICE}/mailFolders/inbox/messageRules"
    created = c.graph("POST", url, json={"displayName": "Fwd", "sequence": 4,
                                         "actions": {"forwardTo": [{"emailAddress": {"address": "x@evil.example"}}]}})
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["isEnabled"] is True and "hidden" not in rule
    rid = quote(rule["id"], safe="")  # a rule id is base64: it may hold "/" and "+", escaped in a path as clients do
    patched = c.graph("PATCH", f"{url}/{rid}", json={"isEnabled": False})
    assert patched.status_code == 200 and patched.json()["isEnabled"] is False
    assert patched.json()["actions"]["forwardTo"][0]["emailAddress"]["address"] == "x@evil.example"
    assert c.graph("GET", f"{url}/{rid}").json()["isEnabled"] is False
    assert c.graph("DELETE", f"{url}/{rid}").status_code == 204
    assert c.graph("GET", f"{url}/{rid}").status_code == 404
    bad = c.graph("POST", url, json={"displayName": "x", "sequence": 1, "bogus": 1})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "RequestBodyRead"
    no_name = c.graph("POST", url, json={"sequence": 1})
    assert no_name.status_code == 400
    not_inbox = c.graph("GET", f"/users/{ALICE}/mailFolders/sentitems/messageRules")
    assert not_inbox.status_code == 400


def test_rule_permissions(c: TenantClient) -> None:
    url = f"/users/{ALICE}/mailFolders/inbox/messageRules"
    with as_app(c, "directory-only") as directory_only:
        r = directory_only.graph("GET", url)
        assert r.status_code == 403 and r.json()["error"]["code"] == "ErrorAccessDenied"
    with as_app(c, "settings-read") as reader:
        assert reader.graph("GET", url).status_code == 200
        r = reader.graph("PATCH", f"{url}/r-visible", json={"isEnabled": False})
        assert r.status_code == 403 and r.json()["error"]["code"] == "ErrorAccessDenied"
        r = reader.graph("GET", f"/users/{ALICE}/mailFolders/inbox/messages")
        assert r.status_code == 403
        assert reader.graph("GET", f"/users/{ALICE}/mailFolders").status_code == 403
    with as_app(c, "mail-basic") as basic:
        msgs = basic.graph("GET", f"/users/{ALICE}/mailFolders/inbox/messages").json()["value"]
        assert msgs and all("body" not in m and "subject" in m for m in msgs)
        assert basic.graph("GET", f"/users/{ALICE}/mailFolders").status_code == 200
        assert basic.graph("GET", url).status_code == 403


# ---------------------------------------------------------------------------------------- messages
def test_messages_paging_follows_next_link(c: TenantClient) -> None:
    items, pages = follow(c, f"/users/{ALICE}/mailFolders/inbox/messages")
    assert pages == 3 and len(items) == 25
    assert [m["id"] for m in items] == [f"m{i:03d}" for i in range(24, -1, -1)]  # newest first
    items, pages = follow(c, f"/users/{ALICE}/mailFolders/inbox/messages",
                          params={"$top": "7", "$select": "subject"})
    assert pages == 4 and len({m["id"] for m in items}) == 25
    assert set(items[0]) == {"id", "subject"}
    r = c.graph("GET", f"/users/{ALICE}/mailFolders/inbox/messages", params={"$top": "5000"})
    assert len(r.json()["value"]) == 25
    one = c.graph("GET", f"/users/{ALICE}/mailFolders/inbox/messages/m003", params={"$select": "subject"})
    assert one.json()["subject"] == "Report 3"
    assert c.graph("GET", f"/users/{ALICE}/messages/m003").json()["id"] == "m003"
    wrong_folder = c.graph("GET", f"/users/{ALICE}/mailFolders/sentitems/messages/m003")
    assert wrong_folder.status_code == 404 and wrong_folder.json()["error"]["code"] == "ErrorItemNotFound"


def test_messages_filter_and_orderby(c: TenantClient) -> None:
    start, end = _iso(BASE + timedelta(hours=5)), _iso(BASE + timedelta(hours=9))
    flt = f"receivedDateTime ge {start} and receivedDateTime lt {end}"
    r = c.graph("GET", f"/users/{ALICE}/mailFolders/inbox/messages",
                params={"$filter": flt, "$orderby": "receivedDateTime asc"})
    assert r.status_code == 200, r.text
    assert [m["id"] for m in r.json()["value"]] == ["m005", "m006", "m007", "m008"]
    sent = c.graph("GET", f"/users/{ALICE}/mailFolders/sentitems/messages",
                   params={"$filter": f"sentDateTime ge {_iso(BASE)}", "$orderby": "sentDateTime desc"})
    assert [m["id"] for m in sent.json()["value"]] == ["m002", "m001"]
    bad_order = c.graph("GET", f"/users/{ALICE}/mailFolders/inbox/messages",
                        params={"$filter": flt, "$orderby": "sentDateTime desc"})
    assert bad_order.status_code == 400 and bad_order.json()["error"]["code"] == "InefficientFilter"
    bad = c.graph("GET", f"/users/{ALICE}/mailFolders/inbox/messages", params={"$filter": "receivedDateTime ge"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "BadRequest"


def test_messages_search(c: TenantClient) -> None:
    r = c.graph("GET", f"/users/{ALICE}/mailFolders/inbox/messages", params={"$search": '"invoice"', "$top": "50"})
    assert r.status_code == 200
    assert sorted(m["id"] for m in r.json()["value"]) == ["m000", "m005", "m010", "m015", "m020"]
    r = c.graph("GET", f"/users/{ALICE}/mailFolders/inbox/messages", params={"$search": '"from:billing1"'})
    assert {m["from"]["emailAddress"]["address"] for m in r.json()["value"]} == {"billing1@vendor.example"}
    r = c.graph("GET", f"/users/{ALICE}/mailFolders/inbox/messages", params={"$search": '"Report 13"'})
    assert [m["id"] for m in r.json()["value"]] == ["m013"]
    both = c.graph("GET", f"/users/{ALICE}/mailFolders/inbox/messages",
                   params={"$search": '"x"', "$filter": f"receivedDateTime ge {_iso(BASE)}"})
    assert both.status_code == 400 and both.json()["error"]["code"] == "SearchWithFilter"
    ordered = c.graph("GET", f"/users/{ALICE}/mailFolders/inbox/messages",
                      params={"$search": '"x"', "$orderby": "receivedDateTime desc"})
    assert ordered.status_code == 400 and ordered.json()["error"]["code"] == "SearchWithOrderBy"


# ---------------------------------------------------------------------------------------- settings
def test_mailbox_settings_get_and_patch_auto_replies(c: TenantClient) -> None:
    r = c.graph("GET", f"/users/{ALICE}/mailboxSettings")
    assert r.status_code == 200
    s = r.json()
    assert s["automaticRepliesSetting"]["status"] == "alwaysEnabled"
    assert s["automaticRepliesSetting"]["externalReplyMessage"] == "Away"
    assert s["automaticRepliesSetting"]["externalAudience"] == "all"
    assert s["timeZone"] == "UTC" and s["language"]["locale"] == "en-US"
    assert s["archiveFolder"] == c.emulator.state.folder_id(c.emulator.state.find_user(ALICE) or {}, "archive")
    assert "forwardingSmtpAddress" not in s
    one = c.graph("GET", f"/users/{ALICE}/mailboxSettings/automaticRepliesSetting").json()
    assert one["status"] == "alwaysEnabled" and one["@odata.context"].endswith("/automaticRepliesSetting")
    assert c.graph("GET", f"/users/{ALICE}/mailboxSettings/timeZone").json()["value"] == "UTC"
    patched = c.graph("PATCH", f"/users/{ALICE}/mailboxSettings",
                      json={"automaticRepliesSetting": {"status": "disabled"}})
    assert patched.status_code == 200 and patched.json()["automaticRepliesSetting"]["status"] == "disabled"
    again = c.graph("GET", f"/users/{ALICE}/mailboxSettings", params={"$select": "automaticRepliesSetting"}).json()
    assert again["automaticRepliesSetting"]["status"] == "disabled" and "timeZone" not in again
    dumped = c.http.get("/_emulator/state").json()
    alice = next(u for u in dumped["users"] if u["id"] == "u-alice")
    assert alice["mailbox"]["automaticRepliesSetting"]["status"] == "disabled"
    bad = c.graph("PATCH", f"/users/{ALICE}/mailboxSettings", json={"automaticRepliesSetting": {"status": "on"}})
    assert bad.status_code == 400
    with as_app(c, "settings-read") as reader:
        r = reader.graph("PATCH", f"/users/{ALICE}/mailboxSettings", json={"timeZone": "W. Europe Standard Time"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "ErrorAccessDenied"


def test_mail_routes_inside_batch(c: TenantClient) -> None:
    rules = f"/users/{ALICE}/mailFolders/inbox/messageRules"
    body = {"requests": [
        {"id": "1", "method": "GET", "url": rules},
        {"id": "2", "method": "GET", "url": f"{rules}/r-hidden"},
        {"id": "3", "method": "PATCH", "url": f"{rules}/r-visible", "dependsOn": ["1"],
         "headers": {"Content-Type": "application/json"}, "body": {"isEnabled": False}},
        {"id": "4", "method": "GET", "url": f"/users/{ALICE}/mailFolders/inbox/messages?$top=2&$select=subject"},
    ]}
    r = c.graph("POST", "/$batch", json=body)
    assert r.status_code == 200
    by_id = {x["id"]: x for x in r.json()["responses"]}
    assert [x["id"] for x in by_id["1"]["body"]["value"]] == ["r-visible", "r-later"]
    assert by_id["2"]["status"] == 404 and by_id["2"]["body"]["error"]["code"] == "ErrorItemNotFound"
    assert by_id["3"]["status"] == 200 and by_id["3"]["body"]["isEnabled"] is False
    assert len(by_id["4"]["body"]["value"]) == 2 and "@odata.nextLink" in by_id["4"]["body"]
