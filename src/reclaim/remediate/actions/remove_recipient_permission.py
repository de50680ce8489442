"""``remove-recipient-permission``: Exchange ``Remove-RecipientPermission`` for a SendAs delegate the attacker
added. Undo re-adds it with ``Add-RecipientPermission``."""

from __future__ import annotations

from typing import Any, ClassVar

from reclaim.remediate.actions._base import Action, ActionContext, Check, Requires, held, not_held
from reclaim.remediate.actions._delegates import granted, plan_delegate
from reclaim.remediate.model import JSON, Phase, PlannedStep
from reclaim.remediate.planning import PlanContext, PlanItem
from reclaim.store import Finding


class RemoveRecipientPermission(Action):
    name: ClassVar[str] = "remove-recipient-permission"
    phase: ClassVar[Phase] = Phase.ERADICATE
    title: ClassVar[str] = "Remove the SendAs delegate"
    reversible: ClassVar[bool] = True
    undo_note: ClassVar[str] = "re-adds the delegate with Add-RecipientPermission"
    order: ClassVar[int] = 41
    answers: ClassVar[frozenset[str]] = frozenset({"recipientPermission"})
    requires: ClassVar[Requires] = Requires(cmdlets=("Get-RecipientPermission", "Remove-RecipientPermission",
                                                     "Add-RecipientPermission"))

    def plan(self, finding: Finding | None, ctx: PlanContext) -> list[PlanItem]:
        return [] if finding is None else plan_delegate(self, finding, ctx, "SendAs")

    def describe_read(self, ctx: ActionContext, step: PlannedStep) -> JSON:
        return {"cmdlet": "Get-RecipientPermission", "parameters": {"Identity": ctx.upn, "Trustee": step.target}}

    async def read(self, ctx: ActionContext, step: PlannedStep) -> Any:
        items = await ctx.exo("Get-RecipientPermission", {"Identity": ctx.upn, "Trustee": step.target})
        return {"entries": items, "granted": granted(items, "Trustee", step.target, ["SendAs"])}

    def check(self, step: PlannedStep, state: Any, before: Any) -> Check:
        if state["granted"]:
            return not_held(f"{step.target} can still send as this mailbox")
        return held(f"{step.target} cannot send as this mailbox")

    async def apply(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        parameters = {"Identity": ctx.upn, "Trustee": step.target, "AccessRights": ["SendAs"]}
        await ctx.exo("Remove-RecipientPermission", parameters)
        return {"cmdlet": "Remove-RecipientPermission", "parameters": parameters}

    async def undo(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        parameters = {"Identity": ctx.upn, "Trustee": step.target, "AccessRights": ["SendAs"]}
        await ctx.exo("Add-RecipientPermission", parameters, idempotent=True)
        return {"cmdlet": "Add-RecipientPermission", "parameters": parameters}


ACTION = RemoveRecipientPermission()
