"""``disable-legacy-protocols``: Set-CASMailbox ImapEnabled / PopEnabled = false and
SmtpClientAuthenticationDisabled = true, when the attacker signed in over IMAP, POP or SMTP (legacy
protocols skip MFA). Undo restores the three switches from the snapshot."""

from __future__ import annotations

from typing import Any, ClassVar

from reclaim.remediate.actions._base import Action, ActionContext, Check, Requires, held, not_held
from reclaim.remediate.model import JSON, Phase, PlannedStep
from reclaim.remediate.planning import PlanContext, PlanItem
from reclaim.store import Finding

WANTED: dict[str, bool] = {"ImapEnabled": False, "PopEnabled": False, "SmtpClientAuthenticationDisabled": True}


class DisableLegacyProtocols(Action):
    name: ClassVar[str] = "disable-legacy-protocols"
    phase: ClassVar[Phase] = Phase.ERADICATE
    title: ClassVar[str] = "Turn off IMAP, POP and SMTP AUTH for the mailbox"
    reversible: ClassVar[bool] = True
    undo_note: ClassVar[str] = "restores ImapEnabled, PopEnabled and SmtpClientAuthenticationDisabled"
    order: ClassVar[int] = 80
    answers: ClassVar[frozenset[str]] = frozenset({"signIn"})
    requires: ClassVar[Requires] = Requires(cmdlets=("Get-CASMailbox", "Set-CASMailbox"))

    def plan(self, finding: Finding | None, ctx: PlanContext) -> list[PlanItem]:
        """When the attacker signed in over IMAP, POP or SMTP (once: one step per mailbox)."""
        if finding is None or not ctx.acts(finding):
            return []
        ev = finding.evidence
        client = str(ev.get("clientAppUsed") or "").lower()
        kinds = {str(k) for k in ev.get("kinds") or []}
        if "legacyProtocol" not in kinds and not client.startswith(("imap", "pop", "authenticated smtp", "smtp")):
            return []
        return [self.step(ctx, ctx.upn, f"IMAP, POP and SMTP AUTH for {ctx.upn} (the attacker signed in with "
                          f"{ev.get('clientAppUsed') or 'a legacy protocol'})", ctx.reason(finding))]

    def describe_read(self, ctx: ActionContext, step: PlannedStep) -> JSON:
        return {"cmdlet": "Get-CASMailbox", "parameters": {"Identity": ctx.upn}}

    async def read(self, ctx: ActionContext, step: PlannedStep) -> Any:
        cas = await ctx.exo_one("Get-CASMailbox", {"Identity": ctx.upn})
        return {key: cas.get(key) for key in WANTED}

    def check(self, step: PlannedStep, state: Any, before: Any) -> Check:
        wrong = [k for k, v in WANTED.items() if state.get(k) is not v]
        if wrong:
            return not_held("still allowed: " + ", ".join(wrong))
        return held("IMAP, POP and SMTP AUTH are off for the mailbox")

    async def apply(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        parameters: JSON = {"Identity": ctx.upn, **WANTED}
        await ctx.exo("Set-CASMailbox", parameters)
        return {"cmdlet": "Set-CASMailbox", "parameters": parameters}

    async def undo(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        parameters: JSON = {"Identity": ctx.upn, **{k: before.get(k) for k in WANTED}}
        await ctx.exo("Set-CASMailbox", parameters)
        return {"cmdlet": "Set-CASMailbox", "parameters": parameters}


ACTION = DisableLegacyProtocols()
