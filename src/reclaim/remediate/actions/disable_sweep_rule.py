"""``disable-sweep-rule``: Exchange ``Disable-SweepRule`` (sweep rules are invisible to the admin centre's rule
screen). Undo enables the rule again."""

from __future__ import annotations

from typing import Any, ClassVar

from reclaim.remediate.actions._base import Action, ActionContext, Check, held, not_held
from reclaim.remediate.model import JSON, Phase, PlannedStep


def _enabled(rule: JSON) -> bool:
    value = rule.get("Enabled")
    return value.strip().lower() == "true" if isinstance(value, str) else bool(value)


class DisableSweepRule(Action):
    name: ClassVar[str] = "disable-sweep-rule"
    phase: ClassVar[Phase] = Phase.ERADICATE
    title: ClassVar[str] = "Disable the sweep rule"
    reversible: ClassVar[bool] = True
    undo_note: ClassVar[str] = "enables the sweep rule again"
    needs: ClassVar[str] = "Exchange.ManageAsApp + Exchange Administrator role"

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
