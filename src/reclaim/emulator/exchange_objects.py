"""PascalCase views of the tenant state, as the Exchange cmdlets return their objects.

One state serves Graph and Exchange: inbox rules are Graph ``messageRule`` dicts in
``user["mailbox"]["inboxRules"]`` and are mapped here to ``Get-InboxRule`` objects; mailbox forwarding,
sweep rules, permissions, devices and CAS settings are read from ``user["mailbox"]``.

Identities follow current Exchange Online: a mailbox's ``Name`` and ``Identity`` are its Entra object id
(``ExternalDirectoryObjectId``); a rule's ``Identity`` is ``<mailbox identity>\\<RuleIdentity>``, where
``RuleIdentity`` is a 64-bit unsigned number written as a JSON number (as the service does).
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections.abc import Iterable
from typing import Any

from reclaim.emulator.state import TenantState, parse_iso

JSON = dict[str, Any]

#: Timestamp used where a fixture gives none (Exchange objects always carry WhenCreated).
DEFAULT_CREATED = "2023-01-02T09:00:00Z"

_LEGACY_DN_PREFIX = "/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn="

#: Graph messageRulePredicates → Get-InboxRule properties (conditions; exceptions get "ExceptIf").
_WORD_PREDICATES: dict[str, str] = {
    "bodyContains": "BodyContainsWords",
    "subjectContains": "SubjectContainsWords",
    "bodyOrSubjectContains": "SubjectOrBodyContainsWords",
    "headerContains": "HeaderContainsWords",
    "senderContains": "FromAddressContainsWords",
    "recipientContains": "RecipientAddressContainsWords",
}
_RECIPIENT_PREDICATES: dict[str, str] = {"fromAddresses": "From", "sentToAddresses": "SentTo"}
_BOOL_PREDICATES: dict[str, str] = {
    "hasAttachments": "HasAttachment",
    "sentToMe": "MyNameInToBox",
    "sentCcMe": "MyNameInCcBox",
    "sentToOrCcMe": "MyNameInToOrCcBox",
    "notSentToMe": "MyNameNotInToBox",
    "sentOnlyToMe": "SentOnlyToMe",
}
_MESSAGE_TYPES: dict[str, str] = {
    "isApprovalRequest": "ApprovalRequest",
    "isAutomaticForward": "AutomaticForward",
    "isAutomaticReply": "AutomaticReply",
    "isEncrypted": "Encrypted",
    "isMeetingRequest": "Calendaring",
    "isMeetingResponse": "CalendaringResponse",
    "isNonDeliveryReport": "NonDeliveryReport",
    "isPermissionControlled": "PermissionControlled",
    "isReadReceipt": "ReadReceipt",
    "isSigned": "Signed",
    "isVoicemail": "Voicemail",
}
#: Graph messageRuleActions → Get-InboxRule properties.
_RECIPIENT_ACTIONS: dict[str, str] = {
    "forwardTo": "ForwardTo",
    "forwardAsAttachmentTo": "ForwardAsAttachmentTo",
    "redirectTo": "RedirectTo",
}


# ------------------------------------------------------------------------------------------ formatting
@functools.lru_cache(maxsize=1 << 16)  # pure; a 10,000-mailbox Get-Mailbox listing formats 50,000 of them
def exo_datetime(value: str | None, *, utc: bool = False) -> str | None:
    """``2022-06-29T17:57:03.0000000+00:00`` (or ``...Z`` for the ``*UTC`` properties), as the service writes."""
    if value is None:
        return None
    dt = parse_iso(value)
    base = dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{dt.microsecond * 10:07d}"
    return base + ("Z" if utc else "+00:00")


def pascal(key: str) -> str:
    """``removalReason`` → ``RemovalReason``; a key already in PascalCase is kept."""
    return key[:1].upper() + key[1:] if key else key


def annotate(obj: JSON, *, datetimes: Iterable[str] = (), guids: Iterable[str] = ()) -> JSON:
    """Add the type annotations the service writes: collections, DateTime and Guid properties."""
    out: JSON = {}
    dts, gs = set(datetimes), set(guids)
    for key, value in obj.items():
        if isinstance(value, list) and "@" not in key:
            out[f"{key}@odata.type"] = "#Collection(String)"
        elif key in dts and value is not None:
            out[f"{key}@data.type"] = "System.DateTime"
        elif key in gs and value is not None:
            out[f"{key}@data.type"] = "System.Guid"
            out[f"{key}@odata.type"] = "#Guid"
        out[key] = value
    return out


@functools.lru_cache(maxsize=1 << 16)  # pure; three per mailbox on every Get-Mailbox page
def stable_guid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "reclaim-emulator/" + "/".join(parts)))


def rule_identity(rule_id: str) -> int:
    """A stable 64-bit RuleIdentity for a Graph rule id (Exchange's rule ids are unsigned 64-bit numbers)."""
    digest = hashlib.sha256(rule_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") | 1


# ------------------------------------------------------------------------------------------ mailboxes
def mailbox_name(user: JSON) -> str:
    """The mailbox's Name / Identity: the Entra object id, as for mailboxes created in Exchange Online today."""
    return str(user["id"])


def alias(user: JSON) -> str:
    nick = user.get("mailNickname")
    if isinstance(nick, str) and nick:
        return nick
    return str(user["userPrincipalName"]).split("@", 1)[0]


def primary_smtp(user: JSON) -> str:
    return str(user.get("mail") or user["userPrincipalName"])


def legacy_dn(user: JSON) -> str:
    return f"{_LEGACY_DN_PREFIX}{uuid.uuid5(uuid.NAMESPACE_URL, str(user['id'])).hex}-{alias(user)}"


def email_addresses(user: JSON) -> list[str]:
    primary = primary_smtp(user)
    out = [f"SMTP:{primary}"]
    for proxy in user.get("proxyAddresses") or []:
        text = str(proxy)
        if text.split(":", 1)[-1].lower() != primary.lower():
            out.append(text)
    return out


def strip_smtp(value: str) -> str:
    return value[5:] if value.lower().startswith("smtp:") else value


#: Get-Mailbox AuditLogAgeLimit when the fixture does not say (Exchange Online's default: 90 days).
DEFAULT_AUDIT_AGE_LIMIT = "90.00:00:00"


def mailbox_view(st: TenantState, user: JSON) -> JSON:
    mbx: JSON = user["mailbox"]
    name = mailbox_name(user)
    created = str(user.get("createdDateTime") or mbx.get("whenCreated") or DEFAULT_CREATED)
    changed = str(mbx.get("whenChanged") or created)
    fsmtp = mbx.get("forwardingSmtpAddress")
    view: JSON = {
        "Identity": name,
        "Id": name,
        "Name": name,
        "Alias": alias(user),
        "DisplayName": user.get("displayName"),
        "UserPrincipalName": user["userPrincipalName"],
        "PrimarySmtpAddress": primary_smtp(user),
        "WindowsEmailAddress": primary_smtp(user),
        "MicrosoftOnlineServicesID": user["userPrincipalName"],
        "EmailAddresses": email_addresses(user),
        "ExternalDirectoryObjectId": user["id"],
        "ExchangeGuid": stable_guid("exchange", str(user["id"])),
        "Guid": stable_guid("recipient", str(user["id"])),
        "LegacyExchangeDN": legacy_dn(user),
        "RecipientType": "UserMailbox",
        "RecipientTypeDetails": str(mbx.get("recipientTypeDetails") or "UserMailbox"),
        "IsMailboxEnabled": True,
        "IsShared": str(mbx.get("recipientTypeDetails") or "") == "SharedMailbox",
        "AccountDisabled": not bool(user.get("accountEnabled", True)),
        "HiddenFromAddressListsEnabled": bool(mbx.get("hiddenFromAddressListsEnabled", False)),
        "ForwardingAddress": forwarding_address_view(st, mbx.get("forwardingAddress")),
        "ForwardingSmtpAddress": None if not fsmtp else f"smtp:{strip_smtp(str(fsmtp))}",
        "DeliverToMailboxAndForward": bool(mbx.get("deliverToMailboxAndForward", False)),
        "GrantSendOnBehalfTo": [str(x) for x in mbx.get("grantSendOnBehalfTo") or []],
        # Mailbox auditing: on by default in Exchange Online; records kept 90 days ("90.00:00:00", a TimeSpan)
        "AuditEnabled": bool(mbx.get("auditEnabled", True)),
        "AuditLogAgeLimit": str(mbx.get("auditLogAgeLimit") or DEFAULT_AUDIT_AGE_LIMIT),
        "LitigationHoldEnabled": bool(mbx.get("litigationHoldEnabled", False)),
        "UsageLocation": user.get("usageLocation"),
        "WhenMailboxCreated": exo_datetime(created),
        "WhenCreated": exo_datetime(created),
        "WhenCreatedUTC": exo_datetime(created, utc=True),
        "WhenChanged": exo_datetime(changed),
        "WhenChangedUTC": exo_datetime(changed, utc=True),
        "IsValid": True,
        "ObjectState": "Unchanged",
    }
    return annotate(view, datetimes=("WhenMailboxCreated", "WhenCreated", "WhenCreatedUTC", "WhenChanged",
                                     "WhenChangedUTC"), guids=("ExchangeGuid", "Guid"))


def forwarding_address_view(st: TenantState, stored: Any) -> str | None:
    """ForwardingAddress names a recipient: the mailbox's Name when it is one of ours, else as stored."""
    if not stored:
        return None
    target = st.find_user(strip_smtp(str(stored)))
    if target is not None and target.get("mailbox") is not None:
        return mailbox_name(target)
    return str(stored)


CAS_FIELDS: tuple[tuple[str, str, bool | None], ...] = (
    # (Exchange property, fixture key in mailbox.casMailbox, default)
    ("ActiveSyncEnabled", "activeSyncEnabled", True),
    ("OWAEnabled", "owaEnabled", True),
    ("OWAforDevicesEnabled", "owaForDevicesEnabled", True),
    ("PopEnabled", "popEnabled", True),
    ("ImapEnabled", "imapEnabled", True),
    ("MAPIEnabled", "mapiEnabled", True),
    ("EwsEnabled", "ewsEnabled", True),
    ("ECPEnabled", "ecpEnabled", True),
    ("UniversalOutlookEnabled", "universalOutlookEnabled", True),
    ("OutlookMobileEnabled", "outlookMobileEnabled", True),
    ("MacOutlookEnabled", "macOutlookEnabled", True),
    ("SmtpClientAuthenticationDisabled", "smtpClientAuthenticationDisabled", None),
)


def cas_view(user: JSON) -> JSON:
    mbx: JSON = user["mailbox"]
    stored: JSON = mbx.get("casMailbox") or {}
    known = {key for _, key, _ in CAS_FIELDS}
    view: JSON = {
        "Identity": mailbox_name(user),
        "Name": mailbox_name(user),
        "DisplayName": user.get("displayName"),
        "PrimarySmtpAddress": primary_smtp(user),
        "ExternalDirectoryObjectId": user["id"],
        "Guid": stable_guid("recipient", str(user["id"])),
    }
    for prop, key, default in CAS_FIELDS:
        view[prop] = stored.get(key, default)
    view["HasActiveSyncDevicePartnership"] = bool(mbx.get("mobileDevices"))
    for key, value in stored.items():
        if key not in known:
            view[pascal(key)] = value
    view["IsValid"] = True
    view["ObjectState"] = "Unchanged"
    return annotate(view, guids=("Guid",))


# ------------------------------------------------------------------------------------------ folders
def folder_path(user: JSON, key: Any) -> str | None:
    """``<mailbox name>:\\RSS Feeds`` for a folder id, well-known name or display name; None when unset."""
    if key is None or key == "":
        return None
    text = shown = str(key)
    if ":\\" in text:
        # already in Exchange's form (``owner:\Folder\Sub``): find the folder by its leaf name
        shown = text.split(":\\", 1)[1]
        text = shown.rsplit("\\", 1)[-1]
    folders: list[JSON] = (user.get("mailbox") or {}).get("folders", [])
    by_id = {str(f.get("id")): f for f in folders}
    folder = by_id.get(text)
    if folder is None:
        folder = next((f for f in folders if str(f.get("wellKnownName") or "").lower() == text.lower()
                       or str(f.get("displayName") or "").lower() == text.lower()), None)
    if folder is None:
        return f"{mailbox_name(user)}:\\{shown}"
    names: list[str] = []
    seen: set[str] = set()
    current: JSON | None = folder
    while current is not None and str(current.get("id")) not in seen:
        seen.add(str(current.get("id")))
        if current.get("wellKnownName") == "msgfolderroot":
            break
        names.append(str(current.get("displayName")))
        parent = current.get("parentFolderId")
        current = by_id.get(str(parent)) if parent else None
    return f"{mailbox_name(user)}:\\" + "\\".join(reversed(names))


# ------------------------------------------------------------------------------------------ inbox rules
def recipient_string(st: TenantState, recipient: Any) -> str:
    """A rule recipient as Get-InboxRule writes it: ``"Name" [EX:/o=...]`` inside the tenant, else SMTP."""
    if isinstance(recipient, dict):
        email = recipient.get("emailAddress") or {}
        address = str(email.get("address") or "")
        name = str(email.get("name") or address)
    else:
        address = name = str(recipient)
    target = st.find_user(address) if address else None
    if target is not None and target.get("mailbox") is not None:
        return f"\"{target.get('displayName') or name}\" [EX:{legacy_dn(target)}]"
    return f"\"{name}\" [SMTP:{address}]"


def _predicates(st: TenantState, predicates: JSON, prefix: str) -> JSON:
    out: JSON = {}
    for graph_key, prop in _WORD_PREDICATES.items():
        out[prefix + prop] = [str(w) for w in predicates.get(graph_key) or []]
    for graph_key, prop in _RECIPIENT_PREDICATES.items():
        values = predicates.get(graph_key) or []
        out[prefix + prop] = [recipient_string(st, r) for r in values] or None
    for graph_key, prop in _BOOL_PREDICATES.items():
        out[prefix + prop] = bool(predicates.get(graph_key, False))
    types = [t for k, t in _MESSAGE_TYPES.items() if predicates.get(k)]
    out[prefix + "MessageTypeMatches"] = types[0] if types else None
    importance = predicates.get("importance")
    out[prefix + "WithImportance"] = pascal(str(importance)) if importance else None
    sensitivity = predicates.get("sensitivity")
    out[prefix + "WithSensitivity"] = pascal(str(sensitivity)) if sensitivity else None
    flag = predicates.get("messageActionFlag")
    out[prefix + "FlaggedForAction"] = pascal(str(flag)) if flag else None
    size = predicates.get("withinSizeRange") or {}
    out[prefix + "WithinSizeRangeMinimum"] = _size(size.get("minimumSize"))
    out[prefix + "WithinSizeRangeMaximum"] = _size(size.get("maximumSize"))
    return out


def _size(kilobytes: Any) -> str | None:
    if not isinstance(kilobytes, int) or isinstance(kilobytes, bool):
        return None
    return f"{kilobytes} KB ({kilobytes * 1024:,} bytes)"


def inbox_rule_view(st: TenantState, user: JSON, rule: JSON) -> JSON:
    conditions: JSON = rule.get("conditions") or {}
    exceptions: JSON = rule.get("exceptions") or {}
    actions: JSON = rule.get("actions") or {}
    rid = rule_identity(str(rule["id"]))
    view: JSON = {
        "Description": describe_rule(st, user, rule),
        "Enabled": bool(rule.get("isEnabled", True)),
        "Identity": f"{mailbox_name(user)}\\{rid}",
        "InError": bool(rule.get("hasError", False)),
        "ErrorType": "None" if not rule.get("hasError") else "RuleIsInError",
        "Name": rule.get("displayName"),
        "Priority": rule.get("sequence"),
        "RuleIdentity": rid,
        "SupportedByTask": not bool(rule.get("isReadOnly", False)),
        "Legacy": None,
    }
    view.update(_predicates(st, conditions, ""))
    view.update(_predicates(st, exceptions, "ExceptIf"))
    categories = [str(c) for c in actions.get("assignCategories") or []]
    importance = actions.get("markImportance")
    view.update({
        "ApplyCategory": categories,
        "CopyToFolder": folder_path(user, actions.get("copyToFolder")),
        "DeleteMessage": bool(actions.get("delete", False)),
        "MarkAsRead": bool(actions.get("markAsRead", False)),
        "MarkImportance": pascal(str(importance)) if importance else None,
        "MoveToFolder": folder_path(user, actions.get("moveToFolder")),
        "PinMessage": False,
        "SoftDeleteMessage": bool(actions.get("permanentDelete", False)),
        "StopProcessingRules": bool(actions.get("stopProcessingRules", False)),
        "SendTextMessageNotificationTo": [],
        "MailboxOwnerId": mailbox_name(user),
        "IsValid": True,
        "ObjectState": "Unchanged",
    })
    for graph_key, prop in _RECIPIENT_ACTIONS.items():
        values = actions.get(graph_key) or []
        view[prop] = [recipient_string(st, r) for r in values] or None
    return annotate(view)


def describe_rule(st: TenantState, user: JSON, rule: JSON) -> str:
    """The rule's English description, in the shape Exchange writes it."""
    conditions: JSON = rule.get("conditions") or {}
    actions: JSON = rule.get("actions") or {}
    lines: list[str] = []

    def words(values: Any) -> str:
        return " or ".join(f"'{w}'" for w in values or [])

    def people(values: Any) -> str:
        out = []
        for r in values or []:
            email = r.get("emailAddress", {}) if isinstance(r, dict) else {"address": r}
            out.append(f"'{email.get('name') or email.get('address')}'")
        return " or ".join(out)

    phrases = {
        "subjectContains": "the message includes specific words in the subject {}",
        "bodyContains": "the message includes specific words in the body {}",
        "bodyOrSubjectContains": "the message includes specific words in the subject or body {}",
        "headerContains": "the message includes specific words in the message header {}",
        "senderContains": "the message includes specific words in the sender's address {}",
        "recipientContains": "the message includes specific words in the recipient's address {}",
    }
    for key, phrase in phrases.items():
        if conditions.get(key):
            lines.append(phrase.format(words(conditions[key])))
    if conditions.get("fromAddresses"):
        lines.append(f"the message was received from {people(conditions['fromAddresses'])}")
    if conditions.get("sentToAddresses"):
        lines.append(f"the message was sent to {people(conditions['sentToAddresses'])}")
    todo: list[str] = []
    if actions.get("moveToFolder"):
        todo.append(f"move the message to folder '{_folder_leaf(user, actions['moveToFolder'])}'")
    if actions.get("copyToFolder"):
        todo.append(f"copy the message to folder '{_folder_leaf(user, actions['copyToFolder'])}'")
    if actions.get("delete"):
        todo.append("delete the message")
    if actions.get("permanentDelete"):
        todo.append("delete the message permanently")
    if actions.get("markAsRead"):
        todo.append("mark the message as read")
    for key, verb in (("forwardTo", "forward the message to"),
                      ("forwardAsAttachmentTo", "forward the message as an attachment to"),
                      ("redirectTo", "redirect the message to")):
        if actions.get(key):
            todo.append(f"{verb} {people(actions[key])}")
    if actions.get("stopProcessingRules"):
        todo.append("stop processing more rules on this message")
    text = ""
    if lines:
        text += "If the message:\r\n\t" + "\r\n\tand ".join(lines) + "\r\n"
    if todo:
        text += "Take the following actions:\r\n\t" + "\r\n\tand ".join(todo) + "\r\n"
    return text


def _folder_leaf(user: JSON, key: Any) -> str:
    path = folder_path(user, key) or ""
    return path.rsplit("\\", 1)[-1]


# ------------------------------------------------------------------------------------------ the rest
def sweep_rule_view(user: JSON, rule: JSON) -> JSON:
    rule_id = str(rule["ruleId"])
    view: JSON = {
        "Name": rule.get("name"),
        "RuleId": rule_id,
        "Identity": f"{mailbox_name(user)}\\{rule_id}",
        "Enabled": bool(rule.get("enabled", True)),
        "Provider": str(rule.get("provider") or "Exchange16"),
        "SourceFolder": folder_path(user, rule.get("sourceFolder")),
        "DestinationFolder": folder_path(user, rule.get("destinationFolder")),
        "KeepForDays": rule.get("keepForDays"),
        "KeepLatest": rule.get("keepLatest"),
        "Sender": rule.get("sender"),
        "SystemCategory": rule.get("systemCategory"),
        "MailboxOwnerId": mailbox_name(user),
        "IsValid": True,
        "ObjectState": "Unchanged",
    }
    return annotate(view)


def mailbox_permission_view(user: JSON, entry: JSON) -> JSON:
    rights = entry.get("accessRights") or []
    view: JSON = {
        "Identity": mailbox_name(user),
        "User": entry.get("user"),
        "AccessRights": [str(r) for r in (rights if isinstance(rights, list) else [rights])],
        "IsInherited": bool(entry.get("isInherited", False)),
        "Deny": bool(entry.get("deny", False)),
        "InheritanceType": str(entry.get("inheritanceType") or "All"),
        "IsValid": True,
        "ObjectState": "Unchanged",
    }
    return annotate(view)


def recipient_permission_view(user: JSON, entry: JSON) -> JSON:
    rights = entry.get("accessRights") or ["SendAs"]
    view: JSON = {
        "Identity": mailbox_name(user),
        "Trustee": entry.get("trustee"),
        "AccessControlType": str(entry.get("accessControlType") or "Allow"),
        "AccessRights": [str(r) for r in (rights if isinstance(rights, list) else [rights])],
        "IsInherited": bool(entry.get("isInherited", False)),
        "InheritanceType": str(entry.get("inheritanceType") or "None"),
        "IsValid": True,
        "ObjectState": "Unchanged",
    }
    return annotate(view)


#: Fixture keys of a mobile device that the view writes itself.
_DEVICE_KEYS = {"id", "deviceId", "deviceType", "deviceModel", "deviceOS", "deviceUserAgent", "friendlyName",
                "firstSyncTime", "clientType", "deviceAccessState", "deviceAccessStateReason", "whenCreated"}


def device_id(device: JSON) -> str:
    given = device.get("deviceId")
    if given:
        return str(given)
    return hashlib.sha256(str(device["id"]).encode()).hexdigest()[:32].upper()


def device_view(user: JSON, device: JSON) -> JSON:
    dtype = str(device.get("deviceType") or "EASDevice")
    did = device_id(device)
    first_sync = device.get("firstSyncTime")
    view: JSON = {
        "Identity": f"{mailbox_name(user)}\\ExchangeActiveSyncDevices\\{dtype}§{did}",
        "Name": f"{dtype}§{did}",
        "Guid": _device_guid(device),
        "DeviceId": did,
        "DeviceType": dtype,
        "DeviceModel": device.get("deviceModel"),
        "DeviceOS": device.get("deviceOS"),
        "DeviceUserAgent": device.get("deviceUserAgent"),
        "FriendlyName": device.get("friendlyName"),
        "FirstSyncTime": exo_datetime(str(first_sync), utc=True) if first_sync else None,
        "ClientType": str(device.get("clientType") or "EAS"),
        "DeviceAccessState": str(device.get("deviceAccessState") or "Allowed"),
        "DeviceAccessStateReason": str(device.get("deviceAccessStateReason") or "Global"),
        "UserDisplayName": user.get("displayName"),
        "WhenCreated": exo_datetime(str(device.get("whenCreated") or first_sync or DEFAULT_CREATED)),
    }
    for key, value in device.items():
        if key not in _DEVICE_KEYS:
            view[pascal(key)] = value
    view["IsValid"] = True
    view["ObjectState"] = "Unchanged"
    return annotate(view, datetimes=("FirstSyncTime", "WhenCreated"), guids=("Guid",))


def _device_guid(device: JSON) -> str:
    raw = str(device["id"])
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        return stable_guid("device", raw)


def blocked_sender_view(tenant_id: str, entry: JSON) -> JSON:
    created = entry.get("createdDatetime") or entry.get("createdDateTime")
    changed = entry.get("changedDatetime") or created
    view: JSON = {
        "SenderAddress": entry.get("senderAddress"),
        "Reason": entry.get("reason"),
        "CreatedDatetime": exo_datetime(str(created), utc=True) if created else None,
        "ChangedDatetime": exo_datetime(str(changed), utc=True) if changed else None,
        "TenantId": tenant_id,
    }
    skip = {"senderAddress", "reason", "createdDatetime", "createdDateTime", "changedDatetime",
            "removalRequestedDateTime", "removalReason"}
    for key, value in entry.items():
        if key not in skip:
            view[pascal(key)] = value
    return annotate(view, datetimes=("CreatedDatetime", "ChangedDatetime"))

