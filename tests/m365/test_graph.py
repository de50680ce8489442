"""GraphClient over real HTTP against the emulator: paging, $batch, throttling, faults, token expiry, errors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from reclaim.emulator import FaultSpec
from reclaim.m365 import (
    AccessDenied,
    AuthenticationFailed,
    BatchRequest,
    LicenseRequired,
    MailboxNotEnabled,
    NotFound,
    Throttled,
    TransientError,
)
from tests.conftest import TenantClient
from tests.m365.helpers import StaticTokens, VirtualSleep, calls, connect, mock_connection, run

TENANT = "11111111-2222-3333-4444-555555555555"


def fixture(users: int = 3, *, rules: int = 2, settings: dict[str, Any] | None = None,
            apps: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "tenant": {"id": TENANT, "displayName": "Contoso", "domains": ["contoso.com"], "settings": settings or {}},
        "users": [{"id": f"u{i:04d}", "userPrincipalName": f"user{i:04d}@contoso.com", "displayName": f"User {i}",
                   "mailbox": {"inboxRules": [{"id": f"r{i}-{j}", "displayName": f"rule {j}", "isEnabled": True,
                                               "actions": {"markAsRead": True}} for j in range(rules)]}}
                  for i in range(users)],
    }
    if apps is not None:
        doc["apps"] = apps
    return doc


Serve = Callable[..., TenantClient]


def inbox_rules(c: TenantClient, user_id: str) -> list[dict[str, Any]]:
    user = c.emulator.state.find_user(user_id)
    assert user is not None
    rules: list[dict[str, Any]] = user["mailbox"]["inboxRules"]
    return rules


# ---------------------------------------------------------------------------------------------- paging
@run
async def _page_all(c: TenantClient) -> list[dict[str, Any]]:
    async with connect(c) as conn:
        return [u async for u in conn.graph.paged("/users", {"$top": "7", "$select": "id,userPrincipalName"})]


def test_paging_follows_every_next_link_as_given(serve: Serve) -> None:
    c = serve(fixture(250, rules=0))
    users = _page_all(c)
    assert [u["id"] for u in users] == [f"u{i:04d}" for i in range(250)]
    pages = calls(c, "GET", "/v1.0/users")
    assert len(pages) == 36  # ceil(250 / 7)
    # the first request carries our query; every later one exactly the query of the link we were given
    assert "%24top=7" in pages[0].query or "$top=7" in pages[0].query
    assert all("skiptoken" in p.query for p in pages[1:])


def test_next_link_is_used_verbatim_and_never_sent_elsewhere() -> None:
    seen: list[str] = []
    odd_link = "https://graph.microsoft.com/v1.0/users?%24skiptoken=a%2Bb%3D%3D&%24top=2&x=%C3%A9"

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if "skiptoken" not in str(request.url):
            return httpx.Response(200, json={"value": [{"id": "1"}], "@odata.nextLink": odd_link})
        if len(seen) == 2:
            return httpx.Response(200, json={"value": [{"id": "2"}],
                                             "@odata.nextLink": "https://evil.example/v1.0/users?$skiptoken=z"})
        raise AssertionError("unexpected request")

    from reclaim.m365.errors import BadRequest
    async def main() -> list[str]:
        out: list[str] = []
        async with mock_connection(handler, StaticTokens()) as conn:
            with pytest.raises(BadRequest, match=r"refusing to send a token to https://evil\.example"):
                async for item in conn.graph.paged("/users", {"$top": "2"}):
                    out.append(item["id"])
        return out

    assert asyncio.run(main()) == ["1", "2"]
    assert seen[1] == odd_link


# ---------------------------------------------------------------------------------------------- $batch
def test_batch_maps_shuffled_sub_responses_back_and_retries_only_what_failed(serve: Serve) -> None:
    c = serve(fixture(30, rules=1), faults=FaultSpec.parse("429=0.2,503=0.1,retry_after=0.25"), seed=11)
    sleep = VirtualSleep(c.emulator)

    async def main() -> tuple[list[Any], Any]:
        async with connect(c, sleep=sleep) as conn:
            requests = [BatchRequest("GET", f"/users/u{i:04d}", id=f"get-{i}") for i in range(30)]
            requests += [BatchRequest("GET", f"/users/missing-{i}", id=f"miss-{i}") for i in range(5)]
            results = await conn.graph.batch(requests)
            return results, conn.pipeline.stats

    results, stats = asyncio.run(main())
    assert len(results) == 35
    for i, result in enumerate(results[:30]):
        assert result.id == f"get-{i}" and result.ok, result.error
        assert result.body["id"] == f"u{i:04d}"  # mapped back by id, though the emulator shuffles them
    for result in results[30:]:
        assert result.status == 404 and isinstance(result.error, NotFound)
        with pytest.raises(NotFound):
            result.json()
    assert any(r.attempts > 1 for r in results), "the seeded faults should have forced sub-request retries"
    assert stats.retries > 0
    assert 0.25 in sleep.delays  # the sub-responses' own Retry-After, honoured
    # a 404 is final: never re-sent
    assert all(r.attempts == 1 for r in results[30:]) or stats.retries > 0
    sub_gets = [r for r in c.emulator.calls if r.via == "$batch" and "/users/missing-" in r.path]
    envelopes = [r for r in c.emulator.calls if r.path.endswith("/$batch")]
    assert len(envelopes) >= 2 and len(sub_gets) <= 5 * len(envelopes)


def test_batch_depends_on_and_failed_dependencies(serve: Serve) -> None:
    c = serve(fixture(2, rules=1), faults=FaultSpec.parse("429=0.3,retry_after=0.1"), seed=3)

    async def main() -> list[Any]:
        async with connect(c) as conn:
            rule = "/users/u0000/mailFolders/inbox/messageRules/r0-0"
            return await conn.graph.batch([
                BatchRequest("PATCH", rule, body={"isEnabled": False}, id="disable", idempotent=True),
                BatchRequest("GET", rule, id="reread", depends_on=("disable",)),
                BatchRequest("GET", "/users/nobody", id="missing"),
                BatchRequest("GET", "/users/u0001", id="after-missing", depends_on=("missing",)),
            ])

    disable, reread, missing, after = asyncio.run(main())
    assert disable.ok and reread.ok
    assert reread.body["isEnabled"] is False  # ran after the PATCH it depends on
    assert isinstance(missing.error, NotFound)
    assert after.status == 424 and after.error is not None and "depends on failed" in str(after.error)
    assert inbox_rules(c, "u0000")[0]["isEnabled"] is False


def test_batch_splits_into_envelopes_of_twenty_keeping_linked_requests_together(serve: Serve) -> None:
    c = serve(fixture(45, rules=0))

    async def main() -> list[Any]:
        async with connect(c) as conn:
            reqs = [BatchRequest("GET", f"/users/u{i:04d}", id=str(i)) for i in range(19)]
            reqs += [BatchRequest("GET", "/users/u0019", id="a"), BatchRequest("GET", "/users/u0020", id="b",
                                                                                depends_on=("a",))]
            reqs += [BatchRequest("GET", f"/users/u{i:04d}", id=str(i)) for i in range(21, 45)]
            return await conn.graph.batch(reqs)

    results = asyncio.run(main())
    assert all(r.ok for r in results)
    envelopes = [r.body["requests"] for r in c.emulator.calls if r.path.endswith("/$batch")]
    assert all(len(e) <= 20 for e in envelopes)
    assert sum(len(e) for e in envelopes) == 45
    together = [e for e in envelopes if any(x["id"] == "a" for x in e)]
    assert len(together) == 1 and any(x["id"] == "b" and x["dependsOn"] == ["a"] for x in together[0])


def test_batch_gives_up_with_throttled_after_the_budget() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        import json as _json

        body = _json.loads(request.content)
        return httpx.Response(200, json={"responses": [
            {"id": r["id"], "status": 429, "headers": {"Retry-After": "0.5"},
             "body": {"error": {"code": "TooManyRequests", "message": "Please retry again later."}}}
            for r in body["requests"]]})

    sleep_log: list[float] = []

    async def sleep(seconds: float) -> None:
        sleep_log.append(seconds)

    async def main() -> list[Any]:
        async with mock_connection(handler, StaticTokens(), max_attempts=4, sleep=sleep) as conn:
            return await conn.graph.batch([BatchRequest("GET", "/users/x")])

    (result,) = asyncio.run(main())
    assert result.status == 429 and isinstance(result.error, Throttled)
    assert result.attempts == 4 and sleep_log == [0.5, 0.5, 0.5]


# ---------------------------------------------------------------------------------------------- throttling
def test_outlook_concurrency_is_kept_at_four_per_mailbox(serve: Serve) -> None:
    c = serve(fixture(1, rules=1), latency_ms=40)

    async def main() -> Any:
        async with connect(c) as conn:
            await asyncio.gather(*(conn.graph.get("/users/u0000/mailFolders/inbox/messageRules", mailbox="u0000")
                                   for _ in range(16)))
            return conn.pipeline

    pipeline = asyncio.run(main())
    assert pipeline.mailboxes.peak == 4
    assert pipeline.stats.throttled == 0  # the emulator answers the 5th concurrent request with a 429


def test_outlook_concurrency_429s_are_retried_when_the_caller_gives_no_mailbox(serve: Serve) -> None:
    c = serve(fixture(1, rules=1), latency_ms=40)
    sleep = VirtualSleep(c.emulator)

    async def main() -> Any:
        async with connect(c, sleep=sleep) as conn:
            got = await asyncio.gather(*(conn.graph.get("/users/u0000/mailFolders/inbox/messageRules")
                                         for _ in range(12)))
            assert all(len(g["value"]) == 1 for g in got)
            return conn.pipeline

    pipeline = asyncio.run(main())
    assert pipeline.stats.throttled > 0
    assert pipeline.limit.decreases >= 1  # AIMD: the global bound backed off
    assert 1.0 in sleep.delays  # the emulator's Retry-After for concurrency


@pytest.mark.parametrize(("kind", "url", "settings"), [
    ("outlook rate", "/users/u0000/mailFolders/inbox/messageRules",
     {"throttling": {"outlook": {"requests": 3, "windowSeconds": 10}}}),
    ("identity RU bucket", "/users/u0000", {"throttling": {"identity": {"resourceUnits": 4}}}),
    ("auditLogs", "/auditLogs/directoryAudits", {}),
    ("messageTrace", "/admin/exchange/tracing/messageTraces", {"throttling": {"messageTrace": {"requests": 2}}}),
])
def test_each_throttling_rule_is_waited_out_with_its_retry_after(serve: Serve, kind: str, url: str,
                                                                 settings: dict[str, Any]) -> None:
    c = serve(fixture(1, rules=1, settings=settings))
    sleep = VirtualSleep(c.emulator)

    async def main() -> Any:
        async with connect(c, sleep=sleep) as conn:
            for _ in range(8):
                await conn.graph.get(url)
            return conn.pipeline.stats

    stats = asyncio.run(main())
    assert stats.throttled > 0, kind
    assert sleep.delays and all(d > 0 for d in sleep.delays)
    # Retry-After honoured: the emulator enforces it, so waiting less would have drawn a second 429 each time
    assert stats.throttled == len(sleep.delays)


def test_identity_protection_429_without_retry_after_backs_off_exponentially(serve: Serve) -> None:
    c = serve(fixture(1, rules=0))
    sleep = VirtualSleep(c.emulator)

    async def main() -> Any:
        async with connect(c, sleep=sleep) as conn:
            await asyncio.gather(*(conn.graph.get("/identityProtection/riskyUsers") for _ in range(4)))
            return conn.pipeline.stats

    stats = asyncio.run(main())
    assert stats.throttled >= 3
    assert all(0.1 <= d <= 5.0 for d in sleep.delays)  # jittered backoff between base/2 and max_delay
    assert len(set(sleep.delays)) > 1


def test_fractional_retry_after_is_honoured(serve: Serve) -> None:
    c = serve(fixture(1, rules=0), faults=FaultSpec.parse("429=0.5,retry_after=0.375"), seed=4)
    sleep = VirtualSleep(c.emulator)

    async def main() -> None:
        async with connect(c, sleep=sleep) as conn:
            for _ in range(6):
                await conn.graph.get("/users/u0000")

    asyncio.run(main())
    assert sleep.delays and set(sleep.delays) == {0.375}


def test_top_level_throttling_gives_up_after_the_retry_budget(serve: Serve) -> None:
    c = serve(fixture(1, rules=0), faults=FaultSpec.parse("429=1.0,retry_after=2"), seed=1)
    sleep = VirtualSleep(c.emulator)

    async def main() -> None:
        async with connect(c, sleep=sleep, max_attempts=3) as conn:
            await conn.graph.get("/users/u0000")

    with pytest.raises(Throttled) as caught:
        asyncio.run(main())
    assert caught.value.attempts == 3 and caught.value.retry_after == 2.0
    assert caught.value.code == "TooManyRequests" and caught.value.request_id
    assert sleep.delays == [2.0, 2.0]
    assert "wait a few minutes" in str(caught.value)


# ---------------------------------------------------------------------------------------------- faults
def test_twenty_percent_faults_every_call_succeeds_and_no_write_is_duplicated(serve: Serve) -> None:
    c = serve(fixture(8, rules=3), faults=FaultSpec.parse("429=0.1,503=0.05,reset=0.05,retry_after=0.1"), seed=42)

    async def main() -> Any:
        async with connect(c) as conn:
            g = conn.graph
            users = [u async for u in g.paged("/users", {"$top": "3"})]
            assert len(users) == 8

            async def clean(uid: str) -> None:
                base = f"/users/{uid}/mailFolders/inbox/messageRules"
                rules = await g.get(base, mailbox=uid)
                assert len(rules["value"]) == 3
                await g.request("PATCH", f"{base}/{rules['value'][0]['id']}", json={"isEnabled": False},
                                mailbox=uid, idempotent=True)
                await g.request("DELETE", f"{base}/{rules['value'][1]['id']}", mailbox=uid)

                async def created() -> bool:
                    current = await g.get(base, mailbox=uid)
                    return any(r["displayName"] == "reclaim canary" for r in current["value"])

                await g.request("POST", base, json={"displayName": "reclaim canary", "sequence": 9,
                                                    "actions": {"markAsRead": True}}, mailbox=uid, verify=created)
                await g.request("POST", f"/users/{uid}/revokeSignInSessions", idempotent=True)

            await asyncio.gather(*(clean(u["id"]) for u in users))
            batch = await g.batch([BatchRequest("GET", f"/users/{u['id']}") for u in users])
            assert all(r.ok for r in batch)
            return conn.pipeline.stats

    stats = asyncio.run(main())
    injected = c.emulator.faults.injected
    assert injected.get("429", 0) > 0 and injected.get("503", 0) > 0 and injected.get("reset", 0) > 0
    assert stats.retries > 0
    for user in c.emulator.state.users():
        rules = user["mailbox"]["inboxRules"]
        names = [r["displayName"] for r in rules]
        assert names.count("reclaim canary") == 1, names  # created once, whatever was retried
        assert len(rules) == 3  # 3 - 1 deleted + 1 created
        assert [r["isEnabled"] for r in rules if r["displayName"] == "rule 0"] == [False]
        assert user.get("signInSessionsValidFromDateTime")


class LoseResponses(httpx.AsyncBaseTransport):
    """Forwards to the real server, then loses the answer of chosen requests (the write took effect)."""

    def __init__(self, lose: Callable[[httpx.Request], bool]) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.lose = lose
        self.lost = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if self.lose(request) and not self.lost:
            await response.aread()
            self.lost += 1
            raise httpx.ReadError("connection reset by peer", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_a_lost_answer_to_a_write_is_verified_not_resent(serve: Serve) -> None:
    c = serve(fixture(1, rules=0))
    transport = LoseResponses(lambda r: r.method == "POST" and r.url.path.endswith("/messageRules"))
    base = "/users/u0000/mailFolders/inbox/messageRules"

    async def main() -> Any:
        async with connect(c, transport=transport) as conn:
            async def created() -> bool:
                return any(r["displayName"] == "once" for r in (await conn.graph.get(base))["value"])

            return await conn.graph.request("POST", base, json={"displayName": "once", "sequence": 1},
                                            verify=created)

    assert asyncio.run(main()) is None  # taken effect, shown by verify; nothing re-sent
    assert transport.lost == 1
    assert len(calls(c, "POST", "/messageRules")) == 1
    assert [r["displayName"] for r in inbox_rules(c, "u0000")] == ["once"]


def test_a_lost_answer_to_an_unverifiable_write_is_not_retried(serve: Serve) -> None:
    c = serve(fixture(1, rules=0))
    transport = LoseResponses(lambda r: r.method == "POST" and r.url.path.endswith("/messageRules"))

    async def main() -> None:
        async with connect(c, transport=transport) as conn:
            await conn.graph.request("POST", "/users/u0000/mailFolders/inbox/messageRules",
                                     json={"displayName": "maybe", "sequence": 1})

    with pytest.raises(TransientError, match="not retried because the request may have taken effect"):
        asyncio.run(main())
    assert len(calls(c, "POST", "/messageRules")) == 1


def test_a_delete_whose_answer_was_lost_counts_as_done(serve: Serve) -> None:
    c = serve(fixture(1, rules=1))
    transport = LoseResponses(lambda r: r.method == "DELETE")

    async def main() -> Any:
        async with connect(c, transport=transport) as conn:
            return await conn.graph.request("DELETE", "/users/u0000/mailFolders/inbox/messageRules/r0-0")

    assert asyncio.run(main()) is None
    assert len(calls(c, "DELETE", "/messageRules/r0-0")) == 2  # re-sent once, answered 404: already gone
    assert inbox_rules(c, "u0000") == []


# ---------------------------------------------------------------------------------------------- tokens
def test_token_expiry_mid_run_refreshes_once(serve: Serve) -> None:
    c = serve(fixture(2, rules=1, settings={"tokenLifetimeSeconds": 600}))

    async def main() -> Any:
        async with connect(c) as conn:
            await conn.graph.get("/users/u0000")
            c.emulator.clock.advance(900)  # the token we hold has expired at the service
            await conn.graph.get("/users/u0001")
            await conn.graph.get("/users/u0000/mailFolders/inbox/messageRules")
            return conn.pipeline.stats

    stats = asyncio.run(main())
    assert stats.refreshed_tokens == 1
    assert len(calls(c, "POST", "/oauth2/v2.0/token")) == 2
    assert len([r for r in c.emulator.calls if r.path == "/v1.0/users/u0001"]) == 2  # 401, then 200


# ---------------------------------------------------------------------------------------------- errors
READ_ONLY = {"clientId": "22222222-0000-0000-0000-00000000000a", "clientSecret": "ro-secret",
             "permissions": ["User.Read.All", "MailboxSettings.Read", "AuditLog.Read.All",
                             "IdentityRiskyUser.Read.All"],
             "roles": ["Global Reader"]}


def test_missing_permission_is_a_typed_error_that_names_it(serve: Serve) -> None:
    c = serve(fixture(1, rules=1, apps=[READ_ONLY]))

    async def main() -> None:
        async with connect(c, app=READ_ONLY) as conn:
            await conn.graph.request("PATCH", "/users/u0000/mailFolders/inbox/messageRules/r0-0",
                                     json={"isEnabled": False}, idempotent=True)

    with pytest.raises(AccessDenied) as caught:
        asyncio.run(main())
    err = caught.value
    assert err.missing_permission == "MailboxSettings.ReadWrite"
    assert err.status == 403 and err.code == "ErrorAccessDenied" and err.request_id
    assert err.exit_code == 3
    line = str(err)
    assert "\n" not in line and "MailboxSettings.ReadWrite" in line and "reclaim tenant check" in line


def test_missing_role_is_named_when_the_permission_is_held(serve: Serve) -> None:
    app = {**READ_ONLY, "permissions": [*READ_ONLY["permissions"], "User.EnableDisableAccount.All"]}
    c = serve(fixture(1, rules=0, apps=[app]))

    async def main() -> None:
        async with connect(c, app=app) as conn:
            await conn.graph.request("PATCH", "/users/u0000", json={"accountEnabled": False}, idempotent=True)

    with pytest.raises(AccessDenied) as caught:
        asyncio.run(main())
    assert caught.value.missing_permission is None
    assert caught.value.missing_role == "User Administrator or Privileged Authentication Administrator"


def test_licence_mailbox_and_not_found_errors(serve: Serve) -> None:
    doc = fixture(1, rules=0, settings={"licenses": {"entraIdP1": False, "entraIdP2": False}})
    doc["users"].append({"id": "nomail", "userPrincipalName": "nomail@contoso.com"})
    c = serve(doc)

    async def main() -> list[BaseException]:
        out: list[BaseException] = []
        async with connect(c) as conn:
            for url in ("/auditLogs/signIns", "/identityProtection/riskyUsers",
                        "/users/nomail/mailFolders/inbox/messageRules", "/users/ghost"):
                try:
                    await conn.graph.get(url)
                except Exception as exc:  # noqa: BLE001 - collected for the assertions below
                    out.append(exc)
        return out

    p1, p2, mailbox, missing = asyncio.run(main())
    assert isinstance(p1, LicenseRequired) and p1.code == "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
    assert isinstance(p2, LicenseRequired) and "Entra ID P2" in str(p2)
    assert isinstance(mailbox, MailboxNotEnabled) and mailbox.code == "MailboxNotEnabledForRESTAPI"
    assert isinstance(missing, NotFound) and missing.code == "Request_ResourceNotFound"


def test_wrong_secret_is_authentication_failed(serve: Serve) -> None:
    c = serve(fixture(1, rules=0))
    wrong = {**c.app, "clientSecret": "not-the-secret"}

    async def main() -> None:
        async with connect(c, app=wrong) as conn:
            await conn.graph.get("/users")

    with pytest.raises(AuthenticationFailed) as caught:
        asyncio.run(main())
    assert caught.value.code == "AADSTS7000215" and caught.value.exit_code == 3
    assert "not-the-secret" not in str(caught.value) and "secret is wrong" in str(caught.value)


def test_a_retry_after_beyond_the_budget_fails_fast_with_the_wait() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "3600"},
                              json={"error": {"code": "TooManyRequests", "message": "later"}})

    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def main() -> None:
        async with mock_connection(handler, StaticTokens(), sleep=sleep) as conn:
            await conn.graph.get("/users")

    with pytest.raises(Throttled) as caught:
        asyncio.run(main())
    assert caught.value.retry_after == 3600 and caught.value.attempts == 1 and slept == []


def test_concurrent_401s_refresh_the_token_once(serve: Serve) -> None:
    c = serve(fixture(1, rules=0, settings={"tokenLifetimeSeconds": 600}))

    async def main() -> Any:
        async with connect(c) as conn:
            await conn.graph.get("/users/u0000")
            c.emulator.clock.advance(900)
            await asyncio.gather(*(conn.graph.get("/users/u0000") for _ in range(8)))
            return conn.pipeline.stats

    stats = asyncio.run(main())
    assert stats.refreshed_tokens >= 1
    assert len(calls(c, "POST", "/oauth2/v2.0/token")) == 2  # one refresh for eight expired requests


def test_a_dead_endpoint_is_unreachable_after_a_few_tries() -> None:
    from reclaim.m365 import Unreachable

    tries: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        tries.append(str(request.url))
        raise httpx.ConnectError("connection refused", request=request)

    async def main() -> None:
        async with mock_connection(handler, StaticTokens(), max_attempts=8) as conn:
            await conn.graph.request("POST", "/users/x/revokeSignInSessions")  # even a write: nothing was sent

    with pytest.raises(Unreachable) as caught:
        asyncio.run(main())
    assert len(tries) == 3 and caught.value.exit_code == 3


def test_retry_after_as_an_http_date() -> None:
    from email.utils import format_datetime

    answers: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        answers.append(1)
        if len(answers) == 1:
            when = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
            return httpx.Response(429, headers={"Retry-After": when},
                                  json={"error": {"code": "TooManyRequests", "message": "later"}})
        return httpx.Response(200, json={"id": "u"})

    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def main() -> Any:
        async with mock_connection(handler, StaticTokens(), sleep=sleep) as conn:
            return await conn.graph.get("/users/u")

    assert asyncio.run(main()) == {"id": "u"}
    assert len(slept) == 1 and 18 <= slept[0] <= 20
