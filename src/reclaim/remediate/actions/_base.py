"""The contract of one remediation action, and the small helpers the action modules share.

Each action module defines one subclass of :class:`Action` and ``ACTION = TheAction()``; the package finds
them (no list to keep). An action describes itself: its ``phase`` and ``order`` in the procedure, the
artifact types it ``answers`` (``"verdict"`` for containment), what it ``requires`` from the tenant (from
which ``reclaim tenant check``, the plan's permission list and docs/connect-a-real-tenant.md are made), and:

- ``plan(finding, ctx)``: the steps it proposes for one finding (or for the verdict), advice, or why it
  leaves the finding alone;

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
from typing import Any, ClassVar
from urllib.parse import quote

from reclaim.m365 import Connection, ExchangeNotFound, NotFound
from reclaim.remediate.model import JSON, Phase, PlannedStep, Reason, State
from reclaim.remediate.planning import PlanContext, PlanItem, parse_time
from reclaim.store import Finding

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

    async def graph_list(self, url: str, params: dict[str, str] | None = None, *,
                         mailbox: str | None = None) -> list[JSON]:
        """Every item of a collection, page after page, each page validated (``value`` missing, null or not a list
        of objects, a nextLink cycle: ``UnreadableAnswer``, i.e. the step could not read — never "none left")."""
        self.count()
        return [item async for item in self.conn.graph.paged(url, params, mailbox=mailbox)]

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

    async def exo_one(self, cmdlet: str, parameters: dict[str, Any]) -> JSON:
        """The one object a cmdlet returns for an ``-Identity`` that exists (the user's own mailbox): an empty answer
        is ``UnexpectedShape`` (the step could not read), never "no forwarding"."""
        self.count()
        return await self.conn.exchange.invoke_one(cmdlet, parameters)

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


class Undelivered(Unsupported):
    """The change was made but its result (the new password) could not be handed over: the step failed, and the
    next run makes it again (``repeat_after_interruption``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, state=State.FAILED)


@dataclass(frozen=True)
class Requires:
    """What an action needs from the tenant.

    ``graph``: Graph application permissions, any one allows it (least privileged first); ``roles``: the Entra
    role app-only callers also need for those Graph writes (any one); ``cmdlets``: Exchange admin API cmdlets
    (the application permission ``Exchange.ManageAsApp`` and the roles each cmdlet allows, from
    :data:`reclaim.m365.permissions.EXCHANGE_CMDLETS`); ``licence``: a tenant licence the write needs."""

    graph: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    cmdlets: tuple[str, ...] = ()
    licence: str | None = None
    #: SharePoint REST application permissions (API "Office 365 SharePoint Online", not Graph), any one allows it
    sharepoint: tuple[str, ...] = ()
    #: SharePoint refuses app-only tokens got with a client secret: the app needs a certificate credential
    certificate: bool = False

    def text(self) -> str:
        """One line: ``User.RevokeSessions.All`` / ``Exchange.ManageAsApp + Exchange Administrator role``."""
        from reclaim.m365.permissions import exchange_roles_for

        parts: list[str] = []
        if self.graph:
            parts.append(self.graph[0] + (f" + {self.roles[0]} role" if self.roles else ""))
        if self.cmdlets:
            roles = exchange_roles_for(self.cmdlets[0])
            parts.append(f"Exchange.ManageAsApp + {roles[0]} role ({', '.join(self.cmdlets)})")
        if self.sharepoint:
            parts.append(f"SharePoint {self.sharepoint[0]} (application permission on Office 365 SharePoint Online)"
                         + (", with a certificate credential (SharePoint refuses client-secret app tokens)"
                            if self.certificate else ""))
        if self.licence:
            parts.append(self.licence)
        return "; ".join(parts)


class Action:
    name: ClassVar[str]
    phase: ClassVar[Phase]
    #: where in its phase it runs (lower first); containment first: block, then revoke, then reset
    order: ClassVar[int]
    title: ClassVar[str]
    reversible: ClassVar[bool] = False
    undo_note: ClassVar[str] = ""
    #: the artifact types whose findings it answers (``"verdict"``: the account as a whole)
    answers: ClassVar[frozenset[str]] = frozenset()
    #: what it needs from the tenant (``tenant check``, the plan's permission list, the docs)
    requires: ClassVar[Requires] = Requires()
    #: ``remediate`` cannot do its job without it (``tenant check`` says "blocked" when it is missing)
    essential: ClassVar[bool] = False
    #: planned from findings; ``False`` for an action only a command runs (``restore-access``)
    plannable: ClassVar[bool] = True
    #: a one-way step's witness: the user property (in the investigation's ``user`` evidence and in ``read``'s
    #: state) that must not have moved since the investigation; if it did, someone else (another run, on another
    #: store) made the change already, and the step stops instead of making it twice
    witness: ClassVar[str | None] = None
    #: the request's effect is a moment, not a state: after an interrupted write, send it again
    #: (a reset password that was never delivered to the operator is useless)
    repeat_after_interruption: ClassVar[bool] = False

    def plan(self, finding: Finding | None, ctx: PlanContext) -> list[PlanItem]:
        """The steps this action proposes for ``finding`` (``None``: for the verdict), advice, or why it leaves
        the finding alone. Only called for findings of the types it ``answers``."""
        return []

    def step(self, ctx: PlanContext, target: str, label: str, reason: Reason, *, params: JSON | None = None,
             opt_in: bool = False) -> PlannedStep:
        """A step of this action (chosen, or offered when ``opt_in``)."""
        return PlannedStep(action=self.name, target=target, label=label, phase=self.phase, reason=reason,
                           reversible=self.reversible, undo_note=self.undo_note, params=dict(params or {}),
                           opt_in=opt_in)

    def maybe(self, ctx: PlanContext, f: Finding, target: str, label: str,
              params: JSON | None = None) -> list[PlanItem]:
        """Act on a finding rated medium or above (unless dated before the suspicious window: offered, the
        user's own); offer the step for a compromise finding rated lower."""
        if not target:
            return []
        reason = ctx.reason(f)
        if ctx.acts(f) and ctx.before_window(f):
            return [self.step(ctx, target, label + " (dated before the suspicious window: confirm with the user)",
                              reason, params=params, opt_in=True)]
        if ctx.acts(f):
            return [self.step(ctx, target, label, reason, params=params)]
        if f.kind == "compromise" and f.severity != "info":
            return [self.step(ctx, target, label + " (not clearly the attacker's: confirm with the user)", reason,
                              params=params, opt_in=True)]
        return []

    def describe_read(self, ctx: ActionContext, step: PlannedStep) -> JSON:
        """How the before-state is read (stored with the snapshot)."""
        return {"action": self.name, "target": step.target}

    async def read(self, ctx: ActionContext, step: PlannedStep) -> Any:
        raise NotImplementedError

    def check(self, step: PlannedStep, state: Any, before: Any) -> Check:
        raise NotImplementedError

    async def apply(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        raise NotImplementedError

    def restored(self, step: PlannedStep, state: Any, before: Any) -> bool:
        """Does the tenant already hold the before-state (an undo sent before a crash, or done by hand)? Then undo
        sends nothing. The default: the state read now equals the snapshot."""
        return before is not None and state == before

    async def apply_to(self, ctx: ActionContext, step: PlannedStep, before: Any, current: Any) -> JSON:
        """``apply``, told what the last read found (``current``; ``None`` when not read). A resumed step gets the
        snapshot as ``before`` and today's state as ``current``: an action that changes many objects (messages)
        overrides this to change only those not yet changed, so a resumed run re-sends nothing."""
        return await self.apply(ctx, step, before)

    async def undo(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        raise Unsupported(self.undo_note or "this action cannot be undone", state=State.NOT_UNDOABLE)


def later_than(now: Any, before: Any) -> bool:
    """True when timestamp ``now`` is set and after ``before`` (or ``before`` was never set)."""
    current = parse_time(now)
    if current is None:
        return False
    previous = parse_time(before)
    return previous is None or current > previous


def first(items: list[JSON] | None) -> JSON | None:
    return items[0] if items else None
