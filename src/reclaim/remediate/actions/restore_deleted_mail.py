"""``restore-deleted-mail``: messages the attacker deleted go back to the folder they were deleted from (recover).

Answers ``mail-deleted-by-attacker`` findings (audit records ``SoftDelete`` / ``MoveToDeletedItems`` from the
attacker's addresses; matched by internet message id). Chosen for a deletion from an attacker address, offered for
one made inside the window from an unfamiliar address; the user's own deletions never become findings. A
soft-deleted message is moved out of Recoverable Items (Graph well-known folder ``recoverableitemsdeletions``), a
moved one out of Deleted Items, with ``POST /users/{id}/messages/{id}/move`` and immutable ids. A hard-deleted
message is in Purges, which Graph cannot reach: Exchange's ``Get-RecoverableItems -SourceFolder PurgedItems``
finds it (by subject and deletion time: it has no internet message id) and ``Restore-RecoverableItems -EntryID``
puts it back; both need the Mailbox Import Export role (without it the step is manual, saying so). Undo moves
each message back where the snapshot found it; a restored hard-deleted message is not deleted again.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from reclaim.m365 import AccessDenied, ExchangeError, M365Error
from reclaim.remediate.actions import _mail as mail
from reclaim.remediate.actions._base import Action, ActionContext, Check, Requires, Unsupported, held, not_held
from reclaim.remediate.model import JSON, Phase, PlannedStep, State
from reclaim.remediate.planning import PlanContext, PlanItem, parse_time
from reclaim.store import Finding

HARD_UNDO = ("the attacker hard-deleted this message; once restored, reclaim does not delete it again (delete it "
             "in Outlook if it is unwanted)")


class RestoreDeletedMail(Action):
    name: ClassVar[str] = "restore-deleted-mail"
    phase: ClassVar[Phase] = Phase.RECOVER
    title: ClassVar[str] = "Restore mail the attacker deleted"
    reversible: ClassVar[bool] = True
    undo_note: ClassVar[str] = "moves the message back to Deleted Items / Recoverable Items, where it was"
    order: ClassVar[int] = 20
    answers: ClassVar[frozenset[str]] = frozenset({"deletedMail"})
    requires: ClassVar[Requires] = Requires(graph=("Mail.ReadWrite",),
                                            cmdlets=("Get-RecoverableItems", "Restore-RecoverableItems"))

    def plan(self, finding: Finding | None, ctx: PlanContext) -> list[PlanItem]:
        if finding is None:
            return []
        ev = finding.evidence
        imid = str(ev.get("internetMessageId") or finding.artifact_id or "")
        subject = str(ev.get("subject") or "(no subject)")
        folder = str(ev.get("folder") or "Inbox")
        hard = ev.get("operation") == "HardDelete"
        destination = mail.WELL_KNOWN_PATHS.get(folder.casefold()) or str(ev.get("folderId") or "inbox")
        params = {"internetMessageId": imid, "subject": subject, "folder": folder, "destination": destination,
                  "operation": ev.get("operation"), "mailbox": ctx.upn, "deletedAt": ev.get("time"),
                  "source": "exchange" if hard else "graph"}
        label = (f'message "{subject}" in {ctx.upn}\'s mailbox ({imid}), deleted ({ev.get("operation")}) from '
                 f"{folder}: back to {folder}" + (" (from Purges, with Restore-RecoverableItems)" if hard else ""))
        if not ev.get("byAttacker"):
            label += " (deleted in the window from an unfamiliar address: confirm with the user)"
        step = self.step(ctx, imid, label, ctx.reason(finding), params=params, opt_in=not ev.get("byAttacker"))
        if hard:
            step = replace(step, reversible=False, undo_note=HARD_UNDO)
        return [step]

    def describe_read(self, ctx: ActionContext, step: PlannedStep) -> JSON:
        return {"method": "GET", "url": f"{mail.mailbox_path(ctx.upn)}/messages",
                "params": {"$filter": f"internetMessageId eq '{step.params.get('internetMessageId')}'"},
                "also": f"mailFolders/{mail.RECOVERABLE}/messages", "headers": mail.IMMUTABLE}

    async def read(self, ctx: ActionContext, step: PlannedStep) -> Any:
        found = await mail.by_internet_id(ctx, ctx.upn, str(step.params["internetMessageId"]))
        found["destinationId"] = await mail.folder_id(ctx, ctx.upn, str(step.params.get("destination") or "inbox"))
        if step.params.get("source") == "exchange":
            found["purged"] = await self._purged(ctx, step)
        return found

    async def _purged(self, ctx: ActionContext, step: PlannedStep) -> list[JSON]:
        """The hard-deleted item in Purges: Get-RecoverableItems has no internet message id, so it is matched on
        its subject and its deletion time (within two minutes of the audit record)."""
        try:
            items = await ctx.exo("Get-RecoverableItems", {"Identity": ctx.upn, "SourceFolder": "PurgedItems",
                                                           "SubjectContains": str(step.params.get("subject") or "")})
        except M365Error as exc:
            raise Unsupported(f"cannot read Recoverable Items (Purges): {exc.one_line()}; Get-RecoverableItems needs "
                              f"the Mailbox Import Export role (New-ManagementRoleAssignment -App <app id> -Role "
                              f"'Mailbox Import Export')", state=State.MANUAL) from None
        deleted = parse_time(step.params.get("deletedAt"))
        out: list[JSON] = []
        for item in items:
            moment = parse_time(item.get("LastModifiedTime"))
            if str(item.get("Subject") or "") != str(step.params.get("subject") or ""):
                continue
            if deleted is not None and moment is not None and abs((moment - deleted).total_seconds()) > 120:
                continue
            out.append({k: item.get(k) for k in ("EntryID", "Subject", "SourceFolder", "LastParentFolderID",
                                                 "LastParentPath", "LastModifiedTime")})
        return out

    def check(self, step: PlannedStep, state: Any, before: Any) -> Check:
        where = step.params.get("folder") or "its folder"
        target = state.get("destinationId")
        back = [m for m in state.get("folders") or [] if m.get("parentFolderId") == target]
        if back:
            return held(f"the message is in {where}")
        if not state.get("folders") and not state.get("recoverable") and not state.get("purged"):
            return not_held("the message is in neither the mailbox's folders nor Recoverable Items (purged?): "
                            "see Get-RecoverableItems")
        return not_held(f"the message is not back in {where}")

    async def apply(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        return await self.apply_to(ctx, step, before, None)

    async def apply_to(self, ctx: ActionContext, step: PlannedStep, before: Any, current: Any) -> JSON:
        """Where the message is now (``current``, else the snapshot): a resumed run moves it only if it is not
        back yet."""
        state = current if isinstance(current, dict) else before if isinstance(before, dict) else \
            await self.read(ctx, step)
        target = state.get("destinationId") or await mail.folder_id(ctx, ctx.upn, "inbox")
        if step.params.get("source") == "exchange" and not [m for m in state.get("folders") or []
                                                             if m.get("parentFolderId") == target]:
            return await self._restore_purged(ctx, state)
        moved: list[JSON] = []
        for m in [*(state.get("recoverable") or []), *(state.get("folders") or [])]:
            if m.get("parentFolderId") != target:
                moved.append(await mail.move(ctx, ctx.upn, str(m["id"]), str(target)))
                break  # one copy is the message; a second copy (a duplicate) stays where it is
        return {"moves": moved}

    async def _restore_purged(self, ctx: ActionContext, state: JSON) -> JSON:
        purged = state.get("purged") or []
        if not purged:
            raise Unsupported("the hard-deleted message is not in Recoverable Items (Purges) any more: it may have "
                              "been purged for good (past the retention period)", state=State.FAILED)
        parameters = {"Identity": ctx.upn, "SourceFolder": "PurgedItems", "EntryID": str(purged[0]["EntryID"])}
        try:
            # repeatable: a second restore of this EntryID finds nothing left in Purges, so an answer lost in
            # transit is re-sent safely
            await ctx.exo("Restore-RecoverableItems", parameters, idempotent=True)
        except (AccessDenied, ExchangeError) as exc:
            # the cmdlet is missing (no Mailbox Import Export role) or refused: a person must grant or restore.
            # Anything else (throttled, unreachable, an unreadable answer) is the runner's: failed or not reached.
            raise Unsupported(f"Restore-RecoverableItems failed: {exc.one_line()}; it needs the Mailbox Import "
                              "Export role (New-ManagementRoleAssignment -App <app id> -Role 'Mailbox Import "
                              "Export')", state=State.MANUAL) from None
        return {"cmdlet": "Restore-RecoverableItems", "parameters": parameters}

    async def undo(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        if step.params.get("source") == "exchange":
            raise Unsupported(HARD_UNDO, state=State.NOT_UNDOABLE)
        moved: list[JSON] = []
        for m in (before or {}).get("recoverable") or []:
            moved.append(await mail.move(ctx, ctx.upn, str(m["id"]), mail.RECOVERABLE))
            return {"moves": moved}
        for m in (before or {}).get("folders") or []:
            moved.append(await mail.move(ctx, ctx.upn, str(m["id"]), str(m.get("parentFolderId"))))
            return {"moves": moved}
        return {"moves": moved}


ACTION = RestoreDeletedMail()
