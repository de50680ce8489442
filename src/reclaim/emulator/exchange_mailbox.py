"""Exchange cmdlets on mailboxes: ``Get-``/``Set-Mailbox``, ``Get-``/``Set-CASMailbox`` (sources: docs/architecture.md).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from reclaim.emulator.backends import mailbox as mailboxes
from reclaim.emulator.exchange_cmdlets import (
    CmdletContext,
    ExoError,
    Item,
    Params,
    cmdlet,
    mailboxes_in_scope,
    resolve_mailbox,
    resolve_recipient,
    result_size,
    to_bool,
    unchanged_warning,
)
from reclaim.emulator.exchange_objects import (
    CAS_FIELDS,
    cas_view,
    mailbox_name,
    mailbox_view,
    strip_smtp,
)

JSON = dict[str, Any]


# ------------------------------------------------------------------------------------------ mailboxes
@cmdlet("Get-Mailbox", """
    Identity: Identity:MailboxIdParameter
    AnrSet: Anr:String
    *: RecipientTypeDetails:RecipientTypeDetails[] ResultSize:Unlimited
    """, unserved=("Arbitration", "Archive", "AuditLog", "AuxAuditLog", "Filter", "GroupMailbox",
                   "InactiveMailboxOnly", "IncludeInactiveMailbox", "Migration", "Monitoring", "PublicFolder",
                   "SoftDeletedMailbox", "SortBy", "OrganizationalUnit", "IncludeEmailAddressDisplayNames",
                   "IncludeForwardingAddressWithDisplayNames", "IncludeGrantSendOnBehalfToWithDisplayNames",
                   "RemoteArchive", "SupervisoryReviewPolicy"))
def get_mailbox(ctx: CmdletContext, p: Params) -> list[Item]:
    wanted = {t.lower() for t in p.strings("RecipientTypeDetails")}
    users = mailboxes_in_scope(ctx, p)
    if wanted:
        users = [u for u in users if str(u["mailbox"].get("recipientTypeDetails") or "UserMailbox").lower() in wanted]
    return result_size(ctx, p, [partial(mailbox_view, ctx.state, u) for u in users])


@cmdlet("Set-Mailbox", """
    Identity: !Identity:MailboxIdParameter ForwardingSmtpAddress:ProxyAddress
              ForwardingAddress:RecipientIdParameter DeliverToMailboxAndForward:Boolean Force:SwitchParameter
    """, unserved=("AuditEnabled", "AuditLogAgeLimit", "AuditAdmin", "AuditDelegate", "AuditOwner",
                   "DefaultAuditSet", "DisplayName", "EmailAddresses", "GrantSendOnBehalfTo",
                   "HiddenFromAddressListsEnabled", "LitigationHoldEnabled", "RetainDeletedItemsFor",
                   "SingleItemRecoveryEnabled", "Type", "WindowsEmailAddress", "MessageCopyForSentAsEnabled"))
def set_mailbox(ctx: CmdletContext, p: Params) -> list[Item]:
    user = resolve_mailbox(ctx, str(p.text("Identity")))
    changes: JSON = {}
    if p.has("ForwardingSmtpAddress"):
        value = p.text("ForwardingSmtpAddress")
        if value in (None, ""):
            changes["forwardingSmtpAddress"] = None
        else:
            address = strip_smtp(str(value).strip())
            local, at, domain = address.partition("@")
            if not local or not at or "." not in domain or " " in address:
                raise ExoError(400, "BadRequest", "System.Management.Automation.ParameterBindingException",
                               f"Cannot bind parameter 'ForwardingSmtpAddress' to the target. Exception setting "
                               f"\"ForwardingSmtpAddress\": \"The email address \"{value}\" isn't correct. Please use "
                               "this format: user name, the @ sign, followed by the domain name. For example, "
                               "tonysmith@contoso.com or tony.smith@contoso.com.\"")
            changes["forwardingSmtpAddress"] = address
    if p.has("ForwardingAddress"):
        value = p.text("ForwardingAddress")
        if value in (None, ""):
            changes["forwardingAddress"] = None
        else:
            target = resolve_recipient(ctx, str(value))
            if target is None:
                raise ExoError(404, "NotFound",
                               "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
                               f"Couldn't find object \"{value}\". Please make sure that it was spelled correctly "
                               "or specify a different object.", error_id="Ex6F9304")
            changes["forwardingAddress"] = str(target.get("mail") or target["userPrincipalName"])
    if p.has("DeliverToMailboxAndForward"):
        changes["deliverToMailboxAndForward"] = p.flag("DeliverToMailboxAndForward")
    if not mailboxes.set_mailbox_properties(user, changes, ctx.now):
        unchanged_warning(ctx, mailbox_name(user))
    return []


@cmdlet("Get-CASMailbox", """
    Identity: Identity:MailboxIdParameter
    AnrSet: Anr:String
    *: ResultSize:Unlimited
    """, unserved=("ActiveSyncDebugLogging", "Filter", "GetImapProtocolLog", "GetPopProtocolLog",
                   "OrganizationalUnit", "ProtocolSettings", "ReadIsOptimizedForAccessibility",
                   "RecalculateHasActiveSyncDevicePartnership", "SortBy"))
def get_cas_mailbox(ctx: CmdletContext, p: Params) -> list[Item]:
    return result_size(ctx, p, [partial(cas_view, u) for u in mailboxes_in_scope(ctx, p)])


_CAS_PARAMETERS = tuple(prop for prop, _, _ in CAS_FIELDS)


@cmdlet("Set-CASMailbox", "Identity: !Identity:MailboxIdParameter "
        + " ".join(f"{prop}:Boolean" for prop in _CAS_PARAMETERS),
        unserved=("ActiveSyncAllowedDeviceIDs", "ActiveSyncBlockedDeviceIDs", "ActiveSyncMailboxPolicy",
                  "OwaMailboxPolicy", "DisplayName", "EmailAddresses", "PrimarySmtpAddress"))
def set_cas_mailbox(ctx: CmdletContext, p: Params) -> list[Item]:
    user = resolve_mailbox(ctx, str(p.text("Identity")))
    current = cas_view(user)
    updates: JSON = {}
    for prop, key, _ in CAS_FIELDS:
        if not p.has(prop):
            continue
        # SmtpClientAuthenticationDisabled is a nullable switch ($null: follow the organisation setting).
        nullable = prop == "SmtpClientAuthenticationDisabled"
        value = None if p.raw(prop) is None and nullable else to_bool(prop, p.raw(prop))
        if current[prop] != value:
            updates[key] = value
    if not updates:
        unchanged_warning(ctx, mailbox_name(user))
        return []
    mailboxes.set_client_access(user, updates, ctx.now)
    return []
