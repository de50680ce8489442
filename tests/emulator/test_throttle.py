"""Throttling: the Throttler's rules on the emulator's clock, and each rule's 429 over real HTTP."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reclaim.emulator import FixtureError, graph, services
from reclaim.emulator.state import Clock
from reclaim.emulator.throttle import Rejection, Throttler, identity_resource_units
from reclaim.emulator.wire import ApiRequest, ApiResponse, Router
from tests.conftest import EXCHANGE_SCOPE, GRAPH_SCOPE, TenantClient

APP = "app-1"
OTHER_APP = "app-2"


class FrozenClock(Clock):
    """The emulator's clock without the wall clock under it: only ``advance`` moves it."""

    def __init__(self) -> None:
        super().__init__()
        self._start = datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self._start + self._offset


def throttler(throttling: dict[str, Any] | None = None, *, users: int = 10, **settings: Any) -> Throttler:
    if throttling is not None:
        settings["throttling"] = throttling
    return Throttler(settings, FrozenClock(), tenant_id="tenant-1", users=users)


def rejected(result: Rejection | None) -> Rejection:
    assert result is not None, "expected a 429"
    return result


# ---------------------------------------------------------------------------------------------- unit: outlook
def test_outlook_allows_four_concurrent_requests_per_app_and_mailbox() -> None:
    t = throttler()
    for _ in range(4):
        assert t.admit(kind="outlook", app_id=APP, mailbox="m1") is None
    fifth = rejected(t.admit(kind="outlook", app_id=APP, mailbox="m1"))
    assert fifth.code == "TooManyRequests" and "MailboxConcurrency" in fifth.message
    assert fifth.retry_after is not None and fifth.retry_after > 0
    # other mailbox, other app: their own limits
    assert t.admit(kind="outlook", app_id=APP, mailbox="m2") is None
    assert t.admit(kind="outlook", app_id=OTHER_APP, mailbox="m1") is None
    t.release(kind="outlook", app_id=APP, mailbox="m1")
    assert t.admit(kind="outlook", app_id=APP, mailbox="m1") is None


def test_outlook_concurrency_per_app_reading() -> None:
    t = throttler({"outlook": {"concurrencyScope": "app"}})
    for mailbox in ("m1", "m2", "m3", "m4"):
        assert t.admit(kind="outlook", app_id=APP, mailbox=mailbox) is None
    assert t.admit(kind="outlook", app_id=APP, mailbox="m5") is not None
    assert t.admit(kind="outlook", app_id=OTHER_APP, mailbox="m5") is None
    t.release(kind="outlook", app_id=APP, mailbox="m2")
    assert t.admit(kind="outlook", app_id=APP, mailbox="m5") is None


def test_outlook_request_window_gives_seconds_until_it_frees() -> None:
    t = throttler({"outlook": {"requests": 3, "windowSeconds": 600}})
    for _ in range(3):
        assert t.admit(kind="outlook", app_id=APP, mailbox="m1") is None
        t.release(kind="outlook", app_id=APP, mailbox="m1")
    t.clock.advance(100)
    first = rejected(t.admit(kind="outlook", app_id=APP, mailbox="m1"))
    assert first.retry_after is not None and 499 < first.retry_after <= 500.01
    # RetryAfterPlugin: coming back early gets another 429 for the time left
    t.clock.advance(400)
    again = rejected(t.admit(kind="outlook", app_id=APP, mailbox="m1"))
    assert again.retry_after is not None and 99 < again.retry_after <= 100.01
    t.clock.advance(100.01)
    assert t.admit(kind="outlook", app_id=APP, mailbox="m1") is None
    assert t.rejected["outlook"] == 2


def test_outlook_default_is_ten_thousand_per_ten_minutes() -> None:
    t = throttler()
    for _ in range(10_000):
        assert t.admit(kind="outlook", app_id=APP, mailbox="m1") is None
        t.release(kind="outlook", app_id=APP, mailbox="m1")
    r = rejected(t.admit(kind="outlook", app_id=APP, mailbox="m1"))
    assert r.retry_after is not None and 590 < r.retry_after <= 600.001


# ---------------------------------------------------------------------------------------------- unit: identity
@pytest.mark.parametrize(("users", "units"), [(1, 3500), (49, 3500), (50, 5000), (500, 5000), (501, 8000)])
def test_identity_bucket_size_follows_tenant_size(users: int, units: int) -> None:
    assert identity_resource_units(users) == units
    t = throttler(users=users)
    spent = 0
    while t.admit(kind="identity", app_id=APP, cost=2) is None:
        spent += 2
    assert spent == units


def test_identity_bucket_refills_and_429_carries_scope_headers() -> None:
    t = throttler({"identity": {"resourceUnits": 10}})
    for _ in range(5):
        assert t.admit(kind="identity", app_id=APP, cost=2) is None
    r = rejected(t.admit(kind="identity", app_id=APP, cost=2))
    assert r.retry_after == pytest.approx(2.0, abs=0.01)  # 2 units at 10 units / 10 s
    assert r.headers["x-ms-throttle-scope"] == f"Tenant_Application/ReadWrite/{APP}/tenant-1"
    assert r.headers["x-ms-throttle-information"] == "ResourceUnitLimitExceeded"
    assert t.admit(kind="identity", app_id=OTHER_APP, cost=2) is None  # per app + tenant
    t.clock.advance(2.0)
    assert t.admit(kind="identity", app_id=APP, cost=2) is None


def test_identity_write_quota() -> None:
    t = throttler({"identity": {"writes": 2, "writeWindowSeconds": 150}})
    assert t.admit(kind="identity", app_id=APP, write=True) is None
    assert t.admit(kind="identity", app_id=APP, write=True) is None
    r = rejected(t.admit(kind="identity", app_id=APP, write=True))
    assert r.headers["x-ms-throttle-information"] == "WriteLimitExceeded"
    assert r.retry_after == pytest.approx(150, abs=0.01)


def test_identity_usage_headers() -> None:
    t = throttler({"identity": {"resourceUnits": 10}})
    assert t.admit(kind="identity", app_id=APP, cost=1) is None
    assert t.usage_headers(kind="identity", app_id=APP, cost=1) == {"x-ms-resource-unit": "1"}
    for _ in range(8):
        assert t.admit(kind="identity", app_id=APP, cost=1) is None
    headers = t.usage_headers(kind="identity", app_id=APP, cost=1)
    assert headers["x-ms-throttle-limit-percentage"] == "0.9"
    assert t.usage_headers(kind="outlook", app_id=APP, cost=1) == {}


# ---------------------------------------------------------------------------------------------- unit: others
@pytest.mark.parametrize("kind", ["auditLogs", "authMethods", "reports"])
def test_reports_classes_allow_five_per_ten_seconds_per_app(kind: str) -> None:
    t = throttler()
    for _ in range(5):
        assert t.admit(kind=kind, app_id=APP) is None
    r = rejected(t.admit(kind=kind, app_id=APP))
    assert r.retry_after == pytest.approx(10, abs=0.01)
    assert t.admit(kind=kind, app_id=OTHER_APP) is None
    t.clock.advance(10)
    assert t.admit(kind=kind, app_id=APP) is None


def test_identity_protection_one_per_second_per_tenant_without_retry_after() -> None:
    t = throttler()
    assert t.admit(kind="identityProtection", app_id=APP) is None
    r = rejected(t.admit(kind="identityProtection", app_id=OTHER_APP))  # per tenant, all apps
    assert r.retry_after is None
    t.clock.advance(1.0)
    assert t.admit(kind="identityProtection", app_id=OTHER_APP) is None


def test_message_trace_hundred_per_five_minutes_per_tenant() -> None:
    t = throttler()
    for n in range(100):
        assert t.admit(kind="messageTrace", app_id=APP if n % 2 else OTHER_APP) is None
        t.clock.advance(1)
    r = rejected(t.admit(kind="messageTrace", app_id=APP))
    assert r.retry_after == pytest.approx(200, abs=0.01)


def test_exchange_concurrency_cap_and_setting() -> None:
    t = throttler()
    for _ in range(10):
        assert t.admit(kind="exchange", app_id=APP) is None
    assert rejected(t.admit(kind="exchange", app_id=OTHER_APP)).retry_after is not None
    small = throttler(exchangeConcurrency=2)
    assert small.admit(kind="exchange", app_id=APP) is None
    assert small.admit(kind="exchange", app_id=APP) is None
    assert small.admit(kind="exchange", app_id=APP) is not None
    small.release(kind="exchange", app_id=APP)
    assert small.admit(kind="exchange", app_id=APP) is None


def test_exchange_optional_rate_rule() -> None:
    t = throttler({"exchange": {"requests": 2, "windowSeconds": 60}})
    for _ in range(2):
        assert t.admit(kind="exchange", app_id=APP) is None
        t.release(kind="exchange", app_id=APP)
    assert rejected(t.admit(kind="exchange", app_id=APP)).retry_after == pytest.approx(60, abs=0.01)


@pytest.mark.parametrize("throttling", [{"enabled": False}, False])
def test_disabled_never_rejects(throttling: Any) -> None:
    t = Throttler({"throttling": throttling}, FrozenClock())
    for _ in range(50):
        assert t.admit(kind="identityProtection", app_id=APP) is None
        assert t.admit(kind="outlook", app_id=APP, mailbox="m") is None


def test_unthrottled_classes() -> None:
    t = throttler()
    for _ in range(100):
        assert t.admit(kind="security", app_id=APP) is None
        assert t.admit(kind="none", app_id=APP) is None


def test_retry_after_enforcement_can_be_turned_off() -> None:
    strict = throttler({"identity": {"resourceUnits": 10}})
    loose = throttler({"identity": {"resourceUnits": 10}, "enforceRetryAfter": False})
    for t in (strict, loose):
        for _ in range(5):
            assert t.admit(kind="identity", app_id=APP, cost=2) is None
        assert t.admit(kind="identity", app_id=APP, cost=2) is not None
        t.clock.advance(1.0)  # one unit back: enough for a cost-1 request, before the Retry-After of 2 s
    assert strict.admit(kind="identity", app_id=APP, cost=1) is not None
    assert loose.admit(kind="identity", app_id=APP, cost=1) is None


@pytest.mark.parametrize(("bad", "path"), [
    ({"outlook": {"concurency": 3}}, "throttling.outlook"), ({"outlook": 3}, "throttling.outlook"),
    ("off", "throttling"), ({"outlok": {}}, "throttling"), ({"outlook": {"concurrency": 0}}, "outlook.concurrency"),
    ({"outlook": {"concurrency": None}}, "outlook.concurrency"), ({"auditLogs": {"requests": "5"}}, "requests"),
    ({"outlook": {"concurrencyScope": "tenant"}}, "concurrencyScope")])
def test_bad_settings_are_refused(bad: Any, path: str) -> None:
    with pytest.raises(FixtureError) as caught:
        Throttler({"throttling": bad}, FrozenClock())
    assert path in caught.value.path


def test_bad_throttling_settings_in_a_loaded_state_change_nothing(serve: Callable[..., TenantClient]) -> None:
    c = serve(FIXTURE)
    before = c.emulator.throttle
    r = c.http.put("/_emulator/state", json=_with_throttling({"identity": {"resourceUnits": -1}}))
    assert r.status_code == 400 and r.json()["path"] == "tenant.settings.throttling.identity.resourceUnits"
    assert c.emulator.throttle is before and "settings" not in c.emulator.state.data["tenant"]
    ok = c.http.put("/_emulator/state", json=_with_throttling({"identity": {"resourceUnits": 1}}))
    assert ok.status_code == 200
    assert c.emulator.throttle.config.identity_units == 1


# ---------------------------------------------------------------------------------------------- over HTTP
def _ok(req: ApiRequest, **params: str) -> ApiResponse:
    return ApiResponse(200, {"ok": True})


#: One real v1.0 path per throttle class (the dispatcher refuses paths the schema lacks), served by ``_ok``.
PROBE = {"identity": "/groups", "auditLogs": "/auditLogs/provisioning",
         "authMethods": "/policies/authenticationMethodsPolicy",
         "identityProtection": "/identityProtection/servicePrincipalRiskDetections",
         "messageTrace": "/admin/exchange/mailboxes"}


@pytest.fixture
def probe_routes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A router with one route per throttle class, so each rule is checked through the real dispatcher."""
    router = Router()
    router.add("GET", "/users/{user}/calendar", throttle="outlook")(_ok)
    for kind, path in PROBE.items():
        router.add("GET", path, throttle=kind)(_ok)
    monkeypatch.setattr(graph, "ROUTER", router)
    yield


FIXTURE: dict[str, Any] = {
    "tenant": {"id": "11111111-2222-3333-4444-555555555555", "domains": ["contoso.com"]},
    "users": [{"id": "u-alice", "userPrincipalName": "alice@contoso.com", "mailbox": {}}],
}


def _with_throttling(throttling: dict[str, Any]) -> dict[str, Any]:
    return {**FIXTURE, "tenant": {**FIXTURE["tenant"], "settings": {"throttling": throttling}}}


def _assert_429(r: httpx.Response, *, retry_after: bool = True) -> None:
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "TooManyRequests"
    assert "request-id" in r.json()["error"]["innerError"]
    assert ("Retry-After" in r.headers) is retry_after
    if retry_after:
        assert float(r.headers["Retry-After"]) > 0


@pytest.mark.usefixtures("probe_routes")
@pytest.mark.parametrize(("kind", "allowed", "retry_after"), [
    ("auditLogs", 5, "10"), ("authMethods", 5, "10"), ("identityProtection", 1, None), ("messageTrace", 100, "300")])
def test_window_rules_over_http(serve: Callable[..., TenantClient], kind: str, allowed: int,
                                retry_after: str | None) -> None:
    c = serve(FIXTURE)
    for _ in range(allowed):
        assert c.graph("GET", PROBE[kind]).status_code == 200
    r = c.graph("GET", PROBE[kind])
    _assert_429(r, retry_after=retry_after is not None)
    if retry_after is not None:
        assert 0 < float(r.headers["Retry-After"]) <= float(retry_after)


@pytest.mark.usefixtures("probe_routes")
def test_identity_over_http_has_resource_unit_headers(serve: Callable[..., TenantClient]) -> None:
    c = serve(_with_throttling({"identity": {"resourceUnits": 3}}))
    c.emulator.clock.freeze()  # the bucket refills with time: a loaded machine must not change the answer
    for _ in range(3):
        ok = c.graph("GET", PROBE["identity"])
        assert ok.status_code == 200 and ok.headers["x-ms-resource-unit"] == "1"
    r = c.graph("GET", PROBE["identity"])
    _assert_429(r)
    assert r.headers["x-ms-throttle-information"] == "ResourceUnitLimitExceeded"
    assert r.headers["x-ms-throttle-scope"].startswith("Tenant_Application/ReadWrite/")
    # a fractional Retry-After, written with three decimals as Microsoft does: 1 unit at 3 units / 10 s
    retry_after = r.headers["Retry-After"]
    assert retry_after == "3.334"  # 10/3 s, rounded up so a caller never comes back early
    c.emulator.clock.advance(float(retry_after))
    assert c.graph("GET", PROBE["identity"]).status_code == 200


def test_identity_on_the_real_users_route(serve: Callable[..., TenantClient]) -> None:
    c = serve(_with_throttling({"identity": {"resourceUnits": 2}}))
    assert c.graph("GET", "/users/u-alice").status_code == 200
    assert c.graph("GET", "/users/u-alice", params={"$select": "id"}).headers["x-ms-resource-unit"] == "1"
    _assert_429(c.graph("GET", "/users/u-alice"))


@pytest.mark.usefixtures("probe_routes")
def test_outlook_fifth_concurrent_request_is_throttled(serve: Callable[..., TenantClient]) -> None:
    c = serve(FIXTURE, latency_ms=300)  # the latency keeps the first requests in flight
    token = c.token()

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=c.base_url, timeout=10,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            return list(await asyncio.gather(*[client.get("/v1.0/users/alice@contoso.com/calendar") for _ in range(5)]))

    responses = asyncio.run(burst())
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200, 200, 200, 429]
    throttled = next(r for r in responses if r.status_code == 429)
    _assert_429(throttled)
    assert "MailboxConcurrency" in throttled.json()["error"]["message"]
    # the slots are free again once the requests are answered; u-alice and alice@contoso.com are one mailbox
    assert c.graph("GET", "/users/u-alice/calendar").status_code == 200


@pytest.mark.usefixtures("probe_routes")
def test_outlook_window_over_http(serve: Callable[..., TenantClient]) -> None:
    c = serve(_with_throttling({"outlook": {"requests": 2, "windowSeconds": 600}}))
    assert c.graph("GET", "/users/u-alice/calendar").status_code == 200
    assert c.graph("GET", "/users/u-alice/calendar").status_code == 200
    r = c.graph("GET", "/users/u-alice/calendar")
    _assert_429(r)
    assert 599 < float(r.headers["Retry-After"]) <= 600


@pytest.mark.usefixtures("probe_routes")
def test_batch_sub_requests_are_throttled_inside_a_200(serve: Callable[..., TenantClient]) -> None:
    c = serve(_with_throttling({"auditLogs": {"requests": 3}}))
    body = {"requests": [{"id": str(n), "method": "GET", "url": PROBE["auditLogs"]} for n in range(5)]}
    r = c.graph("POST", "/$batch", json=body)
    assert r.status_code == 200
    subs = {x["id"]: x for x in r.json()["responses"]}
    assert sorted(x["status"] for x in subs.values()) == [200, 200, 200, 429, 429]
    for sub in subs.values():
        if sub["status"] == 429:
            assert sub["body"]["error"]["code"] == "TooManyRequests"
            assert float(sub["headers"]["Retry-After"]) > 0


@pytest.mark.usefixtures("probe_routes")
def test_throttling_off_by_setting(serve: Callable[..., TenantClient]) -> None:
    c = serve(_with_throttling({"enabled": False}))
    for _ in range(8):
        assert c.graph("GET", PROBE["identityProtection"]).status_code == 200


# ---------------------------------------------------------------------------------------------- real routes
#: Which documented limit applies to which Graph resource [S30]; the first matching prefix wins.
_DOCUMENTED_CLASS = [
    (r"/users/\{\w+\}/authentication/", "authMethods"),  # identity and access reports: authenticationMethod
    (r"/users/\{\w+\}/(mailFolders|messages|mailboxSettings)", "outlook"),
    (r"/auditLogs/", "auditLogs"),
    (r"/reports/authenticationMethods/", "reports"),
    (r"/identityProtection/", "identityProtection"),
    (r"/identity/conditionalAccess/", "identityProtection"),  # "identity protection and conditional access"
    (r"/admin/exchange/tracing/", "messageTrace"),
    # SharePoint / OneDrive through Graph: SharePoint's own resource-unit limits, not identity's
    (r"/(users/\{\w+\}/drive|drives/|sites/|admin/sharepoint/)", "sharepoint"),
    (r"/(users|servicePrincipals|oauth2PermissionGrants|domains)\b", "identity"),
]


def test_every_graph_route_has_its_documented_throttle_class() -> None:
    assert services.GRAPH_RESOURCES  # imported: every resource is registered on graph.ROUTER
    checked = 0
    for route in graph.ROUTER.routes:
        template = re.sub(r"\(\?P<(\w+)>\[\^/\]\+\)", r"{\1}", route.pattern.pattern[1:-3])
        for prefix, kind in _DOCUMENTED_CLASS:
            if re.match(prefix, template):
                assert route.throttle == kind, f"{route.method} {template}: {route.throttle}, documented {kind}"
                checked += 1
                break
    assert checked >= 10


# ---------------------------------------------------------------------------------------------- properties
@given(steps=st.lists(st.floats(min_value=0, max_value=4, allow_nan=False), min_size=1, max_size=60),
       limit=st.integers(min_value=1, max_value=6))
@settings(max_examples=60, deadline=None)
def test_window_never_admits_more_than_its_limit(steps: list[float], limit: int) -> None:
    t = throttler({"auditLogs": {"requests": limit, "windowSeconds": 10}})
    admitted: list[float] = []
    for step in steps:
        t.clock.advance(step)
        now = t.clock.now().timestamp()
        if t.admit(kind="auditLogs", app_id=APP) is None:
            admitted.append(now)
            assert sum(1 for x in admitted if x > now - 10) <= limit


@given(kind=st.sampled_from(["auditLogs", "messageTrace", "identity", "outlook"]),
       burst=st.integers(min_value=1, max_value=30), early=st.floats(min_value=0.001, max_value=0.9))
@settings(max_examples=60, deadline=None)
def test_waiting_the_retry_after_is_enough_and_coming_back_early_is_not(kind: str, burst: int,
                                                                         early: float) -> None:
    t = throttler({"auditLogs": {"requests": 3}, "messageTrace": {"requests": 4, "windowSeconds": 30},
                   "identity": {"resourceUnits": 5}, "outlook": {"requests": 5, "windowSeconds": 60}})

    def call() -> Rejection | None:
        result = t.admit(kind=kind, app_id=APP, mailbox="m1", cost=2)
        if result is None:
            t.release(kind=kind, app_id=APP, mailbox="m1")
        return result

    rejection = None
    for _ in range(burst):
        rejection = call()
        if rejection is not None:
            break
    if rejection is None:
        return
    assert rejection.retry_after is not None
    t.clock.advance(rejection.retry_after * early)
    assert call() is not None  # before Retry-After: another 429 (RetryAfterPlugin)
    t.clock.advance(rejection.retry_after * (1 - early) + 1e-6)  # the clock keeps microseconds
    assert call() is None


def _burst(c: TenantClient, scope: str, method: str, url: str, n: int, body: Any = None) -> list[httpx.Response]:
    token = c.token(scope)

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=c.base_url, timeout=10,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            return list(await asyncio.gather(*[client.request(method, url, json=body) for _ in range(n)]))

    return asyncio.run(run())


def test_outlook_concurrency_on_the_real_message_rules_route(serve: Callable[..., TenantClient]) -> None:
    c = serve(FIXTURE, latency_ms=300)
    responses = _burst(c, GRAPH_SCOPE, "GET", "/v1.0/users/alice@contoso.com/mailFolders/inbox/messageRules", 5)
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 429]
    _assert_429(next(r for r in responses if r.status_code == 429))


def test_exchange_concurrency_cap_over_http(serve: Callable[..., TenantClient]) -> None:
    c = serve({**FIXTURE, "tenant": {**FIXTURE["tenant"], "settings": {"exchangeConcurrency": 2}}}, latency_ms=300)
    body = {"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {"Identity": "alice@contoso.com"}}}
    url = f"/adminapi/beta/{c.emulator.state.tenant_id}/InvokeCommand"
    responses = _burst(c, EXCHANGE_SCOPE, "POST", url, 3, body)
    assert sorted(r.status_code for r in responses) == [200, 200, 429]
    throttled = next(r for r in responses if r.status_code == 429)
    assert float(throttled.headers["Retry-After"]) > 0
    assert c.exo("Get-Mailbox", {"Identity": "alice@contoso.com"}).status_code == 200
