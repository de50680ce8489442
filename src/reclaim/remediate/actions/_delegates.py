"""Shared reading of mailbox delegates (FullAccess through Get-MailboxPermission, SendAs through
Get-RecipientPermission)."""

from __future__ import annotations

from reclaim.remediate.model import JSON


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
