"""Time and documents for the emulator: its clock, Graph's timestamp format, and fast copies of JSON trees.

A leaf module (it imports nothing of the emulator), so the fixture validator and the state both use it
without importing each other.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import marshal
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

JSON = dict[str, Any]


class Clock:
    """The emulator's notion of now; tests move it forward instead of sleeping."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        if self._frozen is not None:
            return self._frozen + self._offset
        return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> None:
        self._offset += timedelta(seconds=seconds)

    def freeze(self) -> None:
        """Stop the clock where it is: only ``advance`` moves it (for tests of time arithmetic)."""
        self._frozen = datetime.now(UTC)

    def reset(self) -> None:
        self._offset = timedelta(0)
        self._frozen = None


def iso(dt: datetime) -> str:
    """ISO 8601 UTC with a Z, as Graph writes timestamps."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> datetime:
    """Parse an ISO 8601 timestamp (with Z or an offset); naive values are taken as UTC."""
    text = value.strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt


def new_id() -> str:
    return str(uuid.uuid4())


@contextlib.contextmanager
def without_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large tree of fresh, acyclic dicts is built: a 10,000-user
    fixture is millions of objects, and the collector would walk them again and again for nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def copy_document(document: JSON) -> JSON:
    """A deep copy of a JSON-shaped document, as ``copy.deepcopy`` makes it (shared sub-objects stay shared,
    types are kept), several times faster: ``marshal`` handles dicts, lists, tuples, strings and numbers in C.
    Anything else (an object a test put in) falls back to ``copy.deepcopy``."""
    try:
        copied = marshal.loads(marshal.dumps(document))  # noqa: S302 - our own bytes, this instant
    except ValueError:  # an object marshal does not know
        return copy.deepcopy(document)
    assert isinstance(copied, dict)
    return copied
