"""Helpers for the client tests: a connection to a served emulator, with virtual time."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from reclaim.emulator import Emulator
from reclaim.m365 import Connection, ConnectionSettings, RetryPolicy
from tests.conftest import TenantClient

T = TypeVar("T")


def run(fn: Callable[..., Coroutine[Any, Any, T]]) -> Callable[..., T]:
    """Run an async test body with ``asyncio.run`` (no plugin needed)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        return asyncio.run(fn(*args, **kwargs))

    return wrapper


class VirtualSleep:
    """A sleep that moves the emulator's clock instead of waiting: Retry-After is honoured in emulator
    time, and the delays the client chose are recorded."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.emulator.clock.advance(seconds)
        await asyncio.sleep(0)


def settings_for(c: TenantClient, *, app: dict[str, Any] | None = None, sleep: VirtualSleep | None = None,
                 max_attempts: int = 12, **options: Any) -> ConnectionSettings:
    """Settings for the served emulator (its well-known app unless ``app`` is given), virtual time."""
    app = app or c.app
    policy = RetryPolicy(max_attempts=max_attempts, base_delay=0.2, max_delay=5.0,
                         sleep=sleep or VirtualSleep(c.emulator))
    return ConnectionSettings.for_endpoint(c.base_url, client_id=app["clientId"],
                                           client_secret=app["clientSecret"], policy=policy, **options)


def connect(c: TenantClient, *, transport: Any = None, **options: Any) -> Connection:
    """A ``Connection`` to the served emulator; see ``settings_for``."""
    return Connection.open(settings_for(c, **options), transport=transport)


def calls(c: TenantClient, method: str, path_suffix: str) -> list[Any]:
    """Requests the emulator received (top level and $batch sub-requests) matching method and path end."""
    return [r for r in c.emulator.calls if r.method == method and r.path.endswith(path_suffix)]


class StaticTokens:
    """A ``TokenProvider`` for ``httpx.MockTransport`` tests: a fixed JWT-shaped token."""

    def __init__(self, claims: dict[str, Any] | None = None, lifetime: float = 3600.0) -> None:
        import time

        import jwt

        self.claims = {"tid": "11111111-2222-3333-4444-555555555555", "roles": [], **(claims or {})}
        self.token = jwt.encode(self.claims, "k" * 32, algorithm="HS256")
        self.expires_on = time.time() + lifetime
        self.requests: list[tuple[str, bool]] = []

    async def get_token(self, scope: str, *, refresh: bool = False) -> Any:
        from reclaim.m365 import AccessToken

        self.requests.append((scope, refresh))
        return AccessToken(self.token, self.expires_on)

    async def close(self) -> None:
        return None


def mock_connection(handler: Callable[[Any], Any], tokens: Any, *, max_attempts: int = 5,
                    sleep: Callable[[float], Any] | None = None, limits: Any = None) -> Connection:
    """A ``Connection`` to the real Microsoft endpoints whose transport is ``handler`` (nothing leaves)."""
    import httpx

    async def no_sleep(seconds: float) -> None:
        return None

    policy = RetryPolicy(max_attempts=max_attempts, base_delay=0.01, sleep=sleep or no_sleep)
    settings = ConnectionSettings(policy=policy, tenant_id="11111111-2222-3333-4444-555555555555")
    if limits is not None:
        settings = settings.with_options(limits=limits)
    return Connection.open(settings, transport=httpx.MockTransport(handler), tokens=tokens)
