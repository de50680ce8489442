"""OData query options as Graph applies them: ``$select``, ``$top``, server-driven paging.

Paging: the server chooses the page size (``$top`` lowers it, never raises it past the resource's
maximum); ``@odata.nextLink`` is an absolute URL carrying an opaque ``$skiptoken`` that clients must
follow as given.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from reclaim.emulator.wire import ApiError, ApiRequest

JSON = dict[str, Any]


def select(item: JSON, req: ApiRequest) -> JSON:
    """Apply ``$select`` (``id`` is always returned, as Graph does)."""
    raw = req.query.get("$select")
    if not raw:
        return item
    wanted = [p.strip() for p in raw.split(",") if p.strip()]
    out = {k: v for k, v in item.items() if k.startswith("@odata.")}
    if "id" in item:
        out["id"] = item["id"]
    lowered = {k.lower(): k for k in item}
    for prop in wanted:
        key = lowered.get(prop.lower())
        if key is not None:
            out[key] = item[key]
    return out


def _decode_skiptoken(token: str) -> int:
    try:
        state = json.loads(base64.urlsafe_b64decode(token.encode() + b"==").decode())
        offset = int(state["o"])
    except (ValueError, KeyError, TypeError, json.JSONDecodeError):
        raise ApiError(400, "BadRequest", "The $skiptoken is invalid or has expired.") from None
    if offset < 0:
        raise ApiError(400, "BadRequest", "The $skiptoken is invalid or has expired.")
    return offset


def _encode_skiptoken(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def top(req: ApiRequest, maximum: int) -> int:
    raw = req.query.get("$top")
    if raw is None:
        return maximum
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "BadRequest", f"Invalid value '{raw}' for $top query option.") from None
    if value < 1:
        raise ApiError(400, "BadRequest", f"Invalid value '{raw}' for $top query option.")
    return min(value, maximum)


def page(req: ApiRequest, items: Sequence[JSON], *, page_size: int, max_top: int | None = None,
         context: str | None = None) -> JSON:
    """One page of a collection with ``@odata.nextLink`` when more remain.

    ``page_size`` is the server's default; ``$top`` may lower or (up to ``max_top``) raise it.
    """
    size = top(req, max_top or page_size) if "$top" in req.query else page_size
    offset = _decode_skiptoken(req.query["$skiptoken"]) if "$skiptoken" in req.query else 0
    chunk = items[offset: offset + size]
    body: JSON = {}
    if context:
        body["@odata.context"] = context
    if req.query.get("$count", "").lower() == "true":
        body["@odata.count"] = len(items)
    body["value"] = [select(i, req) for i in chunk]
    if offset + size < len(items):
        query = {k: v for k, v in req.query.items() if k != "$skiptoken"}
        query["$skiptoken"] = _encode_skiptoken(offset + size)
        body["@odata.nextLink"] = f"{req.base_url}{req.path}?{urlencode(query, safe='$,()/: ')}"
    return body
