"""The emulated Entra token endpoint and access-token checks.

Tokens are JWTs signed by the emulator (HS256, a key per emulator instance) with the claims a real
app-only token carries: ``aud``, ``tid``, ``appid``, ``roles`` (application permissions) and ``wids``
(directory role template ids). The resource a token is for follows from the requested scope, as with
Entra: ``https://graph.microsoft.com/.default`` or ``https://outlook.office365.com/.default``.
"""

from __future__ import annotations

import re
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

GRAPH_AUDIENCE = "https://graph.microsoft.com"
EXCHANGE_AUDIENCE = "https://outlook.office365.com"

#: Entra built-in directory role names → role template ids (as carried in the ``wids`` claim).
ROLE_TEMPLATE_IDS: dict[str, str] = {
    "Global Administrator": "62e90394-69f5-4237-9190-012177145e10",
    "Exchange Administrator": "29232cdf-9323-42fd-ade2-1d097af3e4de",
    "User Administrator": "fe930be7-5e62-47db-91af-98c3a49a38b1",
    "Privileged Authentication Administrator": "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
    "Authentication Administrator": "c4e39bd9-1100-46d3-8c65-fb160da0071f",
    "Global Reader": "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
    "Security Reader": "5d6b6bb7-de71-4623-b4af-96380a352509",
    "Security Administrator": "194ae4cb-b126-40b2-bd5b-6091b380977d",
    "Security Operator": "5f2222b1-57c3-48ba-8ad5-d4759f1fde6f",
}
ROLE_NAMES: dict[str, str] = {v: k for k, v in ROLE_TEMPLATE_IDS.items()}


@dataclass(frozen=True)
class TokenClaims:
    app_id: str
    tenant_id: str
    audience: str
    permissions: frozenset[str]
    roles: frozenset[str]  # directory role names
    expires_at: float
    #: how the app proved itself (the ``appidacr`` claim): "1" client secret, "2" certificate
    app_credential: str = "1"

    def has_any(self, permissions: tuple[str, ...]) -> bool:
        return not permissions or any(p in self.permissions for p in permissions)

    def has_role(self, *names: str) -> bool:
        return "Global Administrator" in self.roles or any(n in self.roles for n in names)


class TokenError(Exception):
    """A token that cannot be used: ``code`` is the Graph error code to answer with."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class AadError(Exception):
    """An error of the token endpoint, in the shape Entra returns (``error``, ``error_description``)."""

    def __init__(self, status: int, error: str, aadsts: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.aadsts = aadsts
        self.description = description

    def body(self) -> dict[str, Any]:
        trace = str(uuid.uuid4())
        return {
            "error": self.error,
            "error_description": f"AADSTS{self.aadsts}: {self.description} Trace ID: {trace}",
            "error_codes": [self.aadsts],
            "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
            "trace_id": trace,
            "correlation_id": str(uuid.uuid4()),
        }


class TokenIssuer:
    """Issues and checks the emulator's access tokens."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        #: (token, audience) -> verified claims: the signature is checked once per token, expiry every time.
        self._verified: dict[tuple[str, str], TokenClaims] = {}

    def issue(self, *, app: dict[str, Any], tenant_id: str, audience: str, now: float,
              lifetime: int, certificate: bool = False) -> str:
        app_permissions = [str(p) for p in app.get("permissions", [])]
        if is_sharepoint_audience(audience):
            # SharePoint's own application permissions (API "Office 365 SharePoint Online"), not Graph's
            permissions = [str(p) for p in app.get("sharepointPermissions", [])]
        elif audience == EXCHANGE_AUDIENCE:
            permissions = [p for p in app_permissions if p == "Exchange.ManageAsApp"]
        else:
            permissions = [p for p in app_permissions if p != "Exchange.ManageAsApp"]
        wids = [ROLE_TEMPLATE_IDS[r] for r in app.get("roles", []) if r in ROLE_TEMPLATE_IDS]
        claims = {
            "aud": audience,
            "iss": f"https://sts.windows.net/{tenant_id}/",
            "iat": int(now),
            "nbf": int(now),
            "exp": int(now + lifetime),
            "appid": app["clientId"],
            "azp": app["clientId"],
            "tid": tenant_id,
            "roles": permissions,
            "wids": wids,
            "idtyp": "app",
            "appidacr": "2" if certificate else "1",
            "ver": "1.0",
            "uti": secrets.token_urlsafe(16),
        }
        return jwt.encode(claims, self._key, algorithm="HS256")

    def check(self, authorization: str | None, *, audience: str, now: float) -> TokenClaims:
        if not authorization:
            raise TokenError("InvalidAuthenticationToken", "Access token is empty.")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise TokenError("InvalidAuthenticationToken", "Access token validation failure.")
        verified = self._verified.get((token, audience))
        if verified is None:
            verified = self._verify(token, audience)
            if len(self._verified) >= 4096:
                self._verified.clear()
            self._verified[(token, audience)] = verified
        if verified.expires_at <= now:
            raise TokenError("InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
        return verified

    def _verify(self, token: str, audience: str) -> TokenClaims:
        try:
            claims = jwt.decode(token, self._key, algorithms=["HS256"], audience=audience,
                                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False})
        except jwt.InvalidAudienceError:
            raise TokenError("InvalidAuthenticationToken",
                             "Access token validation failure. Invalid audience.") from None
        except jwt.PyJWTError:
            raise TokenError("InvalidAuthenticationToken",
                             "Access token validation failure. Invalid signature.") from None
        return TokenClaims(
            app_id=str(claims["appid"]),
            tenant_id=str(claims["tid"]),
            audience=audience,
            permissions=frozenset(claims.get("roles", [])),
            roles=frozenset(ROLE_NAMES[w] for w in claims.get("wids", []) if w in ROLE_NAMES),
            expires_at=float(claims["exp"]),
            app_credential=str(claims.get("appidacr", "1")),
        )


def is_sharepoint_audience(audience: str) -> bool:
    """``https://{tenant}.sharepoint.com`` or ``https://{tenant}-my.sharepoint.com`` (the resource is the host)."""
    match = re.fullmatch(r"https://[a-z0-9-]+\.sharepoint\.com", audience.lower())
    return match is not None


def scope_audience(scope: str) -> str:
    """``https://graph.microsoft.com/.default`` → the audience; anything else is refused as Entra does."""
    for s in scope.split():
        base = s.removesuffix("/.default")
        if base.rstrip("/") in (GRAPH_AUDIENCE, "https://graph.microsoft.com"):
            return GRAPH_AUDIENCE
        if base.rstrip("/") in (EXCHANGE_AUDIENCE, "https://outlook.office.com", "https://outlook.office365.com"):
            return EXCHANGE_AUDIENCE
        if is_sharepoint_audience(base.rstrip("/")):
            return base.rstrip("/").lower()
    raise AadError(400, "invalid_scope", 1002012,
                   f"The provided value for scope {scope} is not valid. Client credential flows must have a "
                   "scope value with /.default suffixed to the resource identifier (application ID URI).")
