"""Exchange admin API (``InvokeCommand``). Placeholder: implemented in the Exchange work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from reclaim.emulator.wire import ApiRequest, ApiResponse


def error_body(code: str, message: str, request_id: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "innererror": {"request-id": request_id}}}


async def invoke(req: ApiRequest, *, tenant: str,
                 latency: Callable[[], Awaitable[None]] | None = None) -> ApiResponse:
    return ApiResponse(400, error_body("BadRequest", "not implemented yet", req.request_id))
