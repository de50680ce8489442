"""The Exchange admin API over HTTP: ``POST /adminapi/beta/{tenant}/InvokeCommand``.

The call log, an injected fault and the bearer token (audience ``https://outlook.office365.com``) are
answered here; ``exchange.invoke`` does the rest (tenant, role, cmdlet, parameters, paging).
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reclaim.emulator import exchange
from reclaim.emulator.auth import EXCHANGE_AUDIENCE, TokenError
from reclaim.emulator.calllog import CallRecord
from reclaim.emulator.http_common import (
    Host,
    draw_fault,
    fault_response,
    json_body,
    json_response,
    latency,
    to_starlette,
)
from reclaim.emulator.wire import ApiRequest


def routes(host: Host) -> list[Route]:
    async def invoke_command(request: Request) -> Response:
        body, bad = await json_body(request)
        record = host.log.record(request, body if bad is None else bad)
        return host.log.answered(record, await _answer(host, request, record, body, bad))

    return [Route("/adminapi/beta/{tenant}/InvokeCommand", invoke_command, methods=["POST"])]


async def _answer(host: Host, request: Request, record: CallRecord, body: Any, bad: str | None) -> Response:
    fault = await draw_fault(host, record)
    if fault is not None:
        await latency(host)
        return await fault_response(host, fault, request)
    rid = str(uuid.uuid4())
    try:
        claims = host.issuer.check(request.headers.get("authorization"), audience=EXCHANGE_AUDIENCE,
                                   now=host.clock.now().timestamp())
    except TokenError as exc:
        await latency(host)
        return json_response(401, exchange.error_body(exc.code, exc.message, rid), {"request-id": rid})
    tenant = request.path_params["tenant"]
    base = str(request.url.replace(query="")).split("?")[0]
    req = ApiRequest(method="POST", path=f"/adminapi/beta/{tenant}/InvokeCommand",
                     query=dict(request.query_params), headers=dict(request.headers),
                     body=body if bad is None else bad, claims=claims, state=host.state, clock=host.clock,
                     base_url=base, request_id=rid)
    resp = await exchange.invoke(req, host, tenant=tenant, latency=lambda: latency(host))
    return to_starlette(resp, rid)
