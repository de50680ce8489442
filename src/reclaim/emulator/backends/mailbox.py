"""The mailbox backend: inbox rules, sweep rules, forwarding, client access, permissions, devices, settings.

Mailbox data lives under ``user["mailbox"]`` (the fixture format); Graph and Exchange are two views of it.
Every change to a mailbox made by either API goes through a function here.
"""

from __future__ import annotations

import base64
import copy
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from reclaim.emulator.clock import iso
from reclaim.emulator.exchange_objects import rule_identity

JSON = dict[str, Any]


class RuleNotFound(LookupError):
    """No rule has that id (or name)."""


class RuleAmbiguous(LookupError):
    """More than one rule has that name."""


def touch(user: JSON, now: datetime) -> None:
    """Exchange's WhenChanged of the mailbox."""
    user["mailbox"]["whenChanged"] = iso(now)


# ------------------------------------------------------------------------------------------ inbox rules
def inbox_rules(user: JSON, *, include_hidden: bool) -> list[JSON]:
    """The mailbox's inbox rules in execution order (hidden ones only when asked: Graph never sees them)."""
    rules = [r for r in user["mailbox"].get("inboxRules", []) if include_hidden or not r.get("hidden")]
    return sorted(rules, key=lambda r: (r.get("sequence") is None, r.get("sequence") or 0))


def find_rule(user: JSON, key: str, *, include_hidden: bool, by_name: bool) -> JSON:
    """One inbox rule by its Graph id or its Exchange RuleIdentity, or (``by_name``, as Exchange allows) by
    its name. Raises ``RuleNotFound`` / ``RuleAmbiguous``."""
    rules = inbox_rules(user, include_hidden=include_hidden)
    for rule in rules:
        if str(rule["id"]) == key or str(rule_identity(str(rule["id"]))) == key:
            return rule
    named = [r for r in rules if by_name and str(r.get("displayName", "")).lower() == key.lower()]
    if len(named) > 1:
        raise RuleAmbiguous(key)
    if not named:
        raise RuleNotFound(key)
    return named[0]


def set_rule_enabled(rule: JSON, enabled: bool) -> None:
    rule["isEnabled"] = enabled


def disable_rule(rule: JSON) -> None:
    """Graph ``PATCH messageRules/{id} {"isEnabled": false}`` and ``Disable-InboxRule``."""
    set_rule_enabled(rule, False)


def enable_rule(rule: JSON) -> None:
    set_rule_enabled(rule, True)


def remove_rule(user: JSON, rule: JSON) -> None:
    """Graph ``DELETE messageRules/{id}`` and ``Remove-InboxRule``."""
    rules: list[JSON] = user["mailbox"]["inboxRules"]
    rules[:] = [r for r in rules if r is not rule]


def new_rule_id() -> str:
    """Exchange rule ids look like ``AQAAAJ5dZqA=``: base64 of a small binary key."""
    return base64.b64encode(uuid.uuid4().bytes[:8]).decode()


def create_rule(user: JSON, *, display_name: str, sequence: int, is_enabled: bool, conditions: JSON | None,
                actions: JSON | None, exceptions: JSON | None) -> JSON:
    rule: JSON = {
        "id": new_rule_id(), "displayName": display_name, "sequence": sequence, "isEnabled": is_enabled,
        "hasError": False, "isReadOnly": False, "conditions": copy.deepcopy(conditions or {}),
        "actions": copy.deepcopy(actions or {}), "exceptions": copy.deepcopy(exceptions or {}), "hidden": False,
    }
    user["mailbox"].setdefault("inboxRules", []).append(rule)
    return rule


#: Rule properties a client may change (Graph's messageRule, less the read-only hasError / isReadOnly).
RULE_WRITABLE = ("displayName", "sequence", "isEnabled", "conditions", "actions", "exceptions")


def update_rule(rule: JSON, changes: JSON) -> None:
    """Set the given writable properties; ``null`` for a predicate set clears it."""
    for key, value in changes.items():
        if key not in RULE_WRITABLE:
            continue
        if key == "isEnabled":
            set_rule_enabled(rule, bool(value))
        elif key in ("conditions", "actions", "exceptions") and value is None:
            rule[key] = {}
        else:
            rule[key] = copy.deepcopy(value)


# ------------------------------------------------------------------------------------------ sweep rules
def find_sweep_rule(user: JSON, key: str) -> JSON:
    rules: list[JSON] = user["mailbox"].get("sweepRules", [])
    for rule in rules:
        if str(rule.get("ruleId")) == key:
            return rule
    named = [r for r in rules if str(r.get("name", "")).lower() == key.lower()]
    if len(named) > 1:
        raise RuleAmbiguous(key)
    if not named:
        raise RuleNotFound(key)
    return named[0]


def set_sweep_rule_enabled(rule: JSON, enabled: bool) -> None:
    rule["enabled"] = enabled


def remove_sweep_rule(user: JSON, rule: JSON) -> None:
    rules: list[JSON] = user["mailbox"]["sweepRules"]
    rules[:] = [r for r in rules if r is not rule]


# ------------------------------------------------------------------------------------------ mailbox properties
def set_mailbox_properties(user: JSON, changes: JSON, now: datetime) -> JSON:
    """Forwarding and other mailbox properties (fixture keys); the ones that really changed, if any."""
    mbx: JSON = user["mailbox"]
    changed = {k: v for k, v in changes.items() if mbx.get(k) != v}
    if changed:
        mbx.update(changed)
        touch(user, now)
    return changed


def set_client_access(user: JSON, updates: JSON, now: datetime) -> None:
    """Protocols of the mailbox (``casMailbox`` keys: ``imapEnabled``, ``popEnabled``, ...)."""
    if updates:
        user["mailbox"].setdefault("casMailbox", {}).update(updates)
        touch(user, now)


def update_settings(user: JSON, auto_replies: JSON | None, others: JSON) -> None:
    """Graph ``PATCH mailboxSettings``: automatic replies and the other writable settings."""
    mailbox: JSON = user["mailbox"]
    if auto_replies is not None:
        mailbox.setdefault("automaticRepliesSetting", {}).update(copy.deepcopy(auto_replies))
    if others:
        mailbox.setdefault("mailboxSettings", {}).update(copy.deepcopy(others))


# ------------------------------------------------------------------------------------------ permissions
def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def remove_rights(entries: list[JSON], matching: Callable[[JSON], bool], rights: list[str]) -> bool:
    """Take ``rights`` away from the matching entries (dropping emptied ones); True if any was removed."""
    removed = False
    wanted = {x.lower() for x in rights}
    for entry in list(entries):
        if not matching(entry):
            continue
        current = _as_list(entry.get("accessRights"))
        keep = [r for r in current if str(r).lower() not in wanted]
        if len(keep) == len(current):
            continue
        removed = True
        if keep:
            entry["accessRights"] = keep
        else:
            entries.remove(entry)
    return removed


def add_rights(entries: list[JSON], matching: Callable[[JSON], bool], new_entry: JSON,
               rights: list[str]) -> bool:
    """Give ``rights`` through the first matching allow entry (merging), or a new entry; False when every
    right was already there."""
    for entry in entries:
        if matching(entry) and not entry.get("deny"):
            current = _as_list(entry.get("accessRights"))
            missing = [r for r in rights if r.lower() not in {str(c).lower() for c in current}]
            if not missing:
                return False
            entry["accessRights"] = [*current, *missing]
            return True
    entries.append({**new_entry, "accessRights": list(rights)})
    return True


def mailbox_permissions(user: JSON) -> list[JSON]:
    """The live list of the mailbox's delegated permissions (Add/Remove-MailboxPermission)."""
    entries: list[JSON] = user["mailbox"].setdefault("permissions", [])
    return entries


def recipient_permissions(user: JSON) -> list[JSON]:
    """The live list of the mailbox's Send As permissions (Add/Remove-RecipientPermission)."""
    entries: list[JSON] = user["mailbox"].setdefault("recipientPermissions", [])
    return entries


# ------------------------------------------------------------------------------------------ devices
def remove_device(user: JSON, device: JSON) -> None:
    devices: list[JSON] = user["mailbox"].get("mobileDevices", [])
    devices[:] = [d for d in devices if d is not device]
