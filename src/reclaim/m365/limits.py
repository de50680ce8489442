"""Bounds on what the client accepts from the service, so a misbehaving or hostile server cannot hang reclaim or
exhaust its memory. Generous by default, each configurable through the environment::

    RECLAIM_REQUEST_DEADLINE   seconds one attempt of one request may take, answer body included   (300)
    RECLAIM_MAX_BODY_MB        megabytes of one answer body (read streamed, stopped at the cap)      (64)
    RECLAIM_MAX_PAGE_ITEMS     items in one page of a collection                                     (100000)
    RECLAIM_MAX_PAGES          pages of one collection (nextLink after nextLink)                     (20000)

JSON nested deeper than the parser's recursion limit is an unexpected shape, not a crash.
Each bound ends a read as ``LimitExceeded`` ("<bound> exceeded (figure)"): the object is not checked, never empty.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields

from reclaim.errors import BadInput

__all__ = ["ENV", "Limits"]

#: field → environment variable
ENV = {
    "request_deadline": "RECLAIM_REQUEST_DEADLINE",
    "max_body_mb": "RECLAIM_MAX_BODY_MB",
    "max_page_items": "RECLAIM_MAX_PAGE_ITEMS",
    "max_pages": "RECLAIM_MAX_PAGES",
}


@dataclass(frozen=True)
class Limits:
    request_deadline: float = 300.0
    max_body_mb: float = 64.0
    max_page_items: int = 100_000
    max_pages: int = 20_000

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 1024 * 1024)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Limits:
        """The defaults, overridden by the ``RECLAIM_*`` variables that are set (a bad value is ``BadInput``)."""
        env = os.environ if environ is None else environ
        values: dict[str, float | int] = {}
        for f in fields(cls):
            raw = env.get(ENV[f.name])
            if raw is None or not raw.strip():
                continue
            try:
                number = float(raw) if f.type in ("float", float) else int(raw)
            except ValueError:
                number = 0
            if not math.isfinite(number) or number <= 0:  # "nan" and "inf" parse as floats
                raise BadInput(f"{ENV[f.name]} must be a positive number, not {raw[:40]!r}",
                               hint=f"unset {ENV[f.name]} for the default")
            values[f.name] = number
        return cls(**values)  # type: ignore[arg-type]
