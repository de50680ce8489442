"""The cmdlets the emulated Exchange admin API runs, over the one tenant state.

Each cmdlet declares its parameters; binding is case-insensitive as in PowerShell, and an unknown or
missing parameter fails the way PowerShell's parameter binder does. Handlers return the objects the real
cmdlet writes to its pipeline (write cmdlets return nothing) and may add warnings, which reach the client
in ``@adminapi.warnings``. Errors are raised as ``ExoError`` and written by ``exchange.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from reclaim.emulator.backends import mailbox as mailboxes
from reclaim.emulator.exchange_objects import (
    CAS_FIELDS,
    blocked_sender_view,
    cas_view,
    device_id,
    device_view,
    email_addresses,
    inbox_rule_view,
    legacy_dn,
    mailbox_name,
    mailbox_permission_view,
    mailbox_view,
    recipient_permission_view,
    stable_guid,
    strip_smtp,
    sweep_rule_view,
)
from reclaim.emulator.state import TenantState, iso, parse_iso

JSON = dict[str, Any]

#: PowerShell's common parameters (and -Confirm): accepted by every cmdlet, no effect on a non-interactive call.
COMMON_PARAMETERS: tuple[str, ...] = (
    "Confirm", "Debug", "ErrorAction", "ErrorVariable", "InformationAction", "InformationVariable",
    "OutBuffer", "OutVariable", "PipelineVariable", "ProgressAction", "Verbose", "WarningAction",
    "WarningVariable",
)

#: Where Exchange says it looked for an object it could not find (a domain controller name).
DOMAIN_CONTROLLER = "DB8PR01A01DC001.EURPR01A001.PROD.OUTLOOK.COM"

SELF = "NT AUTHORITY\\SELF"
DEFAULT_RESULT_SIZE = 1000
RESULT_SIZE_WARNING = (
    "By default, only the first 1000 items are returned. Use the ResultSize parameter to specify the number "
    "of items returned. To return all items, specify \"-ResultSize Unlimited\". Be aware that, depending on "
    "the actual number of items, returning all items can take a long time and consume a large amount of "
    "memory. Also, we don't recommend storing the results in a variable. Instead, pipe the results to another "
    "task or script to perform batch changes.")
MAILBOX_RIGHTS = ("ChangeOwner", "ChangePermission", "DeleteItem", "ExternalAccount", "FullAccess",
                  "ReadPermission")


class ExoError(Exception):
    """A cmdlet failure: HTTP status and OData code, the .NET exception type and the text a person reads."""

    def __init__(self, status: int, code: str, exception_type: str, text: str, *, error_id: str = "",
                 message: str = "Error executing cmdlet", warnings: Iterable[str] = (),
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {exception_type}: {text}")
        self.status = status
        self.code = code
        self.exception_type = exception_type
        self.text = text
        self.error_id = error_id
        self.message = message
        self.warnings = list(warnings)
        self.headers = dict(headers or {})


def cmdlet_not_found(name: str) -> ExoError:
    """PowerShell's CommandNotFoundException, in the service's error shape.

    One community client measured the live service answering an unknown cmdlet with a bodiless 403
    instead; the emulator gives the readable error so a typo in reclaim is found in tests.
    """
    return ExoError(400, "BadRequest", "System.Management.Automation.CommandNotFoundException",
                    f"The term '{name}' is not recognized as the name of a cmdlet, function, script file, or "
                    "operable program. Check the spelling of the name, or if a path was included, verify that "
                    "the path is correct and try again.")


def not_found(identity: str) -> ExoError:
    return ExoError(404, "NotFound", "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
                    f"The operation couldn't be performed because object '{identity}' couldn't be found on "
                    f"'{DOMAIN_CONTROLLER}'.", error_id="Ex6F9304")


def ambiguous(identity: str) -> ExoError:
    return ExoError(400, "BadRequest", "Microsoft.Exchange.Configuration.Tasks.ManagementObjectAmbiguousException",
                    f"The operation couldn't be performed because '{identity}' matches multiple entries.",
                    error_id="Ex0F3F5B")


def binding_error(text: str) -> ExoError:
    return ExoError(400, "BadRequest", "System.Management.Automation.ParameterBindingException", text)


@dataclass
class CmdletContext:
    state: TenantState
    now: datetime
    warnings: list[str] = field(default_factory=list)


class Params:
    """Bound parameters, by canonical name."""

    def __init__(self, values: JSON) -> None:
        self.values = values

    def has(self, name: str) -> bool:
        return name in self.values

    def raw(self, name: str) -> Any:
        return self.values.get(name)

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, dict):
            # a serialised identity object: {"Value": "..."} / {"Identity": "..."}
            for key in ("Value", "Identity", "value", "identity"):
                if key in value:
                    return str(value[key])
        return str(value)

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        return False if value is None else to_bool(name, value)

    def strings(self, name: str) -> list[str]:
        value = self.values.get(name)
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        out: list[str] = []
        for item in items:
            out.extend(part.strip() for part in str(item).split(",") if part.strip())
        return out


def to_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "$true", "1", "false", "$false", "0"):
        return value.strip().lower() in ("true", "$true", "1")
    raise binding_error(
        f"Cannot process argument transformation on parameter '{name}'. Cannot convert value \"{value}\" to type "
        "\"System.Boolean\". Boolean parameters accept only Boolean values and numbers, such as $True, $False, "
        "1 or 0.")


#: An output object, or a function that builds it: large listings build only the page that is sent.
Item = JSON | Callable[[], JSON]
Handler = Callable[[CmdletContext, Params], list[Item]]


@dataclass(frozen=True)
class Cmdlet:
    name: str
    write: bool
    parameters: tuple[str, ...]
    mandatory: tuple[str, ...]
    run: Handler

    def bind(self, given: JSON) -> Params:
        canonical = {p.lower(): p for p in (*self.parameters, *COMMON_PARAMETERS)}
        values: JSON = {}
        for key, value in given.items():
            name = canonical.get(str(key).lower())
            if name is None:
                raise binding_error(f"A parameter cannot be found that matches parameter name '{key}'.")
            values[name] = value
        missing = [m for m in self.mandatory if values.get(m) in (None, "", [])]
        if missing:
            raise binding_error("Cannot process command because of one or more missing mandatory parameters: "
                                + " ".join(missing) + ".")
        return Params(values)

    def handler(self, ctx: CmdletContext, given: JSON) -> list[Item]:
        return self.run(ctx, self.bind(given))


CMDLETS: dict[str, Cmdlet] = {}


def cmdlet(name: str, *, parameters: tuple[str, ...] = (), mandatory: tuple[str, ...] = ()) -> Callable[
        [Handler], Handler]:
    def register(run: Handler) -> Handler:
        CMDLETS[name.lower()] = Cmdlet(name, not name.startswith("Get-"), parameters, mandatory, run)
        return run
    return register


# ------------------------------------------------------------------------------------------ lookups
def identity_keys(user: JSON) -> set[str]:
    """The everyday identities of a recipient, lower-cased: object id, UPN, addresses, alias."""
    upn = str(user.get("userPrincipalName", ""))
    keys = {str(user.get("id", "")), upn, str(user.get("mail") or ""),
            str(user.get("mailNickname") or upn.split("@", 1)[0]),
            *(a.split(":", 1)[-1] for a in email_addresses(user))}
    return {k.lower() for k in keys if k}


def directory_keys(user: JSON) -> set[str]:
    """The other identities Exchange accepts: LegacyExchangeDN, ExchangeGuid and Guid."""
    uid = str(user["id"])
    return {legacy_dn(user).lower(), stable_guid("exchange", uid), stable_guid("recipient", uid)}


class RecipientIndex:
    """Identity → user for one state, so a lookup in a 10,000-mailbox tenant is not a scan.

    Users cannot be added, removed or renamed through the emulated APIs, so the index is rebuilt only
    when the user list itself changes (a new state is loaded, or its length changes); every hit is
    checked against the user before it is returned.
    """

    def __init__(self, users: list[JSON]) -> None:
        self.users = users
        self.size = len(users)
        self.by_key = self._build(identity_keys)
        self._by_directory_key: dict[str, JSON] | None = None

    def _build(self, keys: Callable[[JSON], set[str]]) -> dict[str, JSON]:
        out: dict[str, JSON] = {}
        # users without a mailbox first, so a mailbox user wins a shared key
        for user in sorted(self.users, key=lambda u: u.get("mailbox") is not None):
            for key in keys(user):
                out[key] = user
        return out

    def by_directory_key(self) -> dict[str, JSON]:
        if self._by_directory_key is None:
            self._by_directory_key = self._build(directory_keys)
        return self._by_directory_key

    def current(self, users: list[JSON]) -> bool:
        return users is self.users and len(users) == self.size


_INDEXES: dict[int, RecipientIndex] = {}


def recipient_index(st: TenantState) -> RecipientIndex:
    users = st.users()
    index = _INDEXES.get(id(st))
    if index is None or not index.current(users):
        if len(_INDEXES) > 16:
            _INDEXES.clear()
        index = _INDEXES[id(st)] = RecipientIndex(users)
    return index


def resolve_recipient(ctx: CmdletContext, key: str) -> JSON | None:
    """A recipient of the tenant (a mailbox if one matches, else another user) by any of its identities."""
    wanted = strip_smtp(key.strip()).lower()
    index = recipient_index(ctx.state)
    user = index.by_key.get(wanted)
    if user is not None and wanted in identity_keys(user):
        return user
    if wanted.startswith("/o=") or (len(wanted) == 36 and wanted.count("-") == 4):
        user = index.by_directory_key().get(wanted)
        if user is not None and wanted in directory_keys(user):
            return user
    return None


def mailbox_users(st: TenantState) -> list[JSON]:
    return list(st.iter_mailbox_users())


def resolve_mailbox(ctx: CmdletContext, key: str) -> JSON:
    user = resolve_recipient(ctx, key)
    if user is None or user.get("mailbox") is None:
        raise not_found(key)
    return user


def same_principal(ctx: CmdletContext, stored: Any, wanted: str) -> bool:
    if stored is None:
        return False
    if str(stored).lower() == wanted.lower():
        return True
    a, b = resolve_recipient(ctx, str(stored)), resolve_recipient(ctx, wanted)
    return a is not None and b is not None and a.get("id") == b.get("id")


def result_size(ctx: CmdletContext, params: Params, items: list[Item]) -> list[Item]:
    """Apply -ResultSize: 1000 by default (with Exchange's warning when more exist), ``Unlimited`` for all."""
    if not params.has("ResultSize"):
        if len(items) > DEFAULT_RESULT_SIZE:
            ctx.warnings.append(RESULT_SIZE_WARNING)
        return items[:DEFAULT_RESULT_SIZE]
    raw = params.raw("ResultSize")
    if isinstance(raw, str) and raw.strip().lower() == "unlimited":
        return items
    try:
        size = int(str(raw))
    except ValueError:
        size = 0
    if size < 1 or isinstance(raw, bool):
        raise binding_error(f"Cannot bind parameter 'ResultSize' to the target. Exception setting \"ResultSize\": "
                            f"\"The value '{raw}' is not valid: use a positive number or Unlimited.\"")
    return items[:size]


def mailboxes_in_scope(ctx: CmdletContext, params: Params, name: str = "Identity") -> list[JSON]:
    key = params.text(name)
    return [resolve_mailbox(ctx, key)] if key else mailbox_users(ctx.state)


def unchanged_warning(ctx: CmdletContext, identity: str) -> None:
    ctx.warnings.append(f"The command completed successfully but no settings of '{identity}' have been modified.")


# ------------------------------------------------------------------------------------------ mailboxes
@cmdlet("Get-Mailbox", parameters=("Identity", "ResultSize", "RecipientTypeDetails"))
def get_mailbox(ctx: CmdletContext, p: Params) -> list[Item]:
    wanted = {t.lower() for t in p.strings("RecipientTypeDetails")}
    users = mailboxes_in_scope(ctx, p)
    if wanted:
        users = [u for u in users if str(u["mailbox"].get("recipientTypeDetails") or "UserMailbox").lower() in wanted]
    return result_size(ctx, p, [partial(mailbox_view, ctx.state, u) for u in users])


@cmdlet("Set-Mailbox", parameters=("Identity", "ForwardingSmtpAddress", "ForwardingAddress",
                                   "DeliverToMailboxAndForward", "Force"), mandatory=("Identity",))
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


@cmdlet("Get-CASMailbox", parameters=("Identity", "ResultSize"))
def get_cas_mailbox(ctx: CmdletContext, p: Params) -> list[Item]:
    return result_size(ctx, p, [partial(cas_view, u) for u in mailboxes_in_scope(ctx, p)])


_CAS_PARAMETERS = tuple(prop for prop, _, _ in CAS_FIELDS)


@cmdlet("Set-CASMailbox", parameters=("Identity", *_CAS_PARAMETERS), mandatory=("Identity",))
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


@cmdlet("Get-InboxRule", parameters=("Mailbox", "Identity", "IncludeHidden", "DescriptionTimeFormat",
                                     "DescriptionTimeZone"))
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


_RULE_WRITE = ("Identity", "Mailbox", "AlwaysDeleteOutlookRulesBlob", "Force")


@cmdlet("Disable-InboxRule", parameters=_RULE_WRITE, mandatory=("Identity",))
def disable_inbox_rule(ctx: CmdletContext, p: Params) -> list[Item]:
    _, rule = find_inbox_rule(ctx, p, include_hidden=True)
    mailboxes.disable_rule(rule)
    return []


@cmdlet("Enable-InboxRule", parameters=_RULE_WRITE, mandatory=("Identity",))
def enable_inbox_rule(ctx: CmdletContext, p: Params) -> list[Item]:
    _, rule = find_inbox_rule(ctx, p, include_hidden=True)
    mailboxes.enable_rule(rule)
    return []


@cmdlet("Remove-InboxRule", parameters=_RULE_WRITE, mandatory=("Identity",))
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


@cmdlet("Get-SweepRule", parameters=("Mailbox", "Identity"))
def get_sweep_rule(ctx: CmdletContext, p: Params) -> list[Item]:
    if p.text("Identity"):
        user, rule = find_sweep_rule(ctx, p)
        return [sweep_rule_view(user, rule)]
    mailbox = p.text("Mailbox")
    if not mailbox:
        raise binding_error("Cannot process command because of one or more missing mandatory parameters: Mailbox.")
    user = resolve_mailbox(ctx, mailbox)
    return [sweep_rule_view(user, r) for r in user["mailbox"].get("sweepRules", [])]


@cmdlet("Disable-SweepRule", parameters=("Identity", "Mailbox"), mandatory=("Identity",))
def disable_sweep_rule(ctx: CmdletContext, p: Params) -> list[Item]:
    _, rule = find_sweep_rule(ctx, p)
    mailboxes.set_sweep_rule_enabled(rule, False)
    return []


@cmdlet("Enable-SweepRule", parameters=("Identity", "Mailbox"), mandatory=("Identity",))
def enable_sweep_rule(ctx: CmdletContext, p: Params) -> list[Item]:
    _, rule = find_sweep_rule(ctx, p)
    mailboxes.set_sweep_rule_enabled(rule, True)
    return []


@cmdlet("Remove-SweepRule", parameters=("Identity", "Mailbox"), mandatory=("Identity",))
def remove_sweep_rule(ctx: CmdletContext, p: Params) -> list[Item]:
    user, rule = find_sweep_rule(ctx, p)
    mailboxes.remove_sweep_rule(user, rule)
    return []


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


@cmdlet("Get-BlockedSenderAddress", parameters=("SenderAddress",))
def get_blocked_sender_address(ctx: CmdletContext, p: Params) -> list[Item]:
    wanted = p.text("SenderAddress")
    entries = _blocked(ctx)
    if wanted:
        entries = [e for e in entries if str(e.get("senderAddress", "")).lower() == wanted.strip().lower()]
    return [blocked_sender_view(ctx.state.tenant_id, e) for e in entries]


@cmdlet("Remove-BlockedSenderAddress", parameters=("SenderAddress", "Reason"), mandatory=("SenderAddress",))
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


# ------------------------------------------------------------------------------------------ permissions
def _mailbox_permissions(user: JSON) -> list[JSON]:
    own = {"user": SELF, "accessRights": ["FullAccess, ReadPermission"], "inheritanceType": "All"}
    return [own, *user["mailbox"].get("permissions", [])]


@cmdlet("Get-MailboxPermission", parameters=("Identity", "User", "ResultSize"), mandatory=("Identity",))
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


@cmdlet("Remove-MailboxPermission", parameters=("Identity", "User", "AccessRights", "InheritanceType", "Deny",
                                                "BypassMasterAccountSid"),
        mandatory=("Identity", "User", "AccessRights"))
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


@cmdlet("Add-MailboxPermission", parameters=("Identity", "User", "AccessRights", "InheritanceType",
                                             "AutoMapping"), mandatory=("Identity", "User", "AccessRights"))
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


@cmdlet("Get-RecipientPermission", parameters=("Identity", "Trustee", "AccessRights", "ResultSize"))
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


@cmdlet("Remove-RecipientPermission", parameters=("Identity", "Trustee", "AccessRights", "Deny"),
        mandatory=("Identity", "Trustee", "AccessRights"))
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


@cmdlet("Add-RecipientPermission", parameters=("Identity", "Trustee", "AccessRights", "Confirm"),
        mandatory=("Identity", "Trustee", "AccessRights"))
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


# ------------------------------------------------------------------------------------------ mobile devices
def _device_matches(user: JSON, device: JSON, key: str) -> bool:
    view = device_view(user, device)
    k = key.strip().lower()
    return k in {str(view["Identity"]).lower(), str(view["Guid"]).lower(), str(view["Name"]).lower(),
                 device_id(device).lower(), str(device.get("id", "")).lower()}


@cmdlet("Get-MobileDevice", parameters=("Mailbox", "Identity", "ResultSize"))
def get_mobile_device(ctx: CmdletContext, p: Params) -> list[Item]:
    identity = p.text("Identity")
    views: list[Item] = []
    for user in mailboxes_in_scope(ctx, p, "Mailbox"):
        for device in user["mailbox"].get("mobileDevices", []):
            if identity and not _device_matches(user, device, identity):
                continue
            views.append(device_view(user, device))
    if identity and not views:
        raise not_found(identity)
    return result_size(ctx, p, views)


@cmdlet("Remove-MobileDevice", parameters=("Identity",), mandatory=("Identity",))
def remove_mobile_device(ctx: CmdletContext, p: Params) -> list[Item]:
    identity = str(p.text("Identity"))
    for user in mailbox_users(ctx.state):
        for device in user["mailbox"].get("mobileDevices", []):
            if _device_matches(user, device, identity):
                mailboxes.remove_device(user, device)
                return []
    raise not_found(identity)


# ------------------------------------------------------------------------------------------ transport rules
@cmdlet("Get-TransportRule", parameters=("Identity", "State", "ResultSize"))
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
