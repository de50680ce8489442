"""Everything a check module needs, in one place: ``from reclaim.detect.api import ...``.

A check is one module under :mod:`reclaim.detect.checks` with ``METADATA = CheckMeta(...)`` and either
``run(bundle, context)`` or ``assess(rule, context)`` (see :mod:`reclaim.detect.registry`). It reads the
evidence through the bundle's accessors (which raise :class:`ArtifactMissing` for evidence that was not
collected: the engine turns that into "not checked") and the tolerant field readers, which never raise on
an unexpected shape. Nothing here prints, stores or talks to a tenant.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from reclaim.detect import drive, rulescore
from reclaim.detect.addresses import NOT_EXPORTED, Recipient, parse_recipients
from reclaim.detect.context import Context, RuleEvent, RuleSignal
from reclaim.detect.correlate import normalise_ip
from reclaim.detect.evidence import ArtifactMissing, EvidenceBundle, NotCollected, Window
from reclaim.detect.fields import flag, get, iso, items, mappings, strings, text, when
from reclaim.detect.lexicon import FolderKind, TermKind, fold, folder_kind, matching_terms, warning_sender
from reclaim.detect.model import Artifact, ArtifactType, Finding, NotChecked, Scope, Severity
from reclaim.detect.registry import CheckMeta
from reclaim.detect.rules import InboxRule, from_exchange


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


def audit_parameters(record: Mapping[str, Any]) -> dict[str, str]:
    """A unified audit record's cmdlet ``Parameters`` as ``{Name: Value}`` (values as strings)."""
    out: dict[str, str] = {}
    for p in mappings(items(record, "Parameters", "parameters")):
        name = text(p, "Name", "name")
        if name:
            out[name] = text(p, "Value", "value") or ""
    return out


def judge_rule(rule: InboxRule, context: Context) -> Finding | None:
    """What every rule check together says about one inbox rule: at most one finding (see rulescore)."""
    from reclaim.detect.registry import checks

    signals = [answer for check in checks() if check.assess is not None
               for answer in check.assess(rule, context) if isinstance(answer, RuleSignal)]
    return rulescore.combine(rule, signals, context)


__all__ = [
    "NOT_EXPORTED", "Artifact", "ArtifactMissing", "ArtifactType", "CheckMeta", "Context", "EvidenceBundle",
    "Finding", "FolderKind", "InboxRule", "NotChecked", "NotCollected", "Recipient", "RuleEvent", "RuleSignal",
    "Scope", "Severity", "TermKind", "Window", "audit_parameters", "drive", "flag", "fold", "folder_kind",
    "from_exchange", "get", "iso", "items", "judge_created", "judge_rule", "mappings", "matching_terms", "max_severity",
    "normalise_ip", "odata_kind", "parse_recipients", "strings", "text", "user_id", "user_label", "warning_sender",
    "when",
]
