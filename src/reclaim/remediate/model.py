"""What a remediation plan is made of: phases, planned steps, and what happened to each.

A :class:`PlannedStep` is one action on one object (``disable-inbox-rule`` on rule ``AQAAAMn_kpCTZ``), with
the finding that calls for it and whether the platform lets it be undone. Its key ``action:target`` names
it in the journal, so a resumed run finds every step again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

JSON = dict[str, Any]


class Phase(StrEnum):
    """The procedure's order: contain the account, remove what the attacker left, recover, prevent."""

    CONTAIN = "contain"
    ERADICATE = "eradicate"
    RECOVER = "recover"
    PREVENT = "prevent"

    @property
    def rank(self) -> int:
        return list(Phase).index(self)


@dataclass(frozen=True)
class Reason:
    """The finding a step answers (or, for containment, the verdict)."""

    check: str
    severity: str
    title: str
    finding_id: int | None = None

    def to_json(self) -> JSON:
        return {"check": self.check, "severity": self.severity, "title": self.title, "findingId": self.finding_id}


@dataclass(frozen=True)
class PlannedStep:
    action: str
    target: str
    #: what a person reads: "rule '.' (moves payment mail to RSS Feeds)"
    label: str
    phase: Phase
    reason: Reason
    reversible: bool
    #: how undo restores it, or why it cannot
    undo_note: str
    #: what the action needs to find its object (rule source, method type, access rights ...)
    params: JSON = field(default_factory=dict)
    #: offered, not done unless selected (prevent actions; containment of a merely suspicious account)
    opt_in: bool = False

    @property
    def key(self) -> str:
        return f"{self.action}:{self.target}"

    def to_json(self) -> JSON:
        return {"action": self.action, "target": self.target, "label": self.label, "phase": self.phase.value,
                "reason": self.reason.to_json(), "reversible": self.reversible, "undo": self.undo_note,
                "params": dict(self.params), "optIn": self.opt_in}


@dataclass(frozen=True)
class Advice:
    """Something the plan tells the operator to do by hand (reclaim never changes tenant-wide policy)."""

    topic: str
    text: str
    check: str | None = None

    def to_json(self) -> JSON:
        return {"topic": self.topic, "text": self.text, "check": self.check}


@dataclass(frozen=True)
class LeftAlone:
    """A finding the plan deliberately does not act on, and why."""

    check: str
    artifact: str
    why: str

    def to_json(self) -> JSON:
        return {"check": self.check, "artifact": self.artifact, "why": self.why}


@dataclass(frozen=True)
class Plan:
    case_id: str
    user: str
    user_id: str
    verdict: str
    steps: tuple[PlannedStep, ...]
    #: offered but not selected
    offered: tuple[PlannedStep, ...] = ()
    advice: tuple[Advice, ...] = ()
    left_alone: tuple[LeftAlone, ...] = ()
    options: JSON = field(default_factory=dict)
    #: tenant-scoped findings of the case: listed apart, never acted on from one user's remediation
    tenant: tuple[LeftAlone, ...] = ()
    #: what the chosen steps need from the tenant, one line per action ("revoke-sessions: User.RevokeSessions.All")
    permissions: tuple[str, ...] = ()
    #: ``--include`` / ``--only`` entries that matched no planned or offered step, each with why
    not_offered: tuple[str, ...] = ()

    def phase(self, phase: Phase) -> list[PlannedStep]:
        return [s for s in self.steps if s.phase is phase]

    @property
    def tenant_only(self) -> bool:
        """The case's only indicators are tenant-wide: nothing to do for this user (see the tenant findings)."""
        return bool(self.tenant) and self.verdict == "clean" and not self.steps

    def to_json(self) -> JSON:
        return {"case": self.case_id, "user": self.user, "userId": self.user_id, "verdict": self.verdict,
                "steps": [s.to_json() for s in self.steps], "offered": [s.to_json() for s in self.offered],
                "advice": [a.to_json() for a in self.advice], "leftAlone": [x.to_json() for x in self.left_alone],
                "tenant": [x.to_json() for x in self.tenant], "permissions": list(self.permissions),
                "notOffered": list(self.not_offered), "options": dict(self.options)}


class State(StrEnum):
    """Where a step stands after a run, a verify or an undo."""

    HELD = "held"            # applied (now or before) and a read confirms it
    ALREADY = "already"      # nothing to do: the tenant was already in the wanted state
    PENDING = "pending"      # requested; the service applies it later (restricted-sender unblock)
    NOT_HELD = "not held"    # applied, but a read shows it did not hold (or was reverted)
    SKIPPED = "skipped"      # not run, with a reason (licence, federated user, containment not verified)
    FAILED = "failed"        # the request failed; the error says why
    MANUAL = "manual"        # must be done elsewhere (on-premises password reset)
    UNDONE = "undone"
    NOT_UNDOABLE = "not undoable"
    NOT_REACHED = "not reached"   # the tenant could not be reached (connection, authentication): not a result
    UNREAD = "could not read"     # the service answered, but not with something readable: the state is unknown

    @property
    def result(self) -> bool:
        """A real result about the tenant (not "not reached" / "could not read", which say nothing about it)."""
        return self not in (State.NOT_REACHED, State.UNREAD)

    @property
    def ok(self) -> bool:
        # MANUAL is not ok: the step still has to be done (elsewhere) before the account is contained.
        return self in (State.HELD, State.ALREADY, State.PENDING, State.SKIPPED, State.UNDONE, State.NOT_UNDOABLE)


@dataclass
class Outcome:
    step: PlannedStep
    state: State
    detail: str = ""
    #: seconds from the start of the run until this step was confirmed
    at: float | None = None

    def to_json(self) -> JSON:
        return {"action": self.step.action, "target": self.step.target, "label": self.step.label,
                "phase": self.step.phase.value, "state": self.state.value, "detail": self.detail}


@dataclass
class RunReport:
    case_id: str
    user: str
    outcomes: list[Outcome] = field(default_factory=list)
    #: seconds until containment was confirmed by reads (None: no containment in the plan)
    contain_seconds: float | None = None
    total_seconds: float = 0.0
    requests: int = 0
    chain_ok: bool = True
    chain_detail: str = ""
    password_delivery: str | None = None
    #: why the run stopped without reaching the tenant (connection or authentication failure), if it did
    not_reached: str | None = None
    #: what the run re-listed to look for persistence added since the remediation (``verify``)
    relisted: list[str] = field(default_factory=list)
    #: objects found by that re-listing, added since the investigation: "new since remediation"
    new_since: list[JSON] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.chain_ok and all(o.state.ok for o in self.outcomes) and not self.new_since

    @property
    def reached(self) -> bool:
        """Every step got a real result: nothing was left "not reached" or "could not read"."""
        return self.not_reached is None and all(o.state.result for o in self.outcomes)

    @property
    def exit_code(self) -> int:
        """DESIGN.md: 3 when the tenant could not be reached or read (not a result), else 0 / 1."""
        if not self.reached:
            return 3
        return 0 if self.ok else 1

    def to_json(self) -> JSON:
        return {"case": self.case_id, "user": self.user, "ok": self.ok,
                "outcomes": [o.to_json() for o in self.outcomes], "containSeconds": self.contain_seconds,
                "totalSeconds": round(self.total_seconds, 3), "requests": self.requests,
                "chain": {"ok": self.chain_ok, "detail": self.chain_detail},
                "passwordDelivery": self.password_delivery, "notReached": self.not_reached,
                "relisted": list(self.relisted), "newSinceRemediation": list(self.new_since)}
