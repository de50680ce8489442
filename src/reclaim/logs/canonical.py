"""Each export's records in the shape the checks read: the Management Activity API record for audit records,
Graph's ``signIn`` and ``directoryAudit`` for sign-ins and directory changes.

Sentinel tables rename a few fields (``OfficeId``, ``TimeGenerated``, ``IPAddress``...) and keep nested
objects as JSON text in CSV cells; those are unwrapped here. Only the records the analysis reads are
converted (a few per user), never the whole input.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from reclaim.logs.formats import Format, column

_OFFICE = {"OfficeId": "Id", "OfficeWorkload": "Workload", "OfficeObjectId": "ObjectId",
           "Client_IPAddress": "ClientIP", "TimeGenerated": "CreationTime"}
_SIGNIN = {"Id": "id", "TimeGenerated": "createdDateTime", "CreatedDateTime": "createdDateTime",
           "IPAddress": "ipAddress", "LocationDetails": "location", "Status": "status",
           "DeviceDetail": "deviceDetail", "UserPrincipalName": "userPrincipalName", "UserId": "userId",
           "AppDisplayName": "appDisplayName", "AppId": "appId", "ClientAppUsed": "clientAppUsed",
           "UserAgent": "userAgent", "RiskLevelDuringSignIn": "riskLevelDuringSignIn",
           "RiskEventTypes": "riskEventTypes", "RiskState": "riskState", "CorrelationId": "correlationId",
           "SessionId": "sessionId", "ConditionalAccessStatus": "conditionalAccessStatus",
           "AuthenticationRequirement": "authenticationRequirement", "IsInteractive": "isInteractive",
           "ResourceDisplayName": "resourceDisplayName", "UserDisplayName": "userDisplayName"}
_AUDIT = {"Id": "id", "TimeGenerated": "activityDateTime", "ActivityDateTime": "activityDateTime",
          "OperationName": "activityDisplayName", "ActivityDisplayName": "activityDisplayName",
          "Category": "category", "CorrelationId": "correlationId", "Result": "result",
          "ResultReason": "resultReason", "InitiatedBy": "initiatedBy", "TargetResources": "targetResources",
          "AdditionalDetails": "additionalDetails", "LoggedByService": "loggedByService",
          "OperationType": "operationType"}


def unwrap(value: Any) -> Any:
    """A CSV cell or Sentinel field holding JSON text (``"[{...}]"``, ``"{...}"``) as the value it encodes."""
    if isinstance(value, str):
        v = value.strip()
        if v[:1] in "[{" and v[-1:] in "]}":
            try:
                return json.loads(v)
            except json.JSONDecodeError:
                return value
    return value


def _renamed(raw: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        name = column(str(key))
        target = names.get(name, name)
        if value is None or value == "":
            continue
        out.setdefault(target, unwrap(value))
    return out


def audit_record(fmt: Format, raw: Mapping[str, Any], record_id: str | None) -> dict[str, Any]:
    """A unified audit record (Management Activity API shape)."""
    out = _renamed(raw, _OFFICE) if fmt is Format.SENTINEL_OFFICE else {k: unwrap(v) for k, v in raw.items()}
    if record_id and not out.get("Id"):
        out["Id"] = record_id
    return out


def sign_in(fmt: Format, raw: Mapping[str, Any], record_id: str | None) -> dict[str, Any]:
    """A Graph ``signIn``; a Sentinel row's ``ResultType`` becomes ``status.errorCode``."""
    if fmt is Format.SENTINEL_SIGNIN:
        out = _renamed(raw, _SIGNIN)
        found = out.get("status")
        status: dict[str, Any] = dict(found) if isinstance(found, dict) else {}
        code = raw.get("ResultType")
        if code not in (None, ""):
            try:
                status = {**status, "errorCode": int(str(code))}
            except ValueError:
                status = {**status, "errorCode": code}
        out["status"] = status
    else:
        out = {k: unwrap(v) for k, v in raw.items()}
    if record_id and not out.get("id"):
        out["id"] = record_id
    return out


def directory_audit(fmt: Format, raw: Mapping[str, Any], record_id: str | None) -> dict[str, Any]:
    """A Graph ``directoryAudit``."""
    out = _renamed(raw, _AUDIT) if fmt is Format.SENTINEL_AUDIT else {k: unwrap(v) for k, v in raw.items()}
    if record_id and not out.get("id"):
        out["id"] = record_id
    return out


def login_as_sign_in(record: Mapping[str, Any]) -> dict[str, Any]:
    """A unified audit ``UserLoggedIn`` / ``UserLoginFailed`` record as a Graph ``signIn`` (what the sign-in
    checks read: time, user, address, outcome, user agent)."""
    agent = next((str(p.get("Value")) for p in record.get("ExtendedProperties") or []
                  if isinstance(p, Mapping) and p.get("Name") == "UserAgent"), None)
    failed = record.get("Operation") == "UserLoginFailed"
    code: Any = 0
    if failed:
        error = str(record.get("LogonError") or record.get("ErrorNumber") or "")
        code = int(error) if error.isdigit() else (error or 50126)
    return {"id": record.get("Id"), "createdDateTime": record.get("CreationTime"),
            "userPrincipalName": record.get("UserId"), "ipAddress": record.get("ClientIP") or
            record.get("ActorIpAddress"), "userAgent": agent, "status": {"errorCode": code},
            "appId": record.get("ApplicationId"), "source": "unified audit log " + str(record.get("Operation"))}


def convert(fmt: Format, raw_text: str, record_id: str | None) -> dict[str, Any] | None:
    """The record ``raw_text`` of format ``fmt`` in its canonical shape; ``None`` if it is not a JSON object."""
    try:
        raw = json.loads(raw_text)
    except (json.JSONDecodeError, TypeError):
        return None
    if not isinstance(raw, dict):
        return None
    if fmt.kind == "signIn":
        return sign_in(fmt, raw, record_id)
    if fmt.kind == "directoryAudit":
        return directory_audit(fmt, raw, record_id)
    return audit_record(fmt, raw, record_id)


__all__ = ["audit_record", "convert", "directory_audit", "login_as_sign_in", "sign_in", "unwrap"]
