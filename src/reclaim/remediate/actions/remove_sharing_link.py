"""``remove-sharing-link``: Graph ``DELETE /drives/{d}/items/{i}/permissions/{p}`` for a sharing link or an
outside grant an attacker session made in the user's OneDrive (eradicate).

Chosen for shares made by attacker sessions (an address the attacker used, or the suspicious window from an
unfamiliar address); offered for a share made inside the window from a familiar address; the user's own older
shares are left alone and listed. The snapshot is the permission as it was (its link URL included: the journal
keeps it for the record). A removed link cannot be re-created with the same URL: ``undo`` says so and gives
the request that makes an equivalent link, to send to the people who need it (reclaim does not re-open access
an attacker had on its own).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar
from urllib.parse import quote

from reclaim.m365 import NotFound
from reclaim.remediate.actions._base import Action, ActionContext, Check, Requires, Unsupported, held, not_held
from reclaim.remediate.model import JSON, LeftAlone, Phase, PlannedStep, State
from reclaim.remediate.planning import PlanContext, PlanItem
from reclaim.store import Finding


class RemoveSharingLink(Action):
    name: ClassVar[str] = "remove-sharing-link"
    phase: ClassVar[Phase] = Phase.ERADICATE
    title: ClassVar[str] = "Remove the sharing link or outside access"
    reversible: ClassVar[bool] = True
    undo_note: ClassVar[str] = ("a removed link cannot be re-created with the same URL (the journal keeps the old "
                                "one); undo gives the request for an equivalent link instead")
    order: ClassVar[int] = 45
    answers: ClassVar[frozenset[str]] = frozenset({"sharingLink"})
    requires: ClassVar[Requires] = Requires(graph=("Files.ReadWrite.All", "Sites.ReadWrite.All",
                                                   "Sites.FullControl.All"))

    def plan(self, finding: Finding | None, ctx: PlanContext) -> list[PlanItem]:
        if finding is None:
            return []
        ev = finding.evidence
        what = f"{ev.get('scope') or 'share'} {ev.get('type') or ''} link".replace("direct ", "access ")
        if ev.get("target"):
            what += f" for {ev.get('target')}"
        label = f"{what.strip()} on {ev.get('path') or ev.get('name') or 'a file'}"
        if not ev.get("active") or not (ev.get("driveId") and ev.get("itemId") and ev.get("permissionId")):
            return [LeftAlone(finding.check_id, finding.artifact_id or "", f"{label}: no longer active, nothing "
                              "to remove")]
        params = {k: ev.get(k) for k in ("driveId", "itemId", "permissionId", "path", "scope", "type", "target",
                                         "linkUrl", "roles")}
        target = str(finding.artifact_id or "")
        if finding.kind == "context" or finding.severity == "info":
            return [LeftAlone(finding.check_id, target, f"{label}: the user's own share, made before the suspicious "
                              "window; left alone")]
        if ev.get("byAttacker") and ctx.acts(finding):
            return [self.step(ctx, target, label, ctx.reason(finding), params=params)]
        return [self.step(ctx, target, label + " (made in the window from a familiar address: confirm with the "
                          "user)", ctx.reason(finding), params=params, opt_in=True)]

    def _url(self, step: PlannedStep) -> str:
        p = step.params
        return (f"/drives/{quote(str(p['driveId']), safe='!')}/items/{quote(str(p['itemId']), safe='!')}"
                f"/permissions/{quote(str(p['permissionId']), safe='')}")

    def describe_read(self, ctx: ActionContext, step: PlannedStep) -> JSON:
        return {"method": "GET", "url": self._url(step)}

    async def read(self, ctx: ActionContext, step: PlannedStep) -> Any:
        return await ctx.graph_get_or_none(self._url(step))

    def check(self, step: PlannedStep, state: Any, before: Any) -> Check:
        if state is None:
            return held(f"the permission is gone from {step.params.get('path')}")
        url = (state.get("link") or {}).get("webUrl") if isinstance(state, dict) else None
        return not_held(f"the share still works{f' ({url})' if url else ''}")

    async def apply(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        url = self._url(step)

        async def gone() -> bool:
            return await ctx.graph_get_or_none(url) is None

        request: JSON = {"method": "DELETE", "url": url}
        old = (before or {}).get("link", {}).get("webUrl") if isinstance(before, dict) else None
        if old:
            request["removedLinkUrl"] = old  # for the record: that URL never works again
        try:
            await ctx.graph_write("DELETE", url, verify=gone)
        except NotFound:
            request["note"] = "already gone when deleted"
        return request

    async def undo(self, ctx: ActionContext, step: PlannedStep, before: Any) -> JSON:
        link = before.get("link") if isinstance(before, dict) else None
        p = step.params
        if isinstance(link, dict):
            body = {"type": link.get("type") or "view", "scope": link.get("scope") or "organization"}
            create = (f"POST /drives/{p.get('driveId')}/items/{p.get('itemId')}/createLink "
                      f"{json.dumps(body)}")
            raise Unsupported(f"the link {link.get('webUrl')} cannot be re-created with the same URL; if people "
                              f"still need it, create an equivalent link ({create}) and send them the new URL",
                              state=State.NOT_UNDOABLE)
        roles = ", ".join(before.get("roles") or ["read"]) if isinstance(before, dict) else "read"
        raise Unsupported(f"access for {p.get('target') or 'the person'} ({roles}) is not re-granted by reclaim; "
                          f"if it was wanted, share {p.get('path')} with them again from OneDrive",
                          state=State.NOT_UNDOABLE)


ACTION = RemoveSharingLink()
