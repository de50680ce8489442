"""Exchange cmdlets on mailbox delegation: Full Access (``*-MailboxPermission``) and Send As
(``*-RecipientPermission``).
"""

from __future__ import annotations

from typing import Any

from reclaim.emulator.backends import mailbox as mailboxes
from reclaim.emulator.exchange_cmdlets import (
    MAILBOX_RIGHTS,
    SELF,
    CmdletContext,
    Item,
    Params,
    binding_error,
    cmdlet,
    mailboxes_in_scope,
    not_found,
    resolve_mailbox,
    resolve_recipient,
    result_size,
    same_principal,
)
from reclaim.emulator.exchange_objects import (
    mailbox_name,
    mailbox_permission_view,
    recipient_permission_view,
)

JSON = dict[str, Any]


# ------------------------------------------------------------------------------------------ permissions
def _mailbox_permissions(user: JSON) -> list[JSON]:
    own = {"user": SELF, "accessRights": ["FullAccess, ReadPermission"], "inheritanceType": "All"}
    return [own, *user["mailbox"].get("permissions", [])]


@cmdlet("Get-MailboxPermission", """
    AccessRights: !Identity:MailboxIdParameter User:SecurityPrincipalIdParameter ResultSize:Unlimited
    Owner: !Identity:MailboxIdParameter
    """, unserved=("Owner", "GroupMailbox", "IncludeSoftDeletedUserPermissions", "IncludeUnresolvedPermissions",
                   "ReadFromDomainController", "SoftDeletedMailbox", "UseCustomRouting"))
def get_mailbox_permission(ctx: CmdletContext, p: Params) -> list[Item]:
    user = resolve_mailbox(ctx, str(p.text("Identity")))
    entries = _mailbox_permissions(user)
    who = p.text("User")
    if who:
        entries = [e for e in entries if same_principal(ctx, e.get("user"), who)]
    return result_size(ctx, p, [mailbox_permission_view(user, e) for e in entries])


def _rights(p: Params, allowed: tuple[str, ...]) -> list[str]:
    rights = p.strings("AccessRights")
    canonical = {r.lower(): r for r in allowed}
    out: list[str] = []
    for right in rights:
        if right.lower() not in canonical:
            enum = "MailboxRights" if len(allowed) > 1 else "RecipientAccessRight"
            raise binding_error(
                f"Cannot bind parameter 'AccessRights'. Cannot convert value \"{right}\" to type "
                f"\"Microsoft.Exchange.Management.RecipientTasks.{enum}\". Error: \"Unable to match the identifier "
                f"name {right} to a valid enumerator name. Specify one of the following enumerator names and try "
                f"again: {', '.join(allowed)}\"")
        out.append(canonical[right.lower()])
    return out


@cmdlet("Remove-MailboxPermission", """
    AccessRights: !Identity:MailboxIdParameter !User:SecurityPrincipalIdParameter !AccessRights:MailboxRights[]
                  Deny:SwitchParameter InheritanceType:ActiveDirectorySecurityInheritance
                  BypassMasterAccountSid:SwitchParameter
    """, unserved=("Instance", "GroupMailbox", "IgnoreDefaultScope", "SoftDeletedMailbox"))
def remove_mailbox_permission(ctx: CmdletContext, p: Params) -> list[Item]:
    user = resolve_mailbox(ctx, str(p.text("Identity")))
    who = str(p.text("User"))
    rights = _rights(p, MAILBOX_RIGHTS)
    deny = p.flag("Deny")
    removed = mailboxes.remove_rights(mailboxes.mailbox_permissions(user),
                                      lambda e: same_principal(ctx, e.get("user"), who)
                                      and bool(e.get("deny", False)) == deny, rights)
    if not removed:
        ctx.warnings.append(f"Can't remove the access control entry on the object \"{mailbox_name(user)}\" for "
                            f"account \"{who}\" because the ACE doesn't exist on the object.")
    return []


def _add_rights(entries: list[JSON], who_key: str, who: str, rights: list[str], ctx: CmdletContext,
                extra: JSON) -> None:
    """Give ``rights`` to ``who``; Exchange warns when all of them are already there."""
    if not mailboxes.add_rights(entries, lambda e: same_principal(ctx, e.get(who_key), who), {who_key: who, **extra},
                                rights):
        ctx.warnings.append(f"The access control entry for \"{who}\" already has {', '.join(rights)}.")


@cmdlet("Add-MailboxPermission", """
    AccessRights: !Identity:MailboxIdParameter !User:SecurityPrincipalIdParameter !AccessRights:MailboxRights[]
                  InheritanceType:ActiveDirectorySecurityInheritance AutoMapping:Boolean
    """, unserved=("Owner", "Instance", "Deny", "GroupMailbox", "IgnoreDefaultScope"))
def add_mailbox_permission(ctx: CmdletContext, p: Params) -> list[Item]:
    user = resolve_mailbox(ctx, str(p.text("Identity")))
    who = str(p.text("User"))
    if resolve_recipient(ctx, who) is None:
        raise not_found(who)
    rights = _rights(p, MAILBOX_RIGHTS)
    entries = mailboxes.mailbox_permissions(user)
    _add_rights(entries, "user", who, rights, ctx,
                {"isInherited": False, "deny": False, "inheritanceType": p.text("InheritanceType") or "All"})
    view = next(e for e in entries if same_principal(ctx, e.get("user"), who))
    return [mailbox_permission_view(user, view)]


def _recipient_permissions(user: JSON) -> list[JSON]:
    return [{"trustee": SELF, "accessRights": ["SendAs"]}, *user["mailbox"].get("recipientPermissions", [])]


@cmdlet("Get-RecipientPermission", """
    Default: Identity:RecipientIdParameter Trustee:SecurityPrincipalIdParameter AccessRights:RecipientAccessRight[]
             ResultSize:Unlimited
    """, unserved=("ReadFromDomainController",))
def get_recipient_permission(ctx: CmdletContext, p: Params) -> list[Item]:
    trustee = p.text("Trustee")
    rights = {r.lower() for r in _rights(p, ("SendAs",))}
    views: list[Item] = []
    for user in mailboxes_in_scope(ctx, p):
        for entry in _recipient_permissions(user):
            if trustee and not same_principal(ctx, entry.get("trustee"), trustee):
                continue
            have = entry.get("accessRights") or ["SendAs"]
            if rights and not rights & {str(r).lower() for r in (have if isinstance(have, list) else [have])}:
                continue
            views.append(recipient_permission_view(user, entry))
    return result_size(ctx, p, views)


@cmdlet("Remove-RecipientPermission", """
    Default: !Identity:RecipientIdParameter !Trustee:SecurityPrincipalIdParameter !AccessRights:RecipientAccessRight[]
             Deny:SwitchParameter
    """, unserved=("SkipDomainValidationForMailContact", "SkipDomainValidationForMailUser",
                   "SkipDomainValidationForSharedMailbox"))
def remove_recipient_permission(ctx: CmdletContext, p: Params) -> list[Item]:
    user = resolve_mailbox(ctx, str(p.text("Identity")))
    trustee = str(p.text("Trustee"))
    rights = _rights(p, ("SendAs",))
    removed = mailboxes.remove_rights(mailboxes.recipient_permissions(user),
                                      lambda e: same_principal(ctx, e.get("trustee"), trustee), rights)
    if not removed:
        ctx.warnings.append(f"Can't remove the access control entry on the object \"{mailbox_name(user)}\" for "
                            f"account \"{trustee}\" because the ACE doesn't exist on the object.")
    return []


@cmdlet("Add-RecipientPermission", """
    Default: !Identity:RecipientIdParameter !Trustee:SecurityPrincipalIdParameter !AccessRights:RecipientAccessRight[]
    """, unserved=("Deny", "SkipDomainValidationForMailContact", "SkipDomainValidationForMailUser",
                   "SkipDomainValidationForSharedMailbox"))
def add_recipient_permission(ctx: CmdletContext, p: Params) -> list[Item]:
    user = resolve_mailbox(ctx, str(p.text("Identity")))
    trustee = str(p.text("Trustee"))
    if resolve_recipient(ctx, trustee) is None:
        raise not_found(trustee)
    rights = _rights(p, ("SendAs",))
    entries = mailboxes.recipient_permissions(user)
    _add_rights(entries, "trustee", trustee, rights, ctx, {"accessControlType": "Allow", "isInherited": False})
    view = next(e for e in entries if same_principal(ctx, e.get("trustee"), trustee))
    return [recipient_permission_view(user, view)]
