"""The reader's time zone: ``--tz ZONE`` (IANA name, or ``UTC``), default the machine's."""

from __future__ import annotations

import os
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reclaim.errors import BadInput

__all__ = ["resolve_zone", "zone_name"]


def resolve_zone(name: str | None) -> tzinfo:
    """The zone called ``name`` (``Europe/Berlin``, ``UTC``), or the machine's when ``name`` is None."""
    if name is None:
        return _machine_zone()
    if name.strip().upper() in ("UTC", "Z"):
        return UTC
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadInput(f"unknown time zone {name!r}",
                       hint="use an IANA name such as Europe/Berlin or America/New_York, or UTC") from exc


def zone_name(zone: tzinfo) -> str:
    if zone is UTC:
        return "UTC"
    key = getattr(zone, "key", None)
    if isinstance(key, str):
        return key
    return datetime.now(zone).strftime("UTC%z") or str(zone)


def _machine_zone() -> tzinfo:
    """TZ, else /etc/localtime's zone name, else the fixed offset the C library reports."""
    for candidate in (os.environ.get("TZ", "").lstrip(":"), _localtime_key()):
        if candidate:
            try:
                return UTC if candidate.upper() in ("UTC", "ETC/UTC") else ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return datetime.now().astimezone().tzinfo or UTC


def _localtime_key() -> str | None:
    link = Path("/etc/localtime")
    try:
        target = str(link.resolve())
    except OSError:
        return None
    marker = "/zoneinfo/"
    return target.split(marker, 1)[1] if marker in target else None
