"""``disable-inbox-rule`` (the default for a malicious rule: kept for review, as the procedure suggests).

Visible rules: Graph ``PATCH messageRules/{id} {"isEnabled": false}``; hidden rules: Exchange
``Disable-InboxRule``. Undo enables the rule again."""

from __future__ import annotations

from typing import Any, ClassVar

from reclaim.remediate.actions import _inbox_rules as rules
from reclaim.remediate.actions._base import Action, ActionContext, Check, Requires, held, not_held
from reclaim.remediate.model import JSON, Phase, PlannedStep
from reclaim.remediate.planning import PlanContext, PlanItem
from reclaim.store import Finding


class DisableInboxRule(Action):
    name: ClassVar[str] = "disable-inbox-rule"
    phase: ClassVar[Phase] = Phase.ERADICATE
    title: ClassVar[str] = "Disable the inbox rule (kept for review)"
    reversible: ClassVar[bool] = True
    undo_note: ClassVar[str] = "enables the rule again"
    order: ClassVar[int] = 20
    answers: ClassVar[frozenset[str]] = frozenset({"inboxRule"})
    requires: ClassVar[Requires] = Requires(graph=("MailboxSettings.ReadWrite",),
                                            cmdlets=("Get-InboxRule", "Disable-InboxRule", "Enable-InboxRule"))
    essential: ClassVar[bool] = True

    def plan(self, finding: Finding | None, ctx: PlanContext) -> list[PlanItem]:
        if finding is None or ctx.options.delete_rules:
            return []
        return rules.plan_rule(self, finding, ctx)

    def describe_read(self, ctx: ActionContext, step: PlannedStep) -> JSON:
        return rules.describe(ctx, step)

    async def read(self, ctx: ActionContext, step: PlannedStep) -> Any:
        return await rules.read_rule(ctx, step)

    def check(self, step: PlannedStep, state: Any, before: Any) -> Check:
        gone = rules.gone_or(state, "the rule no longer exists")
        if gone is not None:
            return gone
        if rules.enabled(state["rule"]):
            return not_held("the rule is enabled")
        return rules.recreated(state) or held("the rule is disabled")

    async def apply(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        return await self._set(ctx, step, False)

    async def undo(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        rule = (before or {}).get("rule")
        return await self._set(ctx, step, rules.enabled(rule) if rule else True)

    async def _set(self, ctx: ActionContext, step: PlannedStep, enable: bool) -> JSON:
        if rules.via_graph(step):
            url = rules.rule_url(ctx, step)
            body = {"isEnabled": enable}
            await ctx.graph_write("PATCH", url, body, mailbox=ctx.upn, idempotent=True)
            return {"method": "PATCH", "url": url, "body": body}
        cmdlet = "Enable-InboxRule" if enable else "Disable-InboxRule"
        parameters = rules.exo_identity(ctx, step) | {"AlwaysDeleteOutlookRulesBlob": True}
        await ctx.exo(cmdlet, parameters)
        return {"cmdlet": cmdlet, "parameters": parameters}


ACTION = DisableInboxRule()
