"""Contract tests for message moves and Outlook ids: a move gives a new regular id, the immutable id stays;
Recoverable Items is reached by its well-known name and never listed; moving needs Mail.ReadWrite."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from reclaim.emulator.state import ALL_GRAPH_PERMISSIONS
from tests.conftest import TenantClient
from tests.emulator.graph_helpers import as_app, follow

ALICE = "alice@contoso.com"
IMMUTABLE = {"Prefer": 'IdType="ImmutableId"'}


def _msg(mid: str, subject: str, when: str, imid: str) -> dict[str, Any]:
    return {"id": mid, "subject": subject, "receivedDateTime": when, "internetMessageId": imid,
            "from": {"emailAddress": {"name": "V", "address": "ap@vendor.example"}}}


def fixture() -> dict[str, Any]:
    return {
        "tenant": {"domains": ["contoso.com"], "settings": {"throttling": False}},
        "apps": [{"clientId": "full", "clientSecret": "s1", "permissions": list(ALL_GRAPH_PERMISSIONS)},
                 {"clientId": "read-only", "clientSecret": "s2", "permissions": ["Mail.Read"]}],
        "users": [{"id": "u-alice", "userPrincipalName": ALICE, "mailbox": {
            "folders": [{"id": "f-rss", "displayName": "RSS Feeds", "wellKnownName": None}],
            "messages": {
                "f-rss": [_msg("m-1", "Invoice 1", "2026-11-02T10:00:00Z", "<1@vendor.example>"),
                          _msg("m-2", "Invoice 2", "2026-11-03T10:00:00Z", "<2@vendor.example>")],
                "recoverableitemsdeletions": [_msg("m-3", "Bank change", "2026-11-02T12:00:00Z",
                                                   "<3@vendor.example>")],
            }}}],
    }


@pytest.fixture
def c(serve: Callable[..., TenantClient]) -> TenantClient:
    return serve(fixture())


def test_move_gives_a_new_id_and_the_old_one_no_longer_finds_the_message(c: TenantClient) -> None:
    r = c.graph("POST", f"/users/{ALICE}/messages/m-1/move", json={"destinationId": "inbox"})
    assert r.status_code == 201, r.text
    moved = r.json()
    assert moved["id"] != "m-1" and moved["internetMessageId"] == "<1@vendor.example>"
    inbox = c.graph("GET", f"/users/{ALICE}/mailFolders/inbox", ).json()["id"]
    assert moved["parentFolderId"] == inbox
    assert "immutableId" not in moved
    assert c.graph("GET", f"/users/{ALICE}/messages/m-1").json()["error"]["code"] == "ErrorItemNotFound"
    assert c.graph("GET", f"/users/{ALICE}/messages/{moved['id']}").status_code == 200
    found = c.graph("GET", f"/users/{ALICE}/mailFolders/inbox/messages",
                    params={"$filter": "internetMessageId eq '<1@vendor.example>'"}).json()["value"]
    assert [m["id"] for m in found] == [moved["id"]]


def test_immutable_ids_survive_moves(c: TenantClient) -> None:
    listed = c.graph("GET", f"/users/{ALICE}/mailFolders/f-rss/messages", headers=IMMUTABLE)
    assert listed.headers["Preference-Applied"] == 'IdType="ImmutableId"'
    ids = {m["subject"]: m["id"] for m in listed.json()["value"]}
    first = ids["Invoice 2"]
    assert first != "m-2"
    r = c.graph("POST", f"/users/{ALICE}/messages/{first}/move", json={"destinationId": "inbox"}, headers=IMMUTABLE)
    assert r.status_code == 201 and r.json()["id"] == first
    back = c.graph("POST", f"/users/{ALICE}/messages/{first}/move", json={"destinationId": "f-rss"},
                   headers=IMMUTABLE)
    assert back.json()["id"] == first and back.json()["parentFolderId"] == "f-rss"
    # without the header the answer carries the (new) regular id, and that id works too
    plain = c.graph("GET", f"/users/{ALICE}/messages/{first}").json()
    assert plain["id"] not in (first, "m-2")
    assert c.graph("GET", f"/users/{ALICE}/mailFolders/f-rss/messages/{plain['id']}").status_code == 200


def test_recoverable_items_by_well_known_name_only(c: TenantClient) -> None:
    folders, _ = follow(c, f"/users/{ALICE}/mailFolders", params={"$top": "100", "includeHiddenFolders": "true"})
    assert "Deletions" not in {f["displayName"] for f in folders}
    deleted = c.graph("GET", f"/users/{ALICE}/mailFolders/recoverableitemsdeletions/messages").json()["value"]
    assert [m["subject"] for m in deleted] == ["Bank change"]
    everything, _ = follow(c, f"/users/{ALICE}/messages")
    assert "Bank change" not in {m["subject"] for m in everything}  # /messages lists the message folders only
    r = c.graph("POST", f"/users/{ALICE}/mailFolders/recoverableitemsdeletions/messages/m-3/move",
                json={"destinationId": "inbox"})
    assert r.status_code == 201
    soft = c.graph("POST", f"/users/{ALICE}/messages/{r.json()['id']}/move",
                   json={"destinationId": "recoverableitemsdeletions"})
    assert soft.status_code == 201


def test_move_errors(c: TenantClient) -> None:
    bad_folder = c.graph("POST", f"/users/{ALICE}/messages/m-1/move", json={"destinationId": "nope"})
    assert bad_folder.status_code == 404 and bad_folder.json()["error"]["code"] == "ErrorItemNotFound"
    unknown = c.graph("POST", f"/users/{ALICE}/messages/m-1/move", json={"destinationId": "inbox", "x": 1})
    assert unknown.status_code == 400
    missing = c.graph("POST", f"/users/{ALICE}/messages/m-1/move", json={})
    assert missing.status_code == 400
    wrong_source = c.graph("POST", f"/users/{ALICE}/mailFolders/inbox/messages/m-1/move",
                           json={"destinationId": "deleteditems"})
    assert wrong_source.status_code == 404
    with as_app(c, "read-only") as ro:
        denied = ro.graph("POST", f"/users/{ALICE}/messages/m-1/move", json={"destinationId": "inbox"})
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "ErrorAccessDenied"
    assert c.graph("GET", f"/users/{ALICE}/messages/m-1").status_code == 200  # nothing moved


# ---------------------------------------------------------------------------------------- recoverable items cmdlets
def _purged_fixture() -> dict[str, Any]:
    fx = fixture()
    purged = {**_msg("m-9", "Wire callback", "2026-11-02T08:00:00Z", "<9@bank.example>"),
              "lastParentFolderId": "f-rss", "deletedDateTime": "2026-11-02T09:00:00Z"}
    fx["users"][0]["mailbox"]["purgedItems"] = [purged]
    fx["apps"][0]["roles"] = ["Exchange Administrator"]
    fx["apps"][0]["exchangeRoles"] = ["Mailbox Import Export"]
    fx["apps"][1].update({"permissions": ["Exchange.ManageAsApp"], "roles": ["Exchange Administrator"]})
    return fx


def test_recoverable_items_cmdlets(serve: Callable[..., TenantClient]) -> None:
    c = serve(_purged_fixture())
    everything = c.exo("Get-RecoverableItems", {"Identity": ALICE}).json()["value"]
    assert {(i["Subject"], i["SourceFolder"]) for i in everything} == {("Bank change", "RecoverableItems"),
                                                                      ("Wire callback", "PurgedItems")}
    purged = c.exo("Get-RecoverableItems", {"Identity": ALICE, "SourceFolder": "PurgedItems",
                                            "SubjectContains": "wire"}).json()["value"]
    assert len(purged) == 1 and purged[0]["LastParentFolderID"] == "f-rss" and purged[0]["OriginalFolderExists"]
    assert "InternetMessageId" not in purged[0]
    # Graph never sees Purges
    assert c.graph("GET", f"/users/{ALICE}/messages/m-9").status_code == 404
    bad = c.exo("Get-RecoverableItems", {"Identity": ALICE, "SourceFolder": "Purges"})
    assert bad.status_code == 400
    done = c.exo("Restore-RecoverableItems", {"Identity": ALICE, "EntryID": purged[0]["EntryID"]})
    assert done.status_code == 200 and done.json()["value"][0]["WasRestoredSuccessfully"] is True
    back = c.graph("GET", f"/users/{ALICE}/mailFolders/f-rss/messages",
                   params={"$filter": "internetMessageId eq '<9@bank.example>'"}).json()["value"]
    assert len(back) == 1 and "lastParentFolderId" not in back[0] and "deletedDateTime" not in back[0]
    assert c.exo("Get-RecoverableItems", {"Identity": ALICE, "SourceFolder": "PurgedItems"}).json()["value"] == []


def test_recoverable_items_cmdlets_need_the_mailbox_import_export_role(serve: Callable[..., TenantClient]) -> None:
    c = serve(_purged_fixture())
    with as_app(c, "read-only") as other:
        r = other.exo("Get-RecoverableItems", {"Identity": ALICE})
        assert r.status_code == 400 and "CommandNotFoundException" in r.text
        assert other.exo("Restore-RecoverableItems", {"Identity": ALICE}).status_code == 400
    assert c.exo("Get-RecoverableItems", {"Identity": ALICE, "SourceFolder": "PurgedItems"}).json()["value"]
