"""``disable-sweep-rule``: Exchange ``Disable-SweepRule`` (sweep rules are invisible to the admin centre's rule
screen). Undo enables the rule again."""

from __future__ import annotations

from typing import Any, ClassVar

from reclaim.remediate.actions._base import Action, ActionContext, Check, Requires, held, not_held
from reclaim.remediate.model import JSON, Phase, PlannedStep
from reclaim.remediate.planning import PlanContext, PlanItem
from reclaim.store import Finding


def _enabled(rule: JSON) -> bool:
    value = rule.get("Enabled")
    return value.strip().lower() == "true" if isinstance(value, str) else bool(value)


class DisableSweepRule(Action):
    name: ClassVar[str] = "disable-sweep-rule"
    phase: ClassVar[Phase] = Phase.ERADICATE
    title: ClassVar[str] = "Disable the sweep rule"
    reversible: ClassVar[bool] = True
    undo_note: ClassVar[str] = "enables the sweep rule again"
    order: ClassVar[int] = 30
    answers: ClassVar[frozenset[str]] = frozenset({"sweepRule"})
    requires: ClassVar[Requires] = Requires(cmdlets=("Get-SweepRule", "Disable-SweepRule", "Enable-SweepRule"))

    def plan(self, finding: Finding | None, ctx: PlanContext) -> list[PlanItem]:
        if finding is None or not ctx.acts(finding) or not finding.artifact_id:
            return []
        return [self.step(ctx, finding.artifact_id, f"sweep rule {finding.evidence.get('name')!r}",
                          ctx.reason(finding))]

    def describe_read(self, ctx: ActionContext, step: PlannedStep) -> JSON:
        return {"cmdlet": "Get-SweepRule", "parameters": {"Mailbox": ctx.upn}}

    async def read(self, ctx: ActionContext, step: PlannedStep) -> Any:
        items = await ctx.exo("Get-SweepRule", {"Mailbox": ctx.upn})
        return next((r for r in items if step.target in (str(r.get("RuleId")), str(r.get("Identity")))), None)

    def check(self, step: PlannedStep, state: Any, before: Any) -> Check:
        if state is None:
            return held("the sweep rule no longer exists")
        return held("the sweep rule is disabled") if not _enabled(state) else not_held("the sweep rule is enabled")

    async def apply(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        parameters = {"Mailbox": ctx.upn, "Identity": step.target}
        await ctx.exo("Disable-SweepRule", parameters)
        return {"cmdlet": "Disable-SweepRule", "parameters": parameters}

    async def undo(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        parameters = {"Mailbox": ctx.upn, "Identity": step.target}
        cmdlet = "Enable-SweepRule" if before is None or _enabled(before) else "Disable-SweepRule"
        await ctx.exo(cmdlet, parameters)
        return {"cmdlet": cmdlet, "parameters": parameters}


ACTION = DisableSweepRule()
