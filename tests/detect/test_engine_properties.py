"""Property test: any JSON-shaped evidence, however malformed, is analysed without an exception and
without a check tripping over it (no "could not read the evidence")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reclaim.detect.engine import analyze
from reclaim.detect.evidence import EvidenceBundle
from reclaim.detect.registry import checks
from tests.detect.helpers import NOW

KEYS = ["id", "Id", "Name", "displayName", "createdDateTime", "CreationTime", "Operation", "Parameters", "Value",
        "ipAddress", "location", "countryOrRegion", "geoCoordinates", "latitude", "status", "errorCode",
        "clientAppUsed", "riskLevel", "riskState", "riskEventType", "scope", "clientId", "consentType",
        "senderAddress", "recipientAddress", "subject", "receivedDateTime", "messageId", "internetMessageId",
        "SenderAddress", "ForwardTo", "RedirectTo", "BlindCopyTo", "State", "User", "Trustee", "AccessRights",
        "FirstSyncTime", "DeviceModel", "@odata.type", "activityDisplayName", "targetResources",
        "modifiedProperties", "ForwardingSmtpAddress", "DeliverToMailboxAndForward", "automaticRepliesSetting",
        "externalAudience", "externalReplyMessage", "passwordPolicies", "isEnabled", "conditions", "actions",
        "grantControls", "builtInControls", "users", "includeUsers", "isMfaRegistered", "sessionId", "title",
        "AffectedItems", "Folder", "Path", "Sender", "DestinationFolder", "moveToFolder", "subjectContains"]
leaf = (st.none() | st.booleans() | st.integers(-5, 10**6) | st.floats(allow_nan=True)
        | st.sampled_from(["", "x", "smtp:a@evil.example", "2026-11-19T10:00:00Z", "high", "atRisk", "IMAP4",
                          "New-InboxRule", "Mail.ReadWrite offline_access", "FullAccess", "enabled", "All"])
        | st.text(max_size=12))
value = st.recursive(leaf, lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.sampled_from(KEYS), inner, max_size=5), max_leaves=15)
record = st.dictionaries(st.sampled_from(KEYS), value, max_size=8)
records = st.lists(record | value, max_size=4) | value

LIST_FIELDS = ["graph_rules", "exo_rules", "sweep_rules", "folders", "mailbox_permissions", "recipient_permissions",
               "mobile_devices", "auth_methods", "oauth_grants", "service_principals", "sign_ins", "directory_audits",
               "risk_detections", "blocked_senders", "message_trace", "sent_items", "ndr_messages", "audit_records",
               "transport_rules", "alerts", "ca_policies", "member_of"]
RECORD_FIELDS = ["user", "mailbox", "mailbox_settings", "cas_mailbox", "security_defaults", "risky_user",
                 "registration_details"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.fixed_dictionaries({**{k: records for k in LIST_FIELDS}, **{k: record | value for k in RECORD_FIELDS}}),
       st.lists(st.text(max_size=15) | st.integers(), max_size=3))
def test_any_evidence_is_analysed(fields: dict[str, Any], domains: list[Any]) -> None:
    analysis = analyze(EvidenceBundle(**fields, accepted_domains=domains, now=NOW))
    tripped = [n for n in analysis.not_checked if n.reason.startswith("could not read the evidence")]
    assert not tripped, tripped
    assert analysis.verdict.name.value in {"compromised", "suspicious", "clean"}
    analysis.to_json()


def test_every_check_has_tests() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in Path(__file__).parent.glob("test_*.py"))
    untested = [c.meta.id for c in checks() if f'"{c.meta.id}"' not in text]
    assert not untested, untested
