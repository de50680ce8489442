"""``revoke-sessions``: POST ``revokeSignInSessions`` (contain): refresh tokens and session cookies die, OneDrive
and SharePoint included. Confirmed by ``signInSessionsValidFromDateTime`` moving past its snapshot value.
Cannot be undone: revoked sessions are gone."""

from __future__ import annotations

from typing import Any, ClassVar

from reclaim.remediate.actions._base import Action, ActionContext, Check, Requires, held, later_than, not_held
from reclaim.remediate.actions._contain import contain
from reclaim.remediate.model import JSON, Phase, PlannedStep
from reclaim.remediate.planning import VERDICT, PlanContext, PlanItem
from reclaim.store import Finding

SELECT = "id,signInSessionsValidFromDateTime"


class RevokeSessions(Action):
    name: ClassVar[str] = "revoke-sessions"
    phase: ClassVar[Phase] = Phase.CONTAIN
    title: ClassVar[str] = "Sign out of every session (OneDrive / SharePoint included)"
    undo_note: ClassVar[str] = "cannot be undone: revoked sessions are gone (the user signs in again)"
    order: ClassVar[int] = 20
    answers: ClassVar[frozenset[str]] = frozenset({VERDICT})
    requires: ClassVar[Requires] = Requires(graph=("User.RevokeSessions.All", "User.ReadWrite.All"))
    essential: ClassVar[bool] = True
    witness: ClassVar[str | None] = "signInSessionsValidFromDateTime"

    def plan(self, finding: Finding | None, ctx: PlanContext) -> list[PlanItem]:
        return contain(self, ctx, f"revoke every session of {ctx.upn}")

    def describe_read(self, ctx: ActionContext, step: PlannedStep) -> JSON:
        return {"method": "GET", "url": ctx.user_path, "params": {"$select": SELECT}}

    async def read(self, ctx: ActionContext, step: PlannedStep) -> Any:
        user = await ctx.graph_get(ctx.user_path, {"$select": SELECT})
        return {"id": user.get("id"), "signInSessionsValidFromDateTime": user.get("signInSessionsValidFromDateTime")}

    def check(self, step: PlannedStep, state: Any, before: Any) -> Check:
        now = state.get("signInSessionsValidFromDateTime")
        if before is not None and later_than(now, before.get("signInSessionsValidFromDateTime")):
            return held(f"sessions issued before {now} are invalid")
        return not_held("sessions were not revoked since the snapshot")

    async def apply(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        url = f"{ctx.user_path}/revokeSignInSessions"
        # Revoking twice gives the same state: safe to re-send after a lost answer.
        await ctx.graph_write("POST", url, idempotent=True)
        return {"method": "POST", "url": url}


ACTION = RevokeSessions()
