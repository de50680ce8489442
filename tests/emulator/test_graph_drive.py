"""Contract tests for drives, drive items, sharing permissions and SharePoint settings (over HTTP)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest

from reclaim.emulator.drive_state import permission_id
from reclaim.emulator.state import ALL_GRAPH_PERMISSIONS
from tests.conftest import TenantClient
from tests.emulator.graph_helpers import as_app

ALICE = "alice@contoso.com"


def fixture(settings: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "tenant": {"domains": ["contoso.com"], "settings": {"throttling": False, **(settings or {})}},
        "apps": [
            {"clientId": "full", "clientSecret": "s1", "permissions": list(ALL_GRAPH_PERMISSIONS)},
            {"clientId": "read-only", "clientSecret": "s2", "permissions": ["Files.Read.All"]},
            {"clientId": "sites-rw", "clientSecret": "s3", "permissions": ["Sites.ReadWrite.All"]},
            {"clientId": "none", "clientSecret": "s4", "permissions": ["User.Read.All"]},
        ],
        "users": [
            {"id": "u-alice", "userPrincipalName": ALICE, "displayName": "Alice", "drive": {
                "id": "d-alice", "items": [
                    {"id": "f-fin", "name": "Finance", "folder": {},
                     "permissions": [{"id": "p-ben", "roles": ["read"],
                                      "grantedToV2": {"user": {"email": "ben@contoso.com"}}}]},
                    {"id": "i-bank", "name": "Bank details.xlsx", "parentReference": {"id": "f-fin"},
                     "file": {"mimeType": "application/vnd.ms-excel"},
                     "permissions": [{"id": "p-anon", "roles": ["write"],
                                      "link": {"scope": "anonymous", "type": "edit",
                                               "webUrl": "https://contoso-my.sharepoint.com/:x:/g/w1"}}]},
                ]}},
            {"id": "u-bob", "userPrincipalName": "bob@contoso.com"},
        ],
        "sites": [{"id": "s-hr", "name": "HR", "webUrl": "https://contoso.sharepoint.com/sites/hr",
                   "drive": {"id": "d-hr", "items": [{"id": "h-1", "name": "Policy.docx", "file": {}}]}}],
    }


@pytest.fixture
def c(serve: Callable[..., TenantClient]) -> TenantClient:
    return serve(fixture())


def test_user_drive_and_missing_mysite(c: TenantClient) -> None:
    r = c.graph("GET", f"/users/{ALICE}/drive")
    assert r.status_code == 200 and r.json()["id"] == "d-alice" and r.json()["driveType"] == "business"
    r = c.graph("GET", "/users/bob@contoso.com/drive")
    assert r.status_code == 404 and r.json()["error"]["message"] == "User's mysite not found."
    assert c.graph("GET", "/sites/s-hr/drive").json()["id"] == "d-hr"
    assert c.graph("GET", "/drives/nope").json()["error"]["code"] == "itemNotFound"


def test_items_by_id_and_path_with_parent_path(c: TenantClient) -> None:
    by_id = c.graph("GET", "/drives/d-alice/items/i-bank").json()
    assert by_id["parentReference"]["path"] == "/drive/root:/Finance"
    assert by_id["parentReference"]["driveId"] == "d-alice" and "permissions" not in by_id
    by_path = c.graph("GET", "/drives/d-alice/root:/" + quote("Finance/Bank details.xlsx") + ":")
    assert by_path.status_code == 200 and by_path.json()["id"] == "i-bank"
    assert c.graph("GET", "/drives/d-alice/root:/Finance/nothing.xlsx:").status_code == 404
    kids = c.graph("GET", "/drives/d-alice/items/f-fin/children").json()["value"]
    assert [k["id"] for k in kids] == ["i-bank"]
    root_kids = c.graph("GET", "/drives/d-alice/root/children").json()["value"]
    assert [k["id"] for k in root_kids] == ["f-fin"]


def test_permissions_include_inherited_with_inherited_from(c: TenantClient) -> None:
    perms = c.graph("GET", "/drives/d-alice/items/i-bank/permissions").json()["value"]
    by_id = {p["id"]: p for p in perms}
    assert by_id["p-anon"].get("inheritedFrom") is None
    assert by_id["p-ben"]["inheritedFrom"]["id"] == "f-fin"
    owner = by_id[permission_id(ALICE)]
    assert owner["roles"] == ["owner"] and owner["inheritedFrom"]["path"] == "/drive/root:"
    path_perms = c.graph("GET", "/drives/d-alice/root:/Finance/Bank details.xlsx:/permissions").json()["value"]
    assert {p["id"] for p in path_perms} == set(by_id)


def test_delete_permission_rules(c: TenantClient) -> None:
    base = "/drives/d-alice/items/i-bank/permissions"
    # inherited: refused; owner: refused; unknown: 404
    assert c.graph("DELETE", f"{base}/p-ben").status_code == 400
    assert c.graph("DELETE", f"/drives/d-alice/items/root/permissions/{permission_id(ALICE)}").status_code == 403
    assert c.graph("DELETE", f"{base}/p-missing").status_code == 404
    with as_app(c, "read-only") as ro:
        r = ro.graph("DELETE", f"{base}/p-anon")
        assert r.status_code == 403 and r.json()["error"]["code"] == "Authorization_RequestDenied"
        assert ro.graph("GET", base).status_code == 200
    with as_app(c, "none") as nobody:
        assert nobody.graph("GET", base).status_code == 403
    with as_app(c, "sites-rw") as sites:
        assert sites.graph("DELETE", f"{base}/p-anon").status_code == 204
    assert c.graph("GET", f"{base}/p-anon").status_code == 404
    assert c.graph("DELETE", f"{base}/p-anon").status_code == 404
    # the folder's own grant is deletable where it is defined
    assert c.graph("DELETE", "/drives/d-alice/items/f-fin/permissions/p-ben").status_code == 204
    assert "p-ben" not in {p["id"] for p in c.graph("GET", base).json()["value"]}


def test_reads_do_not_change_the_dump(c: TenantClient) -> None:
    before = c.emulator.state.dump()
    c.graph("GET", "/drives/d-alice/items/i-bank/permissions")
    c.graph("GET", "/drives/d-alice/root:/Finance:")
    assert c.emulator.state.dump() == before


def test_sharepoint_settings_default_and_configured(serve: Callable[..., TenantClient]) -> None:
    c = serve(fixture({"sharepoint": {"sharingCapability": "externalUserSharingOnly"}}))
    body = c.graph("GET", "/admin/sharepoint/settings").json()
    assert body["sharingCapability"] == "externalUserSharingOnly"
    with as_app(c, "read-only") as ro:
        assert ro.graph("GET", "/admin/sharepoint/settings").status_code == 403


def test_sharepoint_throttle_answers_429_with_retry_after(serve: Callable[..., TenantClient]) -> None:
    c = serve(fixture({"throttling": {"sharepoint": {"requests": 2, "windowSeconds": 60}}}))
    codes = [c.graph("GET", "/drives/d-alice/items/i-bank/permissions") for _ in range(3)]
    assert [r.status_code for r in codes] == [200, 200, 429]
    assert float(codes[2].headers["Retry-After"]) > 0


def test_bad_drive_fixture_is_refused() -> None:
    from reclaim.emulator.fixture import FixtureError, validate_fixture

    bad = fixture()
    bad["users"][0]["drive"]["items"][1]["permissions"][0].pop("id")
    with pytest.raises(FixtureError) as exc:
        validate_fixture(bad)
    assert "permissions" in exc.value.path
