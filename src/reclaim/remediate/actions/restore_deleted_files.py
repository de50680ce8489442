"""``restore-deleted-files``: files attacker sessions deleted from the user's OneDrive go back where they were
(recover).

Answers ``file-access-by-attacker`` findings of kind ``deleted`` (audit records ``FileDeleted`` /
``FileRecycled`` from attacker sessions), one step per file, each listed in the plan with its path and offered
(chosen with ``--include restore-deleted-files``: it needs more than the rest of the plan). Graph v1.0
cannot restore a OneDrive for Business item (``driveItem: restore`` is OneDrive Personal only), so the restore
goes through SharePoint REST on the user's OneDrive site: the recycle bin is read with
``GET {site}/_api/site/RecycleBin?$filter=LeafName eq '…'`` (matched on the file's folder too) and the item put
back with ``POST {site}/_api/site/RecycleBin('{id}')/restore()``. That needs SharePoint's own application
permission (Sites.FullControl.All on "Office 365 SharePoint Online") and a certificate credential: SharePoint
refuses app-only tokens got with a client secret, and the step is then left to a person (manual), saying so.
``verify`` reads the file back through Graph (by path); ``undo`` moves it to the recycle bin again
(``GetFileByServerRelativeUrl('…')/recycle()``), as the attacker left it.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from reclaim.m365 import AuthenticationFailed, M365Error
from reclaim.m365.sharepoint import OneDriveSite
from reclaim.remediate.actions._base import Action, ActionContext, Check, Requires, Unsupported, held, not_held
from reclaim.remediate.model import JSON, Phase, PlannedStep, State
from reclaim.remediate.planning import PlanContext, PlanItem
from reclaim.store import Finding

_BY_HAND = "restore it by hand: {user}'s OneDrive → Recycle bin → select the file → Restore"


class RestoreDeletedFiles(Action):
    name: ClassVar[str] = "restore-deleted-files"
    phase: ClassVar[Phase] = Phase.RECOVER
    title: ClassVar[str] = "Restore files the attacker deleted"
    reversible: ClassVar[bool] = True
    undo_note: ClassVar[str] = "moves the file back to the OneDrive recycle bin, where the attacker left it"
    order: ClassVar[int] = 25
    answers: ClassVar[frozenset[str]] = frozenset({"fileActivity"})
    requires: ClassVar[Requires] = Requires(graph=("Files.Read.All", "Files.ReadWrite.All", "Sites.Read.All",
                                                   "Sites.ReadWrite.All", "Sites.FullControl.All"),
                                            sharepoint=("Sites.FullControl.All", "Sites.Manage.All",
                                                        "Sites.ReadWrite.All"),
                                            certificate=True)

    def plan(self, finding: Finding | None, ctx: PlanContext) -> list[PlanItem]:
        if finding is None or finding.evidence.get("kind") != "deleted":
            return []
        out: list[PlanItem] = []
        seen: set[str] = set()
        for f in finding.evidence.get("files") or []:
            path = str(f.get("path") or "").strip("/")
            if not path or path.casefold() in seen:
                continue
            seen.add(path.casefold())
            params = {"path": path, "name": f.get("name") or path.rpartition("/")[2], "deletedAt": f.get("time"),
                      "ip": f.get("ip"), "url": f.get("url")}
            label = (f"file {path} in {ctx.upn}'s OneDrive, deleted {f.get('time') or ''} from {f.get('ip') or '?'}: "
                     "back from the recycle bin to where it was").replace("  ", " ")
            out.append(self.step(ctx, path, label + " (offered: choose it with --include restore-deleted-files; "
                                 "needs a certificate credential)", ctx.reason(finding), params=params, opt_in=True))
        return out

    def describe_read(self, ctx: ActionContext, step: PlannedStep) -> JSON:
        leaf = str(step.params.get("name") or "")
        return {"method": "GET", "url": f"{ctx.user_path}/drive/root:/{step.params.get('path')}:",
                "also": "{site}/_api/site/RecycleBin", "params": {"$filter": f"LeafName eq '{leaf}'"}}

    async def _site(self, ctx: ActionContext) -> tuple[JSON, OneDriveSite]:
        drive = await ctx.graph_get(f"{ctx.user_path}/drive", {"$select": "id,webUrl"})
        return drive, OneDriveSite.of_drive(str(drive.get("webUrl") or ""))

    @staticmethod
    def _dir_name(drive: JSON, path: str) -> str:
        library = urlsplit(str(drive.get("webUrl") or "")).path.strip("/")
        folder = path.rpartition("/")[0]
        return "/".join(p for p in (library, folder) if p)

    async def read(self, ctx: ActionContext, step: PlannedStep) -> Any:
        path = str(step.params["path"])
        drive, site = await self._site(ctx)
        item = await ctx.graph_get_or_none(f"/drives/{quote(str(drive['id']), safe='!')}/root:/"
                                           f"{quote(path, safe='/')}:", {"$select": "id,name"})
        dir_name = self._dir_name(drive, path)
        ctx.count()
        try:
            in_bin = await ctx.conn.sharepoint.recycle_bin(site, leaf_name=str(step.params.get("name") or ""))
        except AuthenticationFailed as exc:
            raise Unsupported(f"SharePoint refused the app's token ({exc.message}): restoring from the OneDrive "
                              "recycle bin needs a certificate credential and SharePoint's Sites.FullControl.All; "
                              + _BY_HAND.format(user=ctx.upn), state=State.MANUAL) from None
        mine = [b for b in in_bin if b.dir_name.strip("/").casefold() == dir_name.casefold()]
        return {"present": {"id": item.get("id"), "name": item.get("name")} if item else None,
                "recycleBin": [{"id": b.id, "deleted": b.deleted} for b in mine],
                "dirName": dir_name, "site": site.url}

    def check(self, step: PlannedStep, state: Any, before: Any) -> Check:
        if isinstance(state, dict) and state.get("present"):
            return held(f"{step.params.get('path')} is in the OneDrive again")
        if isinstance(state, dict) and not state.get("recycleBin"):
            return not_held(f"{step.params.get('path')} is neither in the OneDrive nor in its recycle bin (emptied, "
                            "or past 93 days: ask Microsoft support within 14 days for a site restore)")
        return not_held(f"{step.params.get('path')} is still in the OneDrive recycle bin")

    async def apply(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        state = before if isinstance(before, dict) else await self.read(ctx, step)
        if state.get("present"):
            return {"note": "already in the OneDrive"}
        entries = sorted(state.get("recycleBin") or [], key=lambda b: str(b.get("deleted") or ""), reverse=True)
        if not entries:
            raise Unsupported(f"{step.params.get('path')} is not in the OneDrive recycle bin any more (emptied, or "
                              "past 93 days)", state=State.FAILED)
        drive, site = await self._site(ctx)
        path = str(step.params["path"])

        async def back() -> bool:
            return await ctx.graph_get_or_none(f"/drives/{quote(str(drive['id']), safe='!')}/root:/"
                                               f"{quote(path, safe='/')}:") is not None

        ctx.count()
        try:
            await ctx.conn.sharepoint.restore(site, str(entries[0]["id"]), verify=back)
        except AuthenticationFailed as exc:
            raise Unsupported(f"SharePoint refused the app's token ({exc.message}); "
                              + _BY_HAND.format(user=ctx.upn), state=State.MANUAL) from None
        return {"method": "POST", "url": f"{site.url}/_api/site/RecycleBin('{entries[0]['id']}')/restore()",
                "file": path}

    def restored(self, step: PlannedStep, state: Any, before: Any) -> bool:
        return isinstance(state, dict) and not state.get("present") and bool(state.get("recycleBin"))

    async def undo(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        state = await self.read(ctx, step)
        if not state.get("present"):
            return {"note": "not in the OneDrive: nothing to move to the recycle bin"}
        _, site = await self._site(ctx)
        url = "/" + "/".join((str(state["dirName"]).strip("/"), str(step.params.get("name") or "")))
        ctx.count()
        try:
            new_id = await ctx.conn.sharepoint.recycle_file(site, url)
        except M365Error as exc:
            raise Unsupported(f"could not move {step.params.get('path')} to the recycle bin: {exc.one_line()}",
                              state=State.FAILED) from None
        return {"method": "POST", "url": f"{site.url}/_api/web/GetFileByServerRelativeUrl('{url}')/recycle()",
                "recycleBinId": new_id}


ACTION = RestoreDeletedFiles()
