"""Exchange cmdlets on a mailbox's rules: inbox rules (``Get-``/``Enable-``/``Disable-``/``Remove-InboxRule``)
and Sweep rules.

Every change goes through ``backends.mailbox`` (the same operations Graph's messageRules use).
"""

from __future__ import annotations

from typing import Any

from reclaim.emulator.backends import mailbox as mailboxes
from reclaim.emulator.exchange_cmdlets import (
    CmdletContext,
    Item,
    Params,
    ambiguous,
    binding_error,
    cmdlet,
    not_found,
    resolve_mailbox,
)
from reclaim.emulator.exchange_objects import (
    inbox_rule_view,
    sweep_rule_view,
)

JSON = dict[str, Any]


# ------------------------------------------------------------------------------------------ inbox rules
def _split_identity(ctx: CmdletContext, p: Params, identity: str) -> tuple[JSON, str]:
    """``<mailbox>\\<rule>`` or ``<rule>`` with -Mailbox: the mailbox user and the rule part."""
    if "\\" in identity:
        owner, _, item = identity.rpartition("\\")
        return resolve_mailbox(ctx, owner), item
    mailbox = p.text("Mailbox")
    if not mailbox:
        raise binding_error("Cannot process command because of one or more missing mandatory parameters: Mailbox.")
    return resolve_mailbox(ctx, mailbox), identity


def find_inbox_rule(ctx: CmdletContext, p: Params, *, include_hidden: bool) -> tuple[JSON, JSON]:
    identity = str(p.text("Identity"))
    user, item = _split_identity(ctx, p, identity)
    try:
        return user, mailboxes.find_rule(user, item, include_hidden=include_hidden, by_name=True)
    except mailboxes.RuleAmbiguous:
        raise ambiguous(identity) from None
    except mailboxes.RuleNotFound:
        raise not_found(identity) from None


@cmdlet("Get-InboxRule", """
    Default: Identity:InboxRuleIdParameter Mailbox:MailboxIdParameter IncludeHidden:SwitchParameter
             DescriptionTimeFormat:String DescriptionTimeZone:ExTimeZoneValue
    """, unserved=("BypassScopeCheck", "ResultSize", "SkipCount", "SweepRules", "UseCustomRouting"))
def get_inbox_rule(ctx: CmdletContext, p: Params) -> list[Item]:
    include_hidden = p.flag("IncludeHidden")
    if p.has("Identity") and p.text("Identity"):
        user, rule = find_inbox_rule(ctx, p, include_hidden=include_hidden)
        return [inbox_rule_view(ctx.state, user, rule)]
    mailbox = p.text("Mailbox")
    if not mailbox:
        raise binding_error("Cannot process command because of one or more missing mandatory parameters: Mailbox.")
    user = resolve_mailbox(ctx, mailbox)
    return [inbox_rule_view(ctx.state, user, r) for r in mailboxes.inbox_rules(user, include_hidden=include_hidden)]


#: Disable-, Enable- and Remove-InboxRule have the same parameters.
_RULE_WRITE = ("Default: !Identity:InboxRuleIdParameter Mailbox:MailboxIdParameter "
               "AlwaysDeleteOutlookRulesBlob:SwitchParameter Force:SwitchParameter")


@cmdlet("Disable-InboxRule", _RULE_WRITE, unserved=("BypassScopeCheck",))
def disable_inbox_rule(ctx: CmdletContext, p: Params) -> list[Item]:
    _, rule = find_inbox_rule(ctx, p, include_hidden=True)
    mailboxes.disable_rule(rule)
    return []


@cmdlet("Enable-InboxRule", _RULE_WRITE, unserved=("BypassScopeCheck",))
def enable_inbox_rule(ctx: CmdletContext, p: Params) -> list[Item]:
    _, rule = find_inbox_rule(ctx, p, include_hidden=True)
    mailboxes.enable_rule(rule)
    return []


@cmdlet("Remove-InboxRule", _RULE_WRITE, unserved=("BypassScopeCheck",))
def remove_inbox_rule(ctx: CmdletContext, p: Params) -> list[Item]:
    user, rule = find_inbox_rule(ctx, p, include_hidden=True)
    mailboxes.remove_rule(user, rule)
    return []


# ------------------------------------------------------------------------------------------ sweep rules
def find_sweep_rule(ctx: CmdletContext, p: Params) -> tuple[JSON, JSON]:
    identity = str(p.text("Identity"))
    user, item = _split_identity(ctx, p, identity)
    try:
        return user, mailboxes.find_sweep_rule(user, item)
    except mailboxes.RuleAmbiguous:
        raise ambiguous(identity) from None
    except mailboxes.RuleNotFound:
        raise not_found(identity) from None


#: Disable-, Enable- and Remove-SweepRule have the same parameters.
_SWEEP_WRITE = "Default: !Identity:SweepRuleIdParameter Mailbox:MailboxIdParameter"


@cmdlet("Get-SweepRule", "Default: Identity:SweepRuleIdParameter Mailbox:MailboxIdParameter",
        unserved=("BypassScopeCheck", "Provider", "ResultSize"))
def get_sweep_rule(ctx: CmdletContext, p: Params) -> list[Item]:
    if p.text("Identity"):
        user, rule = find_sweep_rule(ctx, p)
        return [sweep_rule_view(user, rule)]
    mailbox = p.text("Mailbox")
    if not mailbox:
        raise binding_error("Cannot process command because of one or more missing mandatory parameters: Mailbox.")
    user = resolve_mailbox(ctx, mailbox)
    return [sweep_rule_view(user, r) for r in user["mailbox"].get("sweepRules", [])]


@cmdlet("Disable-SweepRule", _SWEEP_WRITE)
def disable_sweep_rule(ctx: CmdletContext, p: Params) -> list[Item]:
    _, rule = find_sweep_rule(ctx, p)
    mailboxes.set_sweep_rule_enabled(rule, False)
    return []


@cmdlet("Enable-SweepRule", _SWEEP_WRITE)
def enable_sweep_rule(ctx: CmdletContext, p: Params) -> list[Item]:
    _, rule = find_sweep_rule(ctx, p)
    mailboxes.set_sweep_rule_enabled(rule, True)
    return []


@cmdlet("Remove-SweepRule", _SWEEP_WRITE)
def remove_sweep_rule(ctx: CmdletContext, p: Params) -> list[Item]:
    user, rule = find_sweep_rule(ctx, p)
    mailboxes.remove_sweep_rule(user, rule)
    return []
