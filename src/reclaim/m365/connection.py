"""A connection to one tenant: credential + one pooled ``httpx.AsyncClient`` + Graph and Exchange clients.

::

    async with Connection.open(ConnectionSettings.for_endpoint("http://127.0.0.1:8123")) as conn:
        me = await conn.graph.get("/users", {"$top": "1"})
        rules = await conn.exchange.get_inbox_rules("alice@contoso.com")

``Endpoints.microsoft()`` are the real services; ``Endpoints.under(base)`` puts the token endpoint,
Graph and the Exchange admin API under one base URL (the practice tenant, ``RECLAIM_ENDPOINT``).
Plain HTTP is refused except to a loopback address, and TLS verification is never turned off.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import httpx

from reclaim.errors import BadInput
from reclaim.m365._pipeline import Pipeline
from reclaim.m365.auth import (
    EXCHANGE_SCOPE,
    GRAPH_SCOPE,
    AccessToken,
    AzureIdentityTokens,
    ClientCredentialsTokens,
    TokenProvider,
)
from reclaim.m365.credentials import CredentialSpec, build_credential
from reclaim.m365.exchange import CmdletWarning, ExchangeClient
from reclaim.m365.graph import GraphClient
from reclaim.m365.limits import Limits
from reclaim.m365.sharepoint import SharePointClient
from reclaim.m365.throttle import AdaptiveLimit, MailboxSlots, RetryPolicy

__all__ = ["Connection", "ConnectionSettings", "Endpoints"]

#: The practice tenant's well-known app (``reclaim.emulator.state``); not a secret.
EMULATOR_CLIENT_ID = "00000000-0000-0000-0000-0000000c1a1m"
EMULATOR_CLIENT_SECRET = "emulator-secret"  # noqa: S105 - the practice tenant's published secret


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Endpoints:
    authority: str = "https://login.microsoftonline.com"
    graph: str = "https://graph.microsoft.com/v1.0"
    exchange: str = "https://outlook.office365.com"
    graph_scope: str = GRAPH_SCOPE
    exchange_scope: str = EXCHANGE_SCOPE
    #: SharePoint REST (OneDrive sites): ``None`` = each site's own host; set under one base URL (an emulator)
    sharepoint: str | None = None
    #: True when everything is under one base URL (an emulator): --endpoint / RECLAIM_ENDPOINT
    custom: bool = False

    @classmethod
    def microsoft(cls) -> Endpoints:
        return cls()

    @classmethod
    def under(cls, base_url: str) -> Endpoints:
        """Token endpoint, Graph and Exchange admin API all under ``base_url``."""
        base = base_url.strip().rstrip("/")
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise BadInput(f"endpoint {base_url!r} is not an http(s) URL", hint="e.g. http://127.0.0.1:8123")
        if parts.scheme == "http" and not is_loopback_url(base):
            raise BadInput(f"refusing plain HTTP to {parts.hostname}: tokens would cross the network unencrypted",
                           hint="use https://, or a loopback address for the practice tenant")
        return cls(authority=base, graph=f"{base}/v1.0", exchange=base, sharepoint=base, custom=True)

    def token_url(self, tenant: str) -> str:
        return f"{self.authority}/{tenant}/oauth2/v2.0/token"


@dataclass(frozen=True)
class ConnectionSettings:
    """Everything needed to open a connection; built from a config entry or an endpoint."""

    endpoints: Endpoints = field(default_factory=Endpoints)
    #: tenant id (GUID) or a verified domain; ``None``: ``organizations`` then the token's ``tid``
    tenant_id: str | None = None
    credential: CredentialSpec | None = None
    #: a display name (the config entry's name)
    name: str | None = None
    timeout: float = 60.0
    #: CA bundle (PEM) to verify TLS against instead of the default store (a TLS-inspecting proxy, an
    #: HTTPS emulator); verification itself is never turned off
    ca_bundle: str | None = None
    http2: bool = False
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    #: bounds on what the service may send (deadline, body size, items, pages): ``RECLAIM_*`` variables
    limits: Limits = field(default_factory=Limits.from_env)
    max_concurrency: int = 64
    initial_concurrency: int = 16
    per_mailbox: int = 4
    #: retries azure-identity makes itself when the identity platform does not answer
    identity_retries: int = 3

    @classmethod
    def for_endpoint(cls, base_url: str, *, client_id: str | None = None, client_secret: str | None = None,
                     tenant_id: str | None = None, **options: Any) -> ConnectionSettings:
        """The practice tenant (or any emulator) under ``base_url``; its well-known app by default."""
        spec = CredentialSpec(kind="secret", client_id=client_id or EMULATOR_CLIENT_ID,
                              secret_value=client_secret if client_secret is not None else
                              (EMULATOR_CLIENT_SECRET if client_id is None else None))
        return cls(endpoints=Endpoints.under(base_url), tenant_id=tenant_id, credential=spec, **options)

    def with_options(self, **changes: Any) -> ConnectionSettings:
        return replace(self, **changes)


class Connection:
    """One tenant: ``graph``, ``exchange`` and the ``tokens`` behind them, over one pooled HTTP client."""

    def __init__(self, *, http: httpx.AsyncClient, tokens: TokenProvider, settings: ConnectionSettings,
                 on_warning: Callable[[CmdletWarning], None] | None = None) -> None:
        self.settings = settings
        self.http = http
        self.tokens = tokens
        limit = AdaptiveLimit(min(settings.initial_concurrency, settings.max_concurrency),
                              maximum=settings.max_concurrency)
        self.pipeline = Pipeline(http, tokens, policy=settings.policy, limit=limit,
                                 mailboxes=MailboxSlots(settings.per_mailbox), limits=settings.limits)
        endpoints = settings.endpoints
        self.graph = GraphClient(self.pipeline, base_url=endpoints.graph, scope=endpoints.graph_scope)
        tenant = settings.tenant_id if _is_guid(settings.tenant_id) else None
        self.exchange = ExchangeClient(self.pipeline, base_url=endpoints.exchange, tenant_id=tenant,
                                       scope=endpoints.exchange_scope, on_warning=on_warning)
        self.sharepoint = SharePointClient(self.pipeline, base_url=endpoints.sharepoint)

    @classmethod
    def open(cls, settings: ConnectionSettings, *, transport: httpx.AsyncBaseTransport | None = None,
             tokens: TokenProvider | None = None,
             on_warning: Callable[[CmdletWarning], None] | None = None) -> Connection:
        """Build a connection (use it as ``async with``). ``transport`` and ``tokens`` are seams for tests."""
        # A CA bundle replaces the default trust store (as REQUESTS_CA_BUNDLE does for azure-identity).
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=settings.ca_bundle) \
            if settings.ca_bundle else True
        http = httpx.AsyncClient(
            transport=transport, timeout=httpx.Timeout(settings.timeout, connect=min(settings.timeout, 15.0)),
            verify=verify, http2=settings.http2, follow_redirects=False,
            limits=httpx.Limits(max_connections=settings.max_concurrency + 8,
                                max_keepalive_connections=settings.max_concurrency),
            headers={"User-Agent": _user_agent()})
        if tokens is None:
            tokens = _token_provider(settings, http)
        return cls(http=http, tokens=tokens, settings=settings, on_warning=on_warning)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        try:
            await self.tokens.close()
        finally:
            await self.http.aclose()

    async def graph_token(self) -> AccessToken:
        return await self.tokens.get_token(self.settings.endpoints.graph_scope)

    async def exchange_token(self) -> AccessToken:
        return await self.tokens.get_token(self.settings.endpoints.exchange_scope)

    async def tenant_id(self) -> str:
        """The tenant id: configured, or the ``tid`` of a Graph token."""
        if _is_guid(self.settings.tenant_id):
            return str(self.settings.tenant_id)
        tid = (await self.graph_token()).claims().get("tid")
        return str(tid) if tid else str(self.settings.tenant_id or "")


def _is_guid(value: str | None) -> bool:
    if not value:
        return False
    parts = value.split("-")
    return len(parts) == 5 and all(c in "0123456789abcdefABCDEF" for c in value.replace("-", ""))


def _user_agent() -> str:
    from reclaim import __version__

    return f"reclaim/{__version__} (+https://github.com/reclaim)"


def _token_provider(settings: ConnectionSettings, http: httpx.AsyncClient) -> TokenProvider:
    spec = settings.credential
    if spec is None:
        raise BadInput("no credential configured", hint="`reclaim tenant add` or set RECLAIM_ENDPOINT")
    tenant = settings.tenant_id or "organizations"
    endpoints = settings.endpoints
    plain_http = urlsplit(endpoints.authority).scheme == "http"
    if plain_http:
        # MSAL refuses non-HTTPS authorities; the loopback practice tenant gets the small httpx flow.
        if spec.kind != "secret":
            raise BadInput(f"a {spec.kind} credential needs an https:// endpoint",
                           hint="plain-HTTP (loopback emulator) endpoints support client secrets only")
        return ClientCredentialsTokens(http, token_url=endpoints.token_url(tenant), client_id=spec.client_id or "",
                                       client_secret=spec.resolve_secret(), limits=settings.limits)
    credential = build_credential(spec, tenant_id=tenant,
                                  authority=endpoints.authority if endpoints.custom else None,
                                  ca_bundle=settings.ca_bundle, retries=settings.identity_retries)
    return AzureIdentityTokens(credential, tenant_id=tenant, description=spec.describe())
