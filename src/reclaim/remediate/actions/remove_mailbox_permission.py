"""``remove-mailbox-permission``: Exchange ``Remove-MailboxPermission`` for a FullAccess delegate the attacker
added. Undo re-adds it with ``Add-MailboxPermission``."""

from __future__ import annotations

from typing import Any, ClassVar

from reclaim.remediate.actions._base import Action, ActionContext, Check, Requires, held, not_held
from reclaim.remediate.actions._delegates import granted, plan_delegate
from reclaim.remediate.model import JSON, Phase, PlannedStep
from reclaim.remediate.planning import PlanContext, PlanItem
from reclaim.store import Finding


class RemoveMailboxPermission(Action):
    name: ClassVar[str] = "remove-mailbox-permission"
    phase: ClassVar[Phase] = Phase.ERADICATE
    title: ClassVar[str] = "Remove the mailbox delegate (FullAccess)"
    reversible: ClassVar[bool] = True
    undo_note: ClassVar[str] = "re-adds the delegate with Add-MailboxPermission"
    order: ClassVar[int] = 40
    answers: ClassVar[frozenset[str]] = frozenset({"mailboxPermission"})
    requires: ClassVar[Requires] = Requires(cmdlets=("Get-MailboxPermission", "Remove-MailboxPermission",
                                                     "Add-MailboxPermission"))

    def plan(self, finding: Finding | None, ctx: PlanContext) -> list[PlanItem]:
        return [] if finding is None else plan_delegate(self, finding, ctx, "FullAccess")

    def _rights(self, step: PlannedStep) -> list[str]:
        return [str(r) for r in step.params.get("accessRights") or ["FullAccess"]]

    def describe_read(self, ctx: ActionContext, step: PlannedStep) -> JSON:
        return {"cmdlet": "Get-MailboxPermission", "parameters": {"Identity": ctx.upn, "User": step.target}}

    async def read(self, ctx: ActionContext, step: PlannedStep) -> Any:
        items = await ctx.exo("Get-MailboxPermission", {"Identity": ctx.upn, "User": step.target})
        return {"entries": items, "granted": granted(items, "User", step.target, self._rights(step))}

    def check(self, step: PlannedStep, state: Any, before: Any) -> Check:
        if state["granted"]:
            return not_held(f"{step.target} still has {', '.join(state['granted'])}")
        return held(f"{step.target} has no {', '.join(self._rights(step))} on the mailbox")

    async def apply(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        rights = (before or {}).get("granted") or self._rights(step)
        parameters = {"Identity": ctx.upn, "User": step.target, "AccessRights": rights}
        await ctx.exo("Remove-MailboxPermission", parameters)
        return {"cmdlet": "Remove-MailboxPermission", "parameters": parameters}

    async def undo(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        rights = (before or {}).get("granted") or self._rights(step)
        parameters = {"Identity": ctx.upn, "User": step.target, "AccessRights": rights}
        # Adding a right the delegate already holds changes nothing: safe to re-send.
        await ctx.exo("Add-MailboxPermission", parameters, idempotent=True)
        return {"cmdlet": "Add-MailboxPermission", "parameters": parameters}


ACTION = RemoveMailboxPermission()
