"""Microsoft Graph v1.0 client: requests, paging, ``$batch``, typed errors.

::

    graph = GraphClient(pipeline, base_url="https://graph.microsoft.com/v1.0")
    user = await graph.get(f"/users/{upn}", params={"$select": "id,displayName"})
    async for rule in graph.paged(f"/users/{uid}/mailFolders/inbox/messageRules"):
        ...
    await graph.request("PATCH", f"/users/{uid}/mailFolders/inbox/messageRules/{rid}",
                        json={"isEnabled": False}, mailbox=uid, idempotent=True)
    results = await graph.batch([BatchRequest("GET", f"/users/{u}/mailboxSettings", mailbox=u) for u in ids])

Retries, throttling and token refresh are the pipeline's (``_pipeline.py``); ``$batch`` adds its
own loop: sub-requests answered 429 (or 5xx, when idempotent) are sent again, alone, after the
longest ``Retry-After`` among them; their dependants that failed with 424 go with them.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from reclaim.aio import gather_or_cancel
from reclaim.m365._pipeline import IDEMPOTENT_METHODS, TRANSIENT_STATUSES, Pipeline, Verify, origin
from reclaim.m365.auth import GRAPH_SCOPE, AccessToken, granted_permissions
from reclaim.m365.boundary import PageWalk, parse_json
from reclaim.m365.errors import (
    AccessDenied,
    AuthenticationFailed,
    BadRequest,
    LicenseRequired,
    M365Error,
    MailboxNotEnabled,
    NotFound,
    Throttled,
    TransientError,
    UnexpectedShape,
    UnreadableAnswer,
)
from reclaim.m365.permissions import graph_route_for
from reclaim.m365.throttle import parse_retry_after

__all__ = ["MAX_BATCH", "BatchRequest", "BatchResult", "GraphClient", "graph_error"]

JSON = dict[str, Any]
MAX_BATCH = 20

# error.code → class. Codes from Graph's error docs and what the services send (reference sheet, "Errors").
_NOT_FOUND = {"Request_ResourceNotFound", "ErrorItemNotFound", "ResourceNotFound", "itemNotFound",
              "ErrorInvalidUser", "NotFound", "ErrorNonExistentMailbox", "Request_ObjectNotFound"}
_ACCESS_DENIED = {"Authorization_RequestDenied", "ErrorAccessDenied", "Forbidden", "accessDenied",
                  "AccessDenied", "Authorization_IdentityNotFound", "UnknownError_AccessDenied"}
_MAILBOX = {"MailboxNotEnabledForRESTAPI", "MailboxNotSupportedForRESTAPI", "ErrorMailboxNotEnabled"}
_LICENCE = {"Authentication_RequestFromNonPremiumTenantOrB2CTenant", "Authentication_NotPremium",
            "InvalidLicense", "Request_UnsupportedQuery_NoLicense", "Forbidden_LicensingError",
            "ErrorLicenseRequired"}
_AUTH = {"InvalidAuthenticationToken", "Authentication_ExpiredToken", "Authentication_MissingOrMalformed",
         "TokenNotFound", "Unauthorized"}


def graph_error(response: httpx.Response, *, method: str | None = None, url: str | None = None,
                granted: frozenset[str] | None = None) -> M365Error:
    """The typed error for a Graph error response (from ``error.code`` and the status, never the message).

    ``granted``: the permissions of the token the request carried; with it, a 403 names the missing
    permission only when it is really missing, else the missing role or licence.
    """
    try:
        body = response.json()
    except (ValueError, RecursionError):
        body = None
    request = response.request if _has_request(response) else None
    return error_from_body(response.status_code, body, dict(response.headers),
                           method=method or (request.method if request else None),
                           url=url or (str(request.url) if request else None), granted=granted)


def _has_request(response: httpx.Response) -> bool:
    try:
        response.request  # noqa: B018 - raises RuntimeError when the response was built without one
    except RuntimeError:
        return False
    return True


def error_from_body(status: int, body: Any, headers: Mapping[str, str], *, method: str | None,
                    url: str | None, granted: frozenset[str] | None = None) -> M365Error:
    error = body.get("error") if isinstance(body, dict) else None
    code: str | None = None
    message = ""
    request_id = _header(headers, "request-id")
    if isinstance(error, dict):
        code = str(error["code"]) if error.get("code") is not None else None
        message = str(error.get("message") or "")
        inner = error.get("innerError") or error.get("innererror")
        if isinstance(inner, dict) and inner.get("request-id"):
            request_id = str(inner["request-id"])
    context: dict[str, Any] = {"status": status, "code": code, "request_id": request_id, "method": method,
                               "url": url}
    summary = _summary(message)
    if status == 401 or code in _AUTH:
        return AuthenticationFailed(f"the service refused the access token{summary}", **context,
                                    hint="run `reclaim tenant check`")
    if code in _MAILBOX:
        return MailboxNotEnabled("the user has no Exchange Online mailbox (unlicensed, on-premises or "
                                 "soft-deleted)", **context, hint="mailbox checks do not apply to this user")
    if code in _LICENCE:
        return LicenseRequired(f"the tenant lacks the licence for this data{summary}", **context,
                               hint="sign-in logs and Identity Protection need Entra ID P1 / P2")
    if status == 403 or code in _ACCESS_DENIED:
        return _access_denied(method or "GET", url, granted, context)
    if status == 404 or code in _NOT_FOUND:
        return NotFound(f"not found: {_path(url) if url else 'the object'}", **context,
                        hint="check the user or object id")
    if status == 429:
        return Throttled("throttled", retry_after=parse_retry_after(_header(headers, "Retry-After")), **context)
    if status in TRANSIENT_STATUSES or status >= 500:
        return TransientError(f"the service failed (HTTP {status}){summary}", **context)
    if 400 <= status < 500:
        return BadRequest(f"the service rejected the request{summary}", **context,
                          hint="this is probably a bug in reclaim: please report it with the request id")
    return M365Error(f"unexpected answer (HTTP {status}){summary}", **context)


def _access_denied(method: str, url: str | None, granted: frozenset[str] | None,
                   context: dict[str, Any]) -> M365Error:
    """Graph's 403 never says why; what the token held does. Missing permission, else role, else licence."""
    route = graph_route_for(method, url) if url else None
    what = f"access denied to {method} {_path(url)}" if url else "access denied"
    if route is None:
        return AccessDenied(what, **context)
    holds = granted is not None and bool(granted & set(route.permissions))
    if not holds:
        return AccessDenied(what, missing_permission=" or ".join(route.permissions[:2]) or None, **context)
    if route.licence is not None:
        return LicenseRequired(f"{what}: the app holds the permission, so the tenant probably lacks "
                               f"{route.licence}", **context,
                               hint=f"this data needs a {route.licence} licence in the tenant")
    if route.roles:
        return AccessDenied(what, missing_role=" or ".join(route.roles[:2]), **context)
    return AccessDenied(what, **context, hint="the app holds the permission: an Exchange application access "
                                              "policy or a role restriction may exclude this object")


def _summary(message: str) -> str:
    """The service's message, shortened, for context in str() (never used to pick a class)."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    return f": {first[:200]}" if first else ""


def _path(url: str | None) -> str:
    if not url:
        return ""
    path = url.split("?", 1)[0]
    return "/" + path.split("/v1.0/", 1)[1] if "/v1.0/" in path else path


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lname = name.lower()
    for k, v in headers.items():
        if k.lower() == lname:
            return v
    return None


@dataclass(frozen=True)
class BatchRequest:
    """One sub-request of ``$batch``. ``url`` is relative to the Graph root (``/users/{id}``)."""

    method: str
    url: str
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    #: ids (of other requests in the same ``batch()`` call) that must succeed first
    depends_on: tuple[str, ...] = ()
    #: stable id; assigned from the position when not given
    id: str | None = None
    #: asserted by the caller: safe to re-send after a 5xx (GET/PUT/DELETE are by default)
    idempotent: bool | None = None
    #: informational: the mailbox this request touches
    mailbox: str | None = None
    #: the answer is one page of a collection: validated like ``paged`` (a list ``value`` of objects, a string
    #: nextLink), else the result carries ``UnexpectedShape`` / ``LimitExceeded`` instead of being read as empty
    collection: bool = False


@dataclass(frozen=True)
class BatchResult:
    id: str
    status: int
    headers: Mapping[str, str]
    body: Any
    #: the typed error when ``status`` >= 400 (424: a dependency failed)
    error: M365Error | None = None
    #: how many times the sub-request was sent
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.status < 400 and self.error is None

    def json(self) -> Any:
        """The body of a successful sub-request; raises its typed error otherwise."""
        if self.error is not None:
            raise self.error
        return self.body


class GraphClient:
    """Graph v1.0 over a shared ``Pipeline``; ``base_url`` like ``https://graph.microsoft.com/v1.0``."""

    def __init__(self, pipeline: Pipeline, *, base_url: str = "https://graph.microsoft.com/v1.0",
                 scope: str = GRAPH_SCOPE) -> None:
        self.pipeline = pipeline
        self.base_url = base_url.rstrip("/")
        self.scope = scope
        self._origin = origin(self.base_url)

    def url(self, path: str) -> str:
        """Absolute URL for a path below the root (absolute URLs, e.g. next links, are kept as given)."""
        if path.lower().startswith(("https://", "http://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    async def request(self, method: str, url: str, *, params: Mapping[str, str] | None = None, json: Any = None,
                      headers: Mapping[str, str] | None = None, mailbox: str | None = None,
                      idempotent: bool | None = None, verify: Verify | None = None) -> JSON | None:
        """Send one request; the JSON body, or ``None`` (204, or an earlier attempt took effect).

        ``mailbox``: a stable key of the mailbox the request touches (use the user's object id
        everywhere), so that at most four requests per mailbox are in flight. ``idempotent=True``:
        the caller asserts that sending the request twice gives the same result (e.g. a PATCH that
        sets a value). ``verify``: called before a re-send after an unknown outcome; True means the
        first attempt took effect. Without either, a POST/PATCH is never re-sent after a 5xx or a reset.
        """
        target = self.url(url)
        method = method.upper()

        def errors(response: httpx.Response, token: AccessToken) -> M365Error:
            return graph_error(response, method=method, url=target, granted=granted_permissions(token))

        response = await self.pipeline.send(method, target, scope=self.scope, allowed_origin=self._origin,
                                            errors=errors, params=params, json=json, headers=headers,
                                            mailbox=mailbox, idempotent=idempotent, verify=verify)
        if response is None or response.status_code == 204 or not response.content:
            return None
        body = parse_json(response, what=target.split("?")[0], method=method)
        if not isinstance(body, dict):
            raise UnexpectedShape(f"a body that is {type(body).__name__}, not an object", what=target.split("?")[0],
                                  status=response.status_code, method=method, url=target)
        return body

    async def get(self, url: str, params: Mapping[str, str] | None = None, *, headers: Mapping[str, str] | None = None,
                  mailbox: str | None = None) -> JSON:
        body = await self.request("GET", url, params=params, headers=headers, mailbox=mailbox)
        return body or {}

    async def paged(self, url: str, params: Mapping[str, str] | None = None, *,
                    headers: Mapping[str, str] | None = None, mailbox: str | None = None) -> AsyncIterator[JSON]:
        """Every item of a collection, page after page, following ``@odata.nextLink`` exactly as given."""
        next_url: str | None = url
        next_params = params
        walk = PageWalk(self.url(url).split("?")[0], self.pipeline.limits)
        while next_url is not None:
            page = await self.request("GET", next_url, params=next_params, headers=headers, mailbox=mailbox)
            items, link = walk.page(page, method="GET", url=self.url(next_url))
            for item in items:
                yield item
            next_url = link
            next_params = None  # the link carries the query; never rebuild it

    async def batch(self, requests: Sequence[BatchRequest], *, max_rounds: int | None = None) -> list[BatchResult]:
        """Send many requests through ``$batch`` (≤ 20 per envelope); results in the order given.

        Requests linked by ``depends_on`` go in the same envelope (a group of more than 20 linked
        requests is refused). Sub-requests throttled (429) or failing transiently (5xx, idempotent
        only) are re-sent after the longest ``Retry-After`` of the round, up to the retry budget;
        those still failing come back with ``Throttled`` / ``TransientError``.
        """
        if not requests:
            return []
        items = [r if r.id is not None else _with_id(r, str(i + 1)) for i, r in enumerate(requests)]
        ids = [str(r.id) for r in items]
        if len(set(ids)) != len(ids):
            raise ValueError("batch request ids must be unique")
        by_id = {str(r.id): r for r in items}
        for r in items:
            for dep in r.depends_on:
                if dep not in by_id:
                    raise ValueError(f"request {r.id} depends on unknown request {dep}")
        groups = _linked_groups(items)
        envelopes = _pack(groups)
        rounds = max_rounds or self.pipeline.policy.max_attempts
        results: dict[str, BatchResult] = {}
        await gather_or_cancel(*(self._run_envelope(env, results, rounds) for env in envelopes))
        return [results[i] for i in ids]

    async def _run_envelope(self, envelope: list[BatchRequest], results: dict[str, BatchResult], rounds: int) -> None:
        pending = list(envelope)
        attempts: dict[str, int] = {str(r.id): 0 for r in envelope}
        policy = self.pipeline.policy
        waited = 0.0
        for round_no in itertools.count(1):
            done_ok = {i for i, res in results.items() if res.ok}
            payload = {"requests": [_sub_payload(r, done_ok) for r in pending]}
            for r in pending:
                attempts[str(r.id)] += 1
            all_safe = all(_is_idempotent(r) for r in pending)
            body = await self.request("POST", "/$batch", json=payload, idempotent=all_safe)
            responses, unread = _match_responses(body, [str(r.id) for r in pending])
            retry: list[BatchRequest] = []
            retry_after: list[float] = []
            throttled = False
            granted = self._granted(await self.pipeline.tokens.get_token(self.scope))
            for r in pending:
                rid = str(r.id)
                sub = responses.get(rid)
                if sub is None:
                    # No single, well-formed answer with this id: unread (re-sent if safe, never merged).
                    sub = {"id": rid, "status": 503, "headers": {}, "body": None, "unread": unread.get(rid)}
                status = int(sub["status"])
                headers = {str(k): str(v) for k, v in (sub.get("headers") or {}).items()}
                retryable = status == 429 or (status in TRANSIENT_STATUSES and _is_idempotent(r))
                if retryable and round_no < rounds:
                    retry.append(r)
                    throttled = throttled or status == 429
                    ra = parse_retry_after(headers.get("Retry-After") or headers.get("retry-after"))
                    if ra is not None:
                        retry_after.append(ra)
                    continue
                results[rid] = self._result(r, sub, status, headers, attempts[rid], granted)
            # Dependants that failed only because a retried request was throttled go again with it.
            retry_ids = {str(r.id) for r in retry}
            changed = True
            while changed:
                changed = False
                for r in pending:
                    rid = str(r.id)
                    if rid in retry_ids or rid not in results or results[rid].status != 424:
                        continue
                    if any(d in retry_ids for d in r.depends_on):
                        del results[rid]
                        retry.append(r)
                        retry_ids.add(rid)
                        changed = True
            if not retry:
                return
            if throttled:
                self.pipeline.limit.on_throttle()
                self.pipeline.stats.throttled += 1
            delay = max(retry_after) if retry_after else policy.backoff(round_no)
            if delay > policy.max_retry_after or waited + delay > policy.max_wait:
                # Out of budget: report what is still failing instead of waiting that long.
                for r in retry:
                    rid = str(r.id)
                    sub = responses.get(rid) or {"id": rid, "status": 503, "headers": {}, "body": None,
                                                 "unread": unread.get(rid)}
                    status = int(sub["status"])
                    headers = {str(k): str(v) for k, v in (sub.get("headers") or {}).items()}
                    results[rid] = self._result(r, sub, status, headers, attempts[rid], granted)
                return
            waited += delay
            self.pipeline.stats.retries += 1
            await policy.wait(delay)
            pending = [r for r in envelope if str(r.id) in retry_ids]

    def _granted(self, token: AccessToken) -> frozenset[str]:
        """The token's permissions, decoded once per token (every envelope asks; a JWT decode is not free)."""
        cached = getattr(self, "_granted_cache", None)
        if cached is None or cached[0] is not token:
            cached = (token, granted_permissions(token))
            self._granted_cache = cached
        return cached[1]

    def _result(self, r: BatchRequest, sub: JSON, status: int, headers: dict[str, str], attempts: int,
                granted: frozenset[str]) -> BatchResult:
        body = sub.get("body")
        error: M365Error | None = None
        if status >= 400:
            url = self.url(r.url)
            if sub.get("unread"):
                error = UnreadableAnswer(f"the $batch answer for this request was unreadable ({sub['unread']})",
                                         what=url.split("?")[0], why=str(sub["unread"]), status=None,
                                         method=r.method.upper(), url=url)
            elif status == 424:
                error = BadRequest("not run: a request it depends on failed", status=424, code="FailedDependency",
                                   method=r.method.upper(), url=url)
            else:
                error = error_from_body(status, body, headers, method=r.method.upper(), url=url, granted=granted)
                if isinstance(error, Throttled):
                    error = Throttled(f"still throttled after {attempts} attempt(s)",
                                      retry_after=error.retry_after, attempts=attempts, status=status,
                                      code=error.code, request_id=error.request_id, method=error.method,
                                      url=error.url)
        elif r.collection:
            url = self.url(r.url)
            try:
                PageWalk(url.split("?")[0], self.pipeline.limits).page(body, method=r.method.upper(), url=url)
            except UnreadableAnswer as exc:
                exc.status = status
                error = exc
        return BatchResult(id=str(r.id), status=status, headers=headers, body=body, error=error, attempts=attempts)


def _match_responses(body: JSON | None, ids: list[str]) -> tuple[dict[str, JSON], dict[str, str]]:
    """The sub-answers matched exactly to the ids sent: ``(answers, unread)``. An id answered twice, not at all,
    or by a malformed entry is unread (with why); ids nobody asked for are ignored (and make nothing "answered")."""
    unread: dict[str, str] = {}
    entries = body.get("responses") if isinstance(body, dict) else None
    if not isinstance(entries, list):
        why = "the envelope has no list of responses"
        return {}, dict.fromkeys(ids, why)
    wanted = set(ids)
    seen: dict[str, list[Any]] = {}
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("id"), str | int) and str(entry["id"]) in wanted:
            seen.setdefault(str(entry["id"]), []).append(entry)
    answers: dict[str, JSON] = {}
    for rid in ids:
        got = seen.get(rid, [])
        if not got:
            unread[rid] = "no answer with this id"
        elif len(got) > 1:
            unread[rid] = f"{len(got)} answers with this id"
        elif not isinstance(got[0].get("status"), int) or isinstance(got[0].get("status"), bool) \
                or not 100 <= got[0]["status"] <= 599:
            unread[rid] = "an answer without a valid status"
        elif not isinstance(got[0].get("headers") or {}, dict):
            unread[rid] = "an answer whose headers are not an object"
        else:
            answers[rid] = got[0]
    return answers, unread


def _with_id(r: BatchRequest, rid: str) -> BatchRequest:
    return replace(r, id=rid)


def _is_idempotent(r: BatchRequest) -> bool:
    return r.idempotent if r.idempotent is not None else r.method.upper() in IDEMPOTENT_METHODS


def _sub_payload(r: BatchRequest, done_ok: set[str]) -> JSON:
    url = r.url if r.url.startswith("/") else "/" + r.url
    out: JSON = {"id": str(r.id), "method": r.method.upper(), "url": url}
    headers = dict(r.headers)
    if r.body is not None:
        out["body"] = r.body
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/json"
    if headers:
        out["headers"] = headers
    deps = [d for d in r.depends_on if d not in done_ok]  # already succeeded in an earlier round
    if deps:
        out["dependsOn"] = deps
    return out


def _linked_groups(items: list[BatchRequest]) -> list[list[BatchRequest]]:
    """Requests connected through ``depends_on``, each group in the original order."""
    parent: dict[str, str] = {str(r.id): str(r.id) for r in items}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for r in items:
        for d in r.depends_on:
            parent[find(str(r.id))] = find(d)
    groups: dict[str, list[BatchRequest]] = {}
    for r in items:
        groups.setdefault(find(str(r.id)), []).append(r)
    out = list(groups.values())
    for g in out:
        if len(g) > MAX_BATCH:
            raise ValueError(f"{len(g)} requests are linked by depends_on; a batch holds at most {MAX_BATCH}")
    return out


def _pack(groups: list[list[BatchRequest]]) -> list[list[BatchRequest]]:
    """Fill envelopes of ≤ 20 with whole groups, in order (a group never straddles two envelopes)."""
    envelopes: list[list[BatchRequest]] = []
    for g in groups:
        if envelopes and len(envelopes[-1]) + len(g) <= MAX_BATCH:
            envelopes[-1].extend(g)
        else:
            envelopes.append(list(g))
    return envelopes
