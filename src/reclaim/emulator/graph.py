"""Graph v1.0: the request dispatcher and ``$batch``.

Resource handlers live in ``graph_*.py`` modules and register on ``ROUTER`` (``services.py`` imports them,
in one explicit list); this module holds requests to the v1.0 schema, checks permissions and throttling,
then calls them, for top-level requests and ``$batch`` sub-requests alike.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from reclaim.emulator.csdl import SchemaError, Target, schema
from reclaim.emulator.state import iso
from reclaim.emulator.wire import ApiError, ApiRequest, ApiResponse, Router, graph_error_body, path_from_wire

if TYPE_CHECKING:
    from reclaim.emulator.auth import TokenClaims
    from reclaim.emulator.runtime import Runtime

JSON = dict[str, Any]

ROUTER = Router()

MAX_BATCH = 20

#: Throttle classes whose permission errors come from Exchange Online (mailbox resources).
_OUTLOOK = "outlook"


def error(req: ApiRequest, status: int, code: str, message: str,
          headers: dict[str, str] | None = None) -> ApiResponse:
    body = graph_error_body(code, message, req.request_id, iso(req.clock.now()))
    return ApiResponse(status, body, dict(headers or {}))


def user_or_404(req: ApiRequest, key: str) -> JSON:
    """The user by id or UPN, or the directory's 404."""
    user = req.state.find_user(key)
    if user is None:
        raise ApiError(404, "Request_ResourceNotFound",
                       f"Resource '{key}' does not exist or one of its queried reference-property objects "
                       "are not present.")
    return user


def mailbox_user_or_404(req: ApiRequest, key: str) -> JSON:
    """The user, who must have an Exchange Online mailbox (else Graph's mailbox errors)."""
    user = req.state.find_user(key)
    if user is None:
        raise ApiError(404, "ErrorInvalidUser", f"The requested user '{key}' is invalid.")
    if user.get("mailbox") is None:
        raise ApiError(404, "MailboxNotEnabledForRESTAPI",
                       "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
    return user


async def dispatch(req: ApiRequest, runtime: Runtime,
                   latency: Callable[[], Awaitable[None]] | None = None) -> ApiResponse:
    """Answer one Graph request (top level or inside ``$batch``)."""
    try:
        target = schema().resolve(req.path)
    except SchemaError as exc:  # a segment v1.0 does not have: Graph's URI parser refuses it
        if latency is not None:
            await latency()
        return error(req, 400, "BadRequest", exc.message)
    match = ROUTER.match(req.method, req.path)
    if match is None:
        if latency is not None:
            await latency()
        return error(req, 501, "NotImplemented",
                     f"The practice tenant does not serve {req.method} {req.path} (it is valid Graph v1.0).")
    if match is False:
        if latency is not None:
            await latency()
        return error(req, 405, "Request_BadRequest",
                     "Specified HTTP method is not allowed for the request target.")
    assert not isinstance(match, bool)
    route, params = match
    refused = _check_schema(req, route.throttle, target)
    if refused is not None:
        if latency is not None:
            await latency()
        return refused
    if not req.claims.has_any(route.permissions):
        if latency is not None:
            await latency()
        if route.throttle == _OUTLOOK:
            return error(req, 403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        return error(req, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
    throttle = runtime.throttle
    mailbox = None
    if route.throttle == _OUTLOOK:
        user = req.state.find_user(params.get("user", ""))
        mailbox = str(user["id"]) if user is not None else params.get("user")
    write = req.method != "GET"
    cost = _cost(req, route.throttle)
    rejection = throttle.admit(kind=route.throttle, app_id=req.claims.app_id, mailbox=mailbox,
                                        write=write, cost=cost)
    if rejection is not None:
        if latency is not None:
            await latency()
        headers = dict(rejection.headers)
        if rejection.retry_after is not None:
            headers["Retry-After"] = _fmt(rejection.retry_after)
        return error(req, 429, rejection.code, rejection.message, headers)
    try:
        if latency is not None:
            await latency()
        try:
            response = route.handler(req, **params)
            if route.throttle == "identity":
                response.headers.update(throttle.usage_headers(kind=route.throttle,
                                                                        app_id=req.claims.app_id, cost=cost))
            return response
        except ApiError as exc:
            return error(req, exc.status, exc.code, exc.message, exc.headers)
    finally:
        throttle.release(kind=route.throttle, app_id=req.claims.app_id, mailbox=mailbox)


#: The error code each service family answers a request the schema refuses with: Exchange Online's request
#: broker for mailbox resources ("RequestBroker--ParseUri": "Could not find a property named 'isJunk' on type
#: 'microsoft.graph.message'."), the directory's "Request_BadRequest", "BadRequest" elsewhere.
_SCHEMA_CODES = {_OUTLOOK: ("RequestBroker--ParseUri", "RequestBodyRead"),
                 "identity": ("Request_BadRequest", "Request_BadRequest")}


def _check_schema(req: ApiRequest, family: str, target: Target) -> ApiResponse | None:
    """Query options and body held to the v1.0 schema: unknown properties and enum values are refused."""
    uri_code, body_code = _SCHEMA_CODES.get(family, ("BadRequest", "BadRequest"))
    model = schema()
    try:
        model.check_query(target, req.query)
    except SchemaError as exc:
        return error(req, 400, uri_code, exc.message)
    except ApiError as exc:  # a $filter that does not parse
        return error(req, exc.status, exc.code, exc.message, exc.headers)
    if req.method in ("POST", "PATCH", "PUT") and isinstance(req.body, dict) and target.kind != "action":
        problems = model.check_value(target.item_type, req.body)
        if problems:
            return error(req, 400, body_code, _body_message(target.item_type, req.body, problems[0]))
    return None


def _body_message(type_name: str, body: JSON, problem: str) -> str:
    """The OData reader's message for the first problem of a request body."""
    if " has no property " in problem:
        name = problem.rsplit("'", 2)[-2]
        owner = problem.split(" has no property ")[0].rsplit(": ", 1)[-1]
        return (f"The property '{name}' does not exist on type '{owner}'. Make sure to only use property names "
                "that are defined by the type or mark the type as open type.")
    if " is not a member of " in problem:
        value = problem.split(": ", 1)[1].split(" is not a member of ")[0].strip("'\"")
        enum = problem.rsplit(" ", 1)[-1]
        return f"Cannot convert the literal '{value}' to the expected type '{enum}'."
    return f"Invalid request body for type '{type_name}': {problem}"


#: Identity GETs with a base cost above 1 resource unit [S30] (paths reclaim uses; others cost 1).
_IDENTITY_GET_COSTS = {"users": 2, "oauth2permissiongrants": 2, "applications": 2, "subscribedskus": 3}


def _cost(req: ApiRequest, kind: str) -> int:
    """Resource units for the identity bucket [S30]: base cost (GET users 2, other GETs 1, writes 1 plus a
    write unit counted by the throttler), $select -1, $expand +1, $top < 20 -1, never below 1."""
    if kind != "identity":
        return 1
    if req.method != "GET":
        return 1
    cost = _IDENTITY_GET_COSTS.get(req.path.strip("/").lower(), 1)
    if "$select" in req.query:
        cost -= 1
    if "$expand" in req.query:
        cost += 1
    top = req.query.get("$top", "")
    if top.isdigit() and int(top) < 20:
        cost -= 1
    return max(1, cost)


def _fmt(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:.3f}"


async def batch(runtime: Runtime, claims: TokenClaims, body: Any, *, base_url: str, request_id: str,
                record: Callable[[str, str, Any], Any]) -> ApiResponse:
    """``POST /$batch``: ≤ 20 sub-requests, ``dependsOn``, each throttled on its own, 424 on failed deps."""
    probe = ApiRequest(method="POST", path="/$batch", query={}, headers={}, body=body, claims=claims,
                       state=runtime.state, clock=runtime.clock, base_url=base_url, request_id=request_id)
    if not isinstance(body, dict) or not isinstance(body.get("requests"), list) or not body["requests"]:
        return error(probe, 400, "BadRequest", "Invalid batch payload format.")
    requests: list[Any] = body["requests"]
    if len(requests) > MAX_BATCH:
        return error(probe, 400, "BadRequest", f"The number of requests in a batch exceeds the limit of {MAX_BATCH}.")
    ids: list[str] = []
    for sub in requests:
        if not isinstance(sub, dict) or not all(k in sub for k in ("id", "method", "url")):
            return error(probe, 400, "BadRequest", "Invalid batch payload format: each request needs id, method, url.")
        if str(sub["id"]) in ids:
            return error(probe, 400, "BadRequest", "Batch request ids must be unique.")
        ids.append(str(sub["id"]))
    for sub in requests:
        for dep in sub.get("dependsOn") or []:
            if str(dep) not in ids:
                return error(probe, 400, "BadRequest", f"Request {sub['id']} depends on unknown request {dep}.")

    results: dict[str, JSON] = {}
    pending = list(requests)
    # Run in dependency order; requests without dependencies run in the order given.
    while pending:
        progressed = False
        for sub in list(pending):
            deps = [str(d) for d in sub.get("dependsOn") or []]
            if any(d not in results for d in deps):
                continue
            pending.remove(sub)
            progressed = True
            sid = str(sub["id"])
            if any(int(results[d]["status"]) >= 400 for d in deps):
                sub_req = _sub_request(runtime, claims, sub, base_url)
                failed = error(sub_req, 424, "FailedDependency", "A request this request depends on failed.")
                results[sid] = _sub_response(sid, failed)
                continue
            results[sid] = _sub_response(sid, await _run_sub(runtime, claims, sub, base_url, record))
        if not progressed:
            return error(probe, 400, "BadRequest", "The dependsOn graph of the batch has a cycle.")
    order = [results[i] for i in ids]
    # Graph returns sub-responses in any order; so does the emulator (seeded), so clients map by id.
    random.Random(runtime.seed if runtime.seed is not None else 0).shuffle(order)
    return ApiResponse(200, {"responses": order})


def _sub_request(runtime: Runtime, claims: TokenClaims, sub: JSON, base_url: str) -> ApiRequest:
    url = str(sub["url"])
    if url.lower().startswith(("http://", "https://")):
        url = "/" + url.split("/v1.0/", 1)[-1]
    if not url.startswith("/"):
        url = "/" + url
    path, _, query = url.partition("?")
    return ApiRequest(method=str(sub["method"]).upper(), path=path_from_wire(path),
                      query=dict(parse_qsl(query, keep_blank_values=True)),
                      headers={str(k): str(v) for k, v in (sub.get("headers") or {}).items()},
                      body=sub.get("body"), claims=claims, state=runtime.state, clock=runtime.clock,
                      base_url=base_url, in_batch=True)


async def _run_sub(runtime: Runtime, claims: TokenClaims, sub: JSON, base_url: str,
                   record: Callable[[str, str, Any], Any]) -> ApiResponse:
    """One sub-request; its call-log record (``record`` returns it, or ``None``) gets the status and fault."""
    req = _sub_request(runtime, claims, sub, base_url)
    call = record(req.method, str(sub["url"]), req.body)
    response = await _answer_sub(runtime, req, call)
    if call is not None:
        call.status = response.status
        if runtime.record_answers:
            call.answer = response.body
    return response


async def _answer_sub(runtime: Runtime, req: ApiRequest, call: Any) -> ApiResponse:
    if req.body is not None and req.header("content-type") is None:
        return error(req, 400, "BadRequest", "Content-Type header is required for a request with a body.")
    fault = runtime.faults.draw(kinds=("429", "500", "502", "503", "504"))
    if fault is not None:
        if call is not None:
            call.fault = fault.kind
        status = int(fault.kind)
        headers = {}
        if status in (429, 503) and fault.retry_after is not None:
            headers["Retry-After"] = _fmt(fault.retry_after)
        code = {429: "TooManyRequests", 503: "serviceNotAvailable", 504: "UnknownError"}.get(status, "generalException")
        return error(req, status, code, "Injected fault.", headers)
    return await dispatch(req, runtime)


def _sub_response(sid: str, resp: ApiResponse) -> JSON:
    out: JSON = {"id": sid, "status": resp.status, "headers": dict(resp.headers)}
    if resp.body is not None:
        out["headers"].setdefault("Content-Type", "application/json")
        out["body"] = resp.body
    return out
