"""What ``block-sign-in`` and ``enable-sign-in`` share: read, check, set and restore ``accountEnabled``."""

from __future__ import annotations

from typing import Any, ClassVar

from reclaim.remediate.actions._base import Action, ActionContext, Check, Requires, held, not_held
from reclaim.remediate.model import JSON, PlannedStep


class SignInSwitch(Action):
    """Sets the user's ``accountEnabled`` to ``enabled``; undo puts the snapshot value back."""

    enabled: ClassVar[bool]
    reversible: ClassVar[bool] = True
    requires: ClassVar[Requires] = Requires(graph=("User.EnableDisableAccount.All", "User.ReadWrite.All"),
                                            roles=("User Administrator", "Privileged Authentication Administrator"))

    def describe_read(self, ctx: ActionContext, step: PlannedStep) -> JSON:
        return {"method": "GET", "url": ctx.user_path, "params": {"$select": "id,accountEnabled"}}

    async def read(self, ctx: ActionContext, step: PlannedStep) -> Any:
        user = await ctx.graph_get(ctx.user_path, {"$select": "id,accountEnabled"})
        return {"id": user.get("id"), "accountEnabled": user.get("accountEnabled")}

    def check(self, step: PlannedStep, state: Any, before: Any) -> Check:
        if state.get("accountEnabled") is self.enabled:
            return held("sign-in is allowed (accountEnabled=true)" if self.enabled
                        else "sign-in is blocked (accountEnabled=false)")
        return not_held("sign-in is still blocked" if self.enabled
                        else "sign-in is still allowed (accountEnabled=true)")

    async def apply(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        return await self._set(ctx, self.enabled)

    async def undo(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        return await self._set(ctx, bool(before.get("accountEnabled", not self.enabled)))

    @staticmethod
    async def _set(ctx: ActionContext, enabled: bool) -> JSON:
        body = {"accountEnabled": enabled}
        await ctx.graph_write("PATCH", ctx.user_path, body, idempotent=True)
        return {"method": "PATCH", "url": ctx.user_path, "body": body}
