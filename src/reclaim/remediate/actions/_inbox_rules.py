"""Reading one inbox rule the way it was found: through Graph (visible rules, by Graph id) or through
Exchange ``Get-InboxRule -IncludeHidden`` (hidden rules, which Graph never shows, by RuleIdentity)."""

from __future__ import annotations

from urllib.parse import quote

from reclaim.remediate.actions._base import ActionContext
from reclaim.remediate.model import JSON, PlannedStep


def via_graph(step: PlannedStep) -> bool:
    return step.params.get("source") != "exchange"


def rule_url(ctx: ActionContext, step: PlannedStep) -> str:
    return f"{ctx.user_path}/mailFolders/inbox/messageRules/{quote(step.target, safe='')}"


def describe(ctx: ActionContext, step: PlannedStep) -> JSON:
    if via_graph(step):
        return {"method": "GET", "url": rule_url(ctx, step)}
    return {"cmdlet": "Get-InboxRule", "parameters": exo_identity(ctx, step) | {"IncludeHidden": True}}


def exo_identity(ctx: ActionContext, step: PlannedStep) -> JSON:
    return {"Mailbox": ctx.upn, "Identity": step.target}


async def read_rule(ctx: ActionContext, step: PlannedStep) -> JSON | None:
    """The rule as it is now, or ``None`` when it no longer exists."""
    if via_graph(step):
        return await ctx.graph_get_or_none(rule_url(ctx, step), mailbox=ctx.upn)
    items = await ctx.exo_or_none("Get-InboxRule", exo_identity(ctx, step) | {"IncludeHidden": True})
    return items[0] if items else None


def enabled(rule: JSON) -> bool:
    value = rule.get("isEnabled", rule.get("Enabled"))
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)
