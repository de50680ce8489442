"""Exchange cmdlets on the organisation: the restricted-senders list and transport (mail flow) rules.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from reclaim.emulator.clock import iso, parse_iso
from reclaim.emulator.exchange_cmdlets import (
    CmdletContext,
    Item,
    Params,
    cmdlet,
    not_found,
    result_size,
)
from reclaim.emulator.exchange_objects import (
    blocked_sender_view,
)

JSON = dict[str, Any]


# ------------------------------------------------------------------------------------------ restricted senders
def _blocked(ctx: CmdletContext) -> list[JSON]:
    """The restricted-senders list: a removal takes effect ``tenant.settings.unblockDelaySeconds`` after it."""
    delay = ctx.state.settings.get("unblockDelaySeconds", 0)
    seconds = float(delay) if isinstance(delay, int | float) and not isinstance(delay, bool) else 0.0
    out: list[JSON] = []
    for entry in ctx.state.data.get("blockedSenders", []):
        requested = entry.get("removalRequestedDateTime")
        if requested and parse_iso(str(requested)) + timedelta(seconds=seconds) <= ctx.now:
            continue
        out.append(entry)
    return out


@cmdlet("Get-BlockedSenderAddress", "Default: SenderAddress:SmtpAddress")
def get_blocked_sender_address(ctx: CmdletContext, p: Params) -> list[Item]:
    wanted = p.text("SenderAddress")
    entries = _blocked(ctx)
    if wanted:
        entries = [e for e in entries if str(e.get("senderAddress", "")).lower() == wanted.strip().lower()]
    return [blocked_sender_view(ctx.state.tenant_id, e) for e in entries]


@cmdlet("Remove-BlockedSenderAddress", "Default: !SenderAddress:SmtpAddress Reason:String")
def remove_blocked_sender_address(ctx: CmdletContext, p: Params) -> list[Item]:
    address = str(p.text("SenderAddress")).strip()
    entries = [e for e in _blocked(ctx) if str(e.get("senderAddress", "")).lower() == address.lower()]
    if not entries:
        raise not_found(address)
    for entry in entries:
        if entry.get("removalRequestedDateTime"):
            continue  # already requested: the unblock is on its way, asking again changes nothing
        entry["removalRequestedDateTime"] = iso(ctx.now)
        if p.text("Reason"):
            entry["removalReason"] = p.text("Reason")
    return []


# ------------------------------------------------------------------------------------------ transport rules
@cmdlet("Get-TransportRule", """
    Default: Identity:RuleIdParameter State:RuleState ResultSize:Unlimited
    """, unserved=("DlpPolicy", "ExcludeConditionActionDetails", "Filter"))
def get_transport_rule(ctx: CmdletContext, p: Params) -> list[Item]:
    rules: list[JSON] = list(ctx.state.data.get("transportRules", []))
    identity = p.text("Identity")
    if identity:
        k = identity.lower()
        rules = [r for r in rules if k in {str(r.get(f, "")).lower() for f in ("Name", "Identity", "Guid")}]
        if not rules:
            raise not_found(identity)
    state = p.text("State")
    if state:
        rules = [r for r in rules if str(r.get("State", "Enabled")).lower() == state.lower()]
    out: list[Item] = []
    for rule in rules:
        view: JSON = {}
        for key, value in rule.items():
            if isinstance(value, list) and "@" not in key and f"{key}@odata.type" not in rule:
                view[f"{key}@odata.type"] = "#Collection(String)"
            view[key] = value
        out.append(view)
    return result_size(ctx, p, out)
