"""Entra ID (the Microsoft identity platform): the v2.0 token endpoint and OIDC discovery.

Only the client-credentials grant is served (app-only, as reclaim connects): a client secret or a signed
client assertion (certificate). Errors carry AADSTS codes in Entra's body (``auth.AadError``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reclaim.emulator.assertion import verify_client_assertion
from reclaim.emulator.auth import AadError, TokenIssuer, scope_audience
from reclaim.emulator.http_common import Host, latency
from reclaim.emulator.state import TenantState

JSON = dict[str, Any]


def routes(host: Host) -> list[Route]:
    async def token(request: Request) -> Response:
        raw = (await request.body()).decode("utf-8", "replace")
        form = dict(parse_qsl(raw, keep_blank_values=True))
        record = host.log.record(request, host.log.logged_form(form))
        await latency(host)
        try:
            body = issue_token(host.state, host.issuer, request.path_params["tenant"], form, host.clock.now())
        except AadError as exc:
            return host.log.answered(record, JSONResponse(exc.body(), status_code=exc.status))
        return host.log.answered(record, JSONResponse(body, headers={"Cache-Control": "no-store",
                                                                     "Pragma": "no-cache"}))

    async def openid_configuration(request: Request) -> Response:
        return discovery(host.state, request.path_params["tenant"], str(request.base_url).rstrip("/"))

    return [
        Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
        Route("/{tenant}/v2.0/.well-known/openid-configuration", openid_configuration, methods=["GET"]),
    ]


def _known_tenant(st: TenantState, tenant: str) -> bool:
    return tenant.lower() in {st.tenant_id.lower(), *[d.lower() for d in st.domains], "organizations"}


def issue_token(st: TenantState, issuer: TokenIssuer, tenant: str, form: dict[str, str], now: datetime) -> JSON:
    """The token endpoint's answer to a client-credentials request, or ``AadError``."""
    if not _known_tenant(st, tenant):
        raise AadError(400, "invalid_request", 90002,
                       f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID.")
    if form.get("grant_type") != "client_credentials":
        raise AadError(400, "unsupported_grant_type", 70003,
                       "The app requested an unsupported grant type.")
    client_id = form.get("client_id", "")
    app = st.find_app(client_id)
    if app is None:
        raise AadError(400, "unauthorized_client", 700016,
                       f"Application with identifier '{client_id}' was not found in the directory "
                       f"'{st.data['tenant'].get('displayName', st.tenant_id)}'.")
    if "client_assertion" in form:
        verify_client_assertion(app, form, tenant_id=st.tenant_id, now=now.timestamp())
    elif "client_secret" in form:
        if app.get("clientSecret") is None or form["client_secret"] != app["clientSecret"]:
            raise AadError(401, "invalid_client", 7000215,
                           "Invalid client secret provided. Ensure the secret being sent in the request "
                           "is the client secret value, not the client secret ID.")
    else:
        raise AadError(401, "invalid_client", 7000216,
                       "'client_assertion', 'client_secret' or 'request' is required for the "
                       "'client_credentials' grant type.")
    audience = scope_audience(form.get("scope", ""))
    lifetime = int(st.settings.get("tokenLifetimeSeconds", 3599))
    token = issuer.issue(app=app, tenant_id=st.tenant_id, audience=audience, now=now.timestamp(), lifetime=lifetime,
                         certificate="client_assertion" in form)
    return {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token}


def discovery(st: TenantState, tenant: str, base: str) -> Response:
    """OIDC discovery, which MSAL (azure-identity) reads before it asks the token endpoint."""
    if not _known_tenant(st, tenant):
        exc = AadError(400, "invalid_tenant", 90002,
                       f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID.")
        return JSONResponse(exc.body(), status_code=exc.status)
    issuer_tenant = st.tenant_id if tenant.lower() != "organizations" else "{tenantid}"
    return JSONResponse({
        "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
        "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys",
        "issuer": f"{base}/{issuer_tenant}/v2.0",
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
    })
