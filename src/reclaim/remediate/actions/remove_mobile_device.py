"""``remove-mobile-device``: Exchange ``Remove-MobileDevice`` for a device that first synced in the suspicious
window (it keeps a copy of the mailbox and would keep syncing). Not undoable: the device must sync again."""

from __future__ import annotations

from typing import Any, ClassVar

from reclaim.remediate.actions._base import Action, ActionContext, Check, Requires, first, held, not_held
from reclaim.remediate.model import JSON, Phase, PlannedStep
from reclaim.remediate.planning import PlanContext, PlanItem
from reclaim.store import Finding


class RemoveMobileDevice(Action):
    name: ClassVar[str] = "remove-mobile-device"
    phase: ClassVar[Phase] = Phase.ERADICATE
    title: ClassVar[str] = "Remove the mobile device partnership"
    undo_note: ClassVar[str] = "cannot be undone: the device would have to sync (and be allowed) again"
    order: ClassVar[int] = 70
    answers: ClassVar[frozenset[str]] = frozenset({"mobileDevice"})
    requires: ClassVar[Requires] = Requires(cmdlets=("Get-MobileDevice", "Remove-MobileDevice"))

    def plan(self, finding: Finding | None, ctx: PlanContext) -> list[PlanItem]:
        if finding is None:
            return []
        ev = finding.evidence
        return self.maybe(ctx, finding, finding.artifact_id or "",
                          f"device {ev.get('model') or finding.artifact_id} ({ev.get('clientType') or 'mobile'})")

    def describe_read(self, ctx: ActionContext, step: PlannedStep) -> JSON:
        return {"cmdlet": "Get-MobileDevice", "parameters": {"Identity": step.target}}

    async def read(self, ctx: ActionContext, step: PlannedStep) -> Any:
        return first(await ctx.exo_or_none("Get-MobileDevice", {"Identity": step.target}))

    def check(self, step: PlannedStep, state: Any, before: Any) -> Check:
        if state is None:
            return held("the device partnership no longer exists")
        return not_held(f"the device {state.get('DeviceModel') or step.target} is still connected")

    async def apply(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        parameters = {"Identity": step.target}
        await ctx.exo("Remove-MobileDevice", parameters)
        return {"cmdlet": "Remove-MobileDevice", "parameters": parameters}


ACTION = RemoveMobileDevice()
