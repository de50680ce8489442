"""The input to checks: everything collected about one user, as the APIs returned it.

Every artifact kind is either the raw payload (Graph objects camelCase, Exchange objects PascalCase,
exactly as received) or :class:`NotCollected` with the reason (missing permission, licence, throttled,
not found, not part of this input). A check that needs a kind which was not collected reports
``NotChecked`` with that reason; it never treats "not collected" as "nothing found".

Checks read artifacts through :meth:`EvidenceBundle.records` / :meth:`EvidenceBundle.record`, which
raise :class:`ArtifactMissing`; the engine turns that into ``NotChecked``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from reclaim.detect.fields import mappings

#: Unified-audit-log operations the checks read (collect at least these into ``audit_records``):
#: rule changes (times and IPs of rules, rules created then removed), mailbox forwarding, delegates,
#: automatic replies, and bulk deletes.
AUDIT_OPERATIONS: tuple[str, ...] = (
    "New-InboxRule", "Set-InboxRule", "UpdateInboxRules", "Enable-InboxRule", "Remove-InboxRule",
    "Disable-InboxRule", "Set-Mailbox", "Add-MailboxPermission", "Add-RecipientPermission",
    "Set-MailboxAutoReplyConfiguration", "SoftDelete", "HardDelete", "MoveToDeletedItems",
    "Set-MailboxAuditBypassAssociation",
)


#: OneDrive / SharePoint operations of the user (unified audit log, RecordType SharePointSharingOperation and
#: SharePointFileOperation): the shares the account made and the files its sessions touched.
DRIVE_SHARING_OPERATIONS: tuple[str, ...] = (
    "AnonymousLinkCreated", "AnonymousLinkUpdated", "CompanyLinkCreated", "SecureLinkCreated", "SecureLinkUpdated",
    "SharingInvitationCreated", "SharingSet", "AddedToSecureLink",
)
DRIVE_FILE_OPERATIONS: tuple[str, ...] = (
    "FileAccessed", "FileAccessedExtended", "FilePreviewed", "FileDownloaded", "FileSyncDownloadedFull",
    "FileSyncDownloadedPartial", "FileDeleted", "FileRecycled", "FileDeletedFirstStageRecycleBin",
    "FolderDeleted", "FolderRecycled",
)
DRIVE_AUDIT_OPERATIONS: tuple[str, ...] = DRIVE_SHARING_OPERATIONS + DRIVE_FILE_OPERATIONS


#: Tenant-wide admin operations (anyone's) collected to name who created or changed a tenant-scoped artifact.
TENANT_AUDIT_OPERATIONS: tuple[str, ...] = (
    "New-TransportRule", "Set-TransportRule", "Enable-TransportRule", "Set-AdminAuditLogConfig",
    "Set-MailboxAuditBypassAssociation", "Set-OrganizationConfig",
)
#: Directory activities (anyone's) that change the tenant: consent for everyone, app roles, federation.
TENANT_DIRECTORY_ACTIVITIES: tuple[str, ...] = (
    "Consent to application", "Add delegated permission grant", "Add app role assignment to service principal",
    "Set domain authentication", "Set federation settings on domain", "Add service principal credentials",
)


@dataclass(frozen=True)
class NotCollected:
    """Why an artifact kind is absent: ``"missing permission AuditLog.Read.All"``, ``"no Entra ID P1 licence"``..."""

    reason: str


NOT_IN_INPUT = NotCollected("not part of this input")

#: Sequence (covariant) so collectors can pass ``list[dict[str, Any]]`` as they parsed it.
Records = Sequence[Mapping[str, Any]] | NotCollected
Record = Mapping[str, Any] | NotCollected
OptionalRecord = Mapping[str, Any] | None | NotCollected


class ArtifactMissing(Exception):
    """Raised by the bundle accessors when a check needs an artifact kind that was not collected."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(f"{kind} not collected: {reason}")
        self.kind = kind
        self.reason = reason


@dataclass(frozen=True)
class Window:
    """The investigated period (collection window), both ends inclusive; ``None`` = unbounded."""

    since: datetime | None = None
    until: datetime | None = None

    def contains(self, moment: datetime | None) -> bool:
        if moment is None:
            return False
        return (self.since is None or moment >= self.since) and (self.until is None or moment <= self.until)


ListKind = Literal[
    "graph_rules", "exo_rules", "sweep_rules", "folders", "mailbox_permissions", "recipient_permissions",
    "mobile_devices", "auth_methods", "oauth_grants", "service_principals", "sign_ins", "directory_audits",
    "risk_detections", "blocked_senders", "message_trace", "sent_items", "ndr_messages", "audit_records",
    "transport_rules", "alerts", "ca_policies", "member_of", "tenant_audit_records", "tenant_directory_audits",
    "audit_bypass", "drive_audit_records", "drive_items",
]
RecordKind = Literal["user", "mailbox", "mailbox_settings", "cas_mailbox", "security_defaults", "audit_config",
                     "drive", "sharepoint_settings"]
OptionalKind = Literal["risky_user", "registration_details"]


@dataclass
class EvidenceBundle:
    """Evidence about one user. Field by field, what the collector puts there:

    - ``user``: Graph ``GET /users/{id}`` incl. ``id, userPrincipalName, mail, displayName, accountEnabled,
      passwordPolicies, createdDateTime``.
    - ``graph_rules``: Graph ``messageRule`` objects of the inbox.
    - ``exo_rules``: ``Get-InboxRule -Mailbox u -IncludeHidden`` objects (``Name, RuleIdentity, Identity,
      Enabled, Priority, ForwardTo, RedirectTo, ForwardAsAttachmentTo, MoveToFolder, CopyToFolder,
      DeleteMessage, SoftDeleteMessage, MarkAsRead, StopProcessingRules, SubjectContainsWords, ...``).
      A rule here but not in ``graph_rules`` (when those were collected) is hidden; an explicit
      ``IsHidden``/``hidden`` true also marks it.
    - ``sweep_rules``: ``Get-SweepRule`` objects (``RuleId, Name, Enabled, SourceFolder, DestinationFolder,
      Sender, KeepForDays, KeepLatest``).
    - ``mailbox``: ``Get-Mailbox`` (``ForwardingSmtpAddress "smtp:x@y"``, ``ForwardingAddress``,
      ``DeliverToMailboxAndForward``, ``WhenChanged``).
    - ``folders``: Graph ``mailFolder`` objects incl. hidden ones and child folders (``id, displayName,
      parentFolderId``, optional ``wellKnownName``).
    - ``mailbox_settings``: Graph ``mailboxSettings`` (``automaticRepliesSetting``).
    - ``mailbox_permissions`` / ``recipient_permissions``: ``Get-MailboxPermission`` (``User, AccessRights,
      IsInherited, Deny``) / ``Get-RecipientPermission`` (``Trustee, AccessRights``); optional
      ``WhenChanged``/``whenCreated`` timestamps.
    - ``mobile_devices``: ``Get-MobileDevice`` (``Identity/Guid, DeviceId, DeviceModel, DeviceOS,
      FirstSyncTime, DeviceUserAgent, ClientType``).
    - ``cas_mailbox``: ``Get-CASMailbox`` (``ImapEnabled, PopEnabled, SmtpClientAuthenticationDisabled``).
    - ``auth_methods``: Graph ``authentication/methods`` (``@odata.type, id, createdDateTime, ...``).
    - ``oauth_grants``: Graph ``oauth2PermissionGrant`` (``id, clientId, consentType, principalId, scope``);
      ``service_principals``: the grants' client service principals (``id, appId, displayName,
      publisherName, verifiedPublisher, replyUrls, appOwnerOrganizationId``).
    - ``sign_ins``: Graph ``signIn`` objects of the user (``createdDateTime, ipAddress, clientAppUsed,
      location{countryOrRegion, geoCoordinates}, status{errorCode}, riskLevelDuringSignIn, riskEventTypes``).
    - ``directory_audits``: Graph ``directoryAudit`` objects targeting the user.
    - ``risky_user``: Graph ``riskyUser`` or ``None`` when Identity Protection does not list the user;
      ``risk_detections``: Graph ``riskDetection`` objects of the user.
    - ``blocked_senders``: ``Get-BlockedSenderAddress`` objects (``SenderAddress, Reason, CreatedDatetime``).
    - ``message_trace``: Graph ``exchangeMessageTrace`` of mail the user sent (``id, senderAddress,
      recipientAddress, subject, receivedDateTime, fromIP, status, messageId``).
    - ``sent_items``: Graph messages of Sent Items in the window (``id, subject, sentDateTime,
      internetMessageId, toRecipients``); ``ndr_messages``: inbox messages found by an NDR search
      (``subject, body{content}|bodyPreview, receivedDateTime, from``).
    - ``audit_records``: unified audit log records (``Id, Operation, CreationTime, ClientIP, UserId,
      Parameters[{Name, Value}], ObjectId``; mailbox actions also ``Folder{Path}``, ``AffectedItems``)
      for the operations in :data:`AUDIT_OPERATIONS`.
    - ``transport_rules``: ``Get-TransportRule`` objects (tenant-wide).
    - ``alerts``: Graph ``alert`` (alerts_v2) objects concerning the user.
    - ``ca_policies``: Graph ``conditionalAccessPolicy`` objects; ``security_defaults``: Graph
      ``identitySecurityDefaultsEnforcementPolicy``; ``member_of``: the user's transitive groups and
      directory roles (``id``); ``registration_details``: the user's ``userRegistrationDetails`` or ``None``.
    - ``tenant_audit_records``: unified audit log records of tenant-wide admin changes by anyone
      (:data:`TENANT_AUDIT_OPERATIONS`: transport rules, audit configuration), to name who made them;
      ``tenant_directory_audits``: Graph ``directoryAudit`` objects of tenant-wide changes by anyone
      (:data:`TENANT_DIRECTORY_ACTIVITIES`: consent for all users, app role assignments, domain federation).
    - ``audit_config``: ``Get-AdminAuditLogConfig`` (``UnifiedAuditLogIngestionEnabled``, ``AdminAuditLogEnabled``);
      ``audit_bypass``: ``Get-MailboxAuditBypassAssociation`` of the user (``AuditBypassEnabled``).
    - ``drive``: Graph ``GET /users/{id}/drive`` (``id, webUrl, driveType``) of the user's OneDrive.
    - ``drive_audit_records``: unified audit log records of the user's OneDrive / SharePoint activity
      (:data:`DRIVE_AUDIT_OPERATIONS`: ``Id, Operation, CreationTime, ClientIP, UserId, ObjectId, SiteUrl,
      SourceRelativeUrl, SourceFileName, TargetUserOrGroupName, EventData, UniqueSharingId``).
    - ``drive_items``: the items of the user's OneDrive those sharing records name, as Graph ``driveItem``
      (``id, name, webUrl, parentReference``) with ``permissions`` (Graph ``permission`` objects, inherited
      ones with ``inheritedFrom``) and ``drivePath`` (the path inside the drive); an item no longer found
      is ``{"drivePath", "missing": true}``.
    - ``sharepoint_settings``: Graph ``sharepointSettings`` (``sharingCapability``: the most any OneDrive allows).
    - ``accepted_domains``: the tenant's accepted domains (``Get-AcceptedDomain`` / Graph ``domains``).
    - ``window``: the investigated period; ``now``: when the evidence was collected.
    """

    user: Record = NOT_IN_INPUT
    graph_rules: Records = NOT_IN_INPUT
    exo_rules: Records = NOT_IN_INPUT
    sweep_rules: Records = NOT_IN_INPUT
    mailbox: Record = NOT_IN_INPUT
    folders: Records = NOT_IN_INPUT
    mailbox_settings: Record = NOT_IN_INPUT
    mailbox_permissions: Records = NOT_IN_INPUT
    recipient_permissions: Records = NOT_IN_INPUT
    mobile_devices: Records = NOT_IN_INPUT
    cas_mailbox: Record = NOT_IN_INPUT
    auth_methods: Records = NOT_IN_INPUT
    oauth_grants: Records = NOT_IN_INPUT
    service_principals: Records = NOT_IN_INPUT
    sign_ins: Records = NOT_IN_INPUT
    directory_audits: Records = NOT_IN_INPUT
    risky_user: OptionalRecord = NOT_IN_INPUT
    risk_detections: Records = NOT_IN_INPUT
    blocked_senders: Records = NOT_IN_INPUT
    message_trace: Records = NOT_IN_INPUT
    sent_items: Records = NOT_IN_INPUT
    ndr_messages: Records = NOT_IN_INPUT
    audit_records: Records = NOT_IN_INPUT
    transport_rules: Records = NOT_IN_INPUT
    alerts: Records = NOT_IN_INPUT
    ca_policies: Records = NOT_IN_INPUT
    security_defaults: Record = NOT_IN_INPUT
    member_of: Records = NOT_IN_INPUT
    registration_details: OptionalRecord = NOT_IN_INPUT
    tenant_audit_records: Records = NOT_IN_INPUT
    tenant_directory_audits: Records = NOT_IN_INPUT
    audit_config: Record = NOT_IN_INPUT
    audit_bypass: Records = NOT_IN_INPUT
    drive: Record = NOT_IN_INPUT
    drive_audit_records: Records = NOT_IN_INPUT
    drive_items: Records = NOT_IN_INPUT
    sharepoint_settings: Record = NOT_IN_INPUT
    accepted_domains: list[str] | NotCollected = NOT_IN_INPUT
    window: Window = field(default_factory=Window)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: For the offline paths: the mailbox the evidence belongs to, when there is no Graph user object.
    mailbox_owner: str | None = None

    def __post_init__(self) -> None:
        if self.window.since is None and self.window.until is None:
            self.window = Window(self.now - timedelta(days=30), self.now)

    # -- accessors used by checks --------------------------------------------------------------

    def records(self, kind: ListKind) -> list[Mapping[str, Any]]:
        """The mapping elements of a list artifact; raises :class:`ArtifactMissing` if not collected."""
        value: object = getattr(self, kind)
        if isinstance(value, NotCollected):
            raise ArtifactMissing(kind, value.reason)
        if not isinstance(value, list | tuple):
            raise ArtifactMissing(kind, f"malformed: expected a list, got {type(value).__name__}")
        return mappings(value)

    def record(self, kind: RecordKind) -> Mapping[str, Any]:
        value: object = getattr(self, kind)
        if isinstance(value, NotCollected):
            raise ArtifactMissing(kind, value.reason)
        if not isinstance(value, Mapping):
            raise ArtifactMissing(kind, f"malformed: expected an object, got {type(value).__name__}")
        return value

    def optional_record(self, kind: OptionalKind) -> Mapping[str, Any] | None:
        value: object = getattr(self, kind)
        if isinstance(value, NotCollected):
            raise ArtifactMissing(kind, value.reason)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise ArtifactMissing(kind, f"malformed: expected an object, got {type(value).__name__}")
        return value

    def domains(self) -> list[str]:
        value = self.accepted_domains
        if isinstance(value, NotCollected):
            raise ArtifactMissing("accepted_domains", value.reason)
        return [d for d in value if isinstance(d, str) and d.strip()]

    def missing_need(self, need: str) -> str | None:
        """Why a check's ``need`` (``"a"`` or ``"a|b"``: either) cannot be met; ``None`` when it can."""
        reasons = []
        for kind in need.split("|"):
            value = getattr(self, kind, NOT_IN_INPUT)
            if not isinstance(value, NotCollected):
                return None
            reasons.append(f"{kind} not collected: {value.reason}")
        return "; ".join(reasons)

    def collected(self, kind: str) -> bool:
        return not isinstance(getattr(self, kind, NOT_IN_INPUT), NotCollected)

    def not_collected(self) -> dict[str, str]:
        """Every artifact kind that is missing, with its reason."""
        return {f.name: v.reason for f in fields(self) if isinstance(v := getattr(self, f.name), NotCollected)}


#: Every evidence kind a check can name in ``needs`` / ``reads``.
EVIDENCE_KINDS: frozenset[str] = frozenset(
    f.name for f in fields(EvidenceBundle) if f.name not in ("window", "now", "mailbox_owner"))
