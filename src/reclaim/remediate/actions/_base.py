"""The contract of one remediation action, and the small helpers the action modules share.

Each action module defines one subclass of :class:`Action`:

- ``read(ctx, step)``: the current state of exactly what the action changes (also the before-state
  snapshot stored as evidence before the change);
- ``check(step, state, before)``: does the wanted state hold? (``before`` is the snapshot, for actions
  whose effect is a moment: sessions revoked, password changed);
- ``apply(ctx, step, before)``: make the change; returns the request as it may be journaled (secrets
  replaced by ``[redacted]``);
- ``undo(ctx, step, before)``: restore the snapshot where the platform allows (``reversible``), else
  ``undo_note`` says why it cannot.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote

from reclaim.m365 import Connection, ExchangeNotFound, NotFound
from reclaim.remediate.model import JSON, Phase, PlannedStep, State

#: Receives the generated password exactly once; returns where it went ("terminal", "file /path").
PasswordSink = Callable[[str, str], str]


@dataclass
class ActionContext:
    conn: Connection
    upn: str
    user_id: str
    #: the one place a generated password goes (None: reset-password refuses to run)
    password_sink: PasswordSink | None = None
    #: counts requests this remediation sent (reads and writes)
    requests: list[int] = field(default_factory=lambda: [0])

    @property
    def user_path(self) -> str:
        return f"/users/{quote(self.user_id or self.upn, safe='@')}"

    def count(self, n: int = 1) -> None:
        self.requests[0] += n

    async def graph_get(self, url: str, params: dict[str, str] | None = None, *,
                        mailbox: str | None = None) -> JSON:
        self.count()
        return await self.conn.graph.get(url, params, mailbox=mailbox)

    async def graph_get_or_none(self, url: str, params: dict[str, str] | None = None, *,
                                mailbox: str | None = None) -> JSON | None:
        """The object, or ``None`` when it does not exist (any more)."""
        try:
            return await self.graph_get(url, params, mailbox=mailbox)
        except NotFound:
            return None

    async def graph_write(self, method: str, url: str, body: Any = None, *, mailbox: str | None = None,
                          idempotent: bool | None = None,
                          verify: Callable[[], Awaitable[bool]] | None = None) -> JSON | None:
        self.count()
        return await self.conn.graph.request(method, url, json=body, mailbox=mailbox, idempotent=idempotent,
                                             verify=verify)

    async def exo(self, cmdlet: str, parameters: dict[str, Any], *, idempotent: bool | None = None) -> list[JSON]:
        self.count()
        return await self.conn.exchange.invoke(cmdlet, parameters, idempotent=idempotent)

    async def exo_or_none(self, cmdlet: str, parameters: dict[str, Any]) -> list[JSON] | None:
        try:
            return await self.exo(cmdlet, parameters)
        except ExchangeNotFound:
            return None


@dataclass(frozen=True)
class Check:
    """The answer of :meth:`Action.check`."""

    state: State
    detail: str

    @property
    def holds(self) -> bool:
        return self.state in (State.HELD, State.ALREADY)


def held(detail: str) -> Check:
    return Check(State.HELD, detail)


def not_held(detail: str) -> Check:
    return Check(State.NOT_HELD, detail)


class Unsupported(Exception):
    """Raised by ``apply`` when the action cannot be done here (federated user, no licence); the step is
    recorded as skipped or manual with this message."""

    def __init__(self, message: str, *, state: State = State.SKIPPED) -> None:
        super().__init__(message)
        self.state = state


class Action:
    name: ClassVar[str]
    phase: ClassVar[Phase]
    title: ClassVar[str]
    reversible: ClassVar[bool] = False
    undo_note: ClassVar[str] = ""
    #: the request's effect is a moment, not a state: after an interrupted write, send it again
    #: (a reset password that was never delivered to the operator is useless)
    repeat_after_interruption: ClassVar[bool] = False
    #: Graph permissions / roles this action needs (shown in `reclaim remediate --help` and errors)
    needs: ClassVar[str] = ""

    def describe_read(self, ctx: ActionContext, step: PlannedStep) -> JSON:
        """How the before-state is read (stored with the snapshot)."""
        return {"action": self.name, "target": step.target}

    async def read(self, ctx: ActionContext, step: PlannedStep) -> Any:
        raise NotImplementedError

    def check(self, step: PlannedStep, state: Any, before: Any) -> Check:
        raise NotImplementedError

    async def apply(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        raise NotImplementedError

    async def undo(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        raise Unsupported(self.undo_note or "this action cannot be undone", state=State.NOT_UNDOABLE)


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def later_than(now: Any, before: Any) -> bool:
    """True when timestamp ``now`` is set and after ``before`` (or ``before`` was never set)."""
    current = parse_time(now)
    if current is None:
        return False
    previous = parse_time(before)
    return previous is None or current > previous


def first(items: list[JSON] | None) -> JSON | None:
    return items[0] if items else None
