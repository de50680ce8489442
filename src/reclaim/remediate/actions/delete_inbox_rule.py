"""``delete-inbox-rule`` (``--delete-rules``): Graph ``DELETE messageRules/{id}`` for visible rules, Exchange
``Remove-InboxRule`` for hidden ones.

Undo re-creates a visible rule from its snapshot through Graph (the service gives it a new id); a hidden
rule cannot be re-created through these APIs (its conditions are what made Graph unable to show it), so its
snapshot stays in the case as evidence only."""

from __future__ import annotations

from typing import Any, ClassVar

from reclaim.remediate.actions import _inbox_rules as rules
from reclaim.remediate.actions._base import Action, ActionContext, Check, Requires, Unsupported, not_held
from reclaim.remediate.model import JSON, Phase, PlannedStep, State
from reclaim.remediate.planning import PlanContext, PlanItem
from reclaim.store import Finding

#: Properties a re-created rule takes from the snapshot.
RULE_FIELDS = ("displayName", "sequence", "isEnabled", "conditions", "actions", "exceptions")


class DeleteInboxRule(Action):
    name: ClassVar[str] = "delete-inbox-rule"
    phase: ClassVar[Phase] = Phase.ERADICATE
    title: ClassVar[str] = "Delete the inbox rule"
    reversible: ClassVar[bool] = True
    undo_note: ClassVar[str] = ("re-creates a visible rule from the snapshot (new id); a hidden rule cannot be "
                                "re-created, its snapshot stays in the case")
    order: ClassVar[int] = 21
    answers: ClassVar[frozenset[str]] = frozenset({"inboxRule"})
    requires: ClassVar[Requires] = Requires(graph=("MailboxSettings.ReadWrite",),
                                            cmdlets=("Get-InboxRule", "Remove-InboxRule"))

    def plan(self, finding: Finding | None, ctx: PlanContext) -> list[PlanItem]:
        if finding is None or not ctx.options.delete_rules:
            return []
        return rules.plan_rule(self, finding, ctx)

    def describe_read(self, ctx: ActionContext, step: PlannedStep) -> JSON:
        return rules.describe(ctx, step)

    async def read(self, ctx: ActionContext, step: PlannedStep) -> Any:
        return await rules.read_rule(ctx, step)

    def check(self, step: PlannedStep, state: Any, before: Any) -> Check:
        return rules.gone_or(state, "the rule no longer exists") or not_held("the rule still exists")

    async def apply(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        if rules.via_graph(step):
            url = rules.rule_url(ctx, step)
            await ctx.graph_write("DELETE", url, mailbox=ctx.upn)
            return {"method": "DELETE", "url": url}
        parameters = rules.exo_identity(ctx, step) | {"AlwaysDeleteOutlookRulesBlob": True}
        await ctx.exo("Remove-InboxRule", parameters)
        return {"cmdlet": "Remove-InboxRule", "parameters": parameters}

    async def undo(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        rule = (before or {}).get("rule")
        if not rules.via_graph(step) or not isinstance(rule, dict):
            raise Unsupported("a hidden rule cannot be re-created through Graph or the Exchange admin API; its "
                              "snapshot stays in the case", state=State.NOT_UNDOABLE)
        body = {k: rule[k] for k in RULE_FIELDS if rule.get(k) is not None}
        url = f"{ctx.user_path}/mailFolders/inbox/messageRules"
        # Look first: an undo killed after its POST has re-created the rule already (under a new id); a rule with
        # the snapshot's name and conditions is that rule, and is not created a second time.
        listing = await ctx.graph_get(url, mailbox=ctx.upn)
        there = [str(r.get("id")) for r in listing.get("value", []) if isinstance(r, dict)
                 and r.get("displayName") == body.get("displayName")
                 and (r.get("conditions") or {}) == (body.get("conditions") or {})]
        if there:
            return {"method": "GET", "url": url, "found": there[0], "newId": there[0],
                    "note": "a rule with the snapshot's name and conditions exists already: not created again"}
        existing: list[str] = []

        async def recreated() -> bool:
            """After a lost answer: is the rule there already? (then it is not created a second time)"""
            listing = await ctx.graph_list(url, mailbox=ctx.upn)
            existing[:] = [str(r.get("id")) for r in listing
                           if r.get("displayName") == body.get("displayName")
                           and r.get("sequence") == body.get("sequence")]
            return bool(existing)

        created = await ctx.graph_write("POST", url, body, mailbox=ctx.upn, idempotent=False, verify=recreated)
        new_id = (created or {}).get("id") or (existing[0] if existing else None)
        return {"method": "POST", "url": url, "body": body, "newId": new_id}


ACTION = DeleteInboxRule()
