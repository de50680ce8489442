"""Typed views of the objects Exchange Online cmdlets return (PascalCase on the wire).

Each model reads the properties reclaim uses and keeps the object exactly as received in ``raw``
(evidence is stored as received). Unknown properties are ignored by the model but stay in ``raw``.
Multi-valued properties arrive as lists; ``None`` and ``[]`` both mean "not set".
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "BlockedSender",
    "CasMailbox",
    "ExchangeObject",
    "InboxRule",
    "Mailbox",
    "MailboxPermission",
    "MobileDevice",
    "RecipientPermission",
    "SweepRule",
    "TransportRule",
]


def _as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v is not None]
    return [str(value)]


def _rights(value: Any) -> list[str]:
    """Access rights: the service may send ``["FullAccess, ReadPermission"]``; one right per item."""
    return [part.strip() for item in _as_list(value) for part in item.split(",") if part.strip()]


class ExchangeObject(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True, defer_build=True)

    identity: str | None = Field(None, alias="Identity")
    #: the object as the cmdlet returned it
    raw: dict[str, Any] = Field(default_factory=dict, exclude=True, repr=False)

    @classmethod
    def from_raw(cls, data: dict[str, Any]) -> Self:
        return cls.model_validate({**data, "raw": data})

    @field_validator("identity", mode="before")
    @classmethod
    def _identity(cls, value: Any) -> Any:
        return None if value is None else str(value)


class Mailbox(ExchangeObject):
    display_name: str | None = Field(None, alias="DisplayName")
    user_principal_name: str | None = Field(None, alias="UserPrincipalName")
    primary_smtp_address: str | None = Field(None, alias="PrimarySmtpAddress")
    external_directory_object_id: str | None = Field(None, alias="ExternalDirectoryObjectId")
    guid: str | None = Field(None, alias="Guid")
    recipient_type_details: str | None = Field(None, alias="RecipientTypeDetails")
    forwarding_address: str | None = Field(None, alias="ForwardingAddress")
    forwarding_smtp_address: str | None = Field(None, alias="ForwardingSmtpAddress")
    deliver_to_mailbox_and_forward: bool = Field(False, alias="DeliverToMailboxAndForward")

    @property
    def forwards(self) -> bool:
        return bool(self.forwarding_address or self.forwarding_smtp_address)


_LIST_FIELDS_INBOX = ("forward_to", "forward_as_attachment_to", "redirect_to", "from_", "subject_contains_words",
                      "subject_or_body_contains_words", "body_contains_words", "from_address_contains_words",
                      "apply_category")


class InboxRule(ExchangeObject):
    """``Get-InboxRule`` (with ``-IncludeHidden``: rules Graph never shows)."""

    name: str | None = Field(None, alias="Name")
    rule_identity: str | None = Field(None, alias="RuleIdentity")
    enabled: bool = Field(True, alias="Enabled")
    priority: int | None = Field(None, alias="Priority")
    description: str | None = Field(None, alias="Description")
    mailbox_owner_id: str | None = Field(None, alias="MailboxOwnerId")
    in_error: bool = Field(False, alias="InError")
    stop_processing_rules: bool = Field(False, alias="StopProcessingRules")
    delete_message: bool = Field(False, alias="DeleteMessage")
    soft_delete_message: bool = Field(False, alias="SoftDeleteMessage")
    mark_as_read: bool = Field(False, alias="MarkAsRead")
    move_to_folder: str | None = Field(None, alias="MoveToFolder")
    copy_to_folder: str | None = Field(None, alias="CopyToFolder")
    forward_to: list[str] = Field(default_factory=list, alias="ForwardTo")
    forward_as_attachment_to: list[str] = Field(default_factory=list, alias="ForwardAsAttachmentTo")
    redirect_to: list[str] = Field(default_factory=list, alias="RedirectTo")
    from_: list[str] = Field(default_factory=list, alias="From")
    from_address_contains_words: list[str] = Field(default_factory=list, alias="FromAddressContainsWords")
    subject_contains_words: list[str] = Field(default_factory=list, alias="SubjectContainsWords")
    subject_or_body_contains_words: list[str] = Field(default_factory=list, alias="SubjectOrBodyContainsWords")
    body_contains_words: list[str] = Field(default_factory=list, alias="BodyContainsWords")
    apply_category: list[str] = Field(default_factory=list, alias="ApplyCategory")

    @field_validator(*_LIST_FIELDS_INBOX, mode="before")
    @classmethod
    def _lists(cls, value: Any) -> list[str]:
        return _as_list(value)

    @field_validator("enabled", "in_error", "stop_processing_rules", "delete_message", "soft_delete_message",
                     "mark_as_read", mode="before")
    @classmethod
    def _bools(cls, value: Any) -> bool:
        return _as_bool(value)

    @field_validator("rule_identity", mode="before")
    @classmethod
    def _rule_identity(cls, value: Any) -> Any:
        return None if value is None else str(value)


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


class SweepRule(ExchangeObject):
    name: str | None = Field(None, alias="Name")
    rule_id: str | None = Field(None, alias="RuleId")
    enabled: bool = Field(True, alias="Enabled")
    mailbox_owner_id: str | None = Field(None, alias="MailboxOwnerId")
    source_folder: str | None = Field(None, alias="SourceFolder")
    destination_folder: str | None = Field(None, alias="DestinationFolder")
    sender: str | None = Field(None, alias="Sender")
    keep_for_days: int | None = Field(None, alias="KeepForDays")
    keep_latest: int | None = Field(None, alias="KeepLatest")

    @field_validator("enabled", mode="before")
    @classmethod
    def _bool(cls, value: Any) -> bool:
        return _as_bool(value)


class BlockedSender(ExchangeObject):
    """``Get-BlockedSenderAddress``: an account on the restricted-entities list."""

    sender_address: str = Field(alias="SenderAddress")
    reason: str | None = Field(None, alias="Reason")
    created_datetime: str | None = Field(None, alias="CreatedDatetime")
    changed_datetime: str | None = Field(None, alias="ChangedDatetime")


class MailboxPermission(ExchangeObject):
    """``Get-MailboxPermission``: e.g. FullAccess for a delegate."""

    user: str = Field(alias="User")
    access_rights: list[str] = Field(default_factory=list, alias="AccessRights")
    is_inherited: bool = Field(False, alias="IsInherited")
    deny: bool = Field(False, alias="Deny")

    @field_validator("access_rights", mode="before")
    @classmethod
    def _rights(cls, value: Any) -> list[str]:
        return _rights(value)


class RecipientPermission(ExchangeObject):
    """``Get-RecipientPermission``: SendAs."""

    trustee: str = Field(alias="Trustee")
    access_rights: list[str] = Field(default_factory=list, alias="AccessRights")
    access_control_type: str | None = Field(None, alias="AccessControlType")
    is_inherited: bool = Field(False, alias="IsInherited")

    @field_validator("access_rights", mode="before")
    @classmethod
    def _rights(cls, value: Any) -> list[str]:
        return _rights(value)


class MobileDevice(ExchangeObject):
    """``Get-MobileDevice``: an ActiveSync (or REST) device partnership."""

    device_id: str | None = Field(None, alias="DeviceId")
    device_model: str | None = Field(None, alias="DeviceModel")
    device_type: str | None = Field(None, alias="DeviceType")
    device_os: str | None = Field(None, alias="DeviceOS")
    friendly_name: str | None = Field(None, alias="FriendlyName")
    user_display_name: str | None = Field(None, alias="UserDisplayName")
    first_sync_time: str | None = Field(None, alias="FirstSyncTime")
    device_access_state: str | None = Field(None, alias="DeviceAccessState")
    client_type: str | None = Field(None, alias="ClientType")
    guid: str | None = Field(None, alias="Guid")


class CasMailbox(ExchangeObject):
    """``Get-CASMailbox``: protocol switches (legacy protocols are how attackers skip MFA)."""

    active_sync_enabled: bool | None = Field(None, alias="ActiveSyncEnabled")
    owa_enabled: bool | None = Field(None, alias="OWAEnabled")
    pop_enabled: bool | None = Field(None, alias="PopEnabled")
    imap_enabled: bool | None = Field(None, alias="ImapEnabled")
    mapi_enabled: bool | None = Field(None, alias="MAPIEnabled")
    ews_enabled: bool | None = Field(None, alias="EwsEnabled")
    smtp_client_authentication_disabled: bool | None = Field(None, alias="SmtpClientAuthenticationDisabled")


class TransportRule(ExchangeObject):
    """``Get-TransportRule``: tenant mail-flow rules (one that redirects or BCCs out is a finding)."""

    name: str | None = Field(None, alias="Name")
    guid: str | None = Field(None, alias="Guid")
    state: str | None = Field(None, alias="State")
    mode: str | None = Field(None, alias="Mode")
    priority: int | None = Field(None, alias="Priority")
    description: str | None = Field(None, alias="Description")
    redirect_message_to: list[str] = Field(default_factory=list, alias="RedirectMessageTo")
    blind_copy_to: list[str] = Field(default_factory=list, alias="BlindCopyTo")
    copy_to: list[str] = Field(default_factory=list, alias="CopyTo")
    add_to_recipients: list[str] = Field(default_factory=list, alias="AddToRecipients")
    when_changed: str | None = Field(None, alias="WhenChanged")

    @field_validator("redirect_message_to", "blind_copy_to", "copy_to", "add_to_recipients", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> list[str]:
        return _as_list(value)
