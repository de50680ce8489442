"""``verify`` re-lists what an attacker uses to come back, and reports what is new since the investigation.

Checking that each applied step still holds misses an attacker who, after the remediation, adds a *new* inbox
rule under a new name, a new MFA method, a new consent grant, SendAs or another FullAccess delegate. So verify
re-lists each such collection and compares it with the same collection as the investigation stored it (the
case's evidence, by the object's own id): an object that was not there is "new since remediation".

A collection the investigation did not collect cannot be compared ("not compared: ..."); one that cannot be
re-listed now is "could not read" (the verify exits 3): neither is ever "nothing new".
Objects reclaim itself created (an undo re-creating a deleted rule) are not new.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from reclaim.m365 import M365Error
from reclaim.remediate.actions import ActionContext
from reclaim.remediate.actions._inbox_rules import SYSTEM_RULES
from reclaim.remediate.model import JSON
from reclaim.store import Store

#: the password "method" every cloud user has: never an attacker's
BUILT_IN_METHOD_ID = "28c10230-6103-485e-b985-444c60001490"
SELF = "nt authority\\self"


@dataclass(frozen=True)
class Collection:
    """One collection: the evidence kind the investigation stored it under, how to re-list it, how to key and
    describe one item (``None`` key: not an object an attacker adds, e.g. an Exchange system rule)."""

    kind: str
    label: str
    relist: Callable[[ActionContext], Awaitable[list[JSON]]]
    key: Callable[[JSON], str | None]
    describe: Callable[[JSON], str]


async def _exo(ctx: ActionContext, cmdlet: str, parameters: JSON) -> list[JSON]:
    return [x for x in await ctx.exo(cmdlet, parameters) if isinstance(x, dict)]


async def _graph(ctx: ActionContext, path: str) -> list[JSON]:
    ctx.count()
    return [x async for x in ctx.conn.graph.paged(f"{ctx.user_path}{path}") if isinstance(x, dict)]


def _text(item: JSON, *names: str) -> str:
    return next((str(item[n]) for n in names if item.get(n) not in (None, "")), "")


def _rule_key(rule: JSON) -> str | None:
    if _text(rule, "Name").casefold() in SYSTEM_RULES:
        return None
    return _text(rule, "RuleIdentity", "Identity") or None


def _rights(item: JSON) -> str:
    rights = item.get("AccessRights")
    return ",".join(str(r) for r in rights) if isinstance(rights, list) else str(rights or "")


def _delegate_key(field: str, right: str) -> Callable[[JSON], str | None]:
    def key(item: JSON) -> str | None:
        who = _text(item, field).casefold()
        if not who or who == SELF or item.get("IsInherited") or item.get("Deny") or right not in _rights(item):
            return None
        return who

    return key


def _method_key(method: JSON) -> str | None:
    ident = _text(method, "id")
    return None if not ident or ident == BUILT_IN_METHOD_ID else ident


def _method_text(method: JSON) -> str:
    kind = str(method.get("@odata.type") or "").rsplit(".", 1)[-1]
    return f"{kind or 'method'} {_text(method, 'phoneNumber', 'displayName', 'emailAddress', 'id')}"


def _forwarding_key(mailbox: JSON) -> str | None:
    target = _text(mailbox, "ForwardingSmtpAddress", "ForwardingAddress")
    return target.casefold() or None


COLLECTIONS: tuple[Collection, ...] = (
    Collection("exo_rules", "inbox rules (hidden ones included)",
               lambda ctx: _exo(ctx, "Get-InboxRule", {"Mailbox": ctx.upn, "IncludeHidden": True}), _rule_key,
               lambda r: f"inbox rule {_text(r, 'Name')!r} ({'enabled' if r.get('Enabled') else 'disabled'})"),
    Collection("sweep_rules", "sweep rules",
               lambda ctx: _exo(ctx, "Get-SweepRule", {"Mailbox": ctx.upn}),
               lambda r: _text(r, "RuleId", "Identity") or None, lambda r: f"sweep rule {_text(r, 'Name')!r}"),
    Collection("mailbox", "mailbox forwarding",
               lambda ctx: _exo(ctx, "Get-Mailbox", {"Identity": ctx.upn}), _forwarding_key,
               lambda m: f"forwarding to {_text(m, 'ForwardingSmtpAddress', 'ForwardingAddress')}"),
    Collection("auth_methods", "MFA methods", lambda ctx: _graph(ctx, "/authentication/methods"), _method_key,
               _method_text),
    Collection("oauth_grants", "consent grants", lambda ctx: _graph(ctx, "/oauth2PermissionGrants"),
               lambda g: _text(g, "id") or None,
               lambda g: f"consent to client {_text(g, 'clientId')} for {_text(g, 'scope')!r}"),
    Collection("mailbox_permissions", "FullAccess delegates",
               lambda ctx: _exo(ctx, "Get-MailboxPermission", {"Identity": ctx.upn}),
               _delegate_key("User", "FullAccess"), lambda p: f"FullAccess for {_text(p, 'User')}"),
    Collection("recipient_permissions", "SendAs delegates",
               lambda ctx: _exo(ctx, "Get-RecipientPermission", {"Identity": ctx.upn}),
               _delegate_key("Trustee", "SendAs"), lambda p: f"SendAs for {_text(p, 'Trustee')}"),
    Collection("mobile_devices", "mobile devices",
               lambda ctx: _exo(ctx, "Get-MobileDevice", {"Mailbox": ctx.upn}),
               lambda d: _text(d, "Guid", "DeviceId", "Identity") or None,
               lambda d: f"mobile device {_text(d, 'FriendlyName', 'DeviceModel', 'DeviceId')}"),
)


@dataclass
class Relisting:
    #: what was re-listed and compared, one label each
    relisted: list[str]
    #: objects not in the investigation's evidence: {"kind", "id", "what"}
    new: list[JSON]
    #: collections that could not be compared (not collected then) or re-listed (now), with why
    not_compared: dict[str, str]
    unread: dict[str, str]


def _investigated(store: Store, case_id: str) -> dict[str, list[JSON]]:
    """The case's evidence, per collection kind (the latest item of each kind)."""
    wanted = {c.kind for c in COLLECTIONS}
    latest: dict[str, int] = {}
    for info in store.evidence(case_id):
        if info.kind in wanted:
            latest[info.kind] = info.id
    out: dict[str, list[JSON]] = {}
    for kind, evidence_id in latest.items():
        payload = store.get_evidence(evidence_id).json()
        items = payload if isinstance(payload, list) else [payload] if isinstance(payload, dict) else []
        out[kind] = [x for x in items if isinstance(x, dict)]
    return out


def _made_by_reclaim(store: Store, case_id: str) -> set[str]:
    """Ids of objects reclaim created in this case (an undo re-creating a rule)."""
    made: set[str] = set()
    for e in store.journal(case_id):
        new_id = (e.request or {}).get("newId")
        if e.step == "undone" and new_id:
            made.add(str(new_id))
    return made


async def relist(ctx: ActionContext, store: Store, case_id: str) -> Relisting:
    """Re-list every collection concurrently and compare each with what the investigation stored."""
    before = _investigated(store, case_id)
    ours = _made_by_reclaim(store, case_id)

    async def one(c: Collection) -> list[JSON] | M365Error:
        try:
            return await c.relist(ctx)
        except M365Error as exc:
            return exc

    results = await asyncio.gather(*(one(c) for c in COLLECTIONS))
    out = Relisting([], [], {}, {})
    for c, now in zip(COLLECTIONS, results, strict=True):
        if isinstance(now, M365Error):
            out.unread[c.label] = now.one_line()
            continue
        if c.kind not in before:
            out.not_compared[c.label] = "the investigation did not collect it"
            continue
        out.relisted.append(c.label)
        known = {k for k in map(c.key, before[c.kind]) if k}
        for item in now:
            key = c.key(item)
            if key and key not in known and key not in ours:
                out.new.append({"kind": c.kind, "id": key, "what": c.describe(item)})
    return out


def advice(upn: str) -> str:
    return (f"the attacker may still have access: run `reclaim remediate {upn} --apply` (it investigates again "
            "and removes what it finds), then `reclaim verify` on the new case")


def found_new(result: Any) -> bool:
    """A journaled verify result that found persistence new since remediation."""
    return isinstance(result, dict) and result.get("kind") == "verify" and bool(result.get("newSinceRemediation"))
