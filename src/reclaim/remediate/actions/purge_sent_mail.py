"""``purge-sent-mail``: the attacker's mail in colleagues' mailboxes is moved to their Recoverable Items (recover).

Answers the ``mail-sent-by-attacker`` finding: the mail the account sent from the attacker's addresses (message
trace: sender, recipient, internet message id, from-IP). One step, always offered and never chosen by default
(it touches other people's mailboxes: ``--include purge-sent-mail``); the plan lists every mailbox and message
it will touch. Mail the user sent herself is never in the finding, and a copy is only moved when its sender is
the account. The move is a soft delete (Graph ``POST .../messages/{id}/move`` to ``recoverableitemsdeletions``,
immutable ids, application permission ``Mail.ReadWrite``), sent through ``$batch`` (20 per envelope, envelopes
in parallel, at most four requests per mailbox in flight): the recipient can still recover it, and undo moves
each copy back to the folder it was in. Outside recipients cannot be reached: the report lists them to notify.
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
        copies: list[JSON] = []
        seen: set[tuple[str, str]] = set()
        for e in finding.evidence.get("internal") or []:
            if not isinstance(e, dict) or str(e.get("status") or "delivered").lower() != "delivered":
                continue
            box, imid = str(e.get("recipient") or "").lower(), str(e.get("internetMessageId") or "")
            if not box or not imid or box == ctx.upn.lower() or (box, imid) in seen:
                continue
            seen.add((box, imid))
            copies.append({"mailbox": box, "internetMessageId": imid, "subject": e.get("subject"),
                           "sent": e.get("time")})
        if not copies:
            return [LeftAlone(finding.check_id, "mail the attacker sent", "no colleague's mailbox received it; "
                              "the outside recipients are listed in the report to notify")]
        boxes = sorted({c["mailbox"] for c in copies})
        listed = "; ".join(f'{c["mailbox"]}: "{c["subject"]}" {c["internetMessageId"]} (sent {c["sent"]})'
                           for c in copies)
        label = (f"move the attacker's mail to Recoverable Items in {len(boxes)} other people's mailboxes "
                 f"({len(copies)} messages): {listed}")
        return [self.step(ctx, str(finding.artifact_id or "sent"), label, ctx.reason(finding),
                          params={"sender": ctx.upn, "mailboxes": boxes, "copies": copies}, opt_in=True)]

    def describe_read(self, ctx: ActionContext, step: PlannedStep) -> JSON:
        return {"method": "GET", "url": "/users/{mailbox}/messages", "headers": mail.IMMUTABLE, "batch": True,
                "params": {"$filter": "internetMessageId eq '{internetMessageId}'"},
                "copies": [[c.get("mailbox"), c.get("internetMessageId")] for c in step.params.get("copies") or []]}

    async def read(self, ctx: ActionContext, step: PlannedStep) -> Any:
        sender = str(step.params.get("sender") or ctx.upn).lower()
        wanted = [(str(c["mailbox"]), str(c["internetMessageId"])) for c in step.params.get("copies") or []]
        found = await mail.find_many(ctx, wanted, mail.COPY_SELECT)
        copies: list[JSON] = []
        for (box, _imid), items in zip(wanted, found, strict=True):
            for m in items:
                if str(m.get("from") or "").lower() == sender:
                    m.pop("bodyPreview", None)
                    copies.append({"mailbox": box, **m})
        return {"copies": copies}

    def check(self, step: PlannedStep, state: Any, before: Any) -> Check:
        left = state.get("copies") or []
        if left:
            boxes = sorted({str(c["mailbox"]) for c in left})
            return not_held(f"{len(left)} copies still in the folders of {', '.join(boxes[:5])}"
                            + (f" and {len(boxes) - 5} more" if len(boxes) > 5 else ""))
        return held(f"no copy left in the folders of the {len(step.params.get('mailboxes') or [])} mailboxes")

    async def apply(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        return await self.apply_to(ctx, step, before, None)

    async def apply_to(self, ctx: ActionContext, step: PlannedStep, before: Any, current: Any) -> JSON:
        """The copies still in the folders now (``current``, else the snapshot): a resumed run moves only those."""
        state = current if isinstance(current, dict) else before if isinstance(before, dict) else \
            await self.read(ctx, step)
        moves = await mail.move_many(ctx, [(str(c["mailbox"]), str(c["id"]), mail.RECOVERABLE)
                                           for c in state.get("copies") or []])
        return {"moved": len(moves), "moves": moves}

    async def undo(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        moves = await mail.move_many(ctx, [(str(c["mailbox"]), str(c["id"]), str(c.get("parentFolderId")))
                                           for c in (before or {}).get("copies") or []])
        return {"moved": len(moves), "moves": moves}


ACTION = PurgeSentMail()
