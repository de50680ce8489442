"""Shared reading of mailbox delegates (FullAccess through Get-MailboxPermission, SendAs through
Get-RecipientPermission)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reclaim.remediate.model import JSON
from reclaim.remediate.planning import PlanContext, PlanItem
from reclaim.store import Finding

if TYPE_CHECKING:
    from reclaim.remediate.actions._base import Action


def rights_of(entry: JSON) -> set[str]:
    value = entry.get("AccessRights") or []
    items = value if isinstance(value, list) else [value]
    return {part.strip().lower() for item in items for part in str(item).split(",") if part.strip()}


def granted(entries: list[JSON], who_key: str, who: str, rights: list[str]) -> list[str]:
    """Which of ``rights`` ``who`` still holds (explicit, allowed entries only)."""
    wanted = {r.lower() for r in rights}
    have: set[str] = set()
    for e in entries:
        if str(e.get(who_key, "")).lower() != who.lower() or e.get("IsInherited") is True:
            continue
        if e.get("Deny") is True or str(e.get("AccessControlType", "Allow")).lower() == "deny":
            continue
        have |= rights_of(e) & wanted
    return sorted(r for r in rights if r.lower() in have)


def plan_delegate(action: Action, f: Finding, ctx: PlanContext, right: str) -> list[PlanItem]:
    """Remove a delegate the attacker added (rated medium or more); offer it when its date is unknown or
    outside the window (confirm with the user)."""
    trustee = str(f.evidence.get("trustee") or f.artifact_id or "")
    if not trustee:
        return []
    rights = [str(r) for r in f.evidence.get("accessRights") or []]
    params = {"accessRights": [r for r in rights if r.lower() == right.lower()] or [right]}
    label = f"{right} delegate {trustee}"
    if ctx.acts(f):
        return [action.step(ctx, trustee, label, ctx.reason(f), params=params)]
    if f.kind == "compromise":
        return [action.step(ctx, trustee, label + " (when it was granted is unknown or outside the window: confirm "
                            "with the user)", ctx.reason(f), params=params, opt_in=True)]
    return []
