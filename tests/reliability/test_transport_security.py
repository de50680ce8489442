"""Where tokens may go: the emulator binds and answers its control plane on loopback only; reclaim refuses plain
HTTP to anything but loopback; TLS verification is never turned off for Microsoft's endpoints (asserted on the
clients reclaim builds, and on the source)."""

from __future__ import annotations

import asyncio
import re
import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest

from reclaim.config import TenantEntry
from reclaim.emulator import Emulator
from reclaim.emulator.server import check_loopback, make_server
from reclaim.errors import BadInput
from reclaim.m365 import Connection, ConnectionSettings
from reclaim.m365.connection import Endpoints
from reclaim.m365.credentials import CredentialSpec

SRC = Path(__file__).resolve().parents[2] / "src" / "reclaim"


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1", "10.0.0.1", "2001:db8::1", "example.com",
                                  "127.0.0.1.nip.io", "localhost.evil.example", ""])
def test_the_emulator_refuses_non_loopback_binds(host: str) -> None:
    with pytest.raises(BadInput):
        check_loopback(host)
    with pytest.raises(BadInput):
        make_server(Emulator({}), host, 8123)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "localhost"])
def test_loopback_binds_are_allowed(host: str) -> None:
    check_loopback(host)


@pytest.mark.parametrize("path", ["/_emulator/state", "/_emulator/calls", "/_emulator/faults", "/_emulator/clock"])
def test_the_control_plane_answers_loopback_only(path: str) -> None:
    emulator = Emulator({})

    async def get(client: tuple[str, int]) -> int:
        transport = httpx.ASGITransport(app=emulator.app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as http:
            return (await http.get(path)).status_code

    assert asyncio.run(get(("203.0.113.9", 50000))) == 403
    assert asyncio.run(get(("10.1.2.3", 50000))) == 403
    assert asyncio.run(get(("127.0.0.1", 50000))) == 200


@pytest.mark.parametrize("url", ["http://10.0.0.1:8123", "http://203.0.113.7", "http://emulator.internal:80",
                                 "http://127.0.0.1.nip.io:8123", "http://localhost.evil.example",
                                 "http://[2001:db8::1]:8123", "http://0.0.0.0:8123", "ftp://127.0.0.1/",
                                 "file:///etc/passwd", "127.0.0.1:8123"])
def test_plain_http_or_other_schemes_to_non_loopback_are_refused(url: str) -> None:
    with pytest.raises(BadInput):
        Endpoints.under(url)
    with pytest.raises(BadInput):
        ConnectionSettings.for_endpoint(url)
    with pytest.raises(BadInput):
        TenantEntry(name="x", tenant_id="contoso.com", auth="secret", client_id="11111111-2222-3333-4444-555555555555",
                    secret_env="X", endpoint=url)


def _ssl_context(conn: Connection) -> ssl.SSLContext:
    pool: Any = conn.http._transport._pool  # type: ignore[attr-defined]
    context = pool._ssl_context
    assert isinstance(context, ssl.SSLContext)
    return context


@pytest.mark.parametrize("with_ca_bundle", [False, True])
def test_tls_is_verified_for_microsoft_endpoints(with_ca_bundle: bool, tmp_path: Path) -> None:
    bundle = None
    if with_ca_bundle:  # a CA bundle replaces the trust store; verification stays on
        bundle = str(tmp_path / "ca.pem")
        Path(bundle).write_text(_any_ca())
    settings = ConnectionSettings(tenant_id="contoso.com", ca_bundle=bundle, credential=CredentialSpec(
        kind="secret", client_id="11111111-2222-3333-4444-555555555555", secret_value="not-a-real-secret"))
    assert settings.endpoints == Endpoints.microsoft()
    assert all(u.startswith("https://") for u in (settings.endpoints.authority, settings.endpoints.graph,
                                                   settings.endpoints.exchange))

    async def build() -> tuple[int, bool, str]:
        conn = Connection.open(settings)
        try:
            ctx = _ssl_context(conn)
            return ctx.verify_mode, ctx.check_hostname, type(conn.tokens).__name__
        finally:
            await conn.aclose()

    verify_mode, check_hostname, tokens = asyncio.run(build())
    assert verify_mode == ssl.CERT_REQUIRED and check_hostname
    assert tokens == "AzureIdentityTokens"  # MSAL, which refuses a non-https authority


def _any_ca() -> str:
    """A CA certificate in PEM (the first of the system store's, or certifi's through httpx)."""
    import certifi

    text = Path(certifi.where()).read_text()
    end = text.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")
    return text[text.index("-----BEGIN CERTIFICATE-----"):end] + "\n"


_NO_VERIFY = re.compile(r"verify\s*=\s*False|CERT_NONE|check_hostname\s*=\s*False|connection_verify\s*=\s*False|"
                        r"_create_unverified_context|PYTHONHTTPSVERIFY")


#: the case store's own ``get_evidence(..., verify=False)`` skips its SHA-256 re-check (the caller re-checks and
#: reports it); it has nothing to do with TLS
_STORE_HASH_CHECK = re.compile(r"\bget_evidence\(")


def test_no_code_path_turns_tls_verification_off() -> None:
    offenders = [f"{p.relative_to(SRC)}:{n}" for p in SRC.rglob("*.py")
                 for n, line in enumerate(p.read_text().splitlines(), 1)
                 if _NO_VERIFY.search(line) and not _STORE_HASH_CHECK.search(line)]
    assert not offenders, offenders
