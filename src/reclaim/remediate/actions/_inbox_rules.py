"""Reading one inbox rule the way it was found: through Graph (visible rules, by Graph id) or through
Exchange ``Get-InboxRule -IncludeHidden`` (hidden rules, which Graph never shows, by RuleIdentity).

The whole rule list is read, so that a rule the attacker re-created under the same name (a new id) shows up
in ``check`` as "re-created" instead of passing unnoticed. The state (and the snapshot) is
``{"rule": <the rule as read, or None>, "recreated": [<ids of other enabled rules with the same name>]}``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from reclaim.remediate.actions._base import Action, ActionContext, Check, held, not_held
from reclaim.remediate.model import JSON, LeftAlone, PlannedStep
from reclaim.remediate.planning import PlanContext, PlanItem
from reclaim.store import Finding


def via_graph(step: PlannedStep) -> bool:
    return step.params.get("source") != "exchange"


def rules_url(ctx: ActionContext) -> str:
    return f"{ctx.user_path}/mailFolders/inbox/messageRules"


def rule_url(ctx: ActionContext, step: PlannedStep) -> str:
    return f"{rules_url(ctx)}/{quote(step.target, safe='')}"


def exo_identity(ctx: ActionContext, step: PlannedStep) -> JSON:
    return {"Mailbox": ctx.upn, "Identity": step.target}


def describe(ctx: ActionContext, step: PlannedStep) -> JSON:
    if via_graph(step):
        return {"method": "GET", "url": rules_url(ctx)}
    return {"cmdlet": "Get-InboxRule", "parameters": {"Mailbox": ctx.upn, "IncludeHidden": True}}


def _id(rule: JSON) -> str:
    return str(rule.get("id") or rule.get("RuleIdentity") or "")


def _name(rule: JSON) -> str:
    return str(rule.get("displayName") or rule.get("Name") or "")


async def read_rule(ctx: ActionContext, step: PlannedStep) -> JSON:
    if via_graph(step):
        rules = await ctx.graph_list(rules_url(ctx), mailbox=ctx.upn)
    else:
        rules = await ctx.exo("Get-InboxRule", {"Mailbox": ctx.upn, "IncludeHidden": True})
    rule = next((r for r in rules if _id(r) == step.target), None)
    name = str(step.params.get("name") or (_name(rule) if rule else "")).casefold()
    twins = [_id(r) for r in rules if name and _id(r) != step.target and _name(r).casefold() == name and enabled(r)]
    return {"rule": rule, "recreated": twins}


def recreated(state: Any) -> Check | None:
    twins = state.get("recreated") or []
    if twins:
        return not_held(f"a rule with the same name was created again ({', '.join(twins[:3])}): run "
                        "`reclaim investigate` and remediate again")
    return None


def gone_or(state: Any, detail: str) -> Check | None:
    if state.get("rule") is None:
        return recreated(state) or held(detail)
    return None


def enabled(rule: JSON) -> bool:
    value = rule.get("isEnabled", rule.get("Enabled"))
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


#: Hidden rules Exchange keeps in every mailbox (junk mail filter, out-of-office): never the attacker's.
SYSTEM_RULES = frozenset({"junk e-mail rule", "microsoft.exchange.oof.knownexternalsenders.global",
                          "microsoft.exchange.oof.allexternalsenders.global"})


def plan_rule(action: Action, f: Finding, ctx: PlanContext) -> list[PlanItem]:
    """Disable (or with ``--delete-rules`` delete) a malicious rule: through Graph for a visible rule, through
    Exchange for a hidden one. Exchange's own system rules, rules without an id and rules rated low are left."""
    ev = f.evidence
    name = str(ev.get("name") or "")
    target = f.artifact_id or ""
    if ev.get("hidden") and name.casefold() in SYSTEM_RULES:
        return [LeftAlone(f.check_id, f"rule {name!r}", "an Exchange system rule (junk mail / out of office), not "
                          "one a person made; left alone")]
    if not target or target.startswith("name:"):
        return [LeftAlone(f.check_id, f"rule {name!r}", "the rule has no id to act on; remove it by hand")]
    if not ctx.acts(f):
        return [LeftAlone(f.check_id, f"rule {name!r}", f"rated {f.severity}: not an attacker's rule")]
    source = "exchange" if ev.get("source") == "exo" else "graph"
    where = "hidden rule, through Exchange" if source == "exchange" else "through Graph"
    return [action.step(ctx, target, f"inbox rule {name!r} ({where})", ctx.reason(f),
                        params={"source": source, "name": name})]
