"""``restore-deleted-mail``: messages the attacker deleted go back to the folder they were deleted from (recover).

Answers ``mail-deleted-by-attacker`` findings (audit records ``SoftDelete`` / ``MoveToDeletedItems`` from the
attacker's addresses; matched by internet message id). Chosen for a deletion from an attacker address, offered for
one made inside the window from an unfamiliar address; the user's own deletions never become findings. A
soft-deleted message is moved out of Recoverable Items (Graph well-known folder ``recoverableitemsdeletions``), a
moved one out of Deleted Items, with ``POST /users/{id}/messages/{id}/move`` and immutable ids. A hard-deleted
message is in Purges, which Graph cannot reach: the plan advises ``Restore-RecoverableItems`` (Mailbox Import
Export role). Undo moves each message back where the snapshot found it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from reclaim.remediate.actions import _mail as mail
from reclaim.remediate.actions._base import Action, ActionContext, Check, Requires, held, not_held
from reclaim.remediate.model import JSON, Advice, Phase, PlannedStep
from reclaim.remediate.planning import PlanContext, PlanItem
from reclaim.store import Finding


class RestoreDeletedMail(Action):
    name: ClassVar[str] = "restore-deleted-mail"
    phase: ClassVar[Phase] = Phase.RECOVER
    title: ClassVar[str] = "Restore mail the attacker deleted"
    reversible: ClassVar[bool] = True
    undo_note: ClassVar[str] = "moves the message back to Deleted Items / Recoverable Items, where it was"
    order: ClassVar[int] = 20
    answers: ClassVar[frozenset[str]] = frozenset({"deletedMail"})
    requires: ClassVar[Requires] = Requires(graph=("Mail.ReadWrite",))

    def plan(self, finding: Finding | None, ctx: PlanContext) -> list[PlanItem]:
        if finding is None:
            return []
        ev = finding.evidence
        imid = str(ev.get("internetMessageId") or finding.artifact_id or "")
        subject = str(ev.get("subject") or "(no subject)")
        folder = str(ev.get("folder") or "Inbox")
        if ev.get("operation") == "HardDelete":
            return [Advice(self.name, f'"{subject}" ({imid}) was hard-deleted from {folder} and is in Recoverable '
                           f"Items, Purges, which Graph cannot reach: restore it with Get-RecoverableItems -Identity "
                           f"{ctx.upn} -SourceFolder PurgedItems -SubjectContains '{subject}' | "
                           "Restore-RecoverableItems (needs the Mailbox Import Export role)", finding.check_id)]
        destination = mail.WELL_KNOWN_PATHS.get(folder.casefold()) or str(ev.get("folderId") or "inbox")
        params = {"internetMessageId": imid, "subject": subject, "folder": folder, "destination": destination,
                  "operation": ev.get("operation"), "mailbox": ctx.upn, "deletedAt": ev.get("time")}
        label = (f'message "{subject}" in {ctx.upn}\'s mailbox ({imid}), deleted ({ev.get("operation")}) from '
                 f"{folder}: back to {folder}")
        if ev.get("byAttacker"):
            return [self.step(ctx, imid, label, ctx.reason(finding), params=params)]
        return [self.step(ctx, imid, label + " (deleted in the window from an unfamiliar address: confirm with "
                          "the user)", ctx.reason(finding), params=params, opt_in=True)]

    def describe_read(self, ctx: ActionContext, step: PlannedStep) -> JSON:
        return {"method": "GET", "url": f"{mail.mailbox_path(ctx.upn)}/messages",
                "params": {"$filter": f"internetMessageId eq '{step.params.get('internetMessageId')}'"},
                "also": f"mailFolders/{mail.RECOVERABLE}/messages", "headers": mail.IMMUTABLE}

    async def read(self, ctx: ActionContext, step: PlannedStep) -> Any:
        found = await mail.by_internet_id(ctx, ctx.upn, str(step.params["internetMessageId"]))
        found["destinationId"] = await mail.folder_id(ctx, ctx.upn, str(step.params.get("destination") or "inbox"))
        return found

    def check(self, step: PlannedStep, state: Any, before: Any) -> Check:
        where = step.params.get("folder") or "its folder"
        target = state.get("destinationId")
        back = [m for m in state.get("folders") or [] if m.get("parentFolderId") == target]
        if back:
            return held(f"the message is in {where}")
        if not state.get("folders") and not state.get("recoverable"):
            return not_held("the message is in neither the mailbox's folders nor Recoverable Items (purged?): "
                            "see Get-RecoverableItems")
        return not_held(f"the message is not back in {where}")

    async def apply(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        state = before if isinstance(before, dict) else await self.read(ctx, step)
        target = state.get("destinationId") or await mail.folder_id(ctx, ctx.upn, "inbox")
        moved: list[JSON] = []
        for m in [*(state.get("recoverable") or []), *(state.get("folders") or [])]:
            if m.get("parentFolderId") != target:
                moved.append(await mail.move(ctx, ctx.upn, str(m["id"]), str(target)))
                break  # one copy is the message; a second copy (a duplicate) stays where it is
        return {"moves": moved}

    async def undo(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        moved: list[JSON] = []
        for m in (before or {}).get("recoverable") or []:
            moved.append(await mail.move(ctx, ctx.upn, str(m["id"]), mail.RECOVERABLE))
            return {"moves": moved}
        for m in (before or {}).get("folders") or []:
            moved.append(await mail.move(ctx, ctx.upn, str(m["id"]), str(m.get("parentFolderId"))))
            return {"moves": moved}
        return {"moves": moved}


ACTION = RestoreDeletedMail()
