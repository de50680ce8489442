"""``purge-sent-mail``: the attacker's mail in colleagues' mailboxes is moved to their Recoverable Items (recover).

Answers the ``mail-sent-by-attacker`` finding: the mail the account sent from the attacker's addresses (message
trace: sender, recipient, internet message id, from-IP). One step per internal mailbox that received it, listing
every message it will touch there; always offered, never chosen by default (it touches other people's mailboxes:
``--include purge-sent-mail`` or ``--include purge-sent-mail:<mailbox>``). Mail the user sent herself is never in
the finding, and a copy is only moved when its sender is the account. The move is a soft delete (Graph
``POST .../messages/{id}/move`` to ``recoverableitemsdeletions``, immutable ids, application permission
``Mail.ReadWrite``): the recipient can still recover it, and undo moves it back to the folder it was in.
Outside recipients cannot be reached: the report lists them to notify.
"""

from __future__ import annotations

from typing import Any, ClassVar

from reclaim.remediate.actions import _mail as mail
from reclaim.remediate.actions._base import Action, ActionContext, Check, Requires, held, not_held
from reclaim.remediate.model import JSON, LeftAlone, Phase, PlannedStep
from reclaim.remediate.planning import PlanContext, PlanItem
from reclaim.store import Finding


class PurgeSentMail(Action):
    name: ClassVar[str] = "purge-sent-mail"
    phase: ClassVar[Phase] = Phase.RECOVER
    title: ClassVar[str] = "Remove the attacker's mail from colleagues' mailboxes (to their Recoverable Items)"
    reversible: ClassVar[bool] = True
    undo_note: ClassVar[str] = ("moves each copy back from Recoverable Items to the folder it was in (a soft "
                                "delete: nothing is purged)")
    order: ClassVar[int] = 30
    answers: ClassVar[frozenset[str]] = frozenset({"sentMail"})
    requires: ClassVar[Requires] = Requires(graph=("Mail.ReadWrite",))

    def plan(self, finding: Finding | None, ctx: PlanContext) -> list[PlanItem]:
        if finding is None:
            return []
        by_mailbox: dict[str, list[JSON]] = {}
        for e in finding.evidence.get("internal") or []:
            if not isinstance(e, dict) or str(e.get("status") or "delivered").lower() != "delivered":
                continue
            box = str(e.get("recipient") or "").lower()
            if not box or box == ctx.upn.lower() or not e.get("internetMessageId"):
                continue
            by_mailbox.setdefault(box, []).append({"internetMessageId": e["internetMessageId"],
                                                   "subject": e.get("subject"), "sent": e.get("time")})
        if not by_mailbox:
            return [LeftAlone(finding.check_id, "mail the attacker sent", "no colleague's mailbox received it; "
                              "the outside recipients are listed in the report to notify")]
        out: list[PlanItem] = []
        for box, messages in sorted(by_mailbox.items()):
            listed = "; ".join(f'"{m["subject"]}" {m["internetMessageId"]} (sent {m["sent"]})' for m in messages)
            out.append(self.step(ctx, box, f"in {box}'s mailbox (another person's), move to Recoverable Items: "
                                 f"{listed}", ctx.reason(finding),
                                 params={"mailbox": box, "sender": ctx.upn, "messages": messages}, opt_in=True))
        return out

    def describe_read(self, ctx: ActionContext, step: PlannedStep) -> JSON:
        return {"method": "GET", "url": f"{mail.mailbox_path(step.target)}/messages", "headers": mail.IMMUTABLE,
                "params": {"$filter": "internetMessageId eq '<each message>'"},
                "messages": [m.get("internetMessageId") for m in step.params.get("messages") or []]}

    async def read(self, ctx: ActionContext, step: PlannedStep) -> Any:
        box = str(step.params["mailbox"])
        sender = str(step.params.get("sender") or ctx.upn).lower()
        copies: list[JSON] = []
        recoverable: list[JSON] = []
        for m in step.params.get("messages") or []:
            found = await mail.by_internet_id(ctx, box, str(m["internetMessageId"]))
            copies += [c for c in found["folders"] if str(c.get("from") or "").lower() == sender]
            recoverable += [c for c in found["recoverable"] if str(c.get("from") or "").lower() == sender]
        for c in (*copies, *recoverable):
            c.pop("bodyPreview", None)
        return {"copies": copies, "recoverable": recoverable}

    def check(self, step: PlannedStep, state: Any, before: Any) -> Check:
        left = state.get("copies") or []
        if left:
            return not_held(f"{len(left)} cop{'y' if len(left) == 1 else 'ies'} still in {step.target}'s folders")
        return held(f"no copy left in {step.target}'s folders ({len(state.get('recoverable') or [])} in "
                    "Recoverable Items)")

    async def apply(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        state = before if isinstance(before, dict) else await self.read(ctx, step)
        box = str(step.params["mailbox"])
        moves = [await mail.move(ctx, box, str(c["id"]), mail.RECOVERABLE) for c in state.get("copies") or []]
        return {"mailbox": box, "moves": moves}

    async def undo(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        box = str(step.params["mailbox"])
        moves = [await mail.move(ctx, box, str(c["id"]), str(c.get("parentFolderId")))
                 for c in (before or {}).get("copies") or []]
        return {"mailbox": box, "moves": moves}


ACTION = PurgeSentMail()
