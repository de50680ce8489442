"""``require-mfa-registration`` (prevent, offered, never chosen by default): remove every registered method
but the password, so the user must register MFA again at the next sign-in (after the password reset).

It does not require MFA by itself: the plan points to the Conditional Access policy to add ("Require
multifactor authentication for all users"); reclaim never changes tenant-wide policy. Not undoable."""

from __future__ import annotations

from typing import Any, ClassVar

from reclaim.remediate.actions._base import Action, ActionContext, Check, Requires, held, not_held
from reclaim.remediate.actions._methods import PASSWORD_TYPE, method_url, odata_type
from reclaim.remediate.model import JSON, Phase, PlannedStep
from reclaim.remediate.planning import PlanContext, PlanItem
from reclaim.store import Finding


class RequireMfaRegistration(Action):
    name: ClassVar[str] = "require-mfa-registration"
    phase: ClassVar[Phase] = Phase.PREVENT
    title: ClassVar[str] = "Make the user register MFA again (removes every method but the password)"
    undo_note: ClassVar[str] = "cannot be undone: the user registers methods again"
    order: ClassVar[int] = 10
    answers: ClassVar[frozenset[str]] = frozenset({"user"})
    requires: ClassVar[Requires] = Requires(graph=("UserAuthenticationMethod.ReadWrite.All",),
                                            roles=("Authentication Administrator",
                                                   "Privileged Authentication Administrator"))

    def plan(self, finding: Finding | None, ctx: PlanContext) -> list[PlanItem]:
        """Offered (never chosen by default) when MFA is not required or not registered for the user."""
        if finding is None or "isMfaRegistered" not in finding.evidence:
            return []
        return [self.step(ctx, ctx.user_id, f"make {ctx.upn} register MFA again at the next sign-in",
                          ctx.reason(finding), opt_in=True)]

    def describe_read(self, ctx: ActionContext, step: PlannedStep) -> JSON:
        return {"method": "GET", "url": f"{ctx.user_path}/authentication/methods"}

    async def read(self, ctx: ActionContext, step: PlannedStep) -> Any:
        methods = await ctx.graph_list(f"{ctx.user_path}/authentication/methods")
        return [m for m in methods if odata_type(m.get("@odata.type")) != PASSWORD_TYPE]

    def check(self, step: PlannedStep, state: Any, before: Any) -> Check:
        if not state:
            return held("only the password is registered: the user must register MFA at the next sign-in")
        return not_held(f"{len(state)} method(s) still registered")

    async def apply(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        sent: list[str] = []
        for method in before or []:
            url = method_url(ctx.user_path, str(method.get("@odata.type")), str(method.get("id")))
            if url is not None:
                await ctx.graph_write("DELETE", url)
                sent.append(url)
        return {"method": "DELETE", "urls": sent}


ACTION = RequireMfaRegistration()
