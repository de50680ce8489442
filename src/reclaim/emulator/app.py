"""The emulator as an ASGI app: token endpoint, Graph v1.0, Exchange admin API and the control plane.

``Emulator`` owns the state and the behaviour knobs (latency, faults, throttling); ``Emulator.app``
is the Starlette application. It runs in-process (``httpx.ASGITransport``) or under uvicorn
(``reclaim emulator serve``); both paths use the same handlers.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reclaim.emulator import exchange, graph, services
from reclaim.emulator.auth import (
    EXCHANGE_AUDIENCE,
    GRAPH_AUDIENCE,
    AadError,
    TokenClaims,
    TokenError,
    TokenIssuer,
    scope_audience,
)
from reclaim.emulator.faults import Fault, FaultInjector, FaultSpec
from reclaim.emulator.fixture import FixtureError
from reclaim.emulator.state import Clock, TenantState, iso
from reclaim.emulator.throttle import Throttler
from reclaim.emulator.wire import ApiRequest, ApiResponse, graph_error_body

JSON = dict[str, Any]

#: The Graph resources and Exchange cmdlets served (imported for their registrations).
SERVED = services

#: Headers whose values never reach the call log.
_REDACTED_HEADERS = {"authorization", "cookie"}
#: Form fields of the token endpoint that never reach the call log.
_REDACTED_FORM = {"client_secret", "client_assertion", "password", "refresh_token", "device_code"}


@dataclass
class CallRecord:
    time: str
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    #: the status answered (``None``: no answer, e.g. an injected connection reset)
    status: int | None = None
    via: str | None = None  # "$batch" for sub-requests
    #: the fault injected into this call, if any ("429", "503", "reset", "slow", ...); a "slow" call
    #: was still processed, every other fault means the request never reached the tenant
    fault: str | None = None
    #: the JSON body answered, kept only when ``Emulator.record_answers`` is on (the schema tests read it)
    answer: Any = None

    def to_json(self) -> JSON:
        return {k: v for k, v in self.__dict__.items()}


@dataclass
class EmulatorOptions:
    latency_ms: float = 0.0
    faults: FaultSpec = field(default_factory=FaultSpec)
    seed: int | None = None


class Emulator:
    """A stateful Microsoft 365 tenant behind HTTP."""

    def __init__(self, fixture: JSON | None = None, *, latency_ms: float = 0.0,
                 faults: FaultSpec | None = None, seed: int | None = None) -> None:
        self.clock = Clock()
        self._initial_fixture: JSON = fixture if fixture is not None else {}
        self.state = TenantState.from_fixture(self._initial_fixture, clock=self.clock)
        self.latency_ms = latency_ms
        self.seed = seed
        self.faults = FaultInjector(faults or FaultSpec(), seed=seed)
        self.throttle = self._throttler(self.state)
        self.issuer = TokenIssuer()
        self.calls: list[CallRecord] = []
        self.record_calls = True
        #: also keep each answer's JSON body in the call log (off by default: it costs memory and time)
        self.record_answers = False
        self._iso_second, self._iso_text = -1, ""
        #: Set by the server (uvicorn): drop the TCP connection of this peer; True if it was found.
        self.drop_connection: Callable[[tuple[str, int]], bool] | None = None
        self.app = self._build_app()

    # ------------------------------------------------------------------ control
    def load(self, fixture: JSON) -> None:
        """Replace the state (validated first: a bad fixture changes nothing)."""
        state = TenantState.from_fixture(fixture, clock=self.clock)
        throttle = self._throttler(state)  # bad throttling settings are a FixtureError too
        self._initial_fixture = fixture
        state.sessions = self.state.sessions
        self.state = state
        self.throttle = throttle

    def _throttler(self, state: TenantState) -> Throttler:
        return Throttler(state.settings, self.clock, tenant_id=state.tenant_id, users=len(state.users()))

    def reset(self) -> None:
        self.clock.reset()
        self.load(self._initial_fixture)
        self.calls.clear()
        self.faults.reset()

    def now(self) -> float:
        return self.clock.now().timestamp()

    async def _latency(self) -> None:
        if self.latency_ms > 0:
            await asyncio.sleep(self.latency_ms / 1000.0)

    def _now_iso(self) -> str:
        """``iso(clock.now())``, formatted once per second (the call log stamps every request)."""
        now = self.clock.now()
        second = int(now.timestamp())
        if second != self._iso_second:
            self._iso_second, self._iso_text = second, iso(now)
        return self._iso_text

    @staticmethod
    def _logged_headers(request: Request) -> dict[str, str]:
        return {k: ("<redacted>" if k in _REDACTED_HEADERS else v) for k, v in request.headers.items()}

    def _record(self, request: Request, body: Any, *, via: str | None = None) -> CallRecord:
        scope = request.scope
        record = CallRecord(time=self._now_iso(), method=request.method, path=scope["path"],
                            query=scope["query_string"].decode("latin-1"), headers=self._logged_headers(request),
                            body=body, via=via)
        if self.record_calls:
            self.calls.append(record)
        return record

    def _answered(self, record: CallRecord, response: Response) -> Response:
        return _answered(record, response, keep_answer=self.record_answers)

    # ------------------------------------------------------------------ app
    def _build_app(self) -> Starlette:
        routes = [
            Route("/{tenant}/oauth2/v2.0/token", self._token, methods=["POST"]),
            Route("/{tenant}/v2.0/.well-known/openid-configuration", self._openid_configuration, methods=["GET"]),
            Route("/v1.0/$batch", self._graph_batch, methods=["POST"]),
            Route("/v1.0/{path:path}", self._graph, methods=["GET", "POST", "PATCH", "PUT", "DELETE"]),
            Route("/adminapi/beta/{tenant}/InvokeCommand", self._exchange, methods=["POST"]),
            Route("/_emulator/state", self._ctl_state, methods=["GET", "PUT"]),
            Route("/_emulator/reset", self._ctl_reset, methods=["POST"]),
            Route("/_emulator/calls", self._ctl_calls, methods=["GET", "DELETE"]),
            Route("/_emulator/faults", self._ctl_faults, methods=["GET", "PUT"]),
            Route("/_emulator/clock", self._ctl_clock, methods=["GET", "POST"]),
        ]
        return Starlette(routes=routes)

    # ------------------------------------------------------------------ faults
    async def _draw_fault(self, record: CallRecord | None = None) -> Fault | None:
        """One draw per top-level request. ``slow`` is served here: the request waits ``slow_seconds``
        (without blocking the loop) and is then answered normally, so a write still takes effect even
        though the client has timed out, as with the real service."""
        fault = self.faults.draw()
        if fault is not None and record is not None:
            record.fault = fault.kind
        if fault is not None and fault.kind == "slow":
            await asyncio.sleep(self.faults.spec.slow_seconds)
            return None
        return fault

    async def _fault_response(self, fault: Fault, api: str, request: Request | None = None) -> Response:
        """Answer an injected fault the way the real service would."""
        if fault.kind == "reset":
            client = request.client if request is not None else None
            if client is not None and self.drop_connection is not None \
                    and self.drop_connection((client.host, client.port)):
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
                headers["Retry-After"] = _fmt_seconds(fault.retry_after)
        elif status == 503:
            code, message = "serviceNotAvailable", "Service Unavailable"
            headers["Retry-After"] = "1" if fault.retry_after is None else _fmt_seconds(fault.retry_after)
        elif status == 504:
            code, message = "UnknownError", "Gateway Timeout"
        else:
            code, message = "generalException", "An unexpected error occurred."
        rid = str(uuid.uuid4())
        body = graph_error_body(code, message, rid, iso(self.clock.now()))
        headers["request-id"] = rid
        return JSONResponse(body, status_code=status, headers=headers)

    # ------------------------------------------------------------------ token endpoint
    async def _token(self, request: Request) -> Response:
        raw = (await request.body()).decode("utf-8", "replace")
        form = dict(parse_qsl(raw, keep_blank_values=True))
        record = self._record(request, {k: ("<redacted>" if k in _REDACTED_FORM else v) for k, v in form.items()})
        await self._latency()
        try:
            body = self._issue_token(request.path_params["tenant"], form)
        except AadError as exc:
            return self._answered(record, JSONResponse(exc.body(), status_code=exc.status))
        return self._answered(record, JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"}))

    def _issue_token(self, tenant: str, form: dict[str, str]) -> JSON:
        st = self.state
        if tenant.lower() not in {st.tenant_id.lower(), *[d.lower() for d in st.domains], "organizations"}:
            raise AadError(400, "invalid_request", 90002,
                           f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID.")
        if form.get("grant_type") != "client_credentials":
            raise AadError(400, "unsupported_grant_type", 70003,
                           "The app requested an unsupported grant type.")
        client_id = form.get("client_id", "")
        app = st.find_app(client_id)
        if app is None:
            raise AadError(400, "unauthorized_client", 700016,
                           f"Application with identifier '{client_id}' was not found in the directory "
                           f"'{st.data['tenant'].get('displayName', st.tenant_id)}'.")
        if "client_assertion" in form:
            from reclaim.emulator.assertion import verify_client_assertion

            verify_client_assertion(app, form, tenant_id=st.tenant_id, now=self.now())
        elif "client_secret" in form:
            if app.get("clientSecret") is None or form["client_secret"] != app["clientSecret"]:
                raise AadError(401, "invalid_client", 7000215,
                               "Invalid client secret provided. Ensure the secret being sent in the request "
                               "is the client secret value, not the client secret ID.")
        else:
            raise AadError(401, "invalid_client", 7000216,
                           "'client_assertion', 'client_secret' or 'request' is required for the "
                           "'client_credentials' grant type.")
        audience = scope_audience(form.get("scope", ""))
        lifetime = int(st.settings.get("tokenLifetimeSeconds", 3599))
        token = self.issuer.issue(app=app, tenant_id=st.tenant_id, audience=audience, now=self.now(),
                                  lifetime=lifetime)
        return {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                "access_token": token}

    async def _openid_configuration(self, request: Request) -> Response:
        """OIDC discovery, which MSAL (azure-identity) reads before it asks the token endpoint."""
        tenant = request.path_params["tenant"]
        st = self.state
        if tenant.lower() not in {st.tenant_id.lower(), *[d.lower() for d in st.domains], "organizations"}:
            exc = AadError(400, "invalid_tenant", 90002,
                           f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID.")
            return JSONResponse(exc.body(), status_code=exc.status)
        base = str(request.base_url).rstrip("/")
        issuer_tenant = st.tenant_id if tenant.lower() != "organizations" else "{tenantid}"
        return JSONResponse({
            "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
            "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys",
            "issuer": f"{base}/{issuer_tenant}/v2.0",
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
        })

    # ------------------------------------------------------------------ Graph
    def _claims(self, request: Request | dict[str, str], audience: str) -> TokenClaims:
        auth = request.get("authorization") if isinstance(request, dict) else request.headers.get("authorization")
        return self.issuer.check(auth, audience=audience, now=self.now())

    @staticmethod
    async def _json_body(request: Request) -> tuple[Any, str | None]:
        raw = await request.body()
        if not raw:
            return None, None
        try:
            return json.loads(raw), None
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None, raw.decode("utf-8", "replace")

    async def _graph(self, request: Request) -> Response:
        body, bad = await self._json_body(request)
        record = self._record(request, body if bad is None else bad)
        return self._answered(record, await self._graph_answer(request, record, body, bad))

    async def _graph_answer(self, request: Request, record: CallRecord, body: Any, bad: str | None) -> Response:
        fault = await self._draw_fault(record)
        if fault is not None:
            await self._latency()
            return await self._fault_response(fault, "graph", request)
        rid = str(uuid.uuid4())
        try:
            claims = self._claims(request, GRAPH_AUDIENCE)
        except TokenError as exc:
            await self._latency()
            return _json(401, graph_error_body(exc.code, exc.message, rid, iso(self.clock.now())),
                         {"WWW-Authenticate": 'Bearer realm="", error="invalid_token"', "request-id": rid})
        if bad is not None:
            await self._latency()
            return _json(400, graph_error_body("BadRequest", "Unable to read JSON request payload.", rid,
                                               iso(self.clock.now())), {"request-id": rid})
        base = str(request.base_url).rstrip("/") + "/v1.0"
        req = ApiRequest(method=request.method, path="/" + request.path_params["path"],
                         query=dict(request.query_params), headers=dict(request.headers), body=body,
                         claims=claims, state=self.state, clock=self.clock, base_url=base, request_id=rid)
        resp = await graph.dispatch(req, self, latency=self._latency)
        return _to_starlette(resp, rid)

    async def _graph_batch(self, request: Request) -> Response:
        body, bad = await self._json_body(request)
        record = self._record(request, body if bad is None else bad)
        return self._answered(record, await self._graph_batch_answer(request, record, body))

    async def _graph_batch_answer(self, request: Request, record: CallRecord, body: Any) -> Response:
        await self._latency()
        fault = await self._draw_fault(record)
        if fault is not None:
            return await self._fault_response(fault, "graph", request)
        rid = str(uuid.uuid4())
        try:
            claims = self._claims(request, GRAPH_AUDIENCE)
        except TokenError as exc:
            return _json(401, graph_error_body(exc.code, exc.message, rid, iso(self.clock.now())),
                         {"request-id": rid})
        base = str(request.base_url).rstrip("/") + "/v1.0"
        resp = await graph.batch(self, claims, body, base_url=base, request_id=rid, record=self._record_sub(request))
        return _to_starlette(resp, rid)

    def _record_sub(self, request: Request) -> Any:
        headers = self._logged_headers(request)  # the envelope's headers, logged with each sub-request

        def record(method: str, url: str, body: Any) -> CallRecord | None:
            if not self.record_calls:
                return None
            path, _, query = url.partition("?")
            call = CallRecord(time=self._now_iso(), method=method.upper(),
                              path="/v1.0" + (path if path.startswith("/") else "/" + path),
                              query=query, headers=headers, body=body, via="$batch")
            self.calls.append(call)
            return call
        return record

    # ------------------------------------------------------------------ Exchange admin API
    async def _exchange(self, request: Request) -> Response:
        body, bad = await self._json_body(request)
        record = self._record(request, body if bad is None else bad)
        return self._answered(record, await self._exchange_answer(request, record, body, bad))

    async def _exchange_answer(self, request: Request, record: CallRecord, body: Any, bad: str | None) -> Response:
        fault = await self._draw_fault(record)
        if fault is not None:
            await self._latency()
            return await self._fault_response(fault, "exchange", request)
        rid = str(uuid.uuid4())
        try:
            claims = self._claims(request, EXCHANGE_AUDIENCE)
        except TokenError as exc:
            await self._latency()
            return _json(401, exchange.error_body(exc.code, exc.message, rid), {"request-id": rid})
        base = str(request.url.replace(query="")).split("?")[0]
        req = ApiRequest(method="POST", path=f"/adminapi/beta/{request.path_params['tenant']}/InvokeCommand",
                         query=dict(request.query_params), headers=dict(request.headers),
                         body=body if bad is None else bad, claims=claims, state=self.state, clock=self.clock,
                         base_url=base,
                         request_id=rid)
        resp = await exchange.invoke(req, self, tenant=request.path_params["tenant"], latency=self._latency)
        return _to_starlette(resp, rid)

    # ------------------------------------------------------------------ control plane
    @staticmethod
    def _loopback(request: Request) -> bool:
        host = request.client.host if request.client else ""
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return host in ("testclient", "localhost")

    def _ctl_guard(self, request: Request) -> Response | None:
        if not self._loopback(request):
            return JSONResponse({"error": "the control plane answers on loopback only"}, status_code=403)
        return None

    async def _ctl_state(self, request: Request) -> Response:
        if (refused := self._ctl_guard(request)) is not None:
            return refused
        if request.method == "GET":
            return JSONResponse(self.state.dump())
        body, bad = await self._json_body(request)
        if bad is not None or not isinstance(body, dict):
            return JSONResponse({"error": "the state must be a JSON object (the fixture format)"}, status_code=400)
        try:
            self.load(body)
        except FixtureError as exc:
            return JSONResponse({"error": str(exc), "path": exc.path, "reason": exc.reason}, status_code=400)
        return JSONResponse({"loaded": True, "users": len(self.state.users())})

    async def _ctl_reset(self, request: Request) -> Response:
        if (refused := self._ctl_guard(request)) is not None:
            return refused
        self.reset()
        return JSONResponse({"reset": True})

    async def _ctl_calls(self, request: Request) -> Response:
        if (refused := self._ctl_guard(request)) is not None:
            return refused
        if request.method == "DELETE":
            self.calls.clear()
            return JSONResponse({"cleared": True})
        return JSONResponse({"value": [c.to_json() for c in self.calls]})

    async def _ctl_faults(self, request: Request) -> Response:
        if (refused := self._ctl_guard(request)) is not None:
            return refused
        if request.method == "PUT":
            body, _ = await self._json_body(request)
            try:
                if isinstance(body, dict):
                    spec = FaultSpec.from_json(body)
                elif isinstance(body, str):
                    spec = FaultSpec.parse(body)
                else:
                    raise ValueError("send {\"spec\": \"429=0.1,503=0.05\"} or the fault fields as JSON")
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            self.faults.configure(spec)
        return JSONResponse(self.faults.spec.to_json())

    async def _ctl_clock(self, request: Request) -> Response:
        if (refused := self._ctl_guard(request)) is not None:
            return refused
        if request.method == "POST":
            body, _ = await self._json_body(request)
            seconds = body.get("advanceSeconds") if isinstance(body, dict) else None
            if not isinstance(seconds, int | float) or seconds < 0:
                return JSONResponse({"error": "send {\"advanceSeconds\": N} with N >= 0"}, status_code=400)
            self.clock.advance(float(seconds))
        return JSONResponse({"now": iso(self.clock.now()), "epoch": time.time()})


def _answered(record: CallRecord, response: Response, *, keep_answer: bool = False) -> Response:
    """Note the status in the call log (a dropped connection's placeholder is not an answer)."""
    if record.fault != "reset":
        record.status = response.status_code
        if keep_answer and response.body and response.media_type == "application/json":
            record.answer = json.loads(bytes(response.body))
    return response


def _fmt_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)


def _to_starlette(resp: ApiResponse, request_id: str) -> Response:
    headers = {"request-id": request_id, "client-request-id": request_id, **resp.headers}
    if resp.body is None:
        return Response(status_code=resp.status, headers=headers)
    return Response(json.dumps(resp.body, ensure_ascii=False), status_code=resp.status, headers=headers,
                    media_type="application/json")
