"""Contract tests for SharePoint REST on a OneDrive site: the recycle bin list / restore, recycle (over HTTP)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from reclaim.emulator.state import ALL_GRAPH_PERMISSIONS
from tests.conftest import TenantClient
from tests.m365.tls import AppCertificate, make_app_certificate

ALICE = "alice@contoso.com"
SITE = "/personal/alice_contoso_com/_api"
SP = "https://contoso-my.sharepoint.com"


def fixture(cert: AppCertificate) -> dict[str, Any]:
    return {
        "tenant": {"domains": ["contoso.com"], "settings": {"throttling": False}},
        "apps": [
            {"clientId": "secret-app", "clientSecret": "s1", "permissions": list(ALL_GRAPH_PERMISSIONS),
             "sharepointPermissions": ["Sites.FullControl.All"]},
            {"clientId": "cert-app", "certificates": [cert.public_pem],
             "sharepointPermissions": ["Sites.FullControl.All"]},
            {"clientId": "cert-read", "certificates": [cert.public_pem], "sharepointPermissions": ["Sites.Read.All"]},
        ],
        "users": [
            {"id": "u-alice", "userPrincipalName": ALICE, "displayName": "Alice", "drive": {
                "id": "d-alice", "webUrl": f"{SP}/personal/alice_contoso_com/Documents",
                "items": [{"id": "f-fin", "name": "Finance", "folder": {}}],
                "recycleBin": [{"id": "i-bank", "name": "Bank change log.xlsx", "parentReference": {"id": "f-fin"},
                                "file": {}, "size": 1200, "deleted": {"state": "deleted"},
                                "deletedDateTime": "2026-11-02T10:00:00Z"}]}},
        ],
    }


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> AppCertificate:
    return make_app_certificate(tmp_path_factory.mktemp("spcert"))


def cert_token(c: TenantClient, cert: AppCertificate, client_id: str, scope: str = f"{SP}/.default") -> str:
    key = serialization.load_pem_private_key(Path(cert.pem).read_bytes(), password=None)
    token_url = f"{c.base_url}/{c.emulator.state.tenant_id}/oauth2/v2.0/token"
    now = int(time.time())
    assertion = jwt.encode({"iss": client_id, "sub": client_id, "aud": token_url, "iat": now, "nbf": now,
                            "exp": now + 600, "jti": "t"}, key, algorithm="RS256")  # type: ignore[arg-type]
    r = c.http.post(token_url, data={
        "grant_type": "client_credentials", "client_id": client_id, "scope": scope,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


@pytest.fixture
def c(serve: Callable[..., TenantClient], cert: AppCertificate) -> TenantClient:
    return serve(fixture(cert))


def sp(c: TenantClient, token: str, method: str, path: str, **kw: Any) -> Any:
    return c.http.request(method, SITE + path, headers={"Authorization": f"Bearer {token}",
                                                        "Accept": "application/json;odata=nometadata"}, **kw)


def test_list_restore_and_recycle_again(c: TenantClient, cert: AppCertificate) -> None:
    token = cert_token(c, cert, "cert-app")
    listed = sp(c, token, "GET", "/site/RecycleBin", params={"$filter": "LeafName eq 'Bank change log.xlsx'"})
    assert listed.status_code == 200
    [entry] = listed.json()["value"]
    assert entry["DirName"] == "personal/alice_contoso_com/Documents/Finance" and entry["ItemType"] == 1
    assert sp(c, token, "GET", "/site/RecycleBin", params={"$filter": "LeafName eq 'x'"}).json()["value"] == []
    r = sp(c, token, "POST", f"/site/RecycleBin('{entry['Id']}')/restore()")
    assert r.status_code == 200
    item = c.graph("GET", "/drives/d-alice/items/i-bank").json()
    assert item["name"] == "Bank change log.xlsx" and "deleted" not in item
    assert sp(c, token, "GET", "/web/RecycleBin").json()["value"] == []
    # a second restore of the same id: SharePoint's ArgumentException
    again = sp(c, token, "POST", f"/web/RecycleBin('{entry['Id']}')/restore()")
    assert again.status_code == 400
    assert again.json()["odata.error"]["code"] == "-2147024809, System.ArgumentException"
    assert again.json()["odata.error"]["message"]["value"] == "Value does not fall within the expected range."
    url = "/personal/alice_contoso_com/Documents/Finance/Bank change log.xlsx"
    rec = sp(c, token, "POST", f"/web/GetFileByServerRelativeUrl('{url}')/recycle()")
    assert rec.status_code == 200 and rec.json()["value"] != entry["Id"]
    assert c.graph("GET", "/drives/d-alice/items/i-bank").status_code == 404
    assert [e["Id"] for e in sp(c, token, "GET", "/site/RecycleBin").json()["value"]] == [rec.json()["value"]]
    gone = sp(c, token, "POST", f"/web/GetFileByServerRelativeUrl('{url}')/recycle()")
    assert gone.status_code == 404 and "odata.error" in gone.json()


def test_tokens_sharepoint_refuses(c: TenantClient, cert: AppCertificate) -> None:
    # a Graph token (wrong audience)
    r = sp(c, c.token(), "GET", "/site/RecycleBin")
    assert r.status_code == 401 and r.json()["error_description"] == "Invalid audience Uri."
    # an app-only token got with a client secret
    r = sp(c, c.token(f"{SP}/.default"), "GET", "/site/RecycleBin")
    assert r.status_code == 401 and r.json()["error_description"] == "Unsupported app only token."
    # no token
    assert c.http.get(SITE + "/site/RecycleBin").status_code == 401
    # read-only SharePoint permission: list yes, restore no
    ro = cert_token(c, cert, "cert-read")
    [entry] = sp(c, ro, "GET", "/site/RecycleBin").json()["value"]
    denied = sp(c, ro, "POST", f"/site/RecycleBin('{entry['Id']}')/restore()")
    assert denied.status_code == 403
    assert denied.json()["odata.error"]["code"] == "-2147024891, System.UnauthorizedAccessException"
    assert len(sp(c, ro, "GET", "/site/RecycleBin").json()["value"]) == 1
    # an unknown site, an unknown operation
    r = c.http.get("/personal/nobody_contoso_com/_api/site/RecycleBin",
                   headers={"Authorization": f"Bearer {ro}"})
    assert r.status_code == 404
    assert sp(c, ro, "GET", "/site/Nope").status_code == 404


def test_reads_do_not_change_the_state(c: TenantClient, cert: AppCertificate) -> None:
    token = cert_token(c, cert, "cert-app")
    before = c.emulator.state.dump()
    first = sp(c, token, "GET", "/site/RecycleBin").json()
    assert sp(c, token, "GET", "/site/RecycleBin").json() == first
    assert c.emulator.state.dump() == before
