"""Contract tests for the emulator's core: token endpoint, users, errors, $batch, control plane."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from reclaim.emulator import Emulator, FixtureError
from tests.conftest import GRAPH_SCOPE, TenantClient

FIXTURE = {
    "tenant": {"id": "11111111-2222-3333-4444-555555555555", "displayName": "Contoso", "domains": ["contoso.com"]},
    "users": [
        {"id": "u-alice", "userPrincipalName": "alice@contoso.com", "displayName": "Alice Wu", "mailbox": {},
         "customField": {"kept": True}},
        {"id": "u-bob", "userPrincipalName": "bob@contoso.com", "displayName": "Bob", "mailbox": {}},
    ],
}


def test_token_with_secret_and_wrong_secret(serve: Callable[..., TenantClient]) -> None:
    c = serve(FIXTURE)
    tid = c.emulator.state.tenant_id
    app = c.emulator.state.data["apps"][0]
    ok = c.http.post(f"/{tid}/oauth2/v2.0/token", data={"grant_type": "client_credentials",
                     "client_id": app["clientId"], "client_secret": app["clientSecret"], "scope": GRAPH_SCOPE})
    assert ok.status_code == 200 and ok.json()["token_type"] == "Bearer"
    bad = c.http.post(f"/{tid}/oauth2/v2.0/token", data={"grant_type": "client_credentials",
                      "client_id": app["clientId"], "client_secret": "nope", "scope": GRAPH_SCOPE})
    assert bad.status_code == 401
    assert bad.json()["error"] == "invalid_client" and 7000215 in bad.json()["error_codes"]
    unknown_tenant = c.http.post("/not-a-tenant/oauth2/v2.0/token", data={"grant_type": "client_credentials",
                                 "client_id": app["clientId"], "client_secret": "x", "scope": GRAPH_SCOPE})
    assert unknown_tenant.status_code == 400 and "AADSTS90002" in unknown_tenant.json()["error_description"]


def test_expired_token_is_refused(serve: Callable[..., TenantClient]) -> None:
    fixture = {**FIXTURE, "tenant": {**FIXTURE["tenant"], "settings": {"tokenLifetimeSeconds": 60}}}
    c = serve(fixture)
    assert c.graph("GET", "/users").status_code == 200
    c.emulator.clock.advance(61)
    r = c.graph("GET", "/users")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert "request-id" in r.json()["error"]["innerError"]


def test_user_get_by_upn_and_404(serve: Callable[..., TenantClient]) -> None:
    c = serve(FIXTURE)
    r = c.graph("GET", "/users/ALICE@contoso.com", params={"$select": "id,displayName,accountEnabled"})
    assert r.status_code == 200
    assert r.json()["id"] == "u-alice" and r.json()["accountEnabled"] is True
    missing = c.graph("GET", "/users/nobody@contoso.com")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "Request_ResourceNotFound"


def test_batch_depends_on_and_failed_dependency(serve: Callable[..., TenantClient]) -> None:
    c = serve(FIXTURE)
    body = {"requests": [
        {"id": "1", "method": "GET", "url": "/users/nobody@contoso.com"},
        {"id": "2", "method": "PATCH", "url": "/users/u-bob", "dependsOn": ["1"],
         "headers": {"Content-Type": "application/json"}, "body": {"accountEnabled": False}},
        {"id": "3", "method": "PATCH", "url": "/users/u-alice",
         "headers": {"Content-Type": "application/json"}, "body": {"accountEnabled": False}},
    ]}
    r = c.graph("POST", "/$batch", json=body)
    assert r.status_code == 200
    by_id = {x["id"]: x for x in r.json()["responses"]}
    assert by_id["1"]["status"] == 404
    assert by_id["2"]["status"] == 424
    assert by_id["3"]["status"] == 204
    users = {u["id"]: u for u in c.emulator.state.users()}
    assert users["u-bob"]["accountEnabled"] is True
    assert users["u-alice"]["accountEnabled"] is False


def test_batch_limits(serve: Callable[..., TenantClient]) -> None:
    c = serve(FIXTURE)
    too_many = {"requests": [{"id": str(i), "method": "GET", "url": "/users"} for i in range(21)]}
    assert c.graph("POST", "/$batch", json=too_many).status_code == 400
    dup = {"requests": [{"id": "1", "method": "GET", "url": "/users"}] * 2}
    assert c.graph("POST", "/$batch", json=dup).status_code == 400
    no_ct = {"requests": [{"id": "1", "method": "PATCH", "url": "/users/u-bob", "body": {"displayName": "B"}}]}
    r = c.graph("POST", "/$batch", json=no_ct)
    assert r.json()["responses"][0]["status"] == 400


def test_fixture_round_trip_keeps_unknown_fields(serve: Callable[..., TenantClient]) -> None:
    c = serve(FIXTURE)
    dumped = c.http.get("/_emulator/state").json()
    alice = next(u for u in dumped["users"] if u["id"] == "u-alice")
    assert alice["customField"] == {"kept": True}
    again = Emulator(dumped).state.dump()
    assert again == dumped


def test_malformed_fixture_names_path_and_loads_nothing(serve: Callable[..., TenantClient]) -> None:
    with pytest.raises(FixtureError) as info:
        Emulator({"users": [{"userPrincipalName": "not-an-upn"}]})
    assert info.value.path == "users.0.userPrincipalName"
    c = serve(FIXTURE)
    r = c.http.put("/_emulator/state", json={"users": [{"displayName": "no upn"}]})
    assert r.status_code == 400 and r.json()["path"] == "users.0.userPrincipalName"
    assert {u["id"] for u in c.emulator.state.users()} == {"u-alice", "u-bob"}


def test_calls_are_logged_without_secrets(serve: Callable[..., TenantClient]) -> None:
    c = serve(FIXTURE)
    c.graph("GET", "/users")
    calls = c.http.get("/_emulator/calls").json()["value"]
    token_call = next(x for x in calls if x["path"].endswith("/oauth2/v2.0/token"))
    assert token_call["body"]["client_secret"] == "<redacted>"
    graph_call = next(x for x in calls if x["path"] == "/v1.0/users")
    assert graph_call["headers"]["authorization"] == "<redacted>"
