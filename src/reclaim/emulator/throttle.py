"""Throttling rules of Microsoft 365, as documented (shared/reference/m365-api.md, "Throttling").

Placeholder interface: the rules are implemented in the emulator's throttling work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reclaim.emulator.state import Clock


@dataclass(frozen=True)
class Rejection:
    """A 429 to send: ``retry_after`` None means the header is left out (identityProtection)."""

    retry_after: float | None
    code: str = "TooManyRequests"
    message: str = "Please retry again later."
    headers: dict[str, str] = field(default_factory=dict)


class Throttler:
    def __init__(self, settings: dict[str, Any], clock: Clock) -> None:
        self.settings = settings
        self.clock = clock

    def admit(self, *, kind: str, app_id: str, mailbox: str | None = None, write: bool = False,
              cost: int = 1) -> Rejection | None:
        return None

    def release(self, *, kind: str, app_id: str, mailbox: str | None = None) -> None:
        return None
