"""``restore-hidden-mail``: mail a malicious inbox or sweep rule moved out of sight goes back to the Inbox
(recover).

Answers the findings about inbox rules and sweep rules rated medium or above that move mail to another folder
(RSS Feeds, Notes, Junk Email, Archive, Conversation History, a folder the attacker made) or delete it (Deleted
Items). Which messages: those in the rule's target folder that match the rule's conditions and arrived after the
rule was created (its first audit record, else the start of the suspicious window). A rule with a condition
reclaim cannot evaluate is left alone, saying so. Chosen by default. Messages are read and moved with immutable
ids, so undo moves exactly those messages back to the rule's folder.
"""

from __future__ import annotations

from typing import Any, ClassVar

from reclaim.remediate.actions import _mail as mail
from reclaim.remediate.actions._base import Action, ActionContext, Check, Requires, held, not_held
from reclaim.remediate.model import JSON, LeftAlone, Phase, PlannedStep
from reclaim.remediate.planning import PlanContext, PlanItem, parse_time
from reclaim.store import Finding

#: Rule conditions reclaim evaluates on a message (Graph messageRulePredicates names, normalised).
_TEXT_CONDITIONS = {"subjectcontains": ("subject",), "bodycontains": ("bodyPreview",),
                    "bodyorsubjectcontains": ("subject", "bodyPreview"),
                    "subjectorbodycontains": ("subject", "bodyPreview"), "sendercontains": ("from",)}
_ADDRESS_CONDITIONS = {"fromaddresses"}
_FLAGS = {"isautomaticreply", "hasattachments"}


def _terms(value: Any) -> list[str]:
    if isinstance(value, str):
        return [t for t in value.replace(";", ",").split(",") if t.strip()]
    if isinstance(value, list):
        out: list[str] = []
        for v in value:
            if isinstance(v, dict):
                out.append(str(((v.get("emailAddress") or {}).get("address")) or v.get("address") or ""))
            else:
                out.append(str(v))
        return [t for t in out if t.strip()]
    return []


def matches(conditions: JSON, message: JSON) -> bool:
    """Does the message meet every condition (each condition: any of its terms)?"""
    for key, value in conditions.items():
        name = key.casefold()
        terms = [t.casefold().strip() for t in _terms(value)]
        if name in _TEXT_CONDITIONS:
            fields = " ".join(mail.text_of(message.get(f)) for f in _TEXT_CONDITIONS[name])
            if not any(t in fields for t in terms):
                return False
        elif name in _ADDRESS_CONDITIONS and mail.text_of(message.get("from")) not in terms:
            return False
    return True


def _since(f: Finding, ctx: PlanContext) -> str | None:
    times = [parse_time(e.get("time")) for e in f.evidence.get("auditEvents") or []
             if isinstance(e, dict) and str(e.get("operation") or "").lower() in ("new-inboxrule", "updateinboxrules",
                                                                                  "set-inboxrule")]
    found = min((t for t in times if t is not None), default=None) or ctx.window_since
    return found.strftime("%Y-%m-%dT%H:%M:%SZ") if found is not None else None


class RestoreHiddenMail(Action):
    name: ClassVar[str] = "restore-hidden-mail"
    phase: ClassVar[Phase] = Phase.RECOVER
    title: ClassVar[str] = "Move mail the attacker's rule hid back to the Inbox"
    reversible: ClassVar[bool] = True
    undo_note: ClassVar[str] = "moves the same messages (immutable ids) back to the rule's folder"
    order: ClassVar[int] = 10
    answers: ClassVar[frozenset[str]] = frozenset({"inboxRule", "sweepRule"})
    requires: ClassVar[Requires] = Requires(graph=("Mail.ReadWrite",))

    def plan(self, finding: Finding | None, ctx: PlanContext) -> list[PlanItem]:
        if finding is None or not ctx.acts(finding) or ctx.before_window(finding):
            return []
        ev = finding.evidence
        name = str(ev.get("name") or "")
        target = str(finding.artifact_id or "")
        if finding.artifact_type == "sweepRule":
            where = str(ev.get("destinationFolder") or "").rsplit("\\", 1)[-1]
            folder = mail.WELL_KNOWN_PATHS.get(where.casefold())
            conditions: JSON = {"senderContains": list(ev.get("senders") or [])}
            if folder is None or not conditions["senderContains"]:
                return [LeftAlone(finding.check_id, f"sweep rule {name!r}", f"moves mail to {where or '?'}: reclaim "
                                  "cannot tell which messages it moved; look there by hand")]
            folder_name = where
        else:
            actions = ev.get("actions") or {}
            move_to = actions.get("moveToFolder") if isinstance(actions, dict) else None
            if isinstance(move_to, dict) and move_to.get("id") and move_to.get("kind") != "inbox":
                folder, folder_name = str(move_to["id"]), str(move_to.get("name") or move_to["id"])
            elif isinstance(actions, dict) and (actions.get("delete") or actions.get("moveToDeletedItems")):
                folder, folder_name = "deleteditems", "Deleted Items"
            else:
                return []  # the rule forwards or flags: nothing was hidden
            conditions = dict(ev.get("conditions") or {})
            unknown = [k for k in conditions if k.casefold() not in {*_TEXT_CONDITIONS, *_ADDRESS_CONDITIONS,
                                                                     *_FLAGS}]
            if unknown or not conditions:
                why = (f"its conditions ({', '.join(unknown)}) cannot be checked by reclaim" if unknown else
                       "it has no condition: every message in the folder would match")
                return [LeftAlone(finding.check_id, f"rule {name!r}", f"mail it moved to {folder_name}: {why}; "
                                  "move the messages back by hand")]
        since = _since(finding, ctx)
        if since is None:
            return [LeftAlone(finding.check_id, f"rule {name!r}", "no date for the rule and no suspicious window: "
                              "reclaim cannot tell its messages from the user's own")]
        params = {"folder": folder, "folderName": folder_name, "conditions": conditions, "since": since,
                  "mailbox": ctx.upn, "rule": name}
        return [self.step(ctx, target, f"messages rule {name!r} moved to {folder_name} since {since}, matching its "
                          f"conditions, in {ctx.upn}'s mailbox: back to the Inbox", ctx.reason(finding),
                          params=params)]

    def _url(self, ctx: ActionContext, step: PlannedStep) -> str:
        return f"{mail.mailbox_path(ctx.upn)}/mailFolders/{step.params['folder']}/messages"

    def describe_read(self, ctx: ActionContext, step: PlannedStep) -> JSON:
        return {"method": "GET", "url": self._url(ctx, step), "headers": mail.IMMUTABLE,
                "params": {"$filter": f"receivedDateTime ge {step.params['since']}"}}

    async def read(self, ctx: ActionContext, step: PlannedStep) -> Any:
        params = {"$filter": f"receivedDateTime ge {step.params['since']}", "$select": mail.SELECT, "$top": "250"}
        found = await mail.listing(ctx, ctx.upn, self._url(ctx, step), params)
        hidden = [m for m in found if matches(step.params.get("conditions") or {}, m)]
        for m in hidden:
            m.pop("bodyPreview", None)  # the snapshot keeps what identifies the message, not its text
        return {"hidden": hidden}

    def check(self, step: PlannedStep, state: Any, before: Any) -> Check:
        left = state.get("hidden") or []
        if left:
            return not_held(f"{len(left)} message(s) matching rule {step.params.get('rule')!r} are still in "
                            f"{step.params.get('folderName')}")
        moved = len((before or {}).get("hidden") or []) if isinstance(before, dict) else 0
        return held(f"no message matching the rule is left in {step.params.get('folderName')}"
                    + (f" ({moved} moved to the Inbox)" if moved else ""))

    async def apply(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        return await self.apply_to(ctx, step, before, None)

    async def apply_to(self, ctx: ActionContext, step: PlannedStep, before: Any, current: Any) -> JSON:
        """Move the snapshot's messages that are still in the rule's folder (all of them on a first run; on a
        resumed run, those an interrupted run had not moved yet)."""
        state = before if isinstance(before, dict) else await self.read(ctx, step)
        hidden = state.get("hidden") or []
        if isinstance(current, dict):
            still = {str(m.get("id")) for m in current.get("hidden") or []}
            hidden = [m for m in hidden if str(m.get("id")) in still]
        moves = [await mail.move(ctx, ctx.upn, str(m["id"]), "inbox") for m in hidden]
        return {"moves": moves, "messages": [m.get("internetMessageId") for m in hidden]}

    async def undo(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        back = str(step.params["folder"])
        moves = [await mail.move(ctx, ctx.upn, str(m["id"]), back) for m in (before or {}).get("hidden") or []]
        return {"moves": moves}


ACTION = RestoreHiddenMail()
