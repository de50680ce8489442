"""Graph v1.0 over HTTP: ``/v1.0/{path}`` and ``/v1.0/$batch``.

Before a request reaches the dispatcher (``graph.py``): the call log, an injected fault, the bearer token
(audience ``https://graph.microsoft.com``) and a body that is not JSON are answered here, as Graph's front
door answers them.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reclaim.emulator import graph
from reclaim.emulator.auth import GRAPH_AUDIENCE, TokenError
from reclaim.emulator.calllog import CallRecord
from reclaim.emulator.clock import iso
from reclaim.emulator.http_common import (
    Host,
    draw_fault,
    fault_response,
    json_body,
    json_response,
    latency,
    to_starlette,
)
from reclaim.emulator.wire import ApiRequest, graph_error_body, path_from_wire


def routes(host: Host) -> list[Route]:
    async def one(request: Request) -> Response:
        body, bad = await json_body(request)
        record = host.log.record(request, body if bad is None else bad)
        return host.log.answered(record, await _answer(host, request, record, body, bad))

    async def batch(request: Request) -> Response:
        body, bad = await json_body(request)
        record = host.log.record(request, body if bad is None else bad)
        return host.log.answered(record, await _answer_batch(host, request, record, body))

    return [
        Route("/v1.0/$batch", batch, methods=["POST"]),
        Route("/v1.0/{path:path}", one, methods=["GET", "POST", "PATCH", "PUT", "DELETE"]),
    ]


async def _answer(host: Host, request: Request, record: CallRecord, body: Any, bad: str | None) -> Response:
    fault = await draw_fault(host, record)
    if fault is not None:
        await latency(host)
        return await fault_response(host, fault, request)
    rid = str(uuid.uuid4())
    try:
        claims = host.issuer.check(request.headers.get("authorization"), audience=GRAPH_AUDIENCE,
                                   now=host.clock.now().timestamp())
    except TokenError as exc:
        await latency(host)
        return json_response(401, graph_error_body(exc.code, exc.message, rid, iso(host.clock.now())),
                             {"WWW-Authenticate": 'Bearer realm="", error="invalid_token"', "request-id": rid})
    if bad is not None:
        await latency(host)
        return json_response(400, graph_error_body("BadRequest", "Unable to read JSON request payload.", rid,
                                                   iso(host.clock.now())), {"request-id": rid})
    base = str(request.base_url).rstrip("/") + "/v1.0"
    raw = request.scope.get("raw_path")
    wire_path = raw.decode("latin-1").split("/v1.0", 1)[-1] if isinstance(raw, bytes) else "/" + request.path_params[
        "path"]
    req = ApiRequest(method=request.method, path=path_from_wire(wire_path),
                     query=dict(request.query_params), headers=dict(request.headers), body=body,
                     claims=claims, state=host.state, clock=host.clock, base_url=base, request_id=rid)
    resp = await graph.dispatch(req, host, latency=lambda: latency(host))
    return to_starlette(resp, rid)


async def _answer_batch(host: Host, request: Request, record: CallRecord, body: Any) -> Response:
    await latency(host)
    fault = await draw_fault(host, record)
    if fault is not None:
        return await fault_response(host, fault, request)
    rid = str(uuid.uuid4())
    try:
        claims = host.issuer.check(request.headers.get("authorization"), audience=GRAPH_AUDIENCE,
                                   now=host.clock.now().timestamp())
    except TokenError as exc:
        return json_response(401, graph_error_body(exc.code, exc.message, rid, iso(host.clock.now())),
                             {"request-id": rid})
    base = str(request.base_url).rstrip("/") + "/v1.0"
    resp = await graph.batch(host, claims, body, base_url=base, request_id=rid,
                             record=host.log.sub_recorder(request))
    return to_starlette(resp, rid)
