"""Write records in each export format, as the tools that make them write them (tests and ``bench logs``).

The input is Management Activity API records (for the audit formats), Graph ``signIn`` objects and Graph
``directoryAudit`` objects; the output is byte-for-byte the layout of each export: Purview's CSV (CRLF, US
dates, numeric ``RecordType``, ``AuditData`` JSON), Sentinel's CSV (BOM, ``TimeGenerated [UTC]`` as
``4/28/2021, 2:54:37.000 PM``, JSON cells over several lines), Graph's ``{"value": [...]}``, JSON lines.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: RecordType names → numbers (Office 365 Management Activity API schema, AuditLogRecordType)
RECORD_TYPES = {"ExchangeAdmin": 1, "ExchangeItem": 2, "ExchangeItemGroup": 3, "SharePoint": 4,
                "SharePointFileOperation": 6, "AzureActiveDirectory": 8, "AzureActiveDirectoryAccountLogon": 9,
                "SharePointSharingOperation": 14, "AzureActiveDirectoryStsLogon": 15, "MicrosoftTeams": 25,
                "ExchangeItemAggregated": 50}


def _dt(value: Any) -> datetime:
    text = str(value or "1970-01-01T00:00:00")
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def us_time(value: Any) -> str:
    """``9/26/2023 1:56:15 AM`` (Purview, Search-UnifiedAuditLog)."""
    t = _dt(value)
    return f"{t.month}/{t.day}/{t.year} {t.hour % 12 or 12}:{t.minute:02}:{t.second:02} {'AM' if t.hour < 12 else 'PM'}"


def sentinel_time(value: Any) -> str:
    """``4/28/2021, 2:54:37.000 PM`` (Sentinel / Log Analytics CSV export)."""
    t = _dt(value)
    return (f"{t.month}/{t.day}/{t.year}, {t.hour % 12 or 12}:{t.minute:02}:{t.second:02}."
            f"{t.microsecond // 1000:03} {'AM' if t.hour < 12 else 'PM'}")


def _csv(rows: Iterable[Mapping[str, Any]], columns: list[str], *, bom: bool = False) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return ("\ufeff" if bom else "") + buf.getvalue()


def purview_csv(records: Iterable[Mapping[str, Any]]) -> str:
    return _csv(({"RecordId": r.get("Id"), "CreationDate": us_time(r.get("CreationTime")),
                  "RecordType": RECORD_TYPES.get(str(r.get("RecordType")), r.get("RecordType")),
                  "Operation": r.get("Operation"), "UserId": r.get("UserId"),
                  "AuditData": json.dumps(r, separators=(",", ":")), "AssociatedAdminUnits": "",
                  "AssociatedAdminUnitsNames": ""} for r in records),
                ["RecordId", "CreationDate", "RecordType", "Operation", "UserId", "AuditData",
                 "AssociatedAdminUnits", "AssociatedAdminUnitsNames"])


def json_array(objects: Iterable[Mapping[str, Any]]) -> str:
    return json.dumps(list(objects), indent=2)


def json_lines(objects: Iterable[Mapping[str, Any]]) -> str:
    return "".join(json.dumps(o, separators=(",", ":")) + "\n" for o in objects)


def graph_value(objects: Iterable[Mapping[str, Any]], context: str = "auditLogs/signIns") -> str:
    return json.dumps({"@odata.context": f"https://graph.microsoft.com/v1.0/$metadata#{context}",
                       "value": list(objects)}, indent=2)


def graph_audit_query(records: Iterable[Mapping[str, Any]]) -> str:
    """``GET /security/auditLog/queries/{id}/records``."""
    return graph_value(({"id": r.get("Id"), "createdDateTime": r.get("CreationTime"),
                         "auditLogRecordType": str(r.get("RecordType") or "").lower(),
                         "operation": r.get("Operation"), "organizationId": r.get("OrganizationId"),
                         "userType": "regular", "userId": r.get("UserKey"), "service": r.get("Workload"),
                         "objectId": r.get("ObjectId"), "userPrincipalName": r.get("UserId"),
                         "clientIp": r.get("ClientIP"), "administrativeUnits": [], "auditData": dict(r)}
                        for r in records), "security/auditLog/queries('q')/records")


def sentinel_office_csv(records: Iterable[Mapping[str, Any]]) -> str:
    rows = []
    for r in records:
        rows.append({"TenantId": r.get("OrganizationId"), "TimeGenerated [UTC]": sentinel_time(r.get("CreationTime")),
                     "RecordType": r.get("RecordType"), "Operation": r.get("Operation"), "UserId": r.get("UserId"),
                     "ClientIP": r.get("ClientIP"), "OfficeWorkload": r.get("Workload"), "OfficeId": r.get("Id"),
                     "OfficeObjectId": r.get("ObjectId"), "SessionId": r.get("SessionId"),
                     "Parameters": json.dumps(r["Parameters"], indent=1) if r.get("Parameters") else "",
                     "Folders": json.dumps(r["Folders"], indent=1) if r.get("Folders") else "",
                     "AppAccessContext": json.dumps(r["AppAccessContext"]) if r.get("AppAccessContext") else "",
                     "Item": json.dumps(r["Item"]) if r.get("Item") else "", "Type": "OfficeActivity"})
    return _csv(rows, ["TenantId", "TimeGenerated [UTC]", "RecordType", "Operation", "UserId", "ClientIP",
                       "OfficeWorkload", "OfficeId", "OfficeObjectId", "SessionId", "Parameters", "Folders",
                       "AppAccessContext", "Item", "Type"], bom=True)


def sentinel_signin_csv(sign_ins: Iterable[Mapping[str, Any]]) -> str:
    rows = [{"TenantId": "t", "TimeGenerated [UTC]": sentinel_time(s.get("createdDateTime")), "Id": s.get("id"),
             "UserPrincipalName": s.get("userPrincipalName"), "IPAddress": s.get("ipAddress"),
             "AppDisplayName": s.get("appDisplayName"), "ClientAppUsed": s.get("clientAppUsed"),
             "UserAgent": s.get("userAgent"), "ResultType": str((s.get("status") or {}).get("errorCode", 0)),
             "LocationDetails": json.dumps(s.get("location") or {}, indent=1), "Type": "SigninLogs"}
            for s in sign_ins]
    return _csv(rows, ["TenantId", "TimeGenerated [UTC]", "Id", "UserPrincipalName", "IPAddress", "AppDisplayName",
                       "ClientAppUsed", "UserAgent", "ResultType", "LocationDetails", "Type"], bom=True)


def sentinel_auditlogs_csv(audits: Iterable[Mapping[str, Any]]) -> str:
    rows = [{"TenantId": "t", "TimeGenerated [UTC]": sentinel_time(a.get("activityDateTime")), "Id": a.get("id"),
             "OperationName": a.get("activityDisplayName"), "Category": a.get("category"), "Result": a.get("result"),
             "InitiatedBy": json.dumps(a.get("initiatedBy") or {}, indent=1),
             "TargetResources": json.dumps(a.get("targetResources") or [], indent=1),
             "LoggedByService": a.get("loggedByService"), "Type": "AuditLogs"} for a in audits]
    return _csv(rows, ["TenantId", "TimeGenerated [UTC]", "Id", "OperationName", "Category", "Result", "InitiatedBy",
                       "TargetResources", "LoggedByService", "Type"], bom=True)


def cloud_app_events(records: Iterable[Mapping[str, Any]]) -> str:
    return json_lines({"Timestamp": r.get("CreationTime"), "ActionType": r.get("Operation"),
                       "Application": "Microsoft Exchange Online", "ApplicationId": 20893,
                       "AccountObjectId": r.get("UserKey"), "AccountDisplayName": r.get("UserId"),
                       "IPAddress": r.get("ClientIP"), "ReportId": f"report-{r.get('Id')}",
                       "RawEventData": dict(r)} for r in records)


def write(path: Path, text: str) -> Path:
    """Write ``text`` exactly (no newline translation)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    return path


__all__ = ["RECORD_TYPES", "cloud_app_events", "graph_audit_query", "graph_value", "json_array", "json_lines",
           "purview_csv", "sentinel_auditlogs_csv", "sentinel_office_csv", "sentinel_signin_csv", "sentinel_time",
           "us_time", "write"]
