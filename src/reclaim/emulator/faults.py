"""Seeded fault injection: ``--faults 429=0.1,503=0.05,reset=0.01,slow=0.01``.

Each top-level request draws once, and so does each ``$batch`` sub-request (which can only get a status
fault: 429 or 5xx inside the 200 envelope, as Graph does); the probabilities add up (they must stay ≤ 1).
Kinds: an HTTP status (``429``, ``500``, ``502``, ``503``, ``504``), ``reset`` (under uvicorn the TCP
connection is reset before any response byte, so a client sees a connection error; in-process the app
raises ``ConnectionResetError``) and ``slow`` (the request is held for ``slow_seconds`` without blocking
the event loop, then answered normally: past a client's timeout, and a write still takes effect, as
with the real service). Options: ``retry_after=S`` (seconds in the ``Retry-After`` of a 429 or a
503; ``none`` leaves it out of a 429, and a 503 then says 1) and ``slow_seconds=S``. The same seed
gives the same sequence of faults.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

FAULT_KINDS = ("429", "500", "502", "503", "504", "reset", "slow")


@dataclass(frozen=True)
class Fault:
    kind: str
    retry_after: float | None = None


@dataclass
class FaultSpec:
    rates: dict[str, float] = field(default_factory=dict)
    retry_after: float | None = 1.0
    slow_seconds: float = 30.0

    @classmethod
    def parse(cls, text: str) -> FaultSpec:
        """Parse ``429=0.1,503=0.05,retry_after=0.5``; raises ``ValueError`` with the bad part."""
        spec = cls()
        text = text.strip()
        if not text:
            return spec
        for part in text.split(","):
            key, sep, value = part.strip().partition("=")
            key = key.strip().lower()
            if not sep:
                raise ValueError(f"fault {part.strip()!r}: expected KIND=RATE, e.g. 429=0.1")
            if key == "retry_after":
                spec.retry_after = None if value.strip().lower() == "none" else _number(part, value, 0, 3600)
            elif key == "slow_seconds":
                spec.slow_seconds = _number(part, value, 0, 3600)
            elif key in FAULT_KINDS:
                spec.rates[key] = _number(part, value, 0.0, 1.0)
            else:
                raise ValueError(f"fault {part.strip()!r}: unknown kind {key!r} (known: {', '.join(FAULT_KINDS)})")
        if sum(spec.rates.values()) > 1.0 + 1e-9:
            raise ValueError("fault rates add up to more than 1")
        return spec

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> FaultSpec:
        if "spec" in body:
            return cls.parse(str(body["spec"]))
        parts = [f"{k}={v}" for k, v in body.get("rates", {}).items()]
        if "retry_after" in body:
            parts.append(f"retry_after={'none' if body['retry_after'] is None else body['retry_after']}")
        if "slow_seconds" in body:
            parts.append(f"slow_seconds={body['slow_seconds']}")
        return cls.parse(",".join(parts))

    def to_json(self) -> dict[str, Any]:
        return {"rates": dict(self.rates), "retry_after": self.retry_after, "slow_seconds": self.slow_seconds}

    @property
    def active(self) -> bool:
        return any(v > 0 for v in self.rates.values())


def _number(part: str, value: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"fault {part.strip()!r}: {value!r} is not a number") from None
    if not low <= number <= high:
        raise ValueError(f"fault {part.strip()!r}: must be between {low:g} and {high:g}")
    return number


class FaultInjector:
    def __init__(self, spec: FaultSpec, seed: int | None = None) -> None:
        self.spec = spec
        self._seed = seed
        self._random = random.Random(seed)
        self.injected: dict[str, int] = {}

    def configure(self, spec: FaultSpec) -> None:
        self.spec = spec

    def reset(self) -> None:
        self._random = random.Random(self._seed)
        self.injected.clear()

    def draw(self, kinds: tuple[str, ...] = FAULT_KINDS) -> Fault | None:
        """One draw per request; ``kinds`` limits what may be injected (e.g. no reset inside $batch)."""
        if not self.spec.active:
            return None
        x = self._random.random()
        acc = 0.0
        for kind in FAULT_KINDS:
            rate = self.spec.rates.get(kind, 0.0)
            acc += rate
            if x < acc:
                if kind not in kinds:
                    return None
                self.injected[kind] = self.injected.get(kind, 0) + 1
                return Fault(kind, self.spec.retry_after if kind in ("429", "503") else None)
        return None
