"""``revoke-oauth-grant``: Graph ``DELETE /oauth2PermissionGrants/{id}`` for a risky consent (eradicate).

Issued access tokens live until they expire (an hour by default); the grant's refresh path is gone at once.
Not undone by reclaim: giving an application access again is a new consent the user or an admin makes."""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import quote

from reclaim.remediate.actions._base import Action, ActionContext, Check, Requires, held, not_held
from reclaim.remediate.model import JSON, Phase, PlannedStep
from reclaim.remediate.planning import PlanContext, PlanItem
from reclaim.store import Finding


class RevokeOAuthGrant(Action):
    name: ClassVar[str] = "revoke-oauth-grant"
    phase: ClassVar[Phase] = Phase.ERADICATE
    title: ClassVar[str] = "Revoke the application's consent"
    undo_note: ClassVar[str] = ("not undone by reclaim: access for the application is a new consent by the user "
                                "or an admin (the snapshot keeps the grant's scopes)")
    order: ClassVar[int] = 50
    answers: ClassVar[frozenset[str]] = frozenset({"oauth2PermissionGrant"})
    requires: ClassVar[Requires] = Requires(graph=("DelegatedPermissionGrant.ReadWrite.All",))

    def plan(self, finding: Finding | None, ctx: PlanContext) -> list[PlanItem]:
        if finding is None:
            return []
        ev = finding.evidence
        scopes = ", ".join(map(str, ev.get("scopes") or []))
        return self.maybe(ctx, finding, finding.artifact_id or "",
                          f"consent to {ev.get('app') or ev.get('clientId')} ({scopes})")

    def _url(self, step: PlannedStep) -> str:
        return f"/oauth2PermissionGrants/{quote(step.target, safe='')}"

    def describe_read(self, ctx: ActionContext, step: PlannedStep) -> JSON:
        return {"method": "GET", "url": self._url(step)}

    async def read(self, ctx: ActionContext, step: PlannedStep) -> Any:
        return await ctx.graph_get_or_none(self._url(step))

    def check(self, step: PlannedStep, state: Any, before: Any) -> Check:
        if state is None:
            return held("the consent grant no longer exists")
        return not_held(f"the grant still gives {state.get('scope') or 'scopes'}")

    async def apply(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        await ctx.graph_write("DELETE", self._url(step))
        return {"method": "DELETE", "url": self._url(step)}


ACTION = RevokeOAuthGrant()
