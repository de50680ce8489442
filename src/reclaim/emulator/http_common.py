"""What the HTTP faces of the services share: the emulator they run on, bodies, injected faults, answers.

Each service has its own module for its HTTP face (``http_entra``, ``http_graph``, ``http_exchange``,
``http_control``: moto's ``urls.py`` + ``responses.py``), each exporting ``routes(host)``; ``app.py`` puts
them together.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from reclaim.emulator.clock import iso
from reclaim.emulator.runtime import Runtime
from reclaim.emulator.wire import ApiResponse, graph_error_body

if TYPE_CHECKING:
    from reclaim.emulator.auth import TokenIssuer
    from reclaim.emulator.calllog import CallLog, CallRecord
    from reclaim.emulator.faults import Fault


class Host(Runtime, Protocol):
    """The running emulator as the HTTP faces see it (``Emulator`` is one)."""

    @property
    def issuer(self) -> TokenIssuer: ...

    @property
    def log(self) -> CallLog: ...

    @property
    def latency_ms(self) -> float: ...

    #: set by the server (uvicorn): drop the TCP connection of this peer; True if it was found
    @property
    def drop_connection(self) -> Callable[[tuple[str, int]], bool] | None: ...


async def latency(host: Host) -> None:
    """The configured network latency (``--latency-ms``), without blocking the loop."""
    if host.latency_ms > 0:
        await asyncio.sleep(host.latency_ms / 1000.0)


async def json_body(request: Request) -> tuple[Any, str | None]:
    """The JSON body (``None`` when empty), or the raw text when it does not parse."""
    raw = await request.body()
    if not raw:
        return None, None
    try:
        return json.loads(raw), None
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None, raw.decode("utf-8", "replace")


async def draw_fault(host: Host, record: CallRecord | None = None) -> Fault | None:
    """One draw per top-level request. ``slow`` is served here: the request waits ``slow_seconds``
    (without blocking the loop) and is then answered normally, so a write still takes effect even
    though the client has timed out, as with the real service."""
    fault = host.faults.draw()
    if fault is not None and record is not None:
        record.fault = fault.kind
    if fault is not None and fault.kind == "slow":
        await asyncio.sleep(host.faults.spec.slow_seconds)
        return None
    return fault


async def fault_response(host: Host, fault: Fault, request: Request | None = None) -> Response:
    """Answer an injected fault the way the real service would."""
    if fault.kind == "reset":
        client = request.client if request is not None else None
        if client is not None and host.drop_connection is not None \
                and host.drop_connection((client.host, client.port)):
            # The connection is gone (RST); let the server notice before anything is sent.
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            return Response(status_code=500)
        # In-process (ASGITransport): no socket to drop, so the client sees the error raised.
        raise ConnectionResetError("emulator: injected connection reset")
    status = int(fault.kind)
    headers: dict[str, str] = {}
    if status == 429:
        code, message = "TooManyRequests", "Please retry again later."
        if fault.retry_after is not None:
            headers["Retry-After"] = fmt_seconds(fault.retry_after)
    elif status == 503:
        code, message = "serviceNotAvailable", "Service Unavailable"
        headers["Retry-After"] = "1" if fault.retry_after is None else fmt_seconds(fault.retry_after)
    elif status == 504:
        code, message = "UnknownError", "Gateway Timeout"
    else:
        code, message = "generalException", "An unexpected error occurred."
    rid = str(uuid.uuid4())
    body = graph_error_body(code, message, rid, iso(host.clock.now()))
    headers["request-id"] = rid
    return JSONResponse(body, status_code=status, headers=headers)


def loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in ("testclient", "localhost")


def fmt_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)


def to_starlette(resp: ApiResponse, request_id: str) -> Response:
    headers = {"request-id": request_id, "client-request-id": request_id, **resp.headers}
    if resp.body is None:
        return Response(status_code=resp.status, headers=headers)
    return Response(json.dumps(resp.body, ensure_ascii=False), status_code=resp.status, headers=headers,
                    media_type="application/json")
