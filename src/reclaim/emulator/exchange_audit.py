"""Exchange audit settings: ``Get-AdminAuditLogConfig`` and ``Get-MailboxAuditBypassAssociation``.

Output properties are those the real objects carry (Microsoft's class reference: ``AdminAuditLogConfig``
members AdminAuditLogAgeLimit, AdminAuditLogCmdlets, AdminAuditLogEnabled, AdminAuditLogExcludedCmdlets,
AdminAuditLogParameters, LogLevel, TestCmdletLoggingEnabled, plus Exchange Online's
UnifiedAuditLogIngestionEnabled and UnifiedAuditLogFirstOptInDate; ``MailboxAuditBypassAssociation`` members
AuditBypassEnabled, Name, ObjectId), with the ``Identity`` / ``Id`` / ``Guid`` every Exchange object has.

Fixture: ``tenant.settings.unifiedAuditLogIngestionEnabled`` (default true) and
``tenant.settings.adminAuditLogEnabled`` (default true); a user's ``mailbox.auditBypassEnabled`` (default false).
"""

from __future__ import annotations

from typing import Any

from reclaim.emulator.exchange_cmdlets import (
    CmdletContext,
    Item,
    Params,
    cmdlet,
    not_found,
    resolve_recipient,
    result_size,
)
from reclaim.emulator.exchange_objects import exo_datetime, mailbox_name, stable_guid

JSON = dict[str, Any]

_COLLECTION = "#Collection(String)"


@cmdlet("Get-AdminAuditLogConfig", "Default:")
def get_admin_audit_log_config(ctx: CmdletContext, p: Params) -> list[Item]:
    settings = ctx.state.settings
    ingestion = bool(settings.get("unifiedAuditLogIngestionEnabled", True))
    first_opt_in = settings.get("unifiedAuditLogFirstOptInDate")
    tenant = ctx.state.tenant_id
    return [{
        "Identity": "Admin Audit Log Settings",
        "Id": "Admin Audit Log Settings",
        "Name": "Admin Audit Log Settings",
        "Guid": stable_guid("adminauditlogconfig", tenant),
        "AdminAuditLogEnabled": bool(settings.get("adminAuditLogEnabled", True)),
        "UnifiedAuditLogIngestionEnabled": ingestion,
        "UnifiedAuditLogFirstOptInDate": exo_datetime(str(first_opt_in)) if first_opt_in else None,
        "AdminAuditLogCmdlets@odata.type": _COLLECTION,
        "AdminAuditLogCmdlets": ["*"],
        "AdminAuditLogParameters@odata.type": _COLLECTION,
        "AdminAuditLogParameters": ["*"],
        "AdminAuditLogExcludedCmdlets@odata.type": _COLLECTION,
        "AdminAuditLogExcludedCmdlets": [],
        "AdminAuditLogAgeLimit": "90.00:00:00",
        "LogLevel": "None",
        "TestCmdletLoggingEnabled": False,
        "IsValid": True,
        "ObjectState": "Unchanged",
    }]


def _bypass_view(user: JSON) -> JSON:
    mbx = user.get("mailbox") or {}
    name = mailbox_name(user) if user.get("mailbox") is not None else str(user["id"])
    return {
        "Identity": name,
        "Id": name,
        "Name": name,
        "Guid": stable_guid("recipient", str(user["id"])),
        "ObjectId": name,
        "AuditBypassEnabled": bool(mbx.get("auditBypassEnabled", False)),
        "IsValid": True,
        "ObjectState": "Unchanged",
    }


@cmdlet("Get-MailboxAuditBypassAssociation", """
    Default: Identity:MailboxAuditBypassAssociationIdParameter ResultSize:Unlimited
    """)
def get_mailbox_audit_bypass_association(ctx: CmdletContext, p: Params) -> list[Item]:
    key = p.text("Identity")
    if key:
        user = resolve_recipient(ctx, key)
        if user is None:
            raise not_found(key)
        return [_bypass_view(user)]
    return result_size(ctx, p, [_bypass_view(u) for u in ctx.state.users()])
