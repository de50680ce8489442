"""``block-sign-in``: PATCH the user ``accountEnabled=false`` (contain). Undo re-enables sign-in."""

from __future__ import annotations

from typing import Any, ClassVar

from reclaim.remediate.actions._base import Action, ActionContext, Check, held, not_held
from reclaim.remediate.model import JSON, Phase, PlannedStep


class BlockSignIn(Action):
    name: ClassVar[str] = "block-sign-in"
    phase: ClassVar[Phase] = Phase.CONTAIN
    title: ClassVar[str] = "Block sign-in"
    reversible: ClassVar[bool] = True
    undo_note: ClassVar[str] = "re-enables sign-in (accountEnabled back to its snapshot value)"
    needs: ClassVar[str] = "User.EnableDisableAccount.All + User Administrator role"

    def describe_read(self, ctx: ActionContext, step: PlannedStep) -> JSON:
        return {"method": "GET", "url": ctx.user_path, "params": {"$select": "id,accountEnabled"}}

    async def read(self, ctx: ActionContext, step: PlannedStep) -> Any:
        user = await ctx.graph_get(ctx.user_path, {"$select": "id,accountEnabled"})
        return {"id": user.get("id"), "accountEnabled": user.get("accountEnabled")}

    def check(self, step: PlannedStep, state: Any, before: Any) -> Check:
        if state.get("accountEnabled") is False:
            return held("sign-in is blocked (accountEnabled=false)")
        return not_held("sign-in is still allowed (accountEnabled=true)")

    async def apply(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        body = {"accountEnabled": False}
        await ctx.graph_write("PATCH", ctx.user_path, body, idempotent=True)
        return {"method": "PATCH", "url": ctx.user_path, "body": body}

    async def undo(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        body = {"accountEnabled": bool(before.get("accountEnabled", True))}
        await ctx.graph_write("PATCH", ctx.user_path, body, idempotent=True)
        return {"method": "PATCH", "url": ctx.user_path, "body": body}


ACTION = BlockSignIn()
