"""The control plane, ``/_emulator/...``: the emulator's own service (as moto's ``/moto-api``), loopback only.

- ``GET|PUT /_emulator/state``: the tenant as a fixture; a PUT replaces it (validated first);
- ``POST /_emulator/reset``: back to the fixture loaded at start, the clock and call log cleared;
- ``GET|DELETE /_emulator/calls``: the call log;
- ``GET|PUT /_emulator/faults``: the fault injector's settings;
- ``GET|POST /_emulator/clock``: the emulator's now; ``{"advanceSeconds": N}`` moves it forward.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reclaim.emulator.calllog import CallLog
from reclaim.emulator.clock import Clock, iso
from reclaim.emulator.faults import FaultInjector, FaultSpec
from reclaim.emulator.fixture import FixtureError
from reclaim.emulator.http_common import json_body, loopback
from reclaim.emulator.state import TenantState

JSON = dict[str, Any]


class Controlled(Protocol):
    """What the control plane drives (``Emulator`` is one)."""

    @property
    def state(self) -> TenantState: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def faults(self) -> FaultInjector: ...

    @property
    def log(self) -> CallLog: ...

    def load(self, fixture: JSON) -> None: ...

    def reset(self) -> None: ...


def _refused(request: Request) -> Response | None:
    if not loopback(request):
        return JSONResponse({"error": "the control plane answers on loopback only"}, status_code=403)
    return None


def routes(target: Controlled) -> list[Route]:
    async def state(request: Request) -> Response:
        if (refused := _refused(request)) is not None:
            return refused
        if request.method == "GET":
            return JSONResponse(target.state.dump())
        body, bad = await json_body(request)
        if bad is not None or not isinstance(body, dict):
            return JSONResponse({"error": "the state must be a JSON object (the fixture format)"}, status_code=400)
        try:
            target.load(body)
        except FixtureError as exc:
            return JSONResponse({"error": str(exc), "path": exc.path, "reason": exc.reason}, status_code=400)
        return JSONResponse({"loaded": True, "users": len(target.state.users())})

    async def reset(request: Request) -> Response:
        if (refused := _refused(request)) is not None:
            return refused
        target.reset()
        return JSONResponse({"reset": True})

    async def calls(request: Request) -> Response:
        if (refused := _refused(request)) is not None:
            return refused
        if request.method == "DELETE":
            target.log.records.clear()
            return JSONResponse({"cleared": True})
        return JSONResponse({"value": [c.to_json() for c in target.log.records]})

    async def faults(request: Request) -> Response:
        if (refused := _refused(request)) is not None:
            return refused
        if request.method == "PUT":
            body, _ = await json_body(request)
            try:
                if isinstance(body, dict):
                    spec = FaultSpec.from_json(body)
                elif isinstance(body, str):
                    spec = FaultSpec.parse(body)
                else:
                    raise ValueError("send {\"spec\": \"429=0.1,503=0.05\"} or the fault fields as JSON")
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            target.faults.configure(spec)
        return JSONResponse(target.faults.spec.to_json())

    async def clock(request: Request) -> Response:
        if (refused := _refused(request)) is not None:
            return refused
        if request.method == "POST":
            body, _ = await json_body(request)
            seconds = body.get("advanceSeconds") if isinstance(body, dict) else None
            if not isinstance(seconds, int | float) or seconds < 0:
                return JSONResponse({"error": "send {\"advanceSeconds\": N} with N >= 0"}, status_code=400)
            target.clock.advance(float(seconds))
        return JSONResponse({"now": iso(target.clock.now()), "epoch": time.time()})

    return [
        Route("/_emulator/state", state, methods=["GET", "PUT"]),
        Route("/_emulator/reset", reset, methods=["POST"]),
        Route("/_emulator/calls", calls, methods=["GET", "DELETE"]),
        Route("/_emulator/faults", faults, methods=["GET", "PUT"]),
        Route("/_emulator/clock", clock, methods=["GET", "POST"]),
    ]
