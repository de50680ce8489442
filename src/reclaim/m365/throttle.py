"""Throttling and retry rules of the client (shared/reference/m365-api.md, "Throttling").

- ``parse_retry_after``: seconds (integer or fractional) or an HTTP date.
- ``RetryPolicy``: how many attempts, how long in total, backoff with full jitter when the service
  gives no ``Retry-After`` (identityProtection sends none), and the sleep function (tests make it tiny).
- ``AdaptiveLimit``: the global in-flight bound, AIMD: halves on a 429 (at most once per cool-down),
  grows by one for every ``limit`` successful requests, between ``minimum`` and ``maximum``.
- ``MailboxSlots``: at most 4 requests in flight per mailbox (Outlook's concurrency limit).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime

__all__ = ["AdaptiveLimit", "MailboxSlots", "Pacer", "RetryPolicy", "parse_retry_after"]


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """``Retry-After`` in seconds: ``"2"``, ``"2.128"`` or ``"Wed, 21 Oct 2026 07:28:00 GMT"``.

    ``None`` when absent or unreadable; never negative.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - now()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


@dataclass
class RetryPolicy:
    #: attempts per request, the first included
    max_attempts: int = 8
    #: total time one request may spend waiting between attempts
    max_wait: float = 900.0
    #: backoff without Retry-After: base * 2**n with full jitter, capped at max_delay
    base_delay: float = 0.5
    max_delay: float = 30.0
    #: a Retry-After longer than this is not waited for: the request fails with ``Throttled`` (carrying
    #: ``retry_after``) so the caller can checkpoint and resume later instead of blocking for long
    max_retry_after: float = 330.0
    #: multiplies every delay (Retry-After included): 1.0 in production, tiny in tests
    time_scale: float = 1.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (1-based) when the service said nothing."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return self.rng.uniform(ceiling / 2, ceiling)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        return self.backoff(attempt)

    async def wait(self, seconds: float) -> None:
        scaled = seconds * self.time_scale
        if scaled > 0:
            await self.sleep(scaled)


class AdaptiveLimit:
    """A concurrency bound that adapts: multiplicative decrease on 429, additive increase on success.

    Waiters are served first come, first served; a slot is handed over directly on release, so a
    release wakes one waiter, not all of them.
    """

    def __init__(self, initial: int = 16, *, minimum: int = 1, maximum: int = 64, cooldown: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not 1 <= minimum <= initial <= maximum:
            raise ValueError("need 1 <= minimum <= initial <= maximum")
        self.limit = float(initial)
        self.minimum = minimum
        self.maximum = maximum
        self.cooldown = cooldown
        self._clock = clock
        self._in_flight = 0
        self._last_decrease = -math.inf
        self._waiters: deque[asyncio.Future[None]] = deque()
        #: highest concurrency actually reached (diagnostics and tests)
        self.peak = 0
        self.decreases = 0

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await self._acquire()
        try:
            yield
        finally:
            self._in_flight -= 1
            self._wake()

    async def _acquire(self) -> None:
        if not self._waiters and self._in_flight < int(self.limit):
            self._take()
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._in_flight -= 1  # granted just as we were cancelled: hand the slot on
                self._wake()
            else:
                self._waiters.remove(waiter)
            raise

    def _take(self) -> None:
        self._in_flight += 1
        self.peak = max(self.peak, self._in_flight)

    def _wake(self) -> None:
        while self._waiters and self._in_flight < int(self.limit):
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._take()
                waiter.set_result(None)

    def on_success(self) -> None:
        if self.limit < self.maximum:
            self.limit = min(float(self.maximum), self.limit + 1.0 / self.limit)
            self._wake()

    def on_throttle(self) -> None:
        now = self._clock()
        if now - self._last_decrease < self.cooldown:
            return  # one burst of 429s from the same overload counts once
        self._last_decrease = now
        self.decreases += 1
        self.limit = max(float(self.minimum), self.limit / 2)


class MailboxSlots:
    """At most ``per_mailbox`` requests in flight for one mailbox; forgets idle mailboxes."""

    def __init__(self, per_mailbox: int = 4) -> None:
        self.per_mailbox = per_mailbox
        self._slots: dict[str, tuple[asyncio.Semaphore, int]] = {}
        #: highest number in flight for any one mailbox (tests)
        self.peak = 0
        self._in_flight: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def slot(self, mailbox: str | None) -> AsyncIterator[None]:
        if mailbox is None:
            yield
            return
        key = mailbox.lower()
        sem, users = self._slots.get(key, (asyncio.Semaphore(self.per_mailbox), 0))
        self._slots[key] = (sem, users + 1)
        try:
            async with sem:
                n = self._in_flight.get(key, 0) + 1
                self._in_flight[key] = n
                self.peak = max(self.peak, n)
                try:
                    yield
                finally:
                    self._in_flight[key] -= 1
                    if not self._in_flight[key]:
                        del self._in_flight[key]
        finally:
            sem, users = self._slots[key]
            if users <= 1:
                del self._slots[key]
            else:
                self._slots[key] = (sem, users - 1)


#: Identity Protection and Conditional Access answer one request per second per tenant, with no
#: Retry-After on the 429 (reference sheet, "Audit logs and Identity Protection").
IDENTITY_PROTECTION_SPACING = 1.0


class Pacer:
    """One request at a time, each starting ``spacing`` seconds after the previous one was answered.

    For services with a documented rate and no Retry-After (Identity Protection, Conditional Access):
    pacing costs exactly the platform's floor, where bursting costs backoff on top. Measuring from the
    answer keeps the gap on the service's side too, whatever the latency.
    """

    def __init__(self, spacing: float = IDENTITY_PROTECTION_SPACING) -> None:
        self.spacing = spacing
        self._lock = asyncio.Lock()
        self._next = 0.0

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._lock:
            loop = asyncio.get_running_loop()
            delay = self._next - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                yield
            finally:
                self._next = loop.time() + self.spacing
