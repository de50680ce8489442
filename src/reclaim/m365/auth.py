"""Access tokens for Graph and the Exchange admin API.

``TokenProvider`` is the seam: the Graph and Exchange clients only ever ``await get_token(scope)``.
Two implementations:

- ``AzureIdentityTokens`` wraps an azure-identity credential, the way Azure admins expect:
  certificate (PEM or PFX), client secret (from an env var or the OS keyring), managed identity,
  device code, Azure CLI (see ``build_credential``). The synchronous azure-identity credentials are
  used, each call in a worker thread: they cover every credential type (``azure.identity.aio`` has
  no device-code credential and its default transport needs aiohttp), and tokens are fetched about
  once an hour per scope, so the thread hop costs nothing measurable.
- ``ClientCredentialsTokens``: client-credentials grant (secret) over the shared httpx client. MSAL
  refuses plain-HTTP authorities, so this is what talks to the practice tenant on
  ``http://127.0.0.1``; it is never used for a Microsoft endpoint.

Both cache one token per scope, refresh it ``refresh_margin`` seconds before it expires, and refresh
on demand (``refresh=True``) when the service answered 401 to a token we thought valid.

Lifetimes are clamped: a token said to live less than ``MIN_TOKEN_LIFETIME`` (``expires_in: 0``, a clock
skew) is still reused that long instead of fetched again for every request (a 401 refreshes it anyway), one
said to live more than ``MAX_TOKEN_LIFETIME`` is refreshed after that; a lifetime that is not a number
(``expires_in: "soon"``), negative or infinite is ``AuthenticationFailed`` (exit 3), not a crash.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import httpx
import jwt

from reclaim.m365.errors import AuthenticationFailed, Unreachable
from reclaim.m365.limits import Limits
from reclaim.text import remember_secret

__all__ = [
    "EXCHANGE_SCOPE",
    "GRAPH_SCOPE",
    "AccessToken",
    "AzureIdentityTokens",
    "ClientCredentialsTokens",
    "TokenProvider",
    "granted_permissions",
    "token_claims",
]

log = logging.getLogger("reclaim.m365.auth")

#: a token is reused at least this long (seconds), whatever lifetime it came with
MIN_TOKEN_LIFETIME = 60.0
#: and refreshed after at most this long (Entra issues 60-90 minute tokens)
MAX_TOKEN_LIFETIME = 24 * 3600.0
#: the largest token answer read (Entra's are a few kB)
TOKEN_BODY_CAP = 1024 * 1024

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
EXCHANGE_SCOPE = "https://outlook.office365.com/.default"


@dataclass(frozen=True)
class AccessToken:
    token: str
    #: seconds since the epoch (``time.time()`` clock)
    expires_on: float

    def __repr__(self) -> str:  # never print the token itself
        return f"AccessToken(token=<{len(self.token)} chars>, expires_on={self.expires_on:.0f})"

    def claims(self) -> dict[str, Any]:
        return token_claims(self.token)


def token_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT access token, unverified (for reading ``tid``, ``roles``, ``scp``, ``wids``).

    Only for information shown to the operator: authorisation is the service's job. An opaque token
    (not a JWT) gives ``{}``.
    """
    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims


def granted_permissions(token: AccessToken) -> frozenset[str]:
    """Application permissions (``roles``) and delegated scopes (``scp``) a token carries."""
    claims = token.claims()
    roles = claims.get("roles") or []
    scopes = str(claims.get("scp") or "").split()
    return frozenset([*(str(r) for r in roles if isinstance(roles, list)), *scopes])


@runtime_checkable
class TokenProvider(Protocol):
    async def get_token(self, scope: str, *, refresh: bool = False) -> AccessToken:
        """A valid token for ``scope``; ``refresh=True`` bypasses the cache (after a 401)."""
        ...

    async def close(self) -> None: ...


class _CachingProvider:
    """Per-scope token cache with refresh before expiry; one fetch at a time per scope."""

    def __init__(self, *, refresh_margin: float = 300.0, clock: Callable[[], float] = time.time) -> None:
        self.refresh_margin = refresh_margin
        self._clock = clock
        self._cache: dict[str, AccessToken] = {}
        self._obtained: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        #: number of tokens fetched from the identity platform (tests and diagnostics)
        self.fetches = 0

    async def get_token(self, scope: str, *, refresh: bool = False) -> AccessToken:
        lock = self._locks.setdefault(scope, asyncio.Lock())
        stale = self._cache.get(scope) if refresh else None
        async with lock:
            cached = self._cache.get(scope)
            # Another task may have refreshed while we waited for the lock: use its token.
            if cached is not None and cached is not stale and self._fresh(scope, cached):
                return cached
            obtained = self._clock()
            token = _clamped(await self._fetch(scope), obtained)
            remember_secret(token.token)  # scrubbed from any answer that echoes it
            self.fetches += 1
            self._cache[scope] = token
            self._obtained[scope] = obtained
            return token

    def _fresh(self, scope: str, token: AccessToken) -> bool:
        """Usable for a while yet: refresh ``refresh_margin`` before expiry, or at 80 % of a short lifetime."""
        lifetime = token.expires_on - self._obtained.get(scope, token.expires_on)
        margin = min(self.refresh_margin, 0.2 * lifetime)
        return token.expires_on - self._clock() > margin

    async def _fetch(self, scope: str) -> AccessToken:
        raise NotImplementedError

    async def close(self) -> None:
        self._cache.clear()


class ClientCredentialsTokens(_CachingProvider):
    """OAuth 2.0 client-credentials grant with a client secret, over httpx (the practice tenant). ``assertion``:
    instead of the secret, a signed client assertion (JWT) made fresh for each token request (a certificate)."""

    def __init__(self, http: httpx.AsyncClient, *, token_url: str, client_id: str, client_secret: str,
                 refresh_margin: float = 300.0, clock: Callable[[], float] = time.time,
                 limits: Limits | None = None, assertion: Callable[[], str] | None = None) -> None:
        super().__init__(refresh_margin=refresh_margin, clock=clock)
        self._http = http
        self.limits = limits or Limits()
        self.token_url = token_url
        self.client_id = client_id
        self._secret = client_secret
        self._assertion = assertion
        remember_secret(client_secret)

    def __repr__(self) -> str:
        return f"ClientCredentialsTokens(token_url={self.token_url!r}, client_id={self.client_id!r})"

    async def _fetch(self, scope: str) -> AccessToken:
        form = {"grant_type": "client_credentials", "client_id": self.client_id, "scope": scope}
        if self._assertion is not None:
            form.update(client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                        client_assertion=self._assertion())
        else:
            form["client_secret"] = self._secret
        last: Exception | None = None
        for attempt in range(3):
            try:
                response = await self._post(form)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                raise Unreachable(f"cannot reach the token endpoint: {type(exc).__name__}",
                                  method="POST", url=self.token_url,
                                  hint="check the endpoint URL and the network") from None
            except httpx.TransportError as exc:
                last = exc
                await asyncio.sleep(0.05 * (attempt + 1))
                continue
            if response.status_code >= 500 or response.status_code == 429:
                last = None
                await asyncio.sleep(0.05 * (attempt + 1))
                continue
            return _parse_token_response(response, self._clock, self.token_url)
        raise AuthenticationFailed(
            "the token endpoint did not answer" + (f" ({type(last).__name__})" if last else ""),
            method="POST", url=self.token_url, hint="retry later")

    async def _post(self, form: dict[str, str]) -> httpx.Response:
        """The token request, bounded like every other (``Limits``): a deadline for the whole answer, and a cap on
        its size (a token answer is a few kB); past either, no token: ``AuthenticationFailed``."""
        cap = min(self.limits.max_body_bytes, TOKEN_BODY_CAP)
        request = self._http.build_request("POST", self.token_url, data=form, headers={"Accept": "application/json"})
        try:
            async with asyncio.timeout(self.limits.request_deadline):
                response = await self._http.send(request, stream=True)
                try:
                    chunks: list[bytes] = []
                    size = 0
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > cap:
                            raise AuthenticationFailed(
                                f"the token endpoint's answer exceeded {cap:,} bytes", method="POST",
                                url=self.token_url, hint="the endpoint is not behaving like Microsoft Entra ID")
                        chunks.append(chunk)
                finally:
                    await response.aclose()
        except TimeoutError:
            raise AuthenticationFailed(
                f"the token endpoint did not answer within the request deadline of {self.limits.request_deadline:g} s",
                method="POST", url=self.token_url,
                hint="check the endpoint and the network (RECLAIM_REQUEST_DEADLINE sets the deadline)") from None
        return httpx.Response(response.status_code, headers=[(k, v) for k, v in response.headers.multi_items()
                                                             if k.lower() not in ("content-encoding", "content-length",
                                                                                  "transfer-encoding")],
                              content=b"".join(chunks), request=request)

    async def close(self) -> None:
        await super().close()


def _parse_token_response(response: httpx.Response, clock: Callable[[], float], url: str) -> AccessToken:
    try:
        body = response.json()
    except (ValueError, RecursionError):
        body = {}
    if response.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
        error = str(body.get("error", "")) if isinstance(body, dict) else ""
        codes = body.get("error_codes") if isinstance(body, dict) else None
        aadsts = f"AADSTS{codes[0]}" if isinstance(codes, list) and codes else None
        raise AuthenticationFailed(
            f"the identity platform refused the app's credentials ({error or 'no token'})",
            status=response.status_code, code=aadsts or error or None, method="POST", url=url,
            request_id=(str(body.get("correlation_id")) if isinstance(body, dict) and body.get("correlation_id")
                        else None),
            hint=_aad_hint(error, aadsts))
    expires_in = _seconds(body.get("expires_in", 3599), what="expires_in", url=url)
    return AccessToken(str(body["access_token"]), clock() + expires_in)


def _seconds(raw: Any, *, what: str, url: str | None = None) -> float:
    """A token lifetime (``expires_in``, a number or a numeric string as the v1 endpoint sends it) or expiry
    (``expires_on``); anything else, a negative or an infinite value, is ``AuthenticationFailed``."""
    value: float | None = None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        value = float(raw)
    elif isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            value = None
    if value is None or not math.isfinite(value) or value < 0:
        shown = repr(raw)[:40]
        raise AuthenticationFailed(f"the identity platform issued a token with a nonsensical {what} ({shown})",
                                   method="POST" if url else None, url=url,
                                   hint="the token endpoint is not behaving like Microsoft Entra ID: check the "
                                        "endpoint (--endpoint / the tenant's authority), then retry")
    return value


def _clamped(token: AccessToken, obtained: float) -> AccessToken:
    """``token`` with its lifetime within [``MIN_TOKEN_LIFETIME``, ``MAX_TOKEN_LIFETIME``] from ``obtained``."""
    lifetime = token.expires_on - obtained
    if MIN_TOKEN_LIFETIME <= lifetime <= MAX_TOKEN_LIFETIME:
        return token
    kept = min(max(lifetime, MIN_TOKEN_LIFETIME), MAX_TOKEN_LIFETIME)
    log.info("a token said to live %.0f s is used for %.0f s", lifetime, kept)
    return AccessToken(token.token, obtained + kept)


def _aad_hint(error: str, aadsts: str | None) -> str:
    known = {
        "AADSTS7000215": "the client secret is wrong or expired: create a new one and update the secret source",
        "AADSTS700016": "the client id is not registered in this tenant: check --client-id and --tenant-id",
        "AADSTS90002": "the tenant id or domain does not exist: check --tenant-id",
        "AADSTS700027": "the certificate is not registered on the app registration (or its key does not match)",
        "AADSTS7000222": "the client secret has expired: create a new one",
    }
    if aadsts in known:
        return known[aadsts]
    if error == "invalid_scope":
        return "the scope is not valid for the client-credentials flow"
    return "check the tenant id, client id and credential with `reclaim tenant check`"


class AzureIdentityTokens(_CachingProvider):
    """A ``TokenProvider`` over an azure-identity credential (sync or ``aio``).

    Sync credentials run in a worker thread, so a device-code prompt or a managed-identity probe
    never blocks the event loop.
    """

    def __init__(self, credential: Any, *, tenant_id: str | None = None, refresh_margin: float = 300.0,
                 clock: Callable[[], float] = time.time, description: str = "azure-identity credential") -> None:
        super().__init__(refresh_margin=refresh_margin, clock=clock)
        self.credential = credential
        self.tenant_id = tenant_id
        self.description = description

    def __repr__(self) -> str:
        return f"AzureIdentityTokens({type(self.credential).__name__})"

    async def _fetch(self, scope: str) -> AccessToken:
        from azure.core.exceptions import AzureError, ClientAuthenticationError, ServiceRequestError

        try:
            get = self.credential.get_token
            if asyncio.iscoroutinefunction(get):
                result = await get(scope)
            else:
                result = await asyncio.to_thread(get, scope)
        except ClientAuthenticationError as exc:
            if "CERTIFICATE_VERIFY_FAILED" in str(exc.message):
                # MSAL wraps TLS failures in an authentication error with no type or code to tell them apart.
                raise Unreachable(f"{self.description}: the identity platform's TLS certificate could not be "
                                  "verified", hint="behind a TLS-inspecting proxy? give its CA with --ca-bundle "
                                                   "(`reclaim tenant add`)") from None
            raise AuthenticationFailed(f"{self.description}: {_first_line(exc.message)}",
                                       hint="check the tenant id, client id and credential; "
                                            "`reclaim tenant check` tells more") from None
        except ServiceRequestError as exc:
            raise Unreachable(f"{self.description}: cannot reach the identity platform "
                              f"({_first_line(str(exc.message))})", hint="check the network and proxy") from None
        except AzureError as exc:
            raise AuthenticationFailed(f"{self.description}: {_first_line(str(exc.message))}") from None
        return AccessToken(str(result.token), _seconds(getattr(result, "expires_on", None), what="expires_on"))

    async def close(self) -> None:
        await super().close()
        closer = getattr(self.credential, "close", None)
        if closer is not None:
            outcome = closer()
            if asyncio.iscoroutine(outcome):
                await outcome


def _first_line(text: str | None) -> str:
    stripped = (text or "").strip()
    return stripped.splitlines()[0][:300] if stripped else "authentication failed"
