"""The emulator as an ASGI app: Entra's token endpoint, Graph v1.0, the Exchange admin API, the control plane.

``Emulator`` holds what lives as long as the process: the tenant state and its clock, the behaviour knobs
(latency, faults, throttling), the token issuer and the call log. ``Emulator.app`` is the Starlette
application, put together from each service's routes (``http_entra``, ``http_graph``, ``http_exchange``,
``http_control``). It runs in-process (``httpx.ASGITransport``) or under uvicorn (``reclaim emulator
serve``); both paths use the same handlers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette

from reclaim.emulator import http_control, http_entra, http_exchange, http_graph, http_sharepoint, services
from reclaim.emulator.auth import TokenIssuer
from reclaim.emulator.calllog import CallLog
from reclaim.emulator.calllog import CallRecord as CallRecord
from reclaim.emulator.faults import FaultInjector, FaultSpec
from reclaim.emulator.state import Clock, TenantState
from reclaim.emulator.throttle import Throttler

JSON = dict[str, Any]

#: The Graph resources and Exchange cmdlets served (imported for their registrations).
SERVED = services


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
        self.log = CallLog(self.clock)
        #: Set by the server (uvicorn): drop the TCP connection of this peer; True if it was found.
        self.drop_connection: Callable[[tuple[str, int]], bool] | None = None
        self.app = Starlette(routes=[*http_entra.routes(self), *http_graph.routes(self),
                                     *http_exchange.routes(self), *http_sharepoint.routes(self),
                                     *http_control.routes(self)])

    # ------------------------------------------------------------------ the call log
    @property
    def calls(self) -> list[CallRecord]:
        return self.log.records

    @property
    def record_calls(self) -> bool:
        return self.log.record_calls

    @record_calls.setter
    def record_calls(self, value: bool) -> None:
        self.log.record_calls = value

    @property
    def record_answers(self) -> bool:
        """Also keep each answer's JSON body in the call log (the schema tests read it)."""
        return self.log.record_answers

    @record_answers.setter
    def record_answers(self, value: bool) -> None:
        self.log.record_answers = value

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
        self.log.records.clear()
        self.faults.reset()

    def now(self) -> float:
        return self.clock.now().timestamp()
