"""What an action's ``plan`` gets: the options the operator chose and the case it plans for.

Each action plans its own steps (:meth:`reclaim.remediate.actions.Action.plan`); the playbook only asks
every action about every finding of the artifact types it answers and orders what comes back. A plan
item is a :class:`~reclaim.remediate.model.PlannedStep` (chosen, or offered with ``opt_in``), an
:class:`~reclaim.remediate.model.Advice` for the operator, or a :class:`~reclaim.remediate.model.LeftAlone`
finding with the reason nothing is done about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reclaim.errors import BadInput
from reclaim.remediate.model import Advice, LeftAlone, PlannedStep, Reason
from reclaim.store import Finding

#: What an action's ``plan`` may return.
PlanItem = PlannedStep | Advice | LeftAlone

#: A finding of at least this severity is acted on; lower ones are offered (confirm with the user).
ACT_AT = frozenset({"medium", "high", "critical"})
#: The pseudo artifact type containment answers: the account's verdict, not one object.
VERDICT = "verdict"


@dataclass(frozen=True)
class PlanOptions:
    #: only these actions (names); an offered action named here is chosen too
    only: frozenset[str] | None = None
    skip: frozenset[str] = frozenset()
    #: offered steps to choose (action names or ``action:target`` keys)
    include: frozenset[str] = frozenset()
    delete_rules: bool = False
    keep_forwarding: bool = False
    #: contain (block, revoke, reset) even though the verdict is not *compromised* (``--contain``)
    contain: bool = False

    def __post_init__(self) -> None:
        from reclaim.remediate.actions import ACTIONS

        plannable = [n for n, a in ACTIONS.items() if a.plannable]
        for name in (self.only or frozenset()) | self.skip | {i.split(":", 1)[0] for i in self.include}:
            if name not in plannable:
                raise BadInput(f"unknown action {name!r}", hint=f"one of: {', '.join(plannable)}")

    def to_json(self) -> dict[str, Any]:
        return {"only": sorted(self.only) if self.only is not None else None, "skip": sorted(self.skip),
                "include": sorted(self.include), "deleteRules": self.delete_rules,
                "keepForwarding": self.keep_forwarding, "contain": self.contain}


@dataclass(frozen=True)
class PlanContext:
    """The case a plan is made for: the user, the verdict, the suspicious window, the options."""

    upn: str
    user_id: str
    verdict: str
    options: PlanOptions
    because: str = ""
    #: the password is synchronised from on-premises AD (reset it there)
    federated: bool = False
    #: start of the suspicious window: what is dated before it is the user's own
    window_since: datetime | None = None

    @property
    def contain_reason(self) -> Reason:
        return Reason("verdict", "critical" if self.verdict == "compromised" else "medium",
                      f"the account is {self.verdict}" + (f": {self.because}" if self.because else ""))

    @staticmethod
    def reason(f: Finding) -> Reason:
        return Reason(check=f.check_id, severity=f.severity, title=f.title, finding_id=f.id)

    @staticmethod
    def acts(f: Finding) -> bool:
        """A compromise finding rated medium or above: acted on."""
        return f.kind == "compromise" and f.severity in ACT_AT

    def before_window(self, f: Finding) -> bool:
        """True when the artifact is dated before the suspicious window: the user's own, whatever its rating."""
        moment = parse_time(f.evidence.get("createdDateTime") or f.evidence.get("time"))
        return self.window_since is not None and moment is not None and moment < self.window_since


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


__all__ = ["ACT_AT", "VERDICT", "PlanContext", "PlanItem", "PlanOptions", "parse_time"]
