"""``remove-auth-method``: delete an authentication method registered in the suspicious window, through its
per-type Graph endpoint. Only methods a finding names are touched, never the user's older ones.
Not undoable: a removed method is registered again by its owner (an attacker's phone must not come back)."""

from __future__ import annotations

from typing import Any, ClassVar

from reclaim.remediate.actions._base import Action, ActionContext, Check, Requires, Unsupported, held, not_held
from reclaim.remediate.actions._methods import method_url
from reclaim.remediate.model import JSON, Phase, PlannedStep, State
from reclaim.remediate.planning import PlanContext, PlanItem
from reclaim.store import Finding


class RemoveAuthMethod(Action):
    name: ClassVar[str] = "remove-auth-method"
    phase: ClassVar[Phase] = Phase.ERADICATE
    title: ClassVar[str] = "Remove the sign-in method the attacker registered"
    undo_note: ClassVar[str] = "cannot be undone: the owner registers a method again"
    order: ClassVar[int] = 60
    answers: ClassVar[frozenset[str]] = frozenset({"authenticationMethod"})
    requires: ClassVar[Requires] = Requires(graph=("UserAuthenticationMethod.ReadWrite.All",),
                                            roles=("Authentication Administrator",
                                                   "Privileged Authentication Administrator"))

    def plan(self, finding: Finding | None, ctx: PlanContext) -> list[PlanItem]:
        if finding is None:
            return []
        ev = finding.evidence
        kind = str(ev.get("type") or "sign-in").removesuffix("AuthenticationMethod")
        label = f"{kind} method {ev.get('detail') or ''}".rstrip() + f" registered {ev.get('createdDateTime') or ''}"
        return self.maybe(ctx, finding, finding.artifact_id or "", label.rstrip(), params={"type": ev.get("type")})

    def _url(self, ctx: ActionContext, step: PlannedStep) -> str:
        url = method_url(ctx.user_path, str(step.params.get("type") or ""), step.target)
        if url is None:
            raise Unsupported(f"cannot remove a method of type {step.params.get('type')!r} through Graph",
                              state=State.SKIPPED)
        return url

    def describe_read(self, ctx: ActionContext, step: PlannedStep) -> JSON:
        return {"method": "GET", "url": self._url(ctx, step)}

    async def read(self, ctx: ActionContext, step: PlannedStep) -> Any:
        return await ctx.graph_get_or_none(self._url(ctx, step))

    def check(self, step: PlannedStep, state: Any, before: Any) -> Check:
        if state is None:
            return held("the method is no longer registered")
        return not_held("the method is still registered")

    async def apply(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        url = self._url(ctx, step)
        await ctx.graph_write("DELETE", url)
        return {"method": "DELETE", "url": url}


ACTION = RemoveAuthMethod()
