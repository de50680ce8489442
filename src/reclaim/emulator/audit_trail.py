"""The unified audit log's own records of changes made through the emulator.

Exchange Online writes an audit record for every change this module covers, and the watch reads those
records to know which mailboxes to look at:

- an admin cmdlet that changes a mailbox or the organisation (``New-InboxRule``, ``Set-InboxRule``,
  ``Set-Mailbox`` ...) is an ``ExchangeAdmin`` record (``RecordType`` 1): ``Operation`` is the cmdlet,
  ``ObjectId`` the object it changed, ``Parameters`` the parameters as ``{Name, Value}`` pairs;
- an inbox rule created or changed through Graph / REST / EWS is the mailbox audit action
  ``UpdateInboxRules`` (``ExchangeItem``, ``RecordType`` 2) of the mailbox's owner (audited by default for
  owner, delegate and admin since mailbox auditing on by default).

The records go to the top-level ``auditRecords`` list the audit log query API searches
(:mod:`reclaim.emulator.graph_audit`). The real service makes them searchable after 60-90 minutes at
best; the emulator makes them searchable at once (the watch's look-back covers the delay, see
``reclaim.watch.changes``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from reclaim.emulator.state import TenantState

JSON = dict[str, Any]

#: Admin cmdlets whose success is written to the audit log (the ones the watch names users from, and the
#: tenant-wide ones beside them).
AUDITED_CMDLETS = frozenset(c.lower() for c in (
    "New-InboxRule", "Set-InboxRule", "Enable-InboxRule", "Set-Mailbox", "Add-MailboxPermission",
    "Add-RecipientPermission", "Set-MailboxJunkEmailConfiguration", "New-TransportRule", "Set-TransportRule",
    "Set-MailboxAutoReplyConfiguration"))


def _stamp(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%S")  # the Management Activity API's format (UTC, no zone)


def _append(state: TenantState, record: JSON) -> None:
    records: list[JSON] = state.data.setdefault("auditRecords", [])
    records.append(record)


def admin_cmdlet(state: TenantState, now: datetime, cmdlet: str, parameters: JSON, *, caller: str) -> None:
    """An ``ExchangeAdmin`` record for a successful admin cmdlet."""
    target = next((str(v) for k, v in parameters.items() if k.lower() in ("identity", "mailbox")), "")
    name = next((str(v) for k, v in parameters.items() if k.lower() == "name"), "")
    object_id = f"{target}\\{name}" if cmdlet.lower() == "new-inboxrule" and name else target
    _append(state, {
        "Id": str(uuid.uuid4()), "CreationTime": _stamp(now), "RecordType": 1, "Operation": cmdlet,
        "OrganizationId": state.tenant_id, "UserType": 2, "UserKey": caller, "UserId": caller,
        "Workload": "Exchange", "ResultStatus": "True", "ObjectId": object_id, "AppId": caller,
        "Parameters": [{"Name": k, "Value": v if isinstance(v, str) else repr(v)} for k, v in parameters.items()],
    })


def mailbox_rules_updated(state: TenantState, now: datetime, owner: JSON, *, caller: str) -> None:
    """The ``UpdateInboxRules`` mailbox audit record of a rule created or changed through Graph."""
    upn = str(owner.get("userPrincipalName") or "")
    _append(state, {
        "Id": str(uuid.uuid4()), "CreationTime": _stamp(now), "RecordType": 2, "Operation": "UpdateInboxRules",
        "OrganizationId": state.tenant_id, "UserType": 0, "UserKey": caller, "UserId": upn,
        "Workload": "Exchange", "ResultStatus": "Succeeded", "ObjectId": upn, "MailboxOwnerUPN": upn,
        "MailboxGuid": str(owner.get("id") or ""), "LogonType": 0, "AppId": caller,
    })
