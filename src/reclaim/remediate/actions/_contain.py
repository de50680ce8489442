"""Containment is planned from the verdict, never from one finding: when the account is compromised it is
chosen; when it is only suspicious it is offered (confirm with the user, then ``--include``); a clean account
(its only indicators tenant-wide, or none) gets no containment unless the operator says ``--contain``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reclaim.remediate.model import JSON
from reclaim.remediate.planning import PlanContext, PlanItem

if TYPE_CHECKING:
    from reclaim.remediate.actions._base import Action


def contain(action: Action, ctx: PlanContext, label: str, *, params: JSON | None = None) -> list[PlanItem]:
    if ctx.options.contain and ctx.verdict != "compromised":
        # the operator's explicit --contain (the CLI asks for the typed UPN): chosen, and says why
        return [action.step(ctx, ctx.user_id, f"{label} (--contain: the verdict is {ctx.verdict})",
                            ctx.contain_reason, params=params)]
    if ctx.verdict not in ("compromised", "suspicious"):
        return []
    offered = ctx.verdict != "compromised"
    suffix = " (offered: the account is only suspicious; confirm with the user)" if offered else ""
    return [action.step(ctx, ctx.user_id, label + suffix, ctx.contain_reason, params=params, opt_in=offered)]
