"""Contract tests for the emulator's identity surface: authentication methods, consent grants, service
principals, domains, the MFA registration report, Conditional Access, security defaults and users."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from reclaim.emulator.graph_identity import PASSWORD_METHOD_ID
from reclaim.emulator.state import ALL_GRAPH_PERMISSIONS
from tests.conftest import TenantClient
from tests.emulator.graph_helpers import as_app, follow

ALICE = "alice@contoso.com"
PHONE = "#microsoft.graph.phoneAuthenticationMethod"
AUTHENTICATOR = "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod"
EMAIL = "#microsoft.graph.emailAuthenticationMethod"


def fixture(settings: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "tenant": {"id": "11111111-2222-3333-4444-555555555555", "domains": ["contoso.com", "contoso.onmicrosoft.com"],
                   "settings": {"throttling": False, **(settings or {})}},
        "apps": [
            {"clientId": "full", "clientSecret": "s1", "permissions": list(ALL_GRAPH_PERMISSIONS)},
            {"clientId": "reader", "clientSecret": "s2",
             "permissions": ["User.Read.All", "UserAuthenticationMethod.Read.All", "Directory.Read.All"]},
        ],
        "users": [
            {"id": "u-alice", "userPrincipalName": ALICE, "displayName": "Alice", "isAdmin": True,
             "authenticationMethods": [
                 {"@odata.type": PHONE, "id": "3179e48a-750b-4051-897c-87b9720928f7", "phoneNumber": "+1 5550100",
                  "phoneType": "mobile", "createdDateTime": "2026-11-20T10:00:00Z"},
                 {"@odata.type": AUTHENTICATOR, "id": "auth-1", "displayName": "iPhone"},
                 {"@odata.type": EMAIL, "id": "email-1", "emailAddress": "alice@home.example"},
             ],
             "oauth2PermissionGrants": [
                 {"id": "g-alice-1", "clientId": "sp-mailapp", "consentType": "Principal",
                  "scope": "Mail.ReadWrite offline_access"},
             ]},
            {"id": "u-bob", "userPrincipalName": "bob@contoso.com", "displayName": "Bob", "accountEnabled": False,
             "authenticationMethods": [{"@odata.type": EMAIL, "id": "email-2", "emailAddress": "b@x.example"}],
             "oauth2PermissionGrants": [
                 {"id": "g-bob-1", "clientId": "sp-mailapp", "scope": "User.Read"},
                 {"id": "g-bob-2", "clientId": "sp-other", "scope": "Files.Read", "resourceId": "sp-graph"},
             ]},
        ] + [{"id": f"u-{i:03d}", "userPrincipalName": f"user{i:03d}@contoso.com"} for i in range(230)],
        "servicePrincipals": [
            {"id": "sp-graph", "appId": "00000003-0000-0000-c000-000000000000", "displayName": "Microsoft Graph"},
            {"id": "sp-mailapp", "appId": "aaaaaaaa-1111-2222-3333-444444444444", "displayName": "Mail Helper",
             "verifiedPublisher": {"displayName": None}},
            {"id": "sp-other", "appId": "bbbbbbbb-1111-2222-3333-444444444444", "displayName": "Other"},
        ],
        "conditionalAccessPolicies": [
            {"id": "ca-1", "displayName": "Require MFA for admins", "state": "enabled",
             "conditions": {"users": {"includeRoles": ["62e90394-69f5-4237-9190-012177145e10"]}},
             "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}},
        ],
    }


@pytest.fixture
def c(serve: Callable[..., TenantClient]) -> TenantClient:
    return serve(fixture())


# ---------------------------------------------------------------------------------------- auth methods
def test_methods_list_includes_password_and_per_type_delete(c: TenantClient) -> None:
    r = c.graph("GET", f"/users/{ALICE}/authentication/methods")
    assert r.status_code == 200
    methods = r.json()["value"]
    assert methods[0]["id"] == PASSWORD_METHOD_ID
    assert methods[0]["@odata.type"] == "#microsoft.graph.passwordAuthenticationMethod"
    assert {m["@odata.type"] for m in methods[1:]} == {PHONE, AUTHENTICATOR, EMAIL}
    one = c.graph("GET", f"/users/{ALICE}/authentication/methods/auth-1")
    assert one.status_code == 200 and one.json()["displayName"] == "iPhone"
    phones = c.graph("GET", f"/users/{ALICE}/authentication/phoneMethods").json()["value"]
    assert [p["phoneNumber"] for p in phones] == ["+1 5550100"]
    # Wrong type: the authenticator is not an email method.
    wrong = c.graph("DELETE", f"/users/{ALICE}/authentication/emailMethods/auth-1")
    assert wrong.status_code == 404
    pw = c.graph("DELETE", f"/users/{ALICE}/authentication/passwordMethods/{PASSWORD_METHOD_ID}")
    assert pw.status_code == 400
    ok = c.graph("DELETE", f"/users/{ALICE}/authentication/microsoftAuthenticatorMethods/auth-1")
    assert ok.status_code == 204
    ids = [m["id"] for m in c.graph("GET", f"/users/{ALICE}/authentication/methods").json()["value"]]
    assert "auth-1" not in ids and len(ids) == 3
    assert c.graph("DELETE", f"/users/{ALICE}/authentication/phoneMethods/3179e48a-750b-4051-897c-87b9720928f7"
                   ).status_code == 204
    missing_user = c.graph("GET", "/users/ghost@contoso.com/authentication/methods")
    assert missing_user.status_code == 404 and missing_user.json()["error"]["code"] == "Request_ResourceNotFound"


def test_methods_permissions(c: TenantClient) -> None:
    with as_app(c, "reader") as reader:
        assert reader.graph("GET", f"/users/{ALICE}/authentication/methods").status_code == 200
        r = reader.graph("DELETE", f"/users/{ALICE}/authentication/emailMethods/email-1")
        assert r.status_code == 403 and r.json()["error"]["code"] == "Authorization_RequestDenied"


def test_registration_details(c: TenantClient) -> None:
    rows, pages = follow(c, "/reports/authenticationMethods/userRegistrationDetails")
    assert len(rows) == 232 and pages == 3
    alice = next(x for x in rows if x["userPrincipalName"] == ALICE)
    assert alice["isMfaRegistered"] is True and alice["isAdmin"] is True
    assert set(alice["methodsRegistered"]) == {"mobilePhone", "microsoftAuthenticatorPush", "email"}
    r = c.graph("GET", "/reports/authenticationMethods/userRegistrationDetails",
                params={"$filter": "userPrincipalName eq 'bob@contoso.com'"})
    bob = r.json()["value"]
    assert len(bob) == 1 and bob[0]["isMfaRegistered"] is False and bob[0]["methodsRegistered"] == ["email"]
    r = c.graph("GET", "/reports/authenticationMethods/userRegistrationDetails",
                params={"$filter": "isMfaRegistered eq true", "$count": "true"})
    assert r.json()["@odata.count"] == 1
    with as_app(c, "reader") as reader:
        denied = reader.graph("GET", "/reports/authenticationMethods/userRegistrationDetails")
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "Authentication_MSGraphPermissionMissing"


# ---------------------------------------------------------------------------------------- grants and SPs
def test_grants_per_user_tenant_wide_and_delete(c: TenantClient) -> None:
    r = c.graph("GET", f"/users/{ALICE}/oauth2PermissionGrants")
    grants = r.json()["value"]
    assert grants == [{"clientId": "sp-mailapp", "consentType": "Principal", "id": "g-alice-1",
                       "principalId": "u-alice", "resourceId": "sp-graph", "scope": "Mail.ReadWrite offline_access"}]
    everything = c.graph("GET", "/oauth2PermissionGrants").json()["value"]
    assert {g["id"] for g in everything} == {"g-alice-1", "g-bob-1", "g-bob-2"}
    by_client = c.graph("GET", "/oauth2PermissionGrants", params={"$filter": "clientId eq 'sp-mailapp'"})
    assert {g["id"] for g in by_client.json()["value"]} == {"g-alice-1", "g-bob-1"}
    by_principal = c.graph("GET", "/oauth2PermissionGrants", params={"$filter": "principalId eq 'u-bob'"})
    assert {g["id"] for g in by_principal.json()["value"]} == {"g-bob-1", "g-bob-2"}
    bad = c.graph("GET", "/oauth2PermissionGrants", params={"$filter": "scope eq 'x'"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "Request_UnsupportedQuery"
    assert c.graph("DELETE", "/oauth2PermissionGrants/g-alice-1").status_code == 204
    assert c.graph("GET", f"/users/{ALICE}/oauth2PermissionGrants").json()["value"] == []
    gone = c.graph("DELETE", "/oauth2PermissionGrants/g-alice-1")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "Request_ResourceNotFound"
    with as_app(c, "reader") as reader:
        r = reader.graph("DELETE", "/oauth2PermissionGrants/g-bob-1")
        assert r.status_code == 403 and r.json()["error"]["code"] == "Authorization_RequestDenied"


def test_service_principals(c: TenantClient) -> None:
    r = c.graph("GET", "/servicePrincipals", params={"$filter": "appId eq 'aaaaaaaa-1111-2222-3333-444444444444'"})
    sps = r.json()["value"]
    assert [s["id"] for s in sps] == ["sp-mailapp"] and sps[0]["servicePrincipalType"] == "Application"
    one = c.graph("GET", "/servicePrincipals/sp-other")
    assert one.status_code == 200 and one.json()["displayName"] == "Other"
    by_app = c.graph("GET", "/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')")
    assert by_app.status_code == 200 and by_app.json()["id"] == "sp-graph"
    assert c.graph("GET", "/servicePrincipals/nope").status_code == 404
    page1 = c.graph("GET", "/servicePrincipals", params={"$top": "2"}).json()
    assert len(page1["value"]) == 2 and "@odata.nextLink" in page1


def test_grant_resource_resolves_without_a_graph_sp_in_the_fixture(serve: Callable[..., TenantClient]) -> None:
    bare = fixture()
    bare["servicePrincipals"] = [sp for sp in bare["servicePrincipals"] if sp["id"] != "sp-graph"]
    c = serve(bare)
    grant = c.graph("GET", f"/users/{ALICE}/oauth2PermissionGrants").json()["value"][0]
    resource = c.graph("GET", f"/servicePrincipals/{grant['resourceId']}")
    assert resource.status_code == 200 and resource.json()["displayName"] == "Microsoft Graph"
    assert "servicePrincipals" in c.http.get("/_emulator/state").json()
    assert len(c.http.get("/_emulator/state").json()["servicePrincipals"]) == 2  # nothing written


# ---------------------------------------------------------------------------------------- tenant objects
def test_domains_policies_security_defaults(c: TenantClient) -> None:
    domains = c.graph("GET", "/domains").json()["value"]
    assert [(d["id"], d["isDefault"], d["isVerified"], d["isInitial"]) for d in domains] == [
        ("contoso.com", True, True, False), ("contoso.onmicrosoft.com", False, True, True)]
    policies = c.graph("GET", "/identity/conditionalAccess/policies").json()["value"]
    assert policies[0]["grantControls"]["builtInControls"] == ["mfa"] and policies[0]["state"] == "enabled"
    sd = c.graph("GET", "/policies/identitySecurityDefaultsEnforcementPolicy").json()
    assert sd["isEnabled"] is False and sd["id"] == "00000000-0000-0000-0000-000000000005"


def test_without_p1_reports_and_ca_are_refused(serve: Callable[..., TenantClient]) -> None:
    c = serve(fixture({"licenses": {"entraIdP1": False, "entraIdP2": False}, "securityDefaultsEnabled": True}))
    for url in ("/reports/authenticationMethods/userRegistrationDetails", "/identity/conditionalAccess/policies"):
        r = c.graph("GET", url)
        assert r.status_code == 403, url
        assert r.json()["error"]["code"] == "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
    assert c.graph("GET", "/policies/identitySecurityDefaultsEnforcementPolicy").json()["isEnabled"] is True


# ---------------------------------------------------------------------------------------- users
def test_users_filter_paging_and_collections(c: TenantClient) -> None:
    users, pages = follow(c, "/users")
    assert len(users) == 232 and pages == 3
    assert all(u["businessPhones"] == [] for u in users)
    r = c.graph("GET", "/users", params={"$filter": "accountEnabled eq false"})
    assert [u["id"] for u in r.json()["value"]] == ["u-bob"]
    r = c.graph("GET", "/users", params={"$filter": "userPrincipalName eq 'ALICE@contoso.com'"})
    assert [u["id"] for u in r.json()["value"]] == ["u-alice"]
    r = c.graph("GET", "/users", params={"$filter": "startswith(userPrincipalName,'user00')", "$count": "true"},
                headers={"ConsistencyLevel": "eventual"})
    assert r.json()["@odata.count"] == 10
    r = c.graph("GET", "/users", params={"$count": "true"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "Request_BadRequest"
    r = c.graph("GET", "/users", params={"$filter": "jobTitle eq 'x'"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "Request_UnsupportedQuery"
    r = c.graph("GET", "/users", params={"$filter": "mail eq"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "BadRequest"


def test_users_delta_rounds(c: TenantClient) -> None:
    first, pages = follow(c, "/users/delta")
    assert len(first) == 232 and pages == 3
    r = c.graph("GET", "/users/delta", params={"$select": "displayName"})
    while "@odata.nextLink" in r.json():
        r = c.graph("GET", r.json()["@odata.nextLink"])
    delta_link = r.json()["@odata.deltaLink"]
    assert "$deltatoken=" in delta_link
    unchanged = c.graph("GET", delta_link).json()
    assert unchanged["value"] == [] and "@odata.deltaLink" in unchanged
    smaller = fixture()
    smaller["users"] = [u for u in smaller["users"] if u["id"] != "u-bob"]
    assert c.http.put("/_emulator/state", json=smaller).status_code == 200
    changed = c.graph("GET", unchanged["@odata.deltaLink"]).json()
    assert changed["value"] == [{"id": "u-bob", "@removed": {"reason": "changed"}}]
    assert c.graph("PATCH", f"/users/{ALICE}", json={"displayName": "Alice (CEO)"}).status_code == 204
    again = c.graph("GET", changed["@odata.deltaLink"]).json()["value"]
    assert again == [{"id": "u-alice", "displayName": "Alice (CEO)"}]  # the first round's $select is kept
    bad = c.graph("GET", "/users/delta", params={"$deltatoken": "bm90LWEtdG9rZW4"})
    assert bad.status_code == 400
    assert c.graph("GET", "/users/delta@contoso.com").status_code == 404  # a user, not the delta function
