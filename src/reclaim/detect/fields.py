"""Tolerant readers for raw API payloads.

Evidence arrives as the APIs return it, and attackers control part of it: fields may be missing,
``null``, of the wrong type or in another case (Graph is camelCase, Exchange PascalCase, CSV exports
strings). These helpers never raise on shape; they return ``None`` / empty values instead, so a
malformed object is ignored by a check rather than crashing the investigation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

_TRUE = {"true", "1", "yes", "$true", "on"}
_FALSE = {"false", "0", "no", "$false", "off", "", "none", "null"}


def get(obj: object, *keys: str) -> Any:
    """The first present value of ``keys`` in a mapping, matching keys case-insensitively."""
    # a plain dict (what JSON parsing gives) skips the abstract-class check, a tenth of a sweep's checks
    if type(obj) is not dict and not isinstance(obj, Mapping):
        return None
    for key in keys:
        if key in obj:
            return obj[key]
    # the usual miss: no key matches in any case (checked in C, cheaper than building the lowered copy)
    try:
        if _lowered(keys).isdisjoint(map(str.lower, obj)):
            return None
    except TypeError:  # a key that is not a string: the general path below
        pass
    lowered = {str(k).lower(): v for k, v in obj.items()}
    for key in keys:
        if key.lower() in lowered:
            return lowered[key.lower()]
    return None


@lru_cache(maxsize=1024)
def _lowered(keys: tuple[str, ...]) -> frozenset[str]:
    return frozenset(key.lower() for key in keys)


def text(obj: object, *keys: str) -> str | None:
    """A string field (numbers are stringified); ``None`` when absent, null, empty or not scalar."""
    value = get(obj, *keys)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str | int | float):
        s = str(value)
        return s if s.strip() else None
    return None


def flag(obj: object, *keys: str) -> bool | None:
    """A boolean field; accepts JSON booleans and the strings PowerShell and CSV exports write."""
    value = get(obj, *keys)
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    if isinstance(value, str):
        v = value.strip().lower()
        if v in _TRUE:
            return True
        if v in _FALSE:
            return False
    return None


def items(obj: object, *keys: str) -> list[Any]:
    """A list field; a scalar becomes a one-element list, ``None`` an empty one."""
    return as_list(get(obj, *keys))


def mappings(values: Iterable[Any]) -> list[Mapping[str, Any]]:
    """Only the mapping elements of a list (a malformed element is skipped)."""
    return [v for v in values if type(v) is dict or isinstance(v, Mapping)]


def strings(values: Iterable[Any]) -> list[str]:
    """Only the non-empty string elements of a list, stripped."""
    return [v.strip() for v in values if isinstance(v, str) and v.strip()]


def when(obj: object, *keys: str) -> datetime | None:
    """An ISO 8601 timestamp (``Z`` or offset; naive means UTC); ``None`` when absent or unparsable."""
    return parse_time(get(obj, *keys))


def parse_time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    s = value.strip()
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    # Graph writes 7 fractional digits; fromisoformat accepts at most 6.
    if "." in s:
        head, _, rest = s.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        tz = rest[len(digits):]
        s = f"{head}.{digits[:6]}{tz}" if digits else head + tz
    try:
        parsed = datetime.fromisoformat(s.replace(" ", "T", 1) if "T" not in s else s)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def as_list(value: object) -> list[Any]:
    """A value as a list: a list stays, ``None`` is empty, a scalar becomes one element."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]
