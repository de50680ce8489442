"""Wire-format primitives shared by the emulator's Graph and Exchange surfaces.

``ApiRequest`` / ``ApiResponse`` are transport-neutral: a top-level HTTP request and a ``$batch``
sub-request are both turned into an ``ApiRequest`` and answered by the same handler, so throttling,
permissions and errors behave identically in both places (as they do in Graph).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

if TYPE_CHECKING:
    from reclaim.emulator.auth import TokenClaims
    from reclaim.emulator.clock import Clock
    from reclaim.emulator.state import TenantState

JSON = dict[str, Any]


@dataclass
class ApiRequest:
    method: str
    #: path below the API root, e.g. ``/users/abc/mailFolders/inbox/messageRules`` (no ``/v1.0``)
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    claims: TokenClaims
    #: the tenant the request reads and changes, and its clock: all a handler gets of the emulator
    state: TenantState
    clock: Clock
    #: absolute base used to build ``@odata.nextLink`` (e.g. ``http://127.0.0.1:8000/v1.0``)
    base_url: str
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    #: set for ``$batch`` sub-requests
    in_batch: bool = False

    @property
    def emulator(self) -> ApiRequest:
        """The name handlers used before they were given the tenant and clock (``req.state``):
        kept for modules written against it; new code reads ``req.state`` and ``req.clock``."""
        return self

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for k, v in self.headers.items():
            if k.lower() == lname:
                return v
        return None


@dataclass
class ApiResponse:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """Raised by a handler to answer with a Graph error body."""

    def __init__(self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def graph_error_body(code: str, message: str, request_id: str, date: str) -> JSON:
    """The error body Graph sends: ``{"error": {"code", "message", "innerError": {...}}}``."""
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {"date": date, "request-id": request_id, "client-request-id": request_id},
        }
    }


Handler = Callable[..., ApiResponse]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    #: the request is allowed if the token carries any of these permissions (empty: no check)
    permissions: tuple[str, ...]
    #: throttling class (see throttle.py): "outlook" (per mailbox: Graph mail, rules, folders, settings),
    #: "identity" (users, grants, service principals, domains, policies: resource-unit bucket),
    #: "auditLogs" (signIns, directoryAudits), "authMethods" (authentication methods),
    #: "identityProtection" (riskyUsers, riskDetections), "messageTrace", "security" (alerts_v2,
    #: auditLog queries), "reports" (userRegistrationDetails) or "none". Exchange uses "exchange".
    throttle: str


class Router:
    """A small method + regex router. Patterns use ``{name}`` for one path segment."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        #: the routes a path can match, by (its lower-cased first segment, its number of segments): those
        #: whose plain template ("/users/{user}/messageRules": literals and {name}s only) has that shape,
        #: plus every other route (``_any_segment``, tried for every path), in registration order; rebuilt
        #: when routes change
        self._by_segment: dict[tuple[str, int], list[Route]] = {}
        self._any_segment: list[Route] = []
        self._first_segment: dict[int, tuple[str, int]] = {}
        self._indexed = -1

    def add(self, method: str, template: str, *, permissions: tuple[str, ...] = (),
            throttle: str = "identity") -> Callable[[Handler], Handler]:
        regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "/?$"
        pattern = re.compile(regex, re.IGNORECASE)

        segments = template.strip("/").split("/")
        plain = re.fullmatch(r"[\w.-]+", segments[0]) is not None and all(
            re.fullmatch(r"[\w.$-]+|\{\w+\}", segment) for segment in segments[1:])

        def register(handler: Handler) -> Handler:
            route = Route(method.upper(), pattern, handler, permissions, throttle)
            if plain:
                self._first_segment[id(route)] = (segments[0].lower(), len(segments))
            self.routes.append(route)
            self._indexed = -1
            return handler

        return register

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | bool | None:
        """The route and its parameters; ``False`` if the path exists for another method; ``None``."""
        if self._indexed != len(self.routes):
            self._index()
        segments = path.strip("/").split("/")
        candidates = self._by_segment.get((segments[0].lower(), len(segments)), self._any_segment)
        path_known = False
        for route in candidates:
            m = route.pattern.match(path)
            if m is None:
                continue
            if route.method == method.upper():
                return route, {k: unquote(v) for k, v in m.groupdict().items()}
            path_known = True
        return False if path_known else None

    def _index(self) -> None:
        by_segment: dict[tuple[str, int], list[Route]] = {}
        any_segment: list[Route] = []
        for route in self.routes:
            first = self._first_segment.get(id(route))
            if first is None:
                any_segment.append(route)
                for routes in by_segment.values():  # in registration order: the first matching route wins
                    routes.append(route)
            else:
                by_segment.setdefault(first, list(any_segment)).append(route)
        self._by_segment, self._any_segment, self._indexed = by_segment, any_segment, len(self.routes)


def path_from_wire(raw: str) -> str:
    """A request path as the router reads it: each segment percent-decoded, except that a decoded ``/`` or ``%``
    stays escaped (``%2F``, ``%25``), so an id holding ``/`` (inbox rule ids are base64) stays one segment, as
    Graph reads it; ``Router.match`` unescapes the values it captures."""
    return "/".join(unquote(seg).replace("%", "%25").replace("/", "%2F") for seg in raw.split("/"))
