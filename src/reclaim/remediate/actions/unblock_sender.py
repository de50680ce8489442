"""``unblock-sender``: Exchange ``Remove-BlockedSenderAddress`` takes the user off the restricted-senders list
(recover). Runs only after containment and eradication were verified, so the attacker cannot send again.

Microsoft applies the removal within an hour, up to 24 hours: until then a read still shows the block and the
step is *pending* (``reclaim verify CASE --wait`` polls); the request is not sent twice, except when the process
died while it was out (a read cannot show whether it arrived; asking again changes nothing). Not undoable."""

from __future__ import annotations

from typing import Any, ClassVar

from reclaim.remediate.actions._base import Action, ActionContext, Check, Requires, held, not_held
from reclaim.remediate.model import JSON, Phase, PlannedStep
from reclaim.remediate.planning import PlanContext, PlanItem
from reclaim.store import Finding

#: Microsoft's documented delay for taking a user off the restricted entities (``Remove-BlockedSenderAddress``):
#: "all restrictions should be removed from the user within one hour ... the total wait should be no longer
#: than 24 hours" (learn.microsoft.com/defender-office-365/outbound-spam-restore-restricted-users). The one
#: wording the terminal (the runner's pending outcome) and the report use.
UNBLOCK_DELAY = "usually within 1 hour, at most 24 hours"


class UnblockSender(Action):
    name: ClassVar[str] = "unblock-sender"
    phase: ClassVar[Phase] = Phase.RECOVER
    title: ClassVar[str] = "Remove the user from the restricted senders"
    undo_note: ClassVar[str] = "cannot be undone: Microsoft restricts a sender again on its own if it spams"
    #: a read may show the old state for a while after the request (up to 24 h)
    eventual: ClassVar[bool] = True
    #: how long Microsoft takes to apply it, as Microsoft documents it
    pending_delay: ClassVar[str] = UNBLOCK_DELAY
    order: ClassVar[int] = 10
    answers: ClassVar[frozenset[str]] = frozenset({"blockedSender"})
    requires: ClassVar[Requires] = Requires(cmdlets=("Get-BlockedSenderAddress", "Remove-BlockedSenderAddress"))

    def plan(self, finding: Finding | None, ctx: PlanContext) -> list[PlanItem]:
        if finding is None or not ctx.acts(finding):
            return []
        blocked = finding.evidence.get("blockedSender")
        address = str(blocked.get("SenderAddress")) if isinstance(blocked, dict) and blocked.get(
            "SenderAddress") else ctx.upn
        return [self.step(ctx, address, f"restricted sender {address} (after containment is verified)",
                          ctx.reason(finding))]

    def describe_read(self, ctx: ActionContext, step: PlannedStep) -> JSON:
        return {"cmdlet": "Get-BlockedSenderAddress", "parameters": {"SenderAddress": step.target}}

    async def read(self, ctx: ActionContext, step: PlannedStep) -> Any:
        return await ctx.exo("Get-BlockedSenderAddress", {"SenderAddress": step.target})

    def check(self, step: PlannedStep, state: Any, before: Any) -> Check:
        if not state:
            return held(f"{step.target} is not on the restricted senders list")
        return not_held(f"{step.target} is still restricted from sending")

    async def apply(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        parameters = {"SenderAddress": step.target}
        await ctx.exo("Remove-BlockedSenderAddress", parameters)
        return {"cmdlet": "Remove-BlockedSenderAddress", "parameters": parameters}


ACTION = UnblockSender()
