"""Credentials: the httpx client-credentials provider, and azure-identity against the emulator over HTTPS.

MSAL (under azure-identity) refuses plain-HTTP authorities, so these tests serve the emulator over
HTTPS with a throwaway CA and trust it through ``ca_bundle`` (azure-identity's ``connection_verify``
and httpx's ``verify``): the real azure-identity code path — OIDC discovery, client secret or a
signed client assertion, token caching — runs against the emulator's token endpoint.
"""

from __future__ import annotations

import asyncio
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reclaim.emulator import Emulator
from reclaim.emulator.server import serve_in_thread
from reclaim.errors import BadInput, CannotConnect
from reclaim.m365 import (
    AccessToken,
    AuthenticationFailed,
    Connection,
    ConnectionSettings,
    CredentialSpec,
    Endpoints,
    Unreachable,
)
from reclaim.m365.auth import AzureIdentityTokens, ClientCredentialsTokens
from reclaim.m365.credentials import build_credential
from tests.conftest import TenantClient
from tests.m365.helpers import calls, run
from tests.m365.tls import AppCertificate, TlsFiles, make_app_certificate, make_tls

TENANT = "11111111-2222-3333-4444-555555555555"
SECRET_APP: dict[str, Any] = {"clientId": "aaaaaaaa-0000-0000-0000-000000000001", "clientSecret": "s3cr3t-value",
              "permissions": ["User.Read.All", "Exchange.ManageAsApp"], "roles": ["Exchange Administrator"]}
CERT_APP_ID = "aaaaaaaa-0000-0000-0000-000000000002"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def app_cert(tmp_path_factory: pytest.TempPathFactory) -> AppCertificate:
    return make_app_certificate(tmp_path_factory.mktemp("cert"))


@pytest.fixture
def https_emulator(tls: TlsFiles, app_cert: AppCertificate) -> Iterator[tuple[Emulator, str]]:
    emulator = Emulator({
        "tenant": {"id": TENANT, "domains": ["contoso.com"]},
        "apps": [SECRET_APP, {"clientId": CERT_APP_ID, "certificates": [app_cert.public_pem],
                              "permissions": ["User.Read.All", "Exchange.ManageAsApp"],
                              "roles": ["Exchange Administrator"]}],
        "users": [{"id": "u1", "userPrincipalName": "alice@contoso.com", "mailbox": {}}],
    })
    with serve_in_thread(emulator, ssl_certfile=str(tls.server_cert), ssl_keyfile=str(tls.server_key)) as url:
        yield emulator, url


def _exercise(settings: ConnectionSettings) -> tuple[list[str], str, str]:
    async def main() -> tuple[list[str], str, str]:
        async with Connection.open(settings) as conn:
            users = [u["userPrincipalName"] async for u in conn.graph.paged("/users")]
            mailbox = await conn.exchange.get_mailbox("alice@contoso.com")
            return users, str(mailbox.user_principal_name), type(conn.tokens).__name__
    return asyncio.run(main())


# ---------------------------------------------------------------------------------------------- azure-identity
def test_azure_identity_client_secret_over_https(https_emulator: tuple[Emulator, str], tls: TlsFiles,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    emulator, url = https_emulator
    monkeypatch.setenv("RECLAIM_TEST_SECRET", SECRET_APP["clientSecret"])
    spec = CredentialSpec(kind="secret", client_id=SECRET_APP["clientId"], secret_env="RECLAIM_TEST_SECRET")
    settings = ConnectionSettings(endpoints=Endpoints.under(url), tenant_id=TENANT, credential=spec,
                                  ca_bundle=str(tls.ca))
    users, upn, provider = _exercise(settings)
    assert users == ["alice@contoso.com"] and upn == "alice@contoso.com"
    assert provider == "AzureIdentityTokens"
    token_calls = [c for c in emulator.calls if c.path.endswith("/oauth2/v2.0/token")]
    assert len(token_calls) == 2  # one per resource (Graph, Exchange), then cached
    assert all(c.body.get("client_info") == "1" for c in token_calls)  # sent by MSAL, not by our httpx provider
    assert all(c.body["client_secret"] == "<redacted>" for c in token_calls)


@pytest.mark.parametrize("form", ["pem", "pfx"])
def test_azure_identity_certificate_over_https(https_emulator: tuple[Emulator, str], tls: TlsFiles,
                                               app_cert: AppCertificate, form: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    emulator, url = https_emulator
    if form == "pfx":
        monkeypatch.setenv("RECLAIM_TEST_PFX_PASSWORD", app_cert.password)
        spec = CredentialSpec(kind="certificate", client_id=CERT_APP_ID, certificate_path=str(app_cert.pfx),
                              certificate_password_env="RECLAIM_TEST_PFX_PASSWORD")
    else:
        spec = CredentialSpec(kind="certificate", client_id=CERT_APP_ID, certificate_path=str(app_cert.pem))
    settings = ConnectionSettings(endpoints=Endpoints.under(url), tenant_id=TENANT, credential=spec,
                                  ca_bundle=str(tls.ca))
    users, _, _ = _exercise(settings)
    assert users == ["alice@contoso.com"]
    token_calls = [c for c in emulator.calls if c.path.endswith("/oauth2/v2.0/token")]
    assert token_calls and all(c.body.get("client_assertion") == "<redacted>" for c in token_calls)


def test_a_certificate_the_app_does_not_hold_is_refused(https_emulator: tuple[Emulator, str], tls: TlsFiles,
                                                        tmp_path: Path) -> None:
    _, url = https_emulator
    other = make_app_certificate(tmp_path)
    spec = CredentialSpec(kind="certificate", client_id=CERT_APP_ID, certificate_path=str(other.pem))
    settings = ConnectionSettings(endpoints=Endpoints.under(url), tenant_id=TENANT, credential=spec,
                                  ca_bundle=str(tls.ca))
    with pytest.raises(AuthenticationFailed) as caught:
        _exercise(settings)
    assert "AADSTS700027" in str(caught.value) and isinstance(caught.value, CannotConnect)


def test_tls_is_verified_without_the_ca_nothing_connects(https_emulator: tuple[Emulator, str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    emulator, url = https_emulator
    monkeypatch.setenv("RECLAIM_TEST_SECRET", SECRET_APP["clientSecret"])
    for var in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(var, raising=False)
    spec = CredentialSpec(kind="secret", client_id=SECRET_APP["clientId"], secret_env="RECLAIM_TEST_SECRET")
    settings = ConnectionSettings(endpoints=Endpoints.under(url), tenant_id=TENANT, credential=spec,
                                  identity_retries=0)
    with pytest.raises(Unreachable) as caught:
        _exercise(settings)
    assert isinstance(caught.value, CannotConnect) and "--ca-bundle" in str(caught.value)
    assert not [c for c in emulator.calls if c.path.endswith("/token")]  # no secret ever left


def test_azure_cli_credential_without_az_is_authentication_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    provider = AzureIdentityTokens(build_credential(CredentialSpec(kind="azure-cli"), tenant_id=TENANT),
                                   description="azure-cli")
    with pytest.raises(AuthenticationFailed, match="azure-cli"):
        asyncio.run(provider.get_token("https://graph.microsoft.com/.default"))


def test_build_credential_types(capsys: pytest.CaptureFixture[str]) -> None:
    import azure.identity as ai

    assert isinstance(build_credential(CredentialSpec(kind="managed-identity"), tenant_id=TENANT),
                      ai.ManagedIdentityCredential)
    assert isinstance(build_credential(CredentialSpec(kind="device-code", client_id=CERT_APP_ID), tenant_id=TENANT),
                      ai.DeviceCodeCredential)
    from datetime import UTC, datetime

    from reclaim.m365.credentials import _device_code_prompt

    _device_code_prompt("https://microsoft.com/devicelogin", "ABCD-1234", datetime(2026, 11, 27, 8, 15, tzinfo=UTC))
    with pytest.raises(BadInput, match="needs a client id"):
        build_credential(CredentialSpec(kind="device-code"), tenant_id=TENANT)
    with pytest.raises(AuthenticationFailed, match="certificate file not found"):
        build_credential(CredentialSpec(kind="certificate", client_id=CERT_APP_ID, certificate_path="/nope.pem"),
                         tenant_id=TENANT)
    shown = capsys.readouterr()
    assert shown.out == "" and "ABCD-1234" in shown.err and "08:15" in shown.err  # stdout stays clean for --json


# ---------------------------------------------------------------------------------------------- secrets
def test_secret_sources_and_that_secrets_never_show(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = CredentialSpec(kind="secret", client_id=CERT_APP_ID, secret_env="RECLAIM_TEST_MISSING")
    monkeypatch.delenv("RECLAIM_TEST_MISSING", raising=False)
    with pytest.raises(AuthenticationFailed, match="RECLAIM_TEST_MISSING is not set"):
        spec.resolve_secret()
    inline = CredentialSpec(kind="secret", client_id=CERT_APP_ID, secret_value="hunter2")
    assert "hunter2" not in repr(inline) and "<hidden>" in repr(inline)
    token = AccessToken("eyJhbGciOi.secret.token", 0)
    assert "secret" not in repr(token)


def test_keyring_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("keyring")
    errors = types.ModuleType("keyring.errors")

    class KeyringError(Exception):
        pass

    errors.KeyringError = KeyringError  # type: ignore[attr-defined]
    store = {("reclaim", CERT_APP_ID): "from-the-keyring"}
    fake.get_password = lambda service, user: store.get((service, user))  # type: ignore[attr-defined]
    fake.errors = errors  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "keyring", fake)
    monkeypatch.setitem(sys.modules, "keyring.errors", errors)
    assert CredentialSpec(kind="secret", client_id=CERT_APP_ID, secret_keyring=True).resolve_secret() == \
        "from-the-keyring"
    with pytest.raises(AuthenticationFailed, match="no secret in the OS keyring"):
        CredentialSpec(kind="secret", client_id="someone-else", secret_keyring=True).resolve_secret()


def test_keyring_not_installed_says_how_to_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "keyring", None)
    with pytest.raises(AuthenticationFailed, match=r"reclaim\[keyring\]"):
        CredentialSpec(kind="secret", client_id=CERT_APP_ID, secret_keyring=True).resolve_secret()


# ---------------------------------------------------------------------------------------------- endpoints
@pytest.mark.parametrize("url", ["http://10.0.0.5:8000", "http://emulator.example.com", "ftp://127.0.0.1"])
def test_plain_http_is_refused_except_on_loopback(url: str) -> None:
    with pytest.raises(BadInput):
        Endpoints.under(url)


def test_loopback_and_microsoft_endpoints() -> None:
    e = Endpoints.under("http://127.0.0.1:8123/")
    assert (e.authority, e.graph, e.exchange) == ("http://127.0.0.1:8123", "http://127.0.0.1:8123/v1.0",
                                                  "http://127.0.0.1:8123")
    m = Endpoints.microsoft()
    assert m.token_url(TENANT) == f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"
    assert (m.graph, m.exchange) == ("https://graph.microsoft.com/v1.0", "https://outlook.office365.com")


def test_a_plain_http_endpoint_takes_only_a_client_secret() -> None:
    spec = CredentialSpec(kind="certificate", client_id=CERT_APP_ID, certificate_path="/x.pem")
    with pytest.raises(BadInput, match="needs an https:// endpoint"):
        Connection.open(ConnectionSettings(endpoints=Endpoints.under("http://127.0.0.1:9"), credential=spec))


# ---------------------------------------------------------------------------------------------- caching
def test_tokens_are_cached_refreshed_before_expiry_and_fetched_once_under_concurrency(
        serve: Callable[..., TenantClient]) -> None:
    c = serve({"tenant": {"id": TENANT, "domains": ["contoso.com"]}})
    now = [1_000_000.0]

    @run
    async def main() -> list[int]:
        async with httpx.AsyncClient() as http:
            provider = ClientCredentialsTokens(
                http, token_url=f"{c.base_url}/{TENANT}/oauth2/v2.0/token", client_id=c.app["clientId"],
                client_secret=c.app["clientSecret"], clock=lambda: now[0])
            scope = "https://graph.microsoft.com/.default"
            seen = []
            tokens = await asyncio.gather(*(provider.get_token(scope) for _ in range(10)))
            assert len({t.token for t in tokens}) == 1
            seen.append(provider.fetches)
            now[0] += 3000  # 599 s left of 3599: still more than the 300 s margin
            await provider.get_token(scope)
            seen.append(provider.fetches)
            now[0] += 400  # 199 s left: refreshed before it expires
            fresh = await provider.get_token(scope)
            seen.append(provider.fetches)
            assert fresh.expires_on == now[0] + 3599
            await provider.get_token(scope, refresh=True)  # after a 401
            seen.append(provider.fetches)
            return seen

    assert main() == [1, 1, 2, 3]
    assert len(calls(c, "POST", "/oauth2/v2.0/token")) == 3


def test_token_endpoint_refusals_are_clear(serve: Callable[..., TenantClient]) -> None:
    c = serve({"tenant": {"id": TENANT, "domains": ["contoso.com"]}})

    async def fetch(client_id: str, secret: str, tenant: str = TENANT) -> Any:
        async with httpx.AsyncClient() as http:
            provider = ClientCredentialsTokens(http, token_url=f"{c.base_url}/{tenant}/oauth2/v2.0/token",
                                               client_id=client_id, client_secret=secret)
            return await provider.get_token("https://graph.microsoft.com/.default")

    with pytest.raises(AuthenticationFailed) as unknown_app:
        asyncio.run(fetch("99999999-0000-0000-0000-000000000000", "x"))
    assert unknown_app.value.code == "AADSTS700016" and "client id is not registered" in str(unknown_app.value)
    with pytest.raises(AuthenticationFailed) as unknown_tenant:
        asyncio.run(fetch(c.app["clientId"], c.app["clientSecret"], tenant="nosuch.example"))
    assert unknown_tenant.value.code == "AADSTS90002"
