"""One record per artifact type: what a finding's ``artifact`` can be, and everything the core knows about it.

A finding points at one object (an inbox rule, a sign-in, a consent grant ...) by ``Artifact(type, id)``.
Each type is described here once, and only here:

- ``evidence``: the evidence kinds (:class:`~reclaim.detect.evidence.EvidenceBundle` fields) the object is
  read from, so that a stored finding links to the evidence it rests on (investigate, sweep, hunt and the
  offline analyses all use :func:`evidence_of`);
- ``payload``: what that evidence is, as the service returns it;
- ``facts``: the finding's evidence keys a person reads first, with their labels (the report's key facts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: The artifact types of DESIGN.md "Interfaces", plus ``user`` (exposure findings about the account itself),
#: ``messageTrace`` (outbound spike), ``auditRecord`` (unified audit log events) and ``auditConfig`` (the
#: tenant's audit settings).
ArtifactType = Literal[
    "inboxRule", "sweepRule", "mailboxForwarding", "signIn", "directoryAudit", "authenticationMethod",
    "oauth2PermissionGrant", "mailboxPermission", "recipientPermission", "mobileDevice", "blockedSender",
    "sentItemsGap", "automaticReplies", "transportRule", "riskyUser", "user", "messageTrace", "auditRecord",
    "auditConfig", "sharingLink", "fileActivity", "sharingPolicy", "deletedMail", "sentMail",
]


@dataclass(frozen=True)
class ArtifactKind:
    name: str
    #: what a person calls it: "inbox rule"
    label: str
    #: evidence kinds (EvidenceBundle fields) the object is read from
    evidence: tuple[str, ...]
    #: the evidence payload, as the service returns it
    payload: str
    #: (evidence key, label) of the facts a person reads first
    facts: tuple[tuple[str, str], ...] = ()


ARTIFACTS: dict[str, ArtifactKind] = {a.name: a for a in (
    ArtifactKind("inboxRule", "inbox rule", ("graph_rules", "exo_rules", "folders"),
                 "Graph messageRule / Exchange Get-InboxRule -IncludeHidden (and the mailFolder it moves to)",
                 (("name", "Rule name"), ("conditions", "When"), ("actions", "Does"), ("enabled", "Enabled"),
                  ("hidden", "Hidden"), ("source", "Read from"), ("auditEvents", "Created / changed"))),
    ArtifactKind("sweepRule", "sweep rule", ("sweep_rules",), "Exchange Get-SweepRule",
                 (("name", "Rule name"), ("senders", "Mail from"), ("destinationFolder", "Moves to"))),
    ArtifactKind("mailboxForwarding", "mailbox forwarding", ("mailbox", "audit_records"), "Exchange Get-Mailbox",
                 (("forwardingSmtpAddress", "Forwards to"), ("forwardingAddress", "Forwards to (contact)"),
                  ("deliverToMailboxAndForward", "Keeps a copy"), ("external", "Outside the organisation"),
                  ("setFromIP", "Set from IP"))),
    ArtifactKind("signIn", "sign-in", ("sign_ins",), "Graph signIn",
                 (("ipAddress", "IP address"), ("country", "Country"), ("city", "City"),
                  ("clientAppUsed", "Client"), ("appDisplayName", "Application"), ("userAgent", "User agent"),
                  ("count", "Sign-ins like this"), ("kinds", "Why"))),
    ArtifactKind("directoryAudit", "directory change", ("directory_audits", "tenant_directory_audits"),
                 "Graph directoryAudit",
                 (("changed", "Changed"), ("initiatedBy", "By"), ("ipAddress", "From IP"))),
    ArtifactKind("authenticationMethod", "sign-in method", ("auth_methods",), "Graph authenticationMethod",
                 (("type", "Method"), ("detail", "Detail"), ("createdDateTime", "Added"))),
    ArtifactKind("oauth2PermissionGrant", "consent grant", ("oauth_grants", "service_principals",
                                                            "directory_audits"),
                 "Graph oauth2PermissionGrant (and its client servicePrincipal)",
                 (("app", "Application"), ("scopes", "Scopes"), ("consentType", "Consent"),
                  ("appId", "Application id"), ("changedBy", "Consented by"))),
    ArtifactKind("mailboxPermission", "mailbox delegate", ("mailbox_permissions",), "Exchange Get-MailboxPermission",
                 (("trustee", "Who"), ("accessRights", "Rights"))),
    ArtifactKind("recipientPermission", "send-as delegate", ("recipient_permissions",),
                 "Exchange Get-RecipientPermission", (("trustee", "Who"), ("accessRights", "Rights"))),
    ArtifactKind("mobileDevice", "mobile device", ("mobile_devices",), "Exchange Get-MobileDevice",
                 (("model", "Device"), ("os", "OS"), ("userAgent", "User agent"), ("deviceId", "Device id"))),
    ArtifactKind("blockedSender", "sending restriction", ("blocked_senders", "ndr_messages", "alerts"),
                 "Exchange Get-BlockedSenderAddress, 5.1.8 NDR messages, Defender alerts",
                 (("blockedSender", "Restriction"), ("ndrCount", "5.1.8 NDRs"), ("alerts", "Alerts"))),
    ArtifactKind("sentItemsGap", "sent mail missing from Sent Items", ("message_trace", "sent_items"),
                 "Graph exchangeMessageTrace and Sent Items messages",
                 (("missing", "Not in Sent Items"), ("sent", "Sent"), ("subjects", "Subjects"),
                  ("fromIPs", "Sent from"))),
    ArtifactKind("automaticReplies", "automatic reply", ("mailbox_settings", "audit_records"),
                 "Graph mailboxSettings.automaticRepliesSetting",
                 (("status", "Status"), ("externalAudience", "Outside audience"),
                  ("externalReplyMessage", "Reply to outsiders"), ("internalReplyMessage", "Reply inside"))),
    ArtifactKind("transportRule", "mail flow rule", ("transport_rules", "tenant_audit_records"),
                 "Exchange Get-TransportRule",
                 (("name", "Rule name"), ("actions", "Sends to"), ("state", "State"), ("mode", "Mode"),
                  ("changedBy", "Created / changed by"))),
    ArtifactKind("riskyUser", "Identity Protection risk", ("risky_user", "risk_detections"),
                 "Graph riskyUser and riskDetection",
                 (("riskLevel", "Risk level"), ("riskState", "Risk state"), ("detections", "Detections"))),
    ArtifactKind("user", "account", ("user", "ca_policies", "security_defaults", "registration_details",
                                     "member_of"),
                 "Graph user, Conditional Access policies, security defaults, userRegistrationDetails",
                 (("passwordPolicies", "Password policies"), ("requiredBy", "MFA required by"))),
    ArtifactKind("messageTrace", "sent mail", ("message_trace",), "Graph exchangeMessageTrace",
                 (("subject", "Subject"), ("messages", "Messages"), ("externalRecipients", "Outside recipients"),
                  ("fromIPs", "Sent from"), ("first", "First"))),
    ArtifactKind("auditRecord", "audit record", ("audit_records", "tenant_audit_records"),
                 "unified audit log record (Management Activity API shape)",
                 (("operation", "Operation"), ("parameters", "Parameters"), ("clientIP", "From IP"),
                  ("changedBy", "By"))),
    ArtifactKind("auditConfig", "audit configuration", ("audit_config", "audit_bypass", "mailbox",
                                                         "tenant_audit_records", "audit_records"),
                 "Exchange Get-AdminAuditLogConfig / Get-MailboxAuditBypassAssociation / Get-Mailbox",
                 (("setting", "Setting"), ("value", "Now"), ("changedBy", "Changed by"))),
    ArtifactKind("deletedMail", "deleted message", ("audit_records",),
                 "unified audit log SoftDelete / HardDelete / MoveToDeletedItems records (AffectedItems)",
                 (("subject", "Subject"), ("operation", "Deleted by"), ("folder", "Deleted from"), ("now", "Now in"),
                  ("clientIP", "From IP"), ("time", "When"))),
    ArtifactKind("sentMail", "mail the attacker sent", ("message_trace",), "Graph exchangeMessageTrace, one per "
                 "recipient", (("subjects", "Subjects"), ("internalMailboxes", "Colleagues who got it"),
                               ("fromIPs", "Sent from"), ("first", "First sent"))),
    ArtifactKind("sharingLink", "sharing link or invitation", ("drive_audit_records", "drive_items", "drive"),
                 "SharePoint sharing audit record and the Graph permission it created (driveItem permissions)",
                 (("path", "File"), ("scope", "Who can use it"), ("type", "Access"), ("target", "Shared with"),
                  ("expires", "Expires"), ("clientIP", "Created from"), ("active", "Still active"))),
    ArtifactKind("fileActivity", "files opened, downloaded or deleted", ("drive_audit_records", "drive"),
                 "SharePoint file audit records (FileAccessed, FileDownloaded, FileSyncDownloadedFull, FileDeleted)",
                 (("count", "Files"), ("ips", "From"), ("first", "First"), ("last", "Last"))),
    ArtifactKind("sharingPolicy", "sharing setting", ("sharepoint_settings",), "Graph sharepointSettings",
                 (("sharingCapability", "Sharing allowed"),)),
)}

ARTIFACT_TYPES: frozenset[str] = frozenset(ArtifactType.__args__)  # type: ignore[attr-defined]
assert set(ARTIFACTS) == ARTIFACT_TYPES, "every artifact type has its record"


def evidence_of(artifact_type: str | None) -> tuple[str, ...]:
    """The evidence kinds an artifact of this type rests on (``()`` for an unknown type)."""
    kind = ARTIFACTS.get(artifact_type or "")
    return kind.evidence if kind else ()


def facts_of(artifact_type: str | None) -> tuple[tuple[str, str], ...]:
    """The (evidence key, label) pairs a person reads first for this artifact type."""
    kind = ARTIFACTS.get(artifact_type or "")
    return kind.facts if kind else ()


__all__ = ["ARTIFACTS", "ARTIFACT_TYPES", "ArtifactKind", "ArtifactType", "evidence_of", "facts_of"]
