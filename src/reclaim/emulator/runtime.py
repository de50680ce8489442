"""What the API surfaces need of the running emulator, beyond the tenant a handler sees.

``graph.dispatch`` and ``exchange.invoke`` admit a request (throttling), draw ``$batch`` faults and keep
answers in the call log; they take a ``Runtime`` rather than the ``Emulator`` application, so no API module
imports ``app`` (which imports them). Resource handlers and cmdlets get less still: the request carries the
tenant state and the clock (``ApiRequest.state``, ``ApiRequest.clock``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from reclaim.emulator.clock import Clock
    from reclaim.emulator.faults import FaultInjector
    from reclaim.emulator.state import TenantState
    from reclaim.emulator.throttle import Throttler


class Runtime(Protocol):
    """The parts of the emulator a request passes through (``Emulator`` is one)."""

    @property
    def state(self) -> TenantState: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def throttle(self) -> Throttler: ...

    @property
    def faults(self) -> FaultInjector: ...

    @property
    def seed(self) -> int | None: ...

    @property
    def record_answers(self) -> bool: ...
