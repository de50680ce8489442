"""Exchange: ``Get-RecoverableItems`` and ``Restore-RecoverableItems`` (the deleted items Graph cannot reach).

Real behaviour (learn.microsoft.com/powershell/module/exchange/get-recoverableitems, restore-recoverableitems):

- Both cmdlets are in the **Mailbox Import Export** role only, which no role group holds by default; a caller
  without it does not have the cmdlets at all (PowerShell's CommandNotFoundException). An app is given the role
  with ``New-ManagementRoleAssignment -App``; the fixture says so in ``apps[].exchangeRoles``.
- ``-SourceFolder``: ``DeletedItems`` (the Deleted Items folder), ``RecoverableItems`` (Recoverable Items,
  Deletions: soft-deleted), ``PurgedItems`` (Purges: hard-deleted, which no Graph folder name reaches). Without
  it, every one of them. Filters: ``-SubjectContains``, ``-FilterItemType`` (``IPM.Note``), ``-FilterStartTime``
  / ``-FilterEndTime`` (on the deletion time), ``-EntryID``, ``-LastParentFolderID``; ``-ResultSize``.
- Each item: ``Identity`` (the mailbox), ``EntryID``, ``ItemClass``, ``Subject``, ``SourceFolder``,
  ``LastParentFolderID``, ``LastParentPath``, ``LastModifiedTime``, ``OriginalFolderExists``. No internet message
  id: callers match on subject and time.
- ``Restore-RecoverableItems`` puts the matching items back in the folder they were deleted from (the Inbox when
  it no longer exists) and writes each item with ``WasRestoredSuccessfully``.

State: soft-deleted messages are ``mailbox.messages.recoverableitemsdeletions`` (also what Graph reads);
hard-deleted ones are ``mailbox.purgedItems`` (Graph never sees them), each a Graph message plus
``lastParentFolderId`` and ``deletedDateTime``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from reclaim.emulator.exchange_cmdlets import (
    CmdletContext,
    ExoError,
    Params,
    binding_error,
    cmdlet,
    resolve_mailbox,
)
from reclaim.emulator.state import parse_iso

JSON = dict[str, Any]

ROLE = "Mailbox Import Export"
CMDLET_NAMES = frozenset({"get-recoverableitems", "restore-recoverableitems"})
SOURCE_FOLDERS = {"deleteditems": "DeletedItems", "recoverableitems": "RecoverableItems",
                  "purgeditems": "PurgedItems"}
_FILTERS = ("SourceFolder", "SubjectContains", "FilterItemType", "FilterStartTime", "FilterEndTime", "EntryID",
            "LastParentFolderID", "ResultSize", "PolicyTag", "MaxParallelSize", "SkipCount")


def allowed(app: JSON | None) -> bool:
    """The app holds the Mailbox Import Export role (Exchange RBAC, assigned to the app)."""
    return app is not None and ROLE.lower() in {str(r).lower() for r in app.get("exchangeRoles") or []}


def entry_id(msg: JSON) -> str:
    """A MAPI entry id: hex, stable for the item."""
    seed = str(msg.get("immutableId") or msg.get("id"))
    return "00000000" + hashlib.sha256(seed.encode()).hexdigest()[:62].upper()


def _folders(ctx: CmdletContext, user: JSON) -> dict[str, list[JSON]]:
    state = ctx.state
    mbx = user["mailbox"]
    out: dict[str, list[JSON]] = {"DeletedItems": state.folder_messages(user, "deleteditems"),
                                  "RecoverableItems": state.folder_messages(user, "recoverableitemsdeletions")}
    out["PurgedItems"] = mbx.setdefault("purgedItems", [])
    return out


def _path(ctx: CmdletContext, user: JSON, folder_id: str | None) -> tuple[str, bool]:
    for f in user["mailbox"].get("folders", []):
        if f.get("id") == folder_id:
            return "\\" + str(f.get("displayName")), True
    return "\\Inbox", False


def _view(ctx: CmdletContext, user: JSON, source: str, msg: JSON) -> JSON:
    parent = str(msg.get("lastParentFolderId") or msg.get("parentFolderId") or "")
    if source != "PurgedItems":
        parent = str(msg.get("lastParentFolderId") or ctx.state.folder_id(user, "inbox") or "")
    path, exists = _path(ctx, user, parent)
    return {"Identity": user["userPrincipalName"], "EntryID": entry_id(msg), "ItemClass": "IPM.Note",
            "Subject": msg.get("subject"), "SourceFolder": source, "LastParentFolderID": parent,
            "LastParentPath": path, "LastModifiedTime": msg.get("deletedDateTime") or msg.get("lastModifiedDateTime"),
            "OriginalFolderExists": exists}


def _time(name: str, value: str | None) -> Any:
    if value is None:
        return None
    try:
        return parse_iso(value)
    except ValueError:
        raise binding_error(f"Cannot process argument transformation on parameter '{name}'. Cannot convert value "
                            f"\"{value}\" to type \"System.DateTime\".") from None


def _matching(ctx: CmdletContext, p: Params) -> list[tuple[JSON, str, JSON]]:
    identity = p.text("Identity") or ""
    user = resolve_mailbox(ctx, identity)
    wanted = p.text("SourceFolder")
    if wanted is not None and wanted.lower() not in SOURCE_FOLDERS:
        raise binding_error(f"Cannot process argument transformation on parameter 'SourceFolder'. Cannot convert "
                            f"value \"{wanted}\" to type \"RecoverableItemsFolderType\". Specify one of: "
                            "DeletedItems, RecoverableItems, PurgedItems.")
    sources = [SOURCE_FOLDERS[wanted.lower()]] if wanted else list(SOURCE_FOLDERS.values())
    subject = (p.text("SubjectContains") or "").lower()
    item_type = p.text("FilterItemType")
    start, end = _time("FilterStartTime", p.text("FilterStartTime")), _time("FilterEndTime", p.text("FilterEndTime"))
    entry, parent = p.text("EntryID"), p.text("LastParentFolderID")
    out: list[tuple[JSON, str, JSON]] = []
    for source, items in _folders(ctx, user).items():
        if source not in sources:
            continue
        for msg in items:
            view = _view(ctx, user, source, msg)
            if subject and subject not in str(view["Subject"] or "").lower():
                continue
            if item_type and item_type.lower() != "ipm.note":
                continue
            if entry and entry.upper() != view["EntryID"]:
                continue
            if parent and parent != view["LastParentFolderID"]:
                continue
            moment = view["LastModifiedTime"]
            if (start or end) and moment:
                when = parse_iso(str(moment))
                if (start and when < start) or (end and when > end):
                    continue
            out.append((user, source, msg))
    size = p.text("ResultSize")
    if size and size.lower() != "unlimited":
        out = out[: int(size)]
    return out


@cmdlet("Get-RecoverableItems", parameters=("Identity", *_FILTERS), mandatory=("Identity",))
def get_recoverable_items(ctx: CmdletContext, p: Params) -> list[Any]:
    return [_view(ctx, user, source, msg) for user, source, msg in _matching(ctx, p)]


@cmdlet("Restore-RecoverableItems", parameters=("Identity", *_FILTERS, "RestoreTargetFolder", "NoOutput"),
        mandatory=("Identity",))
def restore_recoverable_items(ctx: CmdletContext, p: Params) -> list[Any]:
    out: list[Any] = []
    for user, source, msg in _matching(ctx, p):
        view = _view(ctx, user, source, msg)
        target = view["LastParentFolderID"] if view["OriginalFolderExists"] else ctx.state.folder_id(user, "inbox")
        folder = ctx.state.folder(user, str(target))
        if folder is None:
            raise ExoError(500, "InternalServerError", "System.InvalidOperationException",
                           "The mailbox has no Inbox to restore to.")
        _remove(ctx, user, source, msg)
        msg.pop("lastParentFolderId", None)
        msg.pop("deletedDateTime", None)
        msg["parentFolderId"] = folder["id"]
        key = str(folder.get("wellKnownName") or folder["id"])
        user["mailbox"].setdefault("messages", {}).setdefault(key, []).append(msg)
        if not p.flag("NoOutput"):
            out.append({**view, "WasRestoredSuccessfully": True})
    return out


def _remove(ctx: CmdletContext, user: JSON, source: str, msg: JSON) -> None:
    mbx = user["mailbox"]
    if source == "PurgedItems":
        mbx["purgedItems"].remove(msg)
        return
    for items in mbx.get("messages", {}).values():
        if msg in items:
            items.remove(msg)
            return
