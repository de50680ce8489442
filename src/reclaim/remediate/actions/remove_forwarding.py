"""``remove-forwarding``: Set-Mailbox ForwardingSmtpAddress / ForwardingAddress = null,
DeliverToMailboxAndForward = false (eradicate). ``--keep-forwarding`` leaves a forward verified as legitimate.
Undo restores the three values from the snapshot."""

from __future__ import annotations

from typing import Any, ClassVar

from reclaim.remediate.actions._base import Action, ActionContext, Check, Requires, held, not_held
from reclaim.remediate.model import JSON, LeftAlone, Phase, PlannedStep
from reclaim.remediate.planning import PlanContext, PlanItem
from reclaim.store import Finding

FIELDS = ("ForwardingSmtpAddress", "ForwardingAddress", "DeliverToMailboxAndForward")


class RemoveForwarding(Action):
    name: ClassVar[str] = "remove-forwarding"
    phase: ClassVar[Phase] = Phase.ERADICATE
    title: ClassVar[str] = "Remove mailbox forwarding"
    reversible: ClassVar[bool] = True
    undo_note: ClassVar[str] = "restores ForwardingSmtpAddress, ForwardingAddress and DeliverToMailboxAndForward"
    order: ClassVar[int] = 10
    answers: ClassVar[frozenset[str]] = frozenset({"mailboxForwarding"})
    requires: ClassVar[Requires] = Requires(cmdlets=("Get-Mailbox", "Set-Mailbox"))

    def plan(self, finding: Finding | None, ctx: PlanContext) -> list[PlanItem]:
        if finding is None:
            return []
        if not ctx.acts(finding):
            return [LeftAlone(finding.check_id, "mailbox forwarding", f"rated {finding.severity}: internal or "
                              "expected")]
        to = finding.evidence.get("forwardingSmtpAddress") or finding.evidence.get("forwardingAddress")
        if ctx.options.keep_forwarding:
            return [LeftAlone(finding.check_id, f"forwarding to {to}", "--keep-forwarding: verified as legitimate")]
        return [self.step(ctx, ctx.upn, f"mailbox forwarding to {to}", ctx.reason(finding))]

    def describe_read(self, ctx: ActionContext, step: PlannedStep) -> JSON:
        return {"cmdlet": "Get-Mailbox", "parameters": {"Identity": ctx.upn}}

    async def read(self, ctx: ActionContext, step: PlannedStep) -> Any:
        mailbox = await ctx.exo_one("Get-Mailbox", {"Identity": ctx.upn})
        return {key: mailbox.get(key) for key in FIELDS}

    def check(self, step: PlannedStep, state: Any, before: Any) -> Check:
        targets = [str(state[k]) for k in ("ForwardingSmtpAddress", "ForwardingAddress") if state.get(k)]
        if not targets:
            return held("the mailbox does not forward")
        return not_held(f"the mailbox still forwards to {', '.join(targets)}")

    async def apply(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        parameters = {"Identity": ctx.upn, "ForwardingSmtpAddress": None, "ForwardingAddress": None,
                      "DeliverToMailboxAndForward": False}
        await ctx.exo("Set-Mailbox", parameters)
        return {"cmdlet": "Set-Mailbox", "parameters": parameters}

    async def undo(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        parameters = {"Identity": ctx.upn, "ForwardingSmtpAddress": before.get("ForwardingSmtpAddress"),
                      "ForwardingAddress": before.get("ForwardingAddress"),
                      "DeliverToMailboxAndForward": bool(before.get("DeliverToMailboxAndForward"))}
        await ctx.exo("Set-Mailbox", parameters)
        return {"cmdlet": "Set-Mailbox", "parameters": parameters}


ACTION = RemoveForwarding()
