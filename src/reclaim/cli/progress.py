"""Investigate's progress in words: what is being read and how far along ("[12/37] sign-ins read")."""

from __future__ import annotations

__all__ = ["EVIDENCE_WORDS", "TOTAL_KINDS", "describe"]

#: Each kind of evidence an investigation reads, as a person says it.
EVIDENCE_WORDS: dict[str, str] = {
    "user": "the user's account", "graph_rules": "inbox rules (Graph)", "exo_rules": "inbox rules, hidden ones too "
    "(Exchange)", "sweep_rules": "sweep rules", "mailbox": "mailbox settings and forwarding", "folders": "mail folders",
    "mailbox_settings": "automatic replies and mailbox settings", "mailbox_permissions": "mailbox delegates",
    "recipient_permissions": "send-as delegates", "mobile_devices": "mobile devices", "cas_mailbox": "mail protocols "
    "(IMAP, POP, SMTP AUTH)", "auth_methods": "sign-in methods (MFA)", "oauth_grants": "app consents",
    "service_principals": "the consented apps", "sign_ins": "sign-ins", "directory_audits": "directory changes",
    "risky_user": "Identity Protection's risk for the user", "risk_detections": "risk detections",
    "blocked_senders": "the restricted senders list", "message_trace": "sent mail (message trace)",
    "sent_items": "Sent Items", "ndr_messages": "non-delivery reports", "audit_records": "the audit log",
    "transport_rules": "mail-flow rules", "alerts": "alerts", "ca_policies": "Conditional Access policies",
    "security_defaults": "security defaults", "member_of": "group and role memberships",
    "registration_details": "MFA registration", "tenant_audit_records": "the tenant's audit log",
    "tenant_directory_audits": "the tenant's directory changes", "audit_config": "audit settings",
    "audit_bypass": "audit bypass", "drive": "OneDrive", "drive_audit_records": "OneDrive activity",
    "drive_items": "OneDrive files and shares", "sharepoint_settings": "sharing settings",
    "accepted_domains": "the tenant's domains",
}
TOTAL_KINDS = len(EVIDENCE_WORDS)


def describe(kind: str, done: int, total: int = TOTAL_KINDS) -> str:
    """``[12/37] sign-ins read``; a kind with no words yet is shown as its key (never hidden)."""
    return f"[{min(done, total)}/{total}] {EVIDENCE_WORDS.get(kind, kind.replace('_', ' '))} read"
