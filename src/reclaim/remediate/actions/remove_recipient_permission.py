"""``remove-recipient-permission``: Exchange ``Remove-RecipientPermission`` for a SendAs delegate the attacker
added. Undo re-adds it with ``Add-RecipientPermission``."""

from __future__ import annotations

from typing import Any, ClassVar

from reclaim.remediate.actions._base import Action, ActionContext, Check, held, not_held
from reclaim.remediate.actions._delegates import granted
from reclaim.remediate.model import JSON, Phase, PlannedStep


class RemoveRecipientPermission(Action):
    name: ClassVar[str] = "remove-recipient-permission"
    phase: ClassVar[Phase] = Phase.ERADICATE
    title: ClassVar[str] = "Remove the SendAs delegate"
    reversible: ClassVar[bool] = True
    undo_note: ClassVar[str] = "re-adds the delegate with Add-RecipientPermission"
    needs: ClassVar[str] = "Exchange.ManageAsApp + Exchange Administrator role"

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
