"""SharePointClient against the emulator: a second audience on the pipeline, recycle bin list / restore /
recycle, SharePoint's refusals as typed errors with what to do."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from reclaim.emulator.state import ALL_GRAPH_PERMISSIONS
from reclaim.m365 import AccessDenied, AuthenticationFailed, Connection, ConnectionSettings, NotFound
from reclaim.m365.errors import UnexpectedShape
from reclaim.m365.sharepoint import OneDriveSite
from tests.conftest import TenantClient
from tests.m365.certtokens import certificate_tokens
from tests.m365.tls import AppCertificate, make_app_certificate

SP = "https://contoso-my.sharepoint.com"


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> AppCertificate:
    return make_app_certificate(tmp_path_factory.mktemp("spcert"))


@pytest.fixture
def c(serve: Callable[..., TenantClient], cert: AppCertificate) -> TenantClient:
    return serve({
        "tenant": {"domains": ["contoso.com"], "settings": {"throttling": False}},
        "apps": [{"clientId": "app", "clientSecret": "s1", "certificates": [cert.public_pem],
                  "permissions": list(ALL_GRAPH_PERMISSIONS), "sharepointPermissions": ["Sites.FullControl.All"]},
                 {"clientId": "ro", "certificates": [cert.public_pem], "sharepointPermissions": ["Sites.Read.All"]}],
        "users": [{"id": "u-a", "userPrincipalName": "alice@contoso.com", "drive": {
            "id": "d-a", "webUrl": f"{SP}/personal/alice_contoso_com/Documents", "items": [],
            "recycleBin": [{"id": "i-1", "name": "Q3 it's.xlsx", "file": {}, "deleted": {"state": "deleted"},
                            "deletedDateTime": "2026-11-02T10:00:00Z"}]}}],
    })


def _run(c: TenantClient, cert: AppCertificate, work: Any, *, client_id: str = "app", certificate: bool = True) -> Any:
    settings = ConnectionSettings.for_endpoint(c.base_url, client_id=client_id, client_secret="s1")

    async def main() -> Any:
        async with Connection.open(settings) as conn:
            if certificate:
                conn.pipeline.tokens = conn.tokens = certificate_tokens(
                    conn.http, token_url=settings.endpoints.token_url(c.emulator.state.tenant_id),
                    client_id=client_id, key_pem=cert.pem)
            return await work(conn)

    return asyncio.run(main())


def test_site_of_a_drive() -> None:
    site = OneDriveSite.of_drive(f"{SP}/personal/alice_contoso_com/Documents")
    assert (site.host, site.path, site.scope) == (SP, "personal/alice_contoso_com", f"{SP}/.default")
    with pytest.raises(UnexpectedShape):
        OneDriveSite.of_drive("https://evil.example.com/personal/x/Documents")


def test_list_restore_recycle(c: TenantClient, cert: AppCertificate) -> None:
    site = OneDriveSite.of_drive(f"{SP}/personal/alice_contoso_com/Documents")

    async def work(conn: Connection) -> None:
        [item] = await conn.sharepoint.recycle_bin(site, leaf_name="Q3 it's.xlsx")
        assert item.dir_name == "personal/alice_contoso_com/Documents" and item.item_type == 1
        await conn.sharepoint.restore(site, item.id)
        assert await conn.sharepoint.recycle_bin(site) == []
        with pytest.raises(NotFound):
            await conn.sharepoint.restore(site, item.id)
        new = await conn.sharepoint.recycle_file(site, site.server_relative(item.dir_name, item.leaf_name))
        assert new and [i.id for i in await conn.sharepoint.recycle_bin(site)] == [new]

    _run(c, cert, work)
    audiences = {r.path.split("/_api/")[0] for r in c.emulator.calls if "/_api/" in r.path}
    assert audiences == {"/personal/alice_contoso_com"}


def test_refusals_say_what_to_do(c: TenantClient, cert: AppCertificate) -> None:
    site = OneDriveSite.of_drive(f"{SP}/personal/alice_contoso_com/Documents")

    async def listing(conn: Connection) -> Any:
        return await conn.sharepoint.recycle_bin(site)

    with pytest.raises(AuthenticationFailed, match="Unsupported app only token") as info:
        _run(c, cert, listing, certificate=False)
    assert "certificate" in str(info.value)

    async def restoring(conn: Connection) -> None:
        [item] = await conn.sharepoint.recycle_bin(site)
        await conn.sharepoint.restore(site, item.id)

    with pytest.raises(AccessDenied, match="Access denied") as denied:
        _run(c, cert, restoring, client_id="ro")
    assert "Sites.FullControl.All" in str(denied.value)
