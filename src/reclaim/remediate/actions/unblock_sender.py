"""``unblock-sender``: Exchange ``Remove-BlockedSenderAddress`` takes the user off the restricted-senders list
(recover). Runs only after containment and eradication were verified, so the attacker cannot send again.

Microsoft applies the removal within an hour, up to 24 hours: until then a read still shows the block and the
step is *pending* (``reclaim verify CASE --wait`` polls); the request is not sent twice, except when the process
died while it was out (a read cannot show whether it arrived; asking again changes nothing). Not undoable."""

from __future__ import annotations

from typing import Any, ClassVar

from reclaim.remediate.actions._base import Action, ActionContext, Check, held, not_held
from reclaim.remediate.model import JSON, Phase, PlannedStep


class UnblockSender(Action):
    name: ClassVar[str] = "unblock-sender"
    phase: ClassVar[Phase] = Phase.RECOVER
    title: ClassVar[str] = "Remove the user from the restricted senders"
    undo_note: ClassVar[str] = "cannot be undone: Microsoft restricts a sender again on its own if it spams"
    #: a read may show the old state for a while after the request (up to 24 h)
    eventual: ClassVar[bool] = True
    needs: ClassVar[str] = "Exchange.ManageAsApp + Exchange Administrator role"

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
