"""Contract tests for audit logs, Identity Protection, message trace, alerts and audit log queries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from reclaim.emulator.state import ALL_GRAPH_PERMISSIONS
from tests.conftest import TenantClient
from tests.emulator.graph_helpers import as_app, follow

ALICE = "alice@contoso.com"
NOW = datetime.now(UTC).replace(microsecond=0)


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _sign_ins(n: int) -> list[dict[str, Any]]:
    countries = ("US", "US", "NG", "DE")
    return [{"id": f"s{i:04d}", "createdDateTime": _iso(NOW - timedelta(minutes=i)),
             "userId": "u-alice" if i % 2 == 0 else "u-bob",
             "userPrincipalName": ALICE if i % 2 == 0 else "bob@contoso.com",
             "ipAddress": f"203.0.113.{i % 250}", "clientAppUsed": "IMAP4" if i % 10 == 0 else "Browser",
             "appId": "00000002-0000-0ff1-ce00-000000000000",
             "location": {"city": "X", "countryOrRegion": countries[i % 4]},
             "status": {"errorCode": 0}} for i in range(2300)]


def _traces() -> list[dict[str, Any]]:
    out = []
    for i in range(60):
        out.append({"id": f"t{i:03d}", "senderAddress": ALICE if i % 3 else "bob@contoso.com",
                    "recipientAddress": f"victim{i}@external.example", "messageId": f"<{i}@contoso.com>",
                    "receivedDateTime": _iso(NOW - timedelta(hours=i)), "subject": "Invoice", "size": 1000,
                    "fromIP": "203.0.113.9", "toIP": None, "status": "delivered"})
    out.append({"id": "t-old", "senderAddress": ALICE, "recipientAddress": "x@external.example",
                "receivedDateTime": _iso(NOW - timedelta(days=30)), "status": "delivered"})
    return out


def fixture(settings: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "tenant": {"id": "11111111-2222-3333-4444-555555555555", "domains": ["contoso.com"],
                   "settings": {"throttling": False, **(settings or {})}},
        "apps": [
            {"clientId": "full", "clientSecret": "s1", "permissions": list(ALL_GRAPH_PERMISSIONS)},
            {"clientId": "no-audit", "clientSecret": "s2",
             "permissions": ["Directory.Read.All", "IdentityRiskyUser.Read.All"]},
        ],
        "users": [
            {"id": "u-alice", "userPrincipalName": ALICE, "displayName": "Alice",
             "risk": {"riskLevel": "high", "riskState": "atRisk", "riskDetail": "none",
                      "riskLastUpdatedDateTime": _iso(NOW - timedelta(days=1))}},
            {"id": "u-bob", "userPrincipalName": "bob@contoso.com", "displayName": "Bob"},
            {"id": "u-carol", "userPrincipalName": "carol@contoso.com",
             "risk": {"riskLevel": "low", "riskState": "atRisk"}},
            {"id": "u-dave", "userPrincipalName": "dave@contoso.com",  # never flagged
             "risk": {"riskLevel": "none", "riskState": "none", "riskDetail": "none"}},
        ],
        "signIns": _sign_ins(2300),
        "directoryAudits": [
            {"id": "d1", "activityDisplayName": "Update user", "activityDateTime": _iso(NOW - timedelta(hours=2)),
             "category": "UserManagement", "result": "success",
             "initiatedBy": {"user": {"id": "u-attacker", "userPrincipalName": "alice@contoso.com"}},
             "targetResources": [{"id": "u-alice", "type": "User", "modifiedProperties": [
                 {"displayName": "DisplayName", "oldValue": "[\"Alice\"]", "newValue": "[\"CEO\"]"}]}]},
            {"id": "d2", "activityDisplayName": "Add member to role",
             "activityDateTime": _iso(NOW - timedelta(hours=1)),
             "initiatedBy": {"app": {"appId": "x"}}, "targetResources": [{"id": "u-bob"}]},
            {"id": "d3", "activityDisplayName": "Update user", "activityDateTime": _iso(NOW - timedelta(days=3)),
             "initiatedBy": {"user": {"userPrincipalName": "admin@contoso.com"}}, "targetResources": [{"id": "u-bob"}]},
        ],
        "riskDetections": [
            {"id": "rd1", "userId": "u-alice", "riskEventType": "unfamiliarFeatures", "riskLevel": "high",
             "detectedDateTime": _iso(NOW - timedelta(days=1))},
        ],
        "messageTraces": _traces(),
        "alerts": [
            {"id": "a1", "title": "User restricted from sending email", "severity": "high", "status": "new",
             "createdDateTime": _iso(NOW - timedelta(hours=3)), "serviceSource": "microsoftDefenderForOffice365"},
            {"id": "a2", "title": "Other", "severity": "low", "status": "resolved",
             "createdDateTime": _iso(NOW - timedelta(hours=1))},
        ],
        "auditRecords": [
            {"Id": "ar1", "CreationTime": (NOW - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%S"),
             "Operation": "New-InboxRule", "RecordType": 1, "UserId": ALICE, "Workload": "Exchange",
             "ClientIP": "203.0.113.9", "ObjectId": "Alice\\rule"},
            {"Id": "ar2", "CreationTime": (NOW - timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M:%S"),
             "Operation": "MailItemsAccessed", "RecordType": 50, "UserId": ALICE, "Workload": "Exchange"},
            {"Id": "ar3", "CreationTime": (NOW - timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M:%S"),
             "Operation": "New-InboxRule", "RecordType": 1, "UserId": "bob@contoso.com", "Workload": "Exchange"},
        ],
    }


@pytest.fixture
def c(serve: Callable[..., TenantClient]) -> TenantClient:
    return serve(fixture())


# ---------------------------------------------------------------------------------------- sign-ins
def test_sign_ins_newest_first_and_paged_by_1000(c: TenantClient) -> None:
    items, pages = follow(c, "/auditLogs/signIns")
    assert pages == 3 and len(items) == 2300
    assert items[0]["id"] == "s0000" and items[-1]["id"] == "s2299"
    _, pages = follow(c, "/auditLogs/signIns", params={"$top": "700", "$filter": "userId eq 'u-alice'"})
    assert pages == 2


def test_sign_in_filters(c: TenantClient) -> None:
    def ids(flt: str) -> list[str]:
        r = c.graph("GET", "/auditLogs/signIns", params={"$filter": flt, "$top": "1000"})
        assert r.status_code == 200, r.text
        return [x["id"] for x in r.json()["value"]]

    since = _iso(NOW - timedelta(minutes=9))
    assert ids(f"createdDateTime ge {since}") == [f"s{i:04d}" for i in range(10)]
    assert ids(f"userPrincipalName eq '{ALICE}' and createdDateTime ge {since}") == [
        f"s{i:04d}" for i in range(0, 10, 2)]
    assert ids(f"location/countryOrRegion eq 'NG' and createdDateTime ge {since}") == ["s0002", "s0006"]
    assert ids(f"clientAppUsed eq 'IMAP4' and createdDateTime ge {_iso(NOW - timedelta(minutes=30))}") == [
        "s0000", "s0010", "s0020", "s0030"]
    assert ids("ipAddress eq '203.0.113.7' and appId eq '00000002-0000-0ff1-ce00-000000000000'") == [
        "s0007", "s0257", "s0507", "s0757", "s1007", "s1257", "s1507", "s1757", "s2007", "s2257"]
    r = c.graph("GET", "/auditLogs/signIns", params={"$filter": "createdDateTime ge yesterday"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "BadRequest"


def test_sign_ins_permission_and_licence(serve: Callable[..., TenantClient]) -> None:
    c = serve(fixture({"licenses": {"entraIdP1": False, "entraIdP2": False}}))
    with as_app(c, "no-audit") as other:
        r = other.graph("GET", "/auditLogs/signIns")
        assert r.status_code == 403 and r.json()["error"]["code"] == "Authentication_MSGraphPermissionMissing"
        assert "AuditLog.Read.All" in r.json()["error"]["message"]
    r = c.graph("GET", "/auditLogs/signIns")
    assert r.status_code == 403 and r.json()["error"]["code"] == "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
    # Directory audits are in every tenant, licensed or not.
    assert c.graph("GET", "/auditLogs/directoryAudits").status_code == 200
    for url in ("/identityProtection/riskyUsers", "/identityProtection/riskDetections"):
        r = c.graph("GET", url)
        assert r.status_code == 403 and r.json()["error"]["code"] == "Forbidden", url


# ---------------------------------------------------------------------------------------- directory audits
def test_directory_audit_filters(c: TenantClient) -> None:
    def ids(flt: str) -> list[str]:
        r = c.graph("GET", "/auditLogs/directoryAudits", params={"$filter": flt})
        assert r.status_code == 200, r.text
        return [x["id"] for x in r.json()["value"]]

    assert ids("activityDisplayName eq 'Update user'") == ["d1", "d3"]
    assert ids("targetResources/any(t: t/id eq 'u-bob')") == ["d2", "d3"]
    assert ids(f"activityDateTime ge {_iso(NOW - timedelta(days=1))} and "
               "targetResources/any(t:t/id eq 'u-bob')") == ["d2"]
    assert ids("initiatedBy/user/userPrincipalName eq 'alice@contoso.com'") == ["d1"]
    d1 = c.graph("GET", "/auditLogs/directoryAudits/d1").json()
    assert d1["targetResources"][0]["modifiedProperties"][0]["newValue"] == "[\"CEO\"]"


# ---------------------------------------------------------------------------------------- Identity Protection
def test_risky_users_confirm_and_dismiss(c: TenantClient) -> None:
    r = c.graph("GET", "/identityProtection/riskyUsers")
    assert [u["id"] for u in r.json()["value"]] == ["u-alice", "u-carol"]
    r = c.graph("GET", "/identityProtection/riskyUsers", params={"$filter": "userPrincipalName eq 'carol@contoso.com'"})
    assert r.json()["value"][0]["riskLevel"] == "low"
    assert c.graph("GET", "/identityProtection/riskyUsers/u-bob").status_code == 404
    assert c.graph("GET", "/identityProtection/riskyUsers/u-dave").status_code == 404
    r = c.graph("POST", "/identityProtection/riskyUsers/confirmCompromised", json={"userIds": ["u-bob"]})
    assert r.status_code == 204 and r.content == b""
    bob = c.graph("GET", "/identityProtection/riskyUsers/u-bob").json()
    assert (bob["riskLevel"], bob["riskState"]) == ("high", "confirmedCompromised")
    detections = c.graph("GET", "/identityProtection/riskDetections",
                         params={"$filter": "userId eq 'u-bob'"}).json()["value"]
    assert [d["riskEventType"] for d in detections] == ["adminConfirmedUserCompromised"]
    assert c.graph("POST", "/identityProtection/riskyUsers/dismiss", json={"userIds": ["u-alice"]}).status_code == 204
    alice = c.graph("GET", "/identityProtection/riskyUsers", params={"$filter": "id eq 'u-alice'"}).json()["value"][0]
    assert (alice["riskLevel"], alice["riskState"]) == ("none", "dismissed")
    assert c.graph("POST", "/identityProtection/riskyUsers/dismiss", json={"userIds": []}).status_code == 400
    assert c.graph("POST", "/identityProtection/riskyUsers/dismiss", json={"userIds": ["nobody"]}).status_code == 400
    with as_app(c, "no-audit") as reader:
        r = reader.graph("POST", "/identityProtection/riskyUsers/dismiss", json={"userIds": ["u-carol"]})
        assert r.status_code == 403 and r.json()["error"]["code"] == "Authorization_RequestDenied"


# ---------------------------------------------------------------------------------------- message trace
def test_message_trace_window_rules_and_paging(c: TenantClient) -> None:
    url = "/admin/exchange/tracing/messageTraces"
    default = [t["id"] for t in c.graph("GET", url).json()["value"]]  # the last 48 hours
    assert default[:48] == [f"t{i:03d}" for i in range(48)] and "t049" not in default
    start, end = _iso(NOW - timedelta(days=5)), _iso(NOW)
    flt = f"receivedDateTime ge {start} and receivedDateTime le {end}"
    items, pages = follow(c, url, params={"$filter": flt, "$top": "25"})
    assert pages == 3 and len(items) == 60
    sent = c.graph("GET", url, params={"$filter": f"{flt} and senderAddress eq 'bob@contoso.com'"}).json()["value"]
    assert len(sent) == 20 and all(t["senderAddress"] == "bob@contoso.com" for t in sent)
    to_one = c.graph("GET", url, params={"$filter": "recipientAddress eq 'victim5@external.example'"}).json()
    assert [t["id"] for t in to_one["value"]] == ["t005"]
    too_wide = c.graph("GET", url, params={
        "$filter": f"receivedDateTime ge {_iso(NOW - timedelta(days=11))} and receivedDateTime le {end}"})
    assert too_wide.status_code == 400
    too_old = c.graph("GET", url, params={"$filter": f"receivedDateTime ge {_iso(NOW - timedelta(days=95))} and "
                                                     f"receivedDateTime le {_iso(NOW - timedelta(days=91))}"})
    assert too_old.status_code == 400
    old = c.graph("GET", url, params={"$filter": f"receivedDateTime ge {_iso(NOW - timedelta(days=31))} and "
                                                 f"receivedDateTime le {_iso(NOW - timedelta(days=29))}"})
    assert [t["id"] for t in old.json()["value"]] == ["t-old"]
    for unsupported in (f"receivedDateTime gt {start}", "senderAddress ne 'x@contoso.com'",
                        f"senderAddress eq '{ALICE}' or recipientAddress eq 'x@y.example'"):
        r = c.graph("GET", url, params={"$filter": unsupported})
        assert r.status_code == 400 and r.json()["error"]["code"] == "BadRequest", unsupported
    for bad_top in ("0", "5001", "x"):
        assert c.graph("GET", url, params={"$top": bad_top}).status_code == 400
    assert c.graph("GET", url, params={"$top": "5000"}).status_code == 200


# ---------------------------------------------------------------------------------------- alerts and audit queries
def test_alerts(c: TenantClient) -> None:
    alerts = c.graph("GET", "/security/alerts_v2").json()["value"]
    assert [a["id"] for a in alerts] == ["a2", "a1"]
    r = c.graph("GET", "/security/alerts_v2", params={"$filter": "severity eq 'high' and status eq 'new'"})
    assert [a["title"] for a in r.json()["value"]] == ["User restricted from sending email"]
    with as_app(c, "no-audit") as other:
        assert other.graph("GET", "/security/alerts_v2").status_code == 403


def test_audit_log_query_lifecycle(serve: Callable[..., TenantClient]) -> None:
    c = serve(fixture({"auditQueryDelaySeconds": 30}))
    assert c.graph("GET", "/security/auditLog/queries").json()["value"] == []
    assert "auditLogQueries" not in c.http.get("/_emulator/state").json()  # reads do not change the state
    body = {"displayName": "rules", "filterStartDateTime": _iso(NOW - timedelta(days=1)),
            "filterEndDateTime": _iso(NOW + timedelta(minutes=5)), "operationFilters": ["New-InboxRule"],
            "userPrincipalNameFilters": [ALICE]}
    created = c.graph("POST", "/security/auditLog/queries", json=body)
    assert created.status_code == 201, created.text
    qid = created.json()["id"]
    assert created.json()["status"] == "notStarted"
    assert c.graph("GET", f"/security/auditLog/queries/{qid}").json()["status"] == "running"
    assert c.graph("GET", f"/security/auditLog/queries/{qid}/records").status_code == 400
    c.emulator.clock.advance(31)
    assert c.graph("GET", f"/security/auditLog/queries/{qid}").json()["status"] == "succeeded"
    records = c.graph("GET", f"/security/auditLog/queries/{qid}/records").json()["value"]
    assert [r["id"] for r in records] == ["ar1"]
    assert records[0]["auditLogRecordType"] == "ExchangeAdmin" and records[0]["clientIp"] == "203.0.113.9"
    assert records[0]["auditData"]["ObjectId"] == "Alice\\rule"
    missing = c.graph("POST", "/security/auditLog/queries", json={"displayName": "x"})
    assert missing.status_code == 400
    assert c.graph("GET", "/security/auditLog/queries/nope").status_code == 404
    dumped = c.http.get("/_emulator/state").json()
    assert [q["id"] for q in dumped["auditLogQueries"]] == [qid]
