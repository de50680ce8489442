"""One request, sent safely: token, concurrency bounds, retries, typed errors.

Shared by the Graph and Exchange clients. The rules:

- 401 once per request: the token is refreshed and the request sent again (a token that expired
  in flight, or was revoked); a second 401 is ``AuthenticationFailed``.
- 429: wait ``Retry-After`` (or back off with jitter), halve the global concurrency, retry any
  method (a throttled request was not processed).
- 500/502/503/504, resets and timeouts: retried only when safe: the request is idempotent, or the
  caller gave ``verify`` (asked before re-sending: "did the first attempt take effect?"). A connection
  that could not be opened is always safe to retry: nothing was sent.
- A DELETE that answers 404 after an attempt whose outcome was unknown succeeded earlier.
- Each request has a budget (``RetryPolicy.max_attempts`` and ``max_wait``): nothing loops forever.
- Tokens are only ever sent to the configured origins (a ``@odata.nextLink`` elsewhere is refused).
- Bounded (``Limits``): each attempt has a total deadline (a server trickling bytes is cut off), the body is
  read streamed and abandoned past ``max_body_mb``; both end as ``LimitExceeded`` (not retried: the same
  server would do it again). Known secrets are scrubbed from the body before anyone parses it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from reclaim.m365.auth import AccessToken, TokenProvider
from reclaim.m365.errors import (
    AuthenticationFailed,
    BadRequest,
    LimitExceeded,
    M365Error,
    NotFound,
    Throttled,
    TransientError,
    Unreachable,
)
from reclaim.m365.limits import Limits
from reclaim.m365.throttle import AdaptiveLimit, MailboxSlots, RetryPolicy, parse_retry_after
from reclaim.text import scrub_bytes

log = logging.getLogger("reclaim.m365")

#: Methods that may be re-sent after an unknown outcome without changing the result.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
#: A connection that cannot be opened this many times in a row is a dead endpoint, not a blip.
MAX_CONNECT_FAILURES = 3

#: ``verify()`` answers True when the write already took effect (then it is not re-sent).
Verify = Callable[[], Awaitable[bool]]
#: Maps a final error response (and the token it was sent with) onto a typed error.
ErrorMapper = Callable[[httpx.Response, AccessToken], M365Error]


@dataclass
class Stats:
    """Counters for diagnostics, benchmarks and tests."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    transient: int = 0
    refreshed_tokens: int = 0


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class Pipeline:
    def __init__(self, http: httpx.AsyncClient, tokens: TokenProvider, *, policy: RetryPolicy | None = None,
                 limit: AdaptiveLimit | None = None, mailboxes: MailboxSlots | None = None,
                 limits: Limits | None = None) -> None:
        self.http = http
        self.limits = limits or Limits()
        self.tokens = tokens
        self.policy = policy or RetryPolicy()
        self.limit = limit or AdaptiveLimit()
        self.mailboxes = mailboxes or MailboxSlots()
        self.stats = Stats()

    async def send(self, method: str, url: str, *, scope: str, allowed_origin: str, errors: ErrorMapper,
                   params: Mapping[str, str] | None = None, json: Any = None,
                   headers: Mapping[str, str] | None = None, mailbox: str | None = None,
                   idempotent: bool | None = None, verify: Verify | None = None,
                   absent_ok: bool | None = None) -> httpx.Response | None:
        """Send until a final answer; returns the 2xx response, or ``None`` when ``verify`` (or a
        "not found" after an unknown outcome, for removals: ``absent_ok``, default for DELETE) shows an
        earlier attempt already took effect.

        Raises a ``M365Error`` subclass for every failure.
        """
        method = method.upper()
        if origin(url) != allowed_origin:
            raise BadRequest(f"refusing to send a token to {origin(url)} (expected {allowed_origin})",
                             method=method, url=url)
        safe = idempotent if idempotent is not None else method in IDEMPOTENT_METHODS
        absent_means_done = absent_ok if absent_ok is not None else method == "DELETE"
        policy = self.policy
        attempt = 0
        waited = 0.0
        refreshed = False
        unknown_outcome = False  # an earlier attempt may have been processed
        connect_failures = 0
        last_error: M365Error | None = None
        last_retry_after: float | None = None
        while True:
            attempt += 1
            if unknown_outcome and verify is not None and await verify():
                return None
            token = await self.tokens.get_token(scope, refresh=False)
            request_headers = {"Authorization": f"Bearer {token.token}", **(headers or {})}
            self.stats.requests += 1
            try:
                async with self.mailboxes.slot(mailbox), self.limit.slot():
                    response = await self._exchange(method, url, params=params, json=json,
                                                    headers=request_headers)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # Nothing reached the server: always safe to retry, but a dead endpoint is Unreachable.
                connect_failures += 1
                last_error = Unreachable(f"cannot connect ({type(exc).__name__})", method=method, url=url,
                                         hint="check the endpoint and the network")
                if connect_failures >= MAX_CONNECT_FAILURES:
                    raise last_error from None
                retry_after = None
            except httpx.TransportError as exc:
                # Sent, but no (complete) answer: reset, read timeout, protocol error.
                self.stats.transient += 1
                last_error = TransientError(f"no answer ({type(exc).__name__})", method=method, url=url,
                                            attempts=attempt)
                if not (safe or verify is not None):
                    raise TransientError(
                        f"no answer ({type(exc).__name__}); not retried because the request may have taken "
                        "effect", method=method, url=url, attempts=attempt,
                        hint="re-read the object to see whether the change was made, then re-run") from None
                unknown_outcome = True
                retry_after = None
            else:
                status = response.status_code
                if status < 300:
                    self.limit.on_success()
                    return response
                if status == 401 and not refreshed:
                    # Expired or revoked in flight: one fresh token, one more try (not counted).
                    refreshed = True
                    attempt -= 1
                    current = await self.tokens.get_token(scope)
                    if current.token == token.token:  # nobody refreshed it meanwhile
                        self.stats.refreshed_tokens += 1
                        await self.tokens.get_token(scope, refresh=True)
                    continue
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                if status == 429:
                    self.stats.throttled += 1
                    self.limit.on_throttle()
                    mapped = errors(response, token)
                    last_error = Throttled(
                        f"still throttled after {attempt} attempt(s)", retry_after=retry_after, attempts=attempt,
                        status=429, code=mapped.code, request_id=mapped.request_id, method=method, url=url)
                    last_retry_after = retry_after
                elif status in TRANSIENT_STATUSES:
                    self.stats.transient += 1
                    mapped = errors(response, token)
                    last_error = TransientError(
                        f"the service failed (HTTP {status})", attempts=attempt, status=status, code=mapped.code,
                        request_id=mapped.request_id, method=method, url=url)
                    if not (safe or verify is not None):
                        raise TransientError(
                            f"the service failed (HTTP {status}); not retried because the request may have "
                            "taken effect", attempts=attempt, status=status, code=mapped.code,
                            request_id=mapped.request_id, method=method, url=url,
                            hint="re-read the object to see whether the change was made, then re-run")
                    unknown_outcome = True
                elif status == 401:
                    mapped = errors(response, token)
                    if isinstance(mapped, AuthenticationFailed):
                        raise mapped
                    raise AuthenticationFailed(
                        "the service refused a freshly issued token", status=401, code=mapped.code,
                        request_id=mapped.request_id, method=method, url=url,
                        hint="the app may be disabled, or the tenant id is wrong: run `reclaim tenant check`")
                else:
                    final = errors(response, token)
                    if unknown_outcome and absent_means_done and isinstance(final, NotFound):
                        log.info("%s %s: not found after an unknown outcome; the earlier attempt took effect",
                                 method, url.split("?")[0])
                        return None
                    raise final
            delay = policy.delay(attempt, retry_after)
            too_long = retry_after is not None and retry_after > policy.max_retry_after
            if attempt >= policy.max_attempts or waited + delay > policy.max_wait or too_long:
                assert last_error is not None
                if isinstance(last_error, Throttled):
                    last_error.retry_after = last_retry_after
                raise last_error
            self.stats.retries += 1
            log.debug("retry %d of %s %s in %.3fs (%s)", attempt, method, url.split("?")[0], delay,
                      type(last_error).__name__)
            waited += delay
            await policy.wait(delay)

    async def _exchange(self, method: str, url: str, *, params: Mapping[str, str] | None, json: Any,
                        headers: Mapping[str, str]) -> httpx.Response:
        """One attempt within the deadline, the body read streamed up to the cap and scrubbed of our secrets."""
        limits = self.limits
        request = self.http.build_request(method, url, params=params, json=json, headers=headers)
        try:
            async with asyncio.timeout(limits.request_deadline):
                response = await self.http.send(request, stream=True)
                try:
                    declared = response.headers.get("Content-Length", "")
                    if declared.isdigit() and int(declared) > limits.max_body_bytes:
                        raise _too_big(int(declared), limits, method, url)
                    chunks: list[bytes] = []
                    size = 0
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > limits.max_body_bytes:
                            raise _too_big(size, limits, method, url)
                        chunks.append(chunk)
                finally:
                    await response.aclose()
        except TimeoutError:
            raise LimitExceeded(f"the request deadline of {limits.request_deadline:g} s", what=url.split("?")[0],
                                setting="RECLAIM_REQUEST_DEADLINE", method=method, url=url) from None
        # The body is decoded already: the new response must not decode it again.
        kept = [(k, v) for k, v in response.headers.multi_items()
                if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
        return httpx.Response(response.status_code, headers=kept, content=scrub_bytes(b"".join(chunks)),
                              request=request, extensions=response.extensions)


def _too_big(size: int, limits: Limits, method: str, url: str) -> LimitExceeded:
    return LimitExceeded(f"the body size cap of {limits.max_body_mb:g} MB ({size:,} bytes or more)",
                         what=url.split("?")[0],
                         setting="RECLAIM_MAX_BODY_MB", method=method, url=url)
