"""Small helpers shared by check modules (not a check: the registry skips ``_`` modules)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from reclaim.detect.context import Context
from reclaim.detect.evidence import EvidenceBundle, NotCollected
from reclaim.detect.fields import text
from reclaim.detect.model import Severity


def user_id(bundle: EvidenceBundle) -> str:
    """The user's Entra object id (artifact id of user-level findings), else the UPN / mailbox owner."""
    if not isinstance(bundle.user, NotCollected):
        found = text(bundle.user, "id", "userPrincipalName")
        if found:
            return found
    return bundle.mailbox_owner or "unknown"


def user_label(bundle: EvidenceBundle) -> str:
    if not isinstance(bundle.user, NotCollected):
        found = text(bundle.user, "userPrincipalName", "mail", "displayName", "id")
        if found:
            return found
    return bundle.mailbox_owner or "this user"


def judge_created(context: Context, created: datetime | None, *, inside: Severity, recent: Severity,
                  what: str) -> tuple[Severity | None, str]:
    """Severity of something added to the account, by when it was added.

    Inside the suspicious window: ``inside``. Inside the collection window only: ``recent``. Older or
    undated: ``None`` (not reported).
    """
    if created is not None and context.in_suspicious_window(created):
        return inside, f"{what} during the suspicious window ({context.suspicious_reason})"
    if created is not None and context.window.contains(created):
        return recent, f"{what} recently, in the investigated period; confirm with the user"
    return None, ""


def max_severity(*values: Severity) -> Severity:
    return max(values, key=lambda s: s.rank)


def odata_kind(obj: Mapping[str, Any]) -> str:
    """``#microsoft.graph.phoneAuthenticationMethod`` → ``phoneAuthenticationMethod``."""
    return (text(obj, "@odata.type") or "").rsplit(".", 1)[-1]
