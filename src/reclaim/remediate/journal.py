"""The remediation's view of a case journal: which step of which action happened, and the test-only crash hook.

Every planned step has the key ``action:target`` (journal ``action_id`` and ``target``). One *attempt* at a
step starts with a ``snapshot`` entry (the before-state, stored as evidence) and goes on with ``applying``
(written before the request is sent), ``applied`` (its answer), then ``verified`` / ``not_held``; ``skipped``
and ``failed`` end an attempt with a reason, ``undoing`` / ``undone`` record an undo. Each run is bracketed by
``run`` entries (``applying`` at the start with the whole plan, ``applied`` at the end): a ``run`` left at
``applying`` is a run that was interrupted.

``RECLAIM_TEST_CRASH_AFTER=<n>`` (tests only): the process ends with ``os._exit`` right after its n-th journal
entry, as a ``kill -9`` would at that point. Never set it outside the test suite.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from reclaim.remediate.inert import escape, unescape
from reclaim.remediate.model import JSON, PlannedStep
from reclaim.store import JournalEntry, Store

T = TypeVar("T")
RUN = "run"
CRASH_ENV = "RECLAIM_TEST_CRASH_AFTER"


@dataclass
class Attempt:
    """Journal entries of one step since its latest snapshot (or all of them, when none was taken)."""

    entries: list[JournalEntry] = field(default_factory=list)
    snapshot: JournalEntry | None = None

    def has(self, step: str) -> bool:
        return any(e.step == step for e in self.entries)

    @property
    def last(self) -> str | None:
        steps = [e.step for e in self.entries if e.step != "planned"]
        return steps[-1] if steps else None

    @property
    def write_in_doubt(self) -> bool:
        """``applying`` without an ``applied`` / ``failed`` after it: the process died while the request was out."""
        steps = [e.step for e in self.entries]
        if "applying" not in steps:
            return False
        after = steps[len(steps) - 1 - steps[::-1].index("applying"):]
        return not ({"applied", "failed", "skipped"} & set(after))

    @property
    def undelivered(self) -> bool:
        """The change was made but its result (the new password) never reached the operator."""
        last = self.entries[-1] if self.entries else None
        return last is not None and last.step == "failed" and (last.result or {}).get("stage") == "deliver"

    @property
    def applied(self) -> bool:
        return self.has("applied")

    @property
    def undone(self) -> bool:
        return self.last == "undone"


class Journal:
    """Reads and appends a case's journal for remediation."""

    def __init__(self, store: Store, case_id: str, operator: str | None, *,
                 secrets: Callable[[], Iterable[str]] | None = None) -> None:
        self.store = store
        #: the secrets this process holds besides the remembered ones (the connection's client secret, tokens)
        self.secrets = secrets
        self.case_id = case_id
        self.operator = operator
        self.written = 0
        raw = os.environ.get(CRASH_ENV, "").strip()
        self.crash_after = int(raw) if raw.isdigit() and int(raw) > 0 else None
        #: the case's entries, read once and kept up to date with what this object appends
        self._entries: list[JournalEntry] | None = None
        self._lock: asyncio.Lock | None = None

    def entries(self) -> list[JournalEntry]:
        if self._entries is None:
            self._entries = self.store.journal(self.case_id)
        return self._entries

    def attempt(self, step: PlannedStep) -> Attempt:
        mine = [e for e in self.entries() if e.action_id == step.action and e.target == step.target]
        snaps = [i for i, e in enumerate(mine) if e.step == "snapshot"]
        if not snaps:
            return Attempt(entries=mine)
        return Attempt(entries=mine[snaps[-1]:], snapshot=mine[snaps[-1]])

    def planned(self, step: PlannedStep) -> bool:
        return any(e.action_id == step.action and e.target == step.target and e.step == "planned"
                   for e in self.entries())

    def write(self, action_id: str, target: str, step: str, *, before_evidence_id: int | None = None,
              request: JSON | None = None, result: JSON | None = None, verify: JSON | None = None,
              started_at: datetime | None = None) -> JournalEntry:
        also = tuple(self.secrets()) if self.secrets is not None else ()
        # attacker strings that look like credentials are stored escaped; a secret of ours is refused
        request, result, verify = (None if part is None else escape(part, name, also=also) for name, part in
                                   (("request", request), ("result", result), ("verify", verify)))
        entry = self.store.append_journal(self.case_id, action_id=action_id, target=target, step=step,
                                          operator=self.operator, before_evidence_id=before_evidence_id,
                                          request=request, result=result, verify=verify,
                                          started_at=started_at or datetime.now(UTC))
        if self._entries is not None:
            self._entries.append(entry)
        self.written += 1
        if self.crash_after is not None and self.written >= self.crash_after:
            os._exit(137)  # test-only: as if killed with SIGKILL right here
        return entry

    async def awrite(self, action_id: str, target: str, step: str, **kw: Any) -> JournalEntry:
        """:meth:`write` in a worker thread (one at a time, in call order): concurrent steps do not wait for each
        other's fsyncs on the event loop. The entry is durable when this returns, as with :meth:`write`."""
        return await self.off_loop(self.write, action_id, target, step, **kw)

    async def off_loop(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        """Run a store call in a worker thread, one at a time (the store's writes stay in order)."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            return await asyncio.to_thread(fn, *args, **kw)

    # -- runs --------------------------------------------------------------------------------------

    def runs(self) -> list[JournalEntry]:
        return [e for e in self.entries() if e.action_id == RUN]

    def interrupted_run(self) -> JournalEntry | None:
        """The start entry of a run that never finished, if the last run is one (``verify-N`` / ``undo-N``
        entries, which say only that those commands could not reach or read the tenant, are not runs)."""
        runs = [e for e in self.runs() if e.step in ("applying", "applied")]
        return runs[-1] if runs and runs[-1].step == "applying" else None

    def last_plan(self) -> dict[str, Any] | None:
        starts = [e for e in self.runs() if e.step == "applying" and e.request and e.request.get("kind") == "apply"]
        return dict(unescape(starts[-1].request or {})) if starts else None
