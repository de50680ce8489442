"""A server that answers like Graph and Exchange, but wrongly: the emulator behind an ASGI layer that rewrites,
replaces or stalls the answers to chosen requests (the rest pass through untouched).

::

    hostile = Hostile(emulator.app)
    hostile.rewrite("GET", r"/messageRules$", lambda body, req: {**body, "value": None})
    hostile.answer("PATCH", r"/users/[^/]+$", echo_400, when=lambda req: b"passwordProfile" in req.body)
    emulator.app = hostile

Each rule counts its hits (``rule.hits``): a test tells "the hostile answer was served" from "the request was
never made". Trickling and endless answers stop when the client goes away, so the server shuts down at once.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGI = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str
    body: bytes

    @property
    def url_path(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def cmdlet(self) -> str | None:
        """The Exchange cmdlet of an ``InvokeCommand`` request."""
        if not self.path.endswith("/InvokeCommand"):
            return None
        body = self.json()
        return str(body["CmdletInput"]["CmdletName"]) if isinstance(body, dict) else None


#: the hostile part of an answer: called with what to send it with, the request, and the inner app's answer
Responder = Callable[[Send, Receive, Request, ASGI, Scope], Awaitable[None]]


@dataclass
class Rule:
    method: str
    path: re.Pattern[str]
    respond: Responder
    when: Callable[[Request], bool] | None = None
    #: at most this many hostile answers (None: every matching request)
    times: int | None = None
    hits: int = 0

    def matches(self, request: Request) -> bool:
        return (request.method == self.method and self.path.search(request.path) is not None
                and (self.when is None or self.when(request)) and (self.times is None or self.hits < self.times))


@dataclass
class Hostile:
    inner: ASGI
    rules: list[Rule] = field(default_factory=list)

    def add(self, method: str, path: str, respond: Responder, *, when: Callable[[Request], bool] | None = None,
            times: int | None = None) -> Rule:
        rule = Rule(method.upper(), re.compile(path), respond, when, times)
        self.rules.append(rule)
        return rule

    def rewrite(self, method: str, path: str, change: Callable[[Any, Request], Any], **kw: Any) -> Rule:
        """The emulator's own answer, with its JSON body passed through ``change`` (status kept)."""
        return self.add(method, path, rewriting(change), **kw)

    def answer(self, method: str, path: str, status: int, body: Callable[[Request], Any] | Any, **kw: Any) -> Rule:
        """A JSON answer instead of the emulator's (``body`` may be a function of the request)."""
        async def respond(send: Send, receive: Receive, request: Request, inner: ASGI, scope: Scope) -> None:
            await send_json(send, status, body(request) if callable(body) else body)

        return self.add(method, path, respond, **kw)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        request = Request(scope["method"], scope["path"], scope.get("query_string", b"").decode(), b"".join(chunks))
        replay = _replaying(request.body, receive)
        for rule in self.rules:
            if rule.matches(request):
                rule.hits += 1
                await rule.respond(send, receive, request, self.inner, {**scope})
                return
        await self.inner(scope, replay, send)


def _replaying(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def send_json(send: Send, status: int, body: Any) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


async def inner_json(inner: ASGI, scope: Scope, request: Request) -> tuple[int, Any]:
    """What the emulator itself answers to ``request``: status and JSON body (None when empty)."""
    status = 0
    chunks: list[bytes] = []

    async def capture(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await inner(scope, _replaying(request.body, _never), capture)
    data = b"".join(chunks)
    return status, json.loads(data) if data else None


async def _never() -> Message:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


def rewriting(change: Callable[[Any, Request], Any]) -> Responder:
    async def respond(send: Send, receive: Receive, request: Request, inner: ASGI, scope: Scope) -> None:
        status, body = await inner_json(inner, scope, request)
        await send_json(send, status, change(body, request) if status < 300 else body)

    return respond


def _until_disconnect(receive: Receive) -> asyncio.Task[Message]:
    async def wait() -> Message:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return message

    return asyncio.ensure_future(wait())


def trickle(prefix: bytes = b'{"value": [', *, every: float = 0.2, most: int = 600) -> Responder:
    """Slow-loris: a 200 whose body comes one byte every ``every`` seconds (``most`` bytes at most), until the
    client goes away."""
    async def respond(send: Send, receive: Receive, request: Request, inner: ASGI, scope: Scope) -> None:
        gone = _until_disconnect(receive)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        try:
            for byte in (prefix + b" " * most)[:most]:
                await send({"type": "http.response.body", "body": bytes([byte]), "more_body": True})
                done, _ = await asyncio.wait({gone}, timeout=every)
                if done:
                    return
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            gone.cancel()

    return respond


def endless(*, chunk_kb: int = 256, most_mb: int = 512) -> Responder:
    """A 200 with no Content-Length whose body (``{"value": [{...}, ...``) goes on until the client goes away (or
    ``most_mb``)."""
    item = b'{"id": "x", "displayName": "' + b"A" * 200 + b'"},'
    chunk = item * max(1, chunk_kb * 1024 // len(item))

    async def respond(send: Send, receive: Receive, request: Request, inner: ASGI, scope: Scope) -> None:
        gone = _until_disconnect(receive)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        try:
            await send({"type": "http.response.body", "body": b'{"value": [', "more_body": True})
            for _ in range(most_mb * 1024 // chunk_kb):
                if gone.done():
                    return
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await asyncio.sleep(0)
            await send({"type": "http.response.body", "body": b'{"id": "end"}]}', "more_body": False})
        finally:
            gone.cancel()

    return respond
