"""Audit tampering: mailbox auditing bypassed or emptied for the user, unified audit ingestion turned off."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from reclaim.detect.api import (
    Artifact,
    ArtifactMissing,
    CheckMeta,
    Context,
    EvidenceBundle,
    Finding,
    NotChecked,
    Scope,
    Severity,
    audit_parameters,
    flag,
    normalise_ip,
    text,
    user_id,
    user_label,
    when,
)

METADATA = CheckMeta(
    id="audit-tampering",
    title="Auditing was turned off or bypassed",
    severity=("high when the account bypasses mailbox audit logging (Get-MailboxAuditBypassAssociation "
              "AuditBypassEnabled, or Set-MailboxAuditBypassAssociation -AuditBypassEnabled $true in the audit "
              "log: nothing the account does to mailboxes is recorded), or the mailbox keeps its audit records "
              "for zero days (AuditLogAgeLimit 0); medium for Set-Mailbox -AuditEnabled $false (Exchange's "
              "default auditing ignores it, but it shows the intent). For the tenant (tenant-scoped): high when "
              "the audit log shows unified audit ingestion or organisation-wide mailbox auditing turned off "
              "(Set-AdminAuditLogConfig -UnifiedAuditLogIngestionEnabled $false, Set-OrganizationConfig "
              "-AuditDisabled $true); medium when Get-AdminAuditLogConfig shows ingestion off and nothing says "
              "who turned it off. A mailbox whose AuditEnabled property alone is false is not reported."),
    symptom="beyond the procedure (an attacker covers their tracks)",
    references=("https://learn.microsoft.com/powershell/module/exchange/set-mailboxauditbypassassociation",
                "https://learn.microsoft.com/purview/audit-mailboxes",
                "https://learn.microsoft.com/powershell/module/exchange/set-adminauditlogconfig",
                "https://learn.microsoft.com/purview/audit-log-enable-disable"),
    scope="mailbox",
    tenant_findings=True,
    needs=("audit_records|mailbox|audit_bypass|audit_config|tenant_audit_records",),
    advice=("turn auditing back on: Set-AdminAuditLogConfig -UnifiedAuditLogIngestionEnabled $true, "
            "Set-MailboxAuditBypassAssociation -AuditBypassEnabled $false, Set-Mailbox -AuditLogAgeLimit 90 "
            "(Exchange Online PowerShell); events not recorded meanwhile are lost"),
)

_FALSE = {"false", "$false", "0"}
_TRUE = {"true", "$true", "1"}
_ZERO_DAYS = {"0", "00:00:00", "0.00:00:00", "0:00:00"}


def _records(bundle: EvidenceBundle, kind: str) -> list[Mapping[str, Any]]:
    try:
        return bundle.records(kind)  # type: ignore[arg-type]
    except ArtifactMissing:
        return []


def _change(record: Mapping[str, Any]) -> dict[str, Any]:
    return {"user": text(record, "UserId"), "operation": text(record, "Operation"),
            "time": text(record, "CreationTime"), "ip": normalise_ip(text(record, "ClientIP", "ClientIPAddress")),
            "record": text(record, "Id")}


def _is_this_mailbox(identity: str | None, names: set[str]) -> bool:
    return bool(identity) and (identity or "").casefold().rsplit("\\", 1)[-1] in names


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    upn = user_label(bundle)
    names = {a for a in context.own_addresses} | {upn.casefold(), user_id(bundle).casefold()}
    out: list[Finding] = []
    seen: set[str] = set()

    def add(key: str, severity: Severity, title: str, setting: str, value: Any, reasons: list[str],
            records: list[Mapping[str, Any]], *, scope: Scope | None = None) -> None:
        if key in seen:
            return
        seen.add(key)
        times = [t for r in records if (t := when(r, "CreationTime"))]
        moment: datetime | None = min(times) if times else None
        out.append(Finding(METADATA.id, severity, title, Artifact("auditConfig", key),
                           evidence={"setting": setting, "value": value,
                                     "changedBy": [c for r in records if (c := _change(r))["user"]]},
                           reasons=tuple(reasons), time=moment, symptom=METADATA.symptom,
                           scope=scope))

    # mailbox level: the user's own audit records and the tenant-wide admin ones, each record once
    records = {text(r, "Id") or str(id(r)): r for kind in ("audit_records", "tenant_audit_records")
               for r in _records(bundle, kind)}.values()
    for r in sorted(records, key=lambda r: text(r, "CreationTime") or ""):
        operation = (text(r, "Operation") or "").lower()
        params = audit_parameters(r)
        target = params.get("Identity") or text(r, "ObjectId")
        by = f"{text(r, 'Operation')} by {text(r, 'UserId') or '?'} from {text(r, 'ClientIP') or '?'}"
        if operation == "set-mailboxauditbypassassociation" and params.get("AuditBypassEnabled", "").lower() in _TRUE \
                and _is_this_mailbox(target, names):
            add(f"{upn}:auditBypass", Severity.HIGH, f"Mailbox audit logging is bypassed for {upn}: nothing the "
                "account does to mailboxes is recorded.", "AuditBypassEnabled", True, [by], [r])
        elif operation == "set-mailbox" and _is_this_mailbox(target, names):
            if params.get("AuditLogAgeLimit", "x").strip() in _ZERO_DAYS:
                add(f"{upn}:auditLogAgeLimit", Severity.HIGH, f"The mailbox of {upn} keeps its audit records for "
                    "zero days.", "AuditLogAgeLimit", params["AuditLogAgeLimit"], [by], [r])
            if params.get("AuditEnabled", "").lower() in _FALSE:
                add(f"{upn}:auditEnabled", Severity.MEDIUM, f"Mailbox auditing was turned off for {upn}.",
                    "AuditEnabled", False, [by, "Exchange's default mailbox auditing ignores this setting, but "
                                                "someone tried to stop the mailbox being audited"], [r])
        elif operation == "set-adminauditlogconfig" and \
                params.get("UnifiedAuditLogIngestionEnabled", "").lower() in _FALSE:
            add("tenant:unifiedAuditLogIngestion", Severity.HIGH, "Unified audit log ingestion was turned off for "
                "the whole tenant: no sign-in, mailbox or admin event is recorded.",
                "UnifiedAuditLogIngestionEnabled", False, [by], [r], scope="tenant")
        elif operation == "set-organizationconfig" and params.get("AuditDisabled", "").lower() in _TRUE:
            add("tenant:auditDisabled", Severity.HIGH, "Mailbox auditing was turned off for the whole organisation.",
                "AuditDisabled", True, [by], [r], scope="tenant")
    # the state now, where nothing in the audit log already said it
    for b in _records(bundle, "audit_bypass"):
        if flag(b, "AuditBypassEnabled") is True:
            add(f"{upn}:auditBypass", Severity.HIGH, f"Mailbox audit logging is bypassed for {upn}: nothing the "
                "account does to mailboxes is recorded.", "AuditBypassEnabled", True,
                ["Get-MailboxAuditBypassAssociation shows AuditBypassEnabled"], [])
    if isinstance(bundle.mailbox, Mapping):
        limit = text(bundle.mailbox, "AuditLogAgeLimit")
        if limit is not None and limit.strip() in _ZERO_DAYS:
            add(f"{upn}:auditLogAgeLimit", Severity.HIGH, f"The mailbox of {upn} keeps its audit records for zero "
                "days.", "AuditLogAgeLimit", limit, ["Get-Mailbox shows AuditLogAgeLimit " + limit], [])
    if isinstance(bundle.audit_config, Mapping) and flag(bundle.audit_config, "UnifiedAuditLogIngestionEnabled") \
            is False:
        add("tenant:unifiedAuditLogIngestion", Severity.MEDIUM, "Unified audit log ingestion is off for the whole "
            "tenant: no sign-in, mailbox or admin event is recorded.", "UnifiedAuditLogIngestionEnabled", False,
            ["Get-AdminAuditLogConfig shows UnifiedAuditLogIngestionEnabled False; the audit log does not say who "
             "turned it off or when"], [], scope="tenant")
    return out
