"""SharePoint REST over HTTP: ``/personal/{site}/_api/{path}`` (a user's OneDrive site).

Under one base URL the emulator serves what lives at ``https://{tenant}-my.sharepoint.com/personal/{site}``.
Before an operation (``sharepoint_rest``) runs, SharePoint's front door is answered here: the call log, an
injected fault, and the bearer token. The token must be for the site's host (audience
``https://{tenant}-my.sharepoint.com``, else 401 "Invalid audience Uri"), and an app-only token must come
from a certificate: SharePoint refuses app-only tokens got with a client secret (401 "Unsupported app only
token.", the ``appidacr`` claim is "1"), as documented for Azure AD app-only access to SharePoint.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reclaim.emulator import sharepoint_rest
from reclaim.emulator.auth import TokenClaims, TokenError
from reclaim.emulator.clock import iso
from reclaim.emulator.http_common import Host, draw_fault, fault_response, fmt_seconds, json_body, latency

JSON = dict[str, Any]

#: SharePoint Online's first-party application id (what its 401 challenge names)
_SHAREPOINT_APP = "00000003-0000-0ff1-ce00-000000000000"


def _unauthorized(rid: str, reason: str) -> Response:
    return JSONResponse({"error_description": reason}, status_code=401,
                        headers={"WWW-Authenticate": f'Bearer realm="", client_id="{_SHAREPOINT_APP}"',
                                 "x-ms-diagnostics": f'3000003;reason="{reason}";category="invalid_client"',
                                 "request-id": rid, "SPRequestGuid": rid})


def routes(host: Host) -> list[Route]:
    async def one(request: Request) -> Response:
        body, bad = await json_body(request)
        record = host.log.record(request, body if bad is None else bad)
        return host.log.answered(record, await _answer(host, request, record))

    return [Route("/personal/{site}/_api/{path:path}", one, methods=["GET", "POST"])]


async def _answer(host: Host, request: Request, record: Any) -> Response:
    fault = await draw_fault(host, record)
    await latency(host)
    if fault is not None:
        return await fault_response(host, fault, request)
    rid = str(uuid.uuid4())
    found = sharepoint_rest.find_site(host.state, request.path_params["site"])
    if found is None:
        return JSONResponse(sharepoint_rest.SpError(
            404, "-2147024894, System.IO.FileNotFoundException", "File Not Found.").body(), status_code=404,
            headers={"request-id": rid})
    drive, owner = found
    try:
        claims = host.issuer.check(request.headers.get("authorization"), audience=sharepoint_rest.site_host(drive),
                                   now=host.clock.now().timestamp())
    except TokenError as exc:
        reason = "Invalid audience Uri." if "audience" in exc.message else exc.message
        return _unauthorized(rid, reason)
    if claims.app_credential != "2":
        return _unauthorized(rid, "Unsupported app only token.")
    # throttled as the rest of SharePoint Online (class ``sharepoint``: per app, throttle.py); 429 + Retry-After
    rejection = host.throttle.admit(kind="sharepoint", app_id=claims.app_id, write=request.method != "GET")
    if rejection is not None:
        headers = {**rejection.headers, "request-id": rid}
        if rejection.retry_after is not None:
            headers["Retry-After"] = fmt_seconds(rejection.retry_after)
        throttled = sharepoint_rest.SpError(429, "-2147024860, Microsoft.SharePoint.SPRequestThrottledException",
                                            "The request has been throttled.")
        return JSONResponse(throttled.body(), status_code=429, headers=headers)
    try:
        return _dispatch(host, request, claims, drive, owner, rid)
    finally:
        host.throttle.release(kind="sharepoint", app_id=claims.app_id)


def _dispatch(host: Host, request: Request, claims: TokenClaims, drive: JSON, owner: JSON, rid: str) -> Response:
    sp = sharepoint_rest.SpRequest(method=request.method, path=request.path_params["path"],
                                   query=dict(request.query_params), permissions=claims.permissions, drive=drive,
                                   owner=owner, state=host.state, now=iso(host.clock.now()))
    try:
        status, body = sharepoint_rest.dispatch(sp)
    except sharepoint_rest.SpError as exc:
        return JSONResponse(exc.body(), status_code=exc.status, headers={"request-id": rid})
    return JSONResponse(body, status_code=status, headers={"request-id": rid})
