"""Graph: ``GET /users/delta`` (change tracking for users).

The first round returns every user, page by page (``@odata.nextLink`` with a ``$skiptoken``), and ends
with an ``@odata.deltaLink`` carrying a ``$deltatoken``. Calling the delta link returns only the users
that changed since that round (whole objects, as Graph does without ``Prefer: return=minimal``) and
users that were removed as ``{"id", "@removed": {"reason": "changed"}}``, then a new delta link.

Rounds are kept in memory per emulator (not in the tenant state: they are the service's bookkeeping,
not tenant data). The route is moved to the front of the router, so ``/users/delta`` is not taken
for a user called "delta" by ``GET /users/{user}``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from reclaim.emulator.graph import ROUTER
from reclaim.emulator.graph_users import USER_READ, user_view
from reclaim.emulator.wire import ApiError, ApiRequest, ApiResponse

JSON = dict[str, Any]

PAGE_SIZE = 100


@dataclass
class _Round:
    #: the items this round returns (views of changed users and removal markers)
    items: list[JSON]
    #: user id → hash of the view, as of this round: the baseline of the next one
    snapshot: dict[str, str]


def _rounds(req: ApiRequest) -> dict[str, _Round]:
    """The delta rounds of this tenant (kept with the state: loading another tenant starts afresh)."""
    rounds: dict[str, _Round] = req.state.sessions.setdefault("users.delta", {})
    return rounds


def _fingerprint(view: JSON) -> str:
    return hashlib.sha256(json.dumps(view, sort_keys=True, default=str).encode()).hexdigest()


def _token(payload: JSON) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def _untoken(raw: str, name: str) -> JSON:
    try:
        payload = json.loads(base64.urlsafe_b64decode(raw.encode() + b"==").decode())
    except (ValueError, UnicodeDecodeError):
        payload = None
    if not isinstance(payload, dict):
        raise ApiError(400, "Request_BadRequest", f"The {name} is invalid or has expired.")
    return payload


def _new_round(req: ApiRequest, baseline: dict[str, str] | None) -> str:
    views = {str(u["id"]): user_view(u, req) for u in req.state.users()}
    snapshot = {uid: _fingerprint(v) for uid, v in views.items()}
    if baseline is None:
        items = list(views.values())
    else:
        items = [v for uid, v in views.items() if baseline.get(uid) != snapshot[uid]]
        items += [{"id": uid, "@removed": {"reason": "changed"}} for uid in baseline if uid not in views]
    round_id = str(uuid.uuid4())
    _rounds(req)[round_id] = _Round(items=items, snapshot=snapshot)
    return round_id


def users_delta(req: ApiRequest) -> ApiResponse:
    rounds = _rounds(req)
    if "$skiptoken" in req.query:
        state = _untoken(req.query["$skiptoken"], "$skiptoken")
        round_id, offset = state.get("r"), state.get("o")
        if not isinstance(offset, int) or offset < 0 or not isinstance(round_id, str) or round_id not in rounds:
            raise ApiError(400, "Request_BadRequest", "The $skiptoken is invalid or has expired.")
    elif "$deltatoken" in req.query:
        previous = _untoken(req.query["$deltatoken"], "$deltatoken").get("r")
        if not isinstance(previous, str) or previous not in rounds:
            raise ApiError(400, "Request_BadRequest", "The $deltatoken is invalid or has expired.")
        round_id, offset = _new_round(req, rounds[previous].snapshot), 0
    else:
        round_id, offset = _new_round(req, None), 0
    current = rounds[round_id]
    chunk = current.items[offset: offset + PAGE_SIZE]
    body: JSON = {"@odata.context": f"{req.base_url}/$metadata#users", "value": chunk}
    keep = {k: v for k, v in req.query.items() if k not in ("$skiptoken", "$deltatoken")}
    if offset + PAGE_SIZE < len(current.items):
        query = {**keep, "$skiptoken": _token({"r": round_id, "o": offset + PAGE_SIZE})}
        body["@odata.nextLink"] = f"{req.base_url}/users/delta?{urlencode(query, safe='$,')}"
    else:
        query = {**keep, "$deltatoken": _token({"r": round_id})}
        body["@odata.deltaLink"] = f"{req.base_url}/users/delta?{urlencode(query, safe='$,')}"
    return ApiResponse(200, body)


ROUTER.add("GET", "/users/delta", permissions=USER_READ)(users_delta)
# A literal segment must win over the ``/users/{user}`` template registered by graph_users.
ROUTER.routes.insert(0, ROUTER.routes.pop())
