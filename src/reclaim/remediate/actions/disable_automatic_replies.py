"""``disable-automatic-replies``: Graph ``PATCH mailboxSettings`` automaticRepliesSetting.status = disabled, for
an automatic reply the attacker set (e.g. "for payment matters reply to ..."). Undo restores the snapshot."""

from __future__ import annotations

from typing import Any, ClassVar

from reclaim.remediate.actions._base import Action, ActionContext, Check, Requires, held, not_held
from reclaim.remediate.model import JSON, Phase, PlannedStep
from reclaim.remediate.planning import PlanContext, PlanItem
from reclaim.store import Finding

RESTORED = ("status", "externalAudience", "internalReplyMessage", "externalReplyMessage",
            "scheduledStartDateTime", "scheduledEndDateTime")


class DisableAutomaticReplies(Action):
    name: ClassVar[str] = "disable-automatic-replies"
    phase: ClassVar[Phase] = Phase.ERADICATE
    title: ClassVar[str] = "Turn off the automatic reply the attacker set"
    reversible: ClassVar[bool] = True
    undo_note: ClassVar[str] = "restores the automatic reply from the snapshot"
    order: ClassVar[int] = 90
    answers: ClassVar[frozenset[str]] = frozenset({"automaticReplies"})
    requires: ClassVar[Requires] = Requires(graph=("MailboxSettings.ReadWrite",))

    def plan(self, finding: Finding | None, ctx: PlanContext) -> list[PlanItem]:
        if finding is None or not ctx.acts(finding):
            return []
        return [self.step(ctx, ctx.upn, f"automatic reply ({finding.evidence.get('status')})",
                          ctx.reason(finding))]

    def _url(self, ctx: ActionContext) -> str:
        return f"{ctx.user_path}/mailboxSettings"

    def describe_read(self, ctx: ActionContext, step: PlannedStep) -> JSON:
        return {"method": "GET", "url": self._url(ctx) + "/automaticRepliesSetting"}

    async def read(self, ctx: ActionContext, step: PlannedStep) -> Any:
        body = await ctx.graph_get(self._url(ctx) + "/automaticRepliesSetting", mailbox=ctx.upn)
        return {k: v for k, v in body.items() if not k.startswith("@")}

    def check(self, step: PlannedStep, state: Any, before: Any) -> Check:
        status = str(state.get("status") or "").lower()
        if status == "disabled":
            return held("automatic replies are off")
        return not_held(f"automatic replies are {status or 'on'}")

    async def apply(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        body = {"automaticRepliesSetting": {"status": "disabled"}}
        await ctx.graph_write("PATCH", self._url(ctx), body, mailbox=ctx.upn, idempotent=True)
        return {"method": "PATCH", "url": self._url(ctx), "body": body}

    async def undo(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        setting = {k: before[k] for k in RESTORED if k in before}
        body = {"automaticRepliesSetting": setting}
        await ctx.graph_write("PATCH", self._url(ctx), body, mailbox=ctx.upn, idempotent=True)
        return {"method": "PATCH", "url": self._url(ctx), "body": body}


ACTION = DisableAutomaticReplies()
