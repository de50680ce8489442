"""``confirm-compromised``: Identity Protection ``riskyUsers/confirmCompromised`` (needs Entra ID P2): the
user's risk becomes high, so risk-based Conditional Access acts on it. Without the licence the step is
skipped with the reason. Not undone by reclaim: dismissing the risk is a separate decision."""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import quote

from reclaim.m365 import LicenseRequired, NotFound
from reclaim.remediate.actions._base import Action, ActionContext, Check, Requires, Unsupported, held, not_held
from reclaim.remediate.actions._contain import contain
from reclaim.remediate.model import JSON, Phase, PlannedStep, State
from reclaim.remediate.planning import VERDICT, PlanContext, PlanItem
from reclaim.store import Finding

NO_LICENCE = "Identity Protection needs Entra ID P2, which the tenant lacks: nothing to confirm"


class ConfirmCompromised(Action):
    name: ClassVar[str] = "confirm-compromised"
    phase: ClassVar[Phase] = Phase.ERADICATE
    title: ClassVar[str] = "Confirm the user compromised in Identity Protection"
    undo_note: ClassVar[str] = ("not undone by reclaim: dismissing the user's risk in Identity Protection is a "
                                "separate decision")
    order: ClassVar[int] = 100
    answers: ClassVar[frozenset[str]] = frozenset({VERDICT})
    requires: ClassVar[Requires] = Requires(graph=("IdentityRiskyUser.ReadWrite.All",), licence="Entra ID P2")

    def plan(self, finding: Finding | None, ctx: PlanContext) -> list[PlanItem]:
        return contain(self, ctx, f"confirm {ctx.upn} compromised in Identity Protection")

    def _url(self, ctx: ActionContext) -> str:
        return f"/identityProtection/riskyUsers/{quote(ctx.user_id, safe='')}"

    def describe_read(self, ctx: ActionContext, step: PlannedStep) -> JSON:
        return {"method": "GET", "url": self._url(ctx)}

    async def read(self, ctx: ActionContext, step: PlannedStep) -> Any:
        try:
            risky = await ctx.graph_get(self._url(ctx))
        except NotFound:
            return {"riskState": None, "riskLevel": None}
        except LicenseRequired:
            raise Unsupported(NO_LICENCE, state=State.SKIPPED) from None
        return {"riskState": risky.get("riskState"), "riskLevel": risky.get("riskLevel"),
                "riskDetail": risky.get("riskDetail")}

    def check(self, step: PlannedStep, state: Any, before: Any) -> Check:
        if str(state.get("riskState") or "").lower() == "confirmedcompromised":
            return held("Identity Protection lists the user as confirmed compromised")
        return not_held(f"risk state is {state.get('riskState') or 'none'}")

    async def apply(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        url = "/identityProtection/riskyUsers/confirmCompromised"
        body = {"userIds": [ctx.user_id]}
        try:
            await ctx.graph_write("POST", url, body, idempotent=True)
        except LicenseRequired:
            raise Unsupported(NO_LICENCE, state=State.SKIPPED) from None
        return {"method": "POST", "url": url, "body": body}


ACTION = ConfirmCompromised()
