"""Graph: sign-in and directory audit logs, Identity Protection, message trace, security alerts and the
unified audit log query API.

State: top-level ``signIns``, ``directoryAudits``, ``riskDetections``, ``messageTraces``, ``alerts`` and
``auditRecords`` (Management Activity API records); risky users are derived from each user's ``risk``
object (``riskLevel``, ``riskState``, ``riskDetail``, ``riskLastUpdatedDateTime``). Audit log queries
created through ``POST /security/auditLog/queries`` are kept in a top-level ``auditLogQueries`` list.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta
from typing import Any

from reclaim.emulator.backends import directory
from reclaim.emulator.graph import ROUTER
from reclaim.emulator.licensing import require_p1, require_p2
from reclaim.emulator.odata import page, select
from reclaim.emulator.odata_filter import (
    BoolOp,
    Compare,
    Expr,
    Literal,
    Prop,
    apply_filter,
    apply_orderby,
    check_allowed,
    comparisons,
    evaluate,
    parse_filter,
    walk,
)
from reclaim.emulator.state import iso, new_id, parse_iso
from reclaim.emulator.wire import ApiError, ApiRequest, ApiResponse

JSON = dict[str, Any]

AUDIT_LOG_READ = "AuditLog.Read.All"
RISKY_USER_READ = ("IdentityRiskyUser.Read.All", "IdentityRiskyUser.ReadWrite.All")
RISKY_USER_WRITE = ("IdentityRiskyUser.ReadWrite.All",)
RISK_EVENT_READ = ("IdentityRiskEvent.Read.All", "IdentityRiskEvent.ReadWrite.All")
TRACE_READ = ("ExchangeMessageTrace.Read.All",)
ALERT_READ = ("SecurityAlert.Read.All", "SecurityAlert.ReadWrite.All")
AUDIT_QUERY_READ = ("AuditLogsQuery.Read.All",)


def require_audit_log_read(req: ApiRequest) -> None:
    """The audit log APIs name the missing permission in their own error code."""
    if not req.claims.has_any((AUDIT_LOG_READ,)):
        raise ApiError(403, "Authentication_MSGraphPermissionMissing",
                       f"Calling principal does not have required MSGraph permissions {AUDIT_LOG_READ}")


def _data(req: ApiRequest, section: str, *, write: bool = False) -> list[JSON]:
    """A top-level list of the state; created only for writes, so reads never change the dump."""
    if write:
        created: list[JSON] = req.state.data.setdefault(section, [])
        return created
    items: list[JSON] = req.state.data.get(section) or []
    return items


def _newest_first(items: list[JSON], prop: str) -> list[JSON]:
    return apply_orderby(items, f"{prop} desc")


def _query(req: ApiRequest, items: list[JSON], *, allowed: set[str], newest: str) -> list[JSON]:
    """Filter and order a log. The items are the state's own dicts: handlers only serialise them."""
    out = apply_filter(items, req.query.get("$filter"), allowed=allowed)
    return apply_orderby(out, req.query.get("$orderby") or f"{newest} desc")


# ---------------------------------------------------------------------------------------- sign-ins
_SIGNIN_FILTER = {"id", "userId", "userPrincipalName", "userDisplayName", "createdDateTime", "ipAddress",
                  "location/countryOrRegion", "location/city", "location/state", "clientAppUsed", "appId",
                  "appDisplayName", "status/errorCode", "conditionalAccessStatus", "isInteractive", "resourceId",
                  "resourceDisplayName", "riskLevelDuringSignIn", "riskLevelAggregated", "riskState",
                  "correlationId", "deviceDetail/operatingSystem", "deviceDetail/browser"}


@ROUTER.add("GET", "/auditLogs/signIns", throttle="auditLogs")
def list_sign_ins(req: ApiRequest) -> ApiResponse:
    require_audit_log_read(req)
    require_p1(req)
    items = _query(req, _data(req, "signIns"), allowed=_SIGNIN_FILTER, newest="createdDateTime")
    return ApiResponse(200, page(req, items, page_size=1000, max_top=1000,
                                 context=f"{req.base_url}/$metadata#auditLogs/signIns"))


@ROUTER.add("GET", "/auditLogs/signIns/{signin}", throttle="auditLogs")
def get_sign_in(req: ApiRequest, signin: str) -> ApiResponse:
    require_audit_log_read(req)
    require_p1(req)
    return _entity(req, _data(req, "signIns"), signin, "auditLogs/signIns")


def _entity(req: ApiRequest, items: list[JSON], key: str, context: str) -> ApiResponse:
    for item in items:
        if str(item.get("id", "")).lower() == key.lower():
            return ApiResponse(200, {"@odata.context": f"{req.base_url}/$metadata#{context}/$entity",
                                     **select(copy.deepcopy(item), req)})
    raise ApiError(404, "Request_ResourceNotFound", f"Resource '{key}' does not exist or one of its queried "
                   "reference-property objects are not present.")


# ---------------------------------------------------------------------------------------- directory audits
_AUDIT_FILTER = {"id", "activityDisplayName", "activityDateTime", "category", "correlationId", "result",
                 "loggedByService", "operationType", "targetResources", "initiatedBy/user/id",
                 "initiatedBy/user/userPrincipalName", "initiatedBy/user/displayName", "initiatedBy/app/appId",
                 "initiatedBy/app/displayName"}


@ROUTER.add("GET", "/auditLogs/directoryAudits", throttle="auditLogs")
def list_directory_audits(req: ApiRequest) -> ApiResponse:
    require_audit_log_read(req)
    items = _query(req, _data(req, "directoryAudits"), allowed=_AUDIT_FILTER, newest="activityDateTime")
    return ApiResponse(200, page(req, items, page_size=1000, max_top=1000,
                                 context=f"{req.base_url}/$metadata#auditLogs/directoryAudits"))


@ROUTER.add("GET", "/auditLogs/directoryAudits/{audit}", throttle="auditLogs")
def get_directory_audit(req: ApiRequest, audit: str) -> ApiResponse:
    require_audit_log_read(req)
    return _entity(req, _data(req, "directoryAudits"), audit, "auditLogs/directoryAudits")


# ---------------------------------------------------------------------------------------- Identity Protection
def _is_risky(user: JSON) -> bool:
    """Identity Protection lists users that are or were at risk (a dismissed or remediated user stays
    listed); a ``risk`` object that says none/none is a user Identity Protection never flagged."""
    risk = user.get("risk")
    if not isinstance(risk, dict):
        return False
    return risk.get("riskState", "none") not in (None, "none") or risk.get("riskLevel", "none") not in (None, "none")


def _risky_view(user: JSON) -> JSON:
    risk = user.get("risk") or {}
    return {
        "id": user["id"],
        "isDeleted": False,
        "isProcessing": False,
        "riskLastUpdatedDateTime": risk.get("riskLastUpdatedDateTime"),
        "riskLevel": risk.get("riskLevel", "none"),
        "riskState": risk.get("riskState", "none"),
        "riskDetail": risk.get("riskDetail", "none"),
        "userDisplayName": user.get("displayName"),
        "userPrincipalName": user.get("userPrincipalName"),
    }


_RISKY_FILTER = {"id", "userPrincipalName", "userDisplayName", "riskLevel", "riskState", "riskDetail",
                 "riskLastUpdatedDateTime", "isDeleted", "isProcessing"}


@ROUTER.add("GET", "/identityProtection/riskyUsers", permissions=RISKY_USER_READ, throttle="identityProtection")
def list_risky_users(req: ApiRequest) -> ApiResponse:
    require_p2(req)
    views = [_risky_view(u) for u in req.state.users() if _is_risky(u)]
    views = apply_filter(views, req.query.get("$filter"), allowed=_RISKY_FILTER)
    views = apply_orderby(views, req.query.get("$orderby") or "riskLastUpdatedDateTime desc")
    return ApiResponse(200, page(req, views, page_size=20, max_top=500,
                                 context=f"{req.base_url}/$metadata#identityProtection/riskyUsers"))


@ROUTER.add("GET", "/identityProtection/riskyUsers/{risky}", permissions=RISKY_USER_READ,
            throttle="identityProtection")
def get_risky_user(req: ApiRequest, risky: str) -> ApiResponse:
    require_p2(req)
    for user in req.state.users():
        if str(user.get("id", "")).lower() == risky.lower() and _is_risky(user):
            ctx = f"{req.base_url}/$metadata#identityProtection/riskyUsers/$entity"
            return ApiResponse(200, {"@odata.context": ctx, **select(_risky_view(user), req)})
    raise ApiError(404, "itemNotFound", f"The risky user '{risky}' was not found.")


def _user_ids(req: ApiRequest) -> list[JSON]:
    body = req.body
    ids = body.get("userIds") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise ApiError(400, "BadRequest", "The request body must contain a non-empty 'userIds' array.")
    if len(ids) > 60:
        raise ApiError(400, "BadRequest", "At most 60 user ids can be sent in one request.")
    users = []
    for uid in ids:
        found = next((u for u in req.state.users() if str(u.get("id", "")).lower() == uid.lower()), None)
        if found is None:
            raise ApiError(400, "BadRequest", f"Invalid user id '{uid}'.")
        users.append(found)
    return users


@ROUTER.add("POST", "/identityProtection/riskyUsers/confirmCompromised", permissions=RISKY_USER_WRITE,
            throttle="identityProtection")
def confirm_compromised(req: ApiRequest) -> ApiResponse:
    require_p2(req)
    for user in _user_ids(req):
        directory.confirm_compromised(req.state.data, user, req.clock.now())
    return ApiResponse(204)


@ROUTER.add("POST", "/identityProtection/riskyUsers/dismiss", permissions=RISKY_USER_WRITE,
            throttle="identityProtection")
def dismiss(req: ApiRequest) -> ApiResponse:
    require_p2(req)
    for user in _user_ids(req):
        directory.dismiss_risk(user, req.clock.now())
    return ApiResponse(204)


_DETECTION_FILTER = {"id", "userId", "userPrincipalName", "userDisplayName", "riskEventType", "riskLevel",
                     "riskState", "riskDetail", "detectedDateTime", "activityDateTime", "lastUpdatedDateTime",
                     "ipAddress", "source", "detectionTimingType", "location/countryOrRegion"}


@ROUTER.add("GET", "/identityProtection/riskDetections", permissions=RISK_EVENT_READ, throttle="identityProtection")
def list_risk_detections(req: ApiRequest) -> ApiResponse:
    require_p2(req)
    items = _query(req, _data(req, "riskDetections"), allowed=_DETECTION_FILTER, newest="detectedDateTime")
    return ApiResponse(200, page(req, items, page_size=500, max_top=500,
                                 context=f"{req.base_url}/$metadata#identityProtection/riskDetections"))


@ROUTER.add("GET", "/identityProtection/riskDetections/{detection}", permissions=RISK_EVENT_READ,
            throttle="identityProtection")
def get_risk_detection(req: ApiRequest, detection: str) -> ApiResponse:
    require_p2(req)
    return _entity(req, _data(req, "riskDetections"), detection, "identityProtection/riskDetections")


# ---------------------------------------------------------------------------------------- message trace
_TRACE_FILTER = {"receivedDateTime", "senderAddress", "recipientAddress", "status", "messageId", "subject",
                 "fromIP", "toIP", "id"}
TRACE_MAX_WINDOW = timedelta(days=10)
TRACE_MAX_AGE = timedelta(days=90)
TRACE_DEFAULT_WINDOW = timedelta(hours=48)


def _trace_window(req: ApiRequest, bounds: list[tuple[str, str, Any]]) -> tuple[datetime, datetime]:
    """The receivedDateTime window of a message trace query (default: the last 48 hours)."""
    now = req.clock.now()
    starts: list[datetime] = []
    ends: list[datetime] = []
    for prop, op, value in bounds:
        if prop.lower() != "receiveddatetime":
            continue
        if not isinstance(value, datetime):
            raise ApiError(400, "BadRequest", "receivedDateTime must be compared with a DateTimeOffset value.")
        if op == "ge":
            starts.append(value)
        else:
            ends.append(value)
    end = min(ends) if ends else now
    start = max(starts) if starts else end - TRACE_DEFAULT_WINDOW
    if start > end:
        raise ApiError(400, "BadRequest", "The start of the receivedDateTime range must be before its end.")
    if end - start > TRACE_MAX_WINDOW:
        raise ApiError(400, "BadRequest", "The receivedDateTime range must not exceed 10 days.")
    if start < now - TRACE_MAX_AGE:
        raise ApiError(400, "BadRequest", "The receivedDateTime range must start within the last 90 days.")
    return start, end


def _check_trace_filter(expr: Expr) -> None:
    """Message trace accepts a conjunction only: ``receivedDateTime`` with ge / le, other properties with eq."""
    for node in walk(expr):
        if isinstance(node, BoolOp) and node.op == "and":
            continue
        if isinstance(node, Compare) and isinstance(node.left, Prop) and isinstance(node.right, Literal):
            allowed_ops = ("ge", "le") if node.left.name.lower() == "receiveddatetime" else ("eq",)
            if node.op in allowed_ops:
                continue
            raise ApiError(400, "BadRequest", f"Invalid filter clause: operator '{node.op}' is not supported for "
                           f"'{node.left.name}' (supported: {', '.join(allowed_ops)}).")
        raise ApiError(400, "BadRequest", "Invalid filter clause: message trace supports only 'and' of "
                       "'property op value' comparisons.")


def _in_window(trace: JSON, start: datetime, end: datetime) -> bool:
    raw = trace.get("receivedDateTime")
    if not isinstance(raw, str):
        return False
    try:
        when = parse_iso(raw)
    except ValueError:
        return False
    return start <= when <= end


@ROUTER.add("GET", "/admin/exchange/tracing/messageTraces", permissions=TRACE_READ, throttle="messageTrace")
def list_message_traces(req: ApiRequest) -> ApiResponse:
    raw_top = req.query.get("$top")
    if raw_top is not None and (not raw_top.isdigit() or not 1 <= int(raw_top) <= 5000):
        raise ApiError(400, "BadRequest", f"Invalid value '{raw_top}' for $top: it must be between 1 and 5000.")
    text = req.query.get("$filter")
    items = _data(req, "messageTraces")
    if text:
        expr = parse_filter(text)
        check_allowed(expr, _TRACE_FILTER)
        _check_trace_filter(expr)
        start, end = _trace_window(req, comparisons(expr))
        items = [t for t in items if _in_window(t, start, end) and evaluate(expr, t)]
    else:
        start, end = _trace_window(req, [])
        items = [t for t in items if _in_window(t, start, end)]
    items = _newest_first(items, "receivedDateTime")
    return ApiResponse(200, page(req, items, page_size=1000, max_top=5000,
                                 context=f"{req.base_url}/$metadata#admin/exchange/tracing/messageTraces"))


# ---------------------------------------------------------------------------------------- alerts
_ALERT_FILTER = {"id", "title", "status", "severity", "serviceSource", "detectionSource", "classification",
                 "determination", "category", "createdDateTime", "lastUpdateDateTime", "assignedTo",
                 "incidentId", "providerAlertId", "evidence"}


@ROUTER.add("GET", "/security/alerts_v2", permissions=ALERT_READ, throttle="security")
def list_alerts(req: ApiRequest) -> ApiResponse:
    items = _query(req, _data(req, "alerts"), allowed=_ALERT_FILTER, newest="createdDateTime")
    return ApiResponse(200, page(req, items, page_size=2000, max_top=2000,
                                 context=f"{req.base_url}/$metadata#security/alerts_v2"))


@ROUTER.add("GET", "/security/alerts_v2/{alert}", permissions=ALERT_READ, throttle="security")
def get_alert(req: ApiRequest, alert: str) -> ApiResponse:
    return _entity(req, _data(req, "alerts"), alert, "security/alerts_v2")


# ---------------------------------------------------------------------------------------- audit log queries
#: Management Activity API ``RecordType`` numbers → members of v1.0's ``microsoft.graph.security.
#: auditLogRecordType`` (the enum's values are those numbers; its members are written as here, PascalCase).
RECORD_TYPES: dict[int, str] = {
    1: "ExchangeAdmin", 2: "ExchangeItem", 3: "ExchangeItemGroup", 4: "SharePoint",
    6: "SharePointFileOperation", 8: "AzureActiveDirectory", 9: "AzureActiveDirectoryAccountLogon",
    14: "SharePointSharingOperation", 15: "AzureActiveDirectoryStsLogon", 18: "SecurityComplianceCenterEOPCmdlet",
    20: "PowerBIAudit", 25: "MicrosoftTeams", 28: "ThreatIntelligence", 40: "SecurityComplianceAlerts",
    50: "ExchangeItemAggregated", 52: "DataCenterSecurityCmdlet",
}
#: ``auditData`` is abstract in v1.0: each record is one of its derived (open) types, named by ``@odata.type``.
#: Record types without their own derived type are ``defaultAuditData``.
_AUDIT_DATA_TYPES: dict[str, str] = {
    "ExchangeAdmin": "exchangeAdminAuditRecord", "ExchangeItem": "exchangeMailboxAuditRecord",
    "ExchangeItemGroup": "exchangeMailboxAuditGroupRecord", "ExchangeItemAggregated":
    "exchangeAggregatedMailboxAuditRecord", "SharePoint": "sharePointAuditRecord",
    "SharePointFileOperation": "sharePointFileOperationAuditRecord",
    "SharePointSharingOperation": "sharePointSharingOperationAuditRecord",
    "AzureActiveDirectory": "azureActiveDirectoryAuditRecord",
    "AzureActiveDirectoryAccountLogon": "azureActiveDirectoryAccountLogonAuditRecord",
    "AzureActiveDirectoryStsLogon": "azureActiveDirectoryStsLogonAuditRecord",
    "SecurityComplianceCenterEOPCmdlet": "securityComplianceCenterEOPCmdletAuditRecord",
    "PowerBIAudit": "powerBIAuditRecord", "MicrosoftTeams": "microsoftTeamsAuditRecord",
    "DataCenterSecurityCmdlet": "dataCenterSecurityCmdletAuditRecord",
}
#: the most records one audit log search returns (``tenant.settings.auditQueryRecordLimit`` changes it)
AUDIT_QUERY_RECORD_LIMIT = 50_000
_QUERY_FIELDS = ("displayName", "filterStartDateTime", "filterEndDateTime", "recordTypeFilters", "keywordFilter",
                 "serviceFilters", "operationFilters", "userPrincipalNameFilters", "ipAddressFilters",
                 "objectIdFilters", "administrativeUnitIdFilters")


def _record_type(record: JSON) -> str:
    raw = record.get("RecordType")
    if isinstance(raw, int):
        return RECORD_TYPES.get(raw, str(raw))
    text = str(raw or "")
    return text[:1].upper() + text[1:]


def _record_view(record: JSON) -> JSON:
    created = str(record.get("CreationTime") or "")
    if created and not created.endswith("Z") and "+" not in created[10:]:
        created += "Z"
    return {
        "id": record.get("Id"),
        "createdDateTime": created or None,
        "auditLogRecordType": _record_type(record),
        "operation": record.get("Operation"),
        "organizationId": record.get("OrganizationId"),
        "userType": "Regular",
        "userId": record.get("UserKey") or record.get("UserId"),
        "service": record.get("Workload"),
        "objectId": record.get("ObjectId"),
        "userPrincipalName": record.get("UserId"),
        "clientIp": record.get("ClientIP") or record.get("ClientIPAddress"),
        "administrativeUnits": [],
        "auditData": {"@odata.type": f"#microsoft.graph.security.{_audit_data_type(record)}",
                      **copy.deepcopy(record)},
    }


def _audit_data_type(record: JSON) -> str:
    return _AUDIT_DATA_TYPES.get(_record_type(record), "defaultAuditData")


def _matches_query(record: JSON, query: JSON) -> bool:
    view = _record_view(record)
    try:
        when = parse_iso(str(view["createdDateTime"]))
    except ValueError:
        return False
    if not parse_iso(query["filterStartDateTime"]) <= when <= parse_iso(query["filterEndDateTime"]):
        return False

    def one_of(field: str, value: Any) -> bool:
        wanted = [str(v).lower() for v in query.get(field) or []]
        return not wanted or str(value or "").lower() in wanted

    if not one_of("operationFilters", view["operation"]):
        return False
    if not one_of("userPrincipalNameFilters", view["userPrincipalName"]):
        return False
    if not one_of("recordTypeFilters", view["auditLogRecordType"]):
        return False
    if not one_of("serviceFilters", view["service"]):
        return False
    if not one_of("ipAddressFilters", view["clientIp"]):
        return False
    if not one_of("objectIdFilters", view["objectId"]):
        return False
    keyword = query.get("keywordFilter")
    return not keyword or str(keyword).lower() in json.dumps(record, ensure_ascii=False).lower()


def _query_view(req: ApiRequest, query: JSON, *, created: bool = False) -> JSON:
    """The query with its status moved on by the clock (``tenant.settings.auditQueryDelaySeconds``):
    ``notStarted`` in the answer to the POST, then ``running`` until the delay has passed, then ``succeeded``."""
    delay = float(req.state.settings.get("auditQueryDelaySeconds", 0))
    elapsed = (req.clock.now() - parse_iso(query["createdDateTime"])).total_seconds()
    status = "succeeded" if elapsed >= delay else "running"
    if created and delay > 0:
        status = "notStarted"
    view = {k: copy.deepcopy(v) for k, v in query.items() if k != "createdDateTime"}
    view["status"] = status
    return view


@ROUTER.add("POST", "/security/auditLog/queries", permissions=AUDIT_QUERY_READ, throttle="security")
def create_audit_query(req: ApiRequest) -> ApiResponse:
    body = req.body
    if not isinstance(body, dict):
        raise ApiError(400, "BadRequest", "The request body must be an auditLogQuery object.")
    for key in ("filterStartDateTime", "filterEndDateTime"):
        value = body.get(key)
        try:
            parse_iso(str(value))
        except ValueError:
            raise ApiError(400, "BadRequest", f"'{key}' is required and must be a DateTimeOffset.") from None
    if parse_iso(body["filterStartDateTime"]) > parse_iso(body["filterEndDateTime"]):
        raise ApiError(400, "BadRequest", "filterStartDateTime must be before filterEndDateTime.")
    query: JSON = {"@odata.type": "#microsoft.graph.security.auditLogQuery", "id": new_id()}
    for key in _QUERY_FIELDS:
        default: Any = None if key in ("displayName", "keywordFilter") else []
        value = body.get(key, default)
        if key in ("filterStartDateTime", "filterEndDateTime"):
            value = iso(parse_iso(str(value)))
        query[key] = copy.deepcopy(value)
    query["createdDateTime"] = iso(req.clock.now())
    _data(req, "auditLogQueries", write=True).append(query)
    return ApiResponse(201, {"@odata.context": f"{req.base_url}/$metadata#security/auditLog/queries/$entity",
                             **_query_view(req, query, created=True)})


def _audit_query_or_404(req: ApiRequest, query: str) -> JSON:
    for q in _data(req, "auditLogQueries"):
        if q.get("id") == query:
            return q
    raise ApiError(404, "itemNotFound", f"The audit log query '{query}' was not found.")


@ROUTER.add("GET", "/security/auditLog/queries", permissions=AUDIT_QUERY_READ, throttle="security")
def list_audit_queries(req: ApiRequest) -> ApiResponse:
    views = [_query_view(req, q) for q in _data(req, "auditLogQueries")]
    return ApiResponse(200, page(req, views, page_size=100, max_top=1000,
                                 context=f"{req.base_url}/$metadata#security/auditLog/queries"))


@ROUTER.add("GET", "/security/auditLog/queries/{query}", permissions=AUDIT_QUERY_READ, throttle="security")
def get_audit_query(req: ApiRequest, query: str) -> ApiResponse:
    found = _audit_query_or_404(req, query)
    return ApiResponse(200, {"@odata.context": f"{req.base_url}/$metadata#security/auditLog/queries/$entity",
                             **_query_view(req, found)})


@ROUTER.add("GET", "/security/auditLog/queries/{query}/records", permissions=AUDIT_QUERY_READ, throttle="security")
def list_audit_records(req: ApiRequest, query: str) -> ApiResponse:
    found = _audit_query_or_404(req, query)
    if _query_view(req, found)["status"] != "succeeded":
        raise ApiError(400, "BadRequest", "The audit log query has not completed yet; poll its status first.")
    records = [_record_view(r) for r in _data(req, "auditRecords") if _matches_query(r, found)]
    records = apply_orderby(records, "createdDateTime desc")
    # An audit search returns at most a fixed number of records (Search-UnifiedAuditLog and the Purview search:
    # 50,000) and says nothing when it stops there: the newest records up to the limit, the rest silently dropped.
    limit = int(req.state.settings.get("auditQueryRecordLimit", AUDIT_QUERY_RECORD_LIMIT))
    records = records[:limit]
    ctx = f"{req.base_url}/$metadata#security/auditLog/queries('{query}')/records"
    return ApiResponse(200, page(req, records, page_size=150, max_top=1000, context=ctx))
