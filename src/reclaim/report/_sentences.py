"""The journal in words: what an action changed, from what to what, when and by whom.

A customer reads "Sign-in blocked for alice@contoso.com: account enabled changed from yes to no, on
2026-12-04 15:03 UTC by responder@contoso.com; checked afterwards: sign-in is blocked." The raw request,
result and before-state stay in the report too, behind a disclosure, for the responder.

Everything here works on the journal as stored (the request the action sent, the before-state snapshot it
took); nothing is looked up elsewhere. Values are shown as data by the writers (attacker text included).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any

__all__ = ["audit_events_text", "change_phrases", "pending_phrase"]

#: Parameters that say *which* object a cmdlet works on, not what it changes.
_IDENTITY_PARAMS = frozenset({"identity", "mailbox", "user", "senderaddress", "userids", "id",
                              "alwaysdeleteoutlookrulesblob", "confirm", "force"})
#: Keys whose values are secrets or never recorded.
_SECRET_KEYS = frozenset({"password", "passwordprofile"})
_MAX_CHANGES = 6


def _plain(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value) if value else "empty"
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    return str(value)


def _words(key: str) -> str:
    """``accountEnabled`` → ``account enabled``; ``SmtpClientAuthenticationDisabled`` → ``smtp client ...``."""
    out: list[str] = []
    for i, ch in enumerate(key):
        if ch.isupper() and i and (not key[i - 1].isupper() or (i + 1 < len(key) and key[i + 1].islower())):
            out.append(" ")
        out.append(ch.lower())
    text = "".join(out).replace("_", " ").strip()
    return text[3:] if text.startswith("is ") else text


def _leaves(value: Any, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    if isinstance(value, Mapping) and value:
        found: list[tuple[tuple[str, ...], Any]] = []
        for key, item in value.items():
            found.extend(_leaves(item, (*prefix, str(key))))
        return found
    return [(prefix, value)]


def _old(before: Any, path: tuple[str, ...]) -> tuple[bool, Any]:
    """The value at ``path`` in the before-state (a mapping, or a one-item list of one), matched case-blind."""
    node = before[0] if isinstance(before, list) and len(before) == 1 else before
    for part in path:
        if not isinstance(node, Mapping):
            return False, None
        match = next((k for k in node if str(k).casefold() == part.casefold()), None)
        if match is None:
            return False, None
        node = node[match]
    return True, node


def change_phrases(request: Mapping[str, Any] | None, before: Any) -> tuple[str, ...]:
    """What the applied request changed, one phrase per field: "account enabled: yes → no"."""
    if not isinstance(request, Mapping):
        return ()
    method = str(request.get("method") or "").upper()
    cmdlet = str(request.get("cmdlet") or "")
    if method == "DELETE" or cmdlet.startswith(("Remove-", "Revoke-")):
        return ("removed",)
    fields: Any = request.get("body") if method else request.get("parameters")
    if not isinstance(fields, Mapping) or not fields:
        return ("done",) if method == "POST" else ()
    phrases: list[str] = []
    for path, new in _leaves({k: v for k, v in fields.items() if str(k).casefold() not in _IDENTITY_PARAMS}):
        if not path:
            continue
        if any(p.casefold() in _SECRET_KEYS for p in path):
            if path[-1].casefold() == "password":
                phrases.append("password: replaced (the new one is never recorded)")
            continue
        name = " ".join(_words(p) for p in path[-2:])
        known, old = _old(before, path)
        if known and _plain(old) == _plain(new):
            continue  # sent to be sure, but not a change
        phrases.append(f"{name}: {_plain(old)} → {_plain(new)}" if known else f"{name}: set to {_plain(new)}")
    if cmdlet.startswith("Disable-") and not phrases:
        phrases.append("enabled: yes → no")
    if not phrases:
        phrases.append("done")
    return tuple(phrases[:_MAX_CHANGES]) + (
        (f"and {len(phrases) - _MAX_CHANGES} more fields",) if len(phrases) > _MAX_CHANGES else ())


_OPERATION_WORDS = {"new": "created", "set": "changed", "remove": "removed", "enable": "enabled",
                    "disable": "disabled", "add": "added", "update": "changed"}


def audit_events_text(events: Sequence[Any], zone: tzinfo) -> str:
    """``auditEvents`` of a finding as a sentence: "created 2026-12-01 17:12 UTC from 203.0.113.45 (New-InboxRule);
    changed ..."."""
    parts: list[str] = []
    for event in events:
        if not isinstance(event, Mapping):
            continue
        operation = str(event.get("operation") or "changed")
        verb = _OPERATION_WORDS.get(operation.split("-")[0].casefold(), "changed")
        moment = _parse(event.get("time"))
        when = moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if moment else "at an unrecorded time"
        ip = str(event.get("clientIP") or "")
        ip = ip.rsplit(":", 1)[0] if ip.count(":") == 1 else ip  # "203.0.113.45:50412" → the address
        parts.append(f"{verb} {when}" + (f" from {ip}" if ip else "") + f" ({operation})")
    return "; ".join(parts) if parts else "-"


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def pending_phrase(delay: str) -> str:
    return f"requested; pending until Microsoft applies it ({delay})"
