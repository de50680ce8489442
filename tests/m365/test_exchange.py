"""ExchangeClient over real HTTP against the emulator's InvokeCommand, plus error shapes via MockTransport."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from reclaim.emulator import FaultSpec
from reclaim.m365 import AccessDenied, AuthenticationFailed, ExchangeError, ExchangeNotFound, NotFound
from reclaim.m365.exchange import ANCHOR_SYSTEM_MAILBOX, exchange_error
from reclaim.m365.exchange_models import InboxRule, Mailbox
from tests.conftest import TenantClient
from tests.m365.helpers import StaticTokens, VirtualSleep, calls, connect, mock_connection, run

TENANT = "11111111-2222-3333-4444-555555555555"
Serve = Callable[..., TenantClient]


def fixture(users: int = 2, *, settings: dict[str, Any] | None = None,
            apps: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "tenant": {"id": TENANT, "domains": ["contoso.com"], "settings": settings or {}},
        "users": [{
            "id": f"u{i:04d}", "userPrincipalName": f"user{i:04d}@contoso.com", "displayName": f"User {i}",
            "mailbox": {
                "forwardingSmtpAddress": "drop@evil.example" if i == 0 else None,
                "inboxRules": [
                    {"id": f"AQAAA{i}A=", "displayName": "..", "sequence": 1,
                     "conditions": {"subjectContains": ["invoice", "payment"]},
                     "actions": {"moveToFolder": "deleteditems", "markAsRead": True}},
                    {"id": f"AQAAB{i}A=", "displayName": "hidden", "sequence": 2, "hidden": True,
                     "actions": {"delete": True}},
                ],
                "sweepRules": [{"ruleId": f"sweep-{i}", "name": "tidy", "sourceFolder": "inbox",
                                "destinationFolder": "deleteditems", "keepForDays": 1}],
                "permissions": [{"user": "mallory@contoso.com", "accessRights": ["FullAccess"]}],
                "recipientPermissions": [{"trustee": "mallory@contoso.com", "accessRights": ["SendAs"]}],
                "mobileDevices": [{"id": f"dev-{i}", "deviceModel": "iPhone", "deviceId": f"D{i}"}],
            },
        } for i in range(users)],
        "blockedSenders": [{"senderAddress": "user0000@contoso.com", "reason": "OutboundSpamLimitExceeded",
                            "createdDatetime": "2026-11-20T10:00:00Z"}],
    }
    if apps is not None:
        doc["apps"] = apps
    return doc


def test_paging_re_posts_the_same_body_to_the_next_link(serve: Serve) -> None:
    c = serve(fixture(23, settings={"exchangePageSize": 5}))

    @run
    async def main() -> list[Mailbox]:
        async with connect(c) as conn:
            return [m async for m in conn.exchange.iter_mailboxes()]

    mailboxes = main()
    assert sorted(m.user_principal_name or "" for m in mailboxes) == [f"user{i:04d}@contoso.com" for i in range(23)]
    posts = calls(c, "POST", "/InvokeCommand")
    assert len(posts) == 5  # ceil(23 / 5)
    assert all(p.body == posts[0].body for p in posts)  # the same body every time
    assert all("skiptoken" in p.query for p in posts[1:])
    headers = {k.lower(): v for k, v in posts[0].headers.items()}
    assert headers["x-anchormailbox"] == f"APP:{ANCHOR_SYSTEM_MAILBOX}@{TENANT}"
    assert headers["prefer"] == "odata.maxpagesize=1000"
    assert posts[0].path == f"/adminapi/beta/{TENANT}/InvokeCommand"  # tenant id read from the token


def test_typed_wrappers_read_and_write_one_state(serve: Serve) -> None:
    c = serve(fixture(2))
    upn = "user0000@contoso.com"

    @run
    async def main() -> dict[str, Any]:
        async with connect(c) as conn:
            x = conn.exchange
            out: dict[str, Any] = {"mailbox": await x.get_mailbox(upn)}
            out["rules"] = await x.get_inbox_rules(upn, include_hidden=True)
            out["visible"] = await x.get_inbox_rules(upn, include_hidden=False)
            out["sweep"] = await x.get_sweep_rules(upn)
            out["blocked"] = await x.get_blocked_senders()
            out["perms"] = await x.get_mailbox_permissions(upn)
            out["sendas"] = await x.get_recipient_permissions(upn)
            out["devices"] = await x.get_mobile_devices(upn)
            out["cas"] = await x.get_cas_mailbox(upn)
            out["transport"] = await x.get_transport_rules()
            await x.set_mailbox_forwarding(upn)
            await x.disable_inbox_rule(upn, out["rules"][1].identity)
            await x.disable_sweep_rule(upn, out["sweep"][0].identity)
            await x.set_cas_mailbox(upn, ImapEnabled=False, PopEnabled=False)
            await x.remove_mailbox_permission(upn, "mallory@contoso.com", ["FullAccess"])
            await x.remove_recipient_permission(upn, "mallory@contoso.com", ["SendAs"])
            await x.remove_blocked_sender(upn)
            out["after_mailbox"] = await x.get_mailbox(upn)
            out["after_rules"] = await x.get_inbox_rules(upn)
            out["after_cas"] = await x.get_cas_mailbox(upn)
            out["after_perms"] = await x.get_mailbox_permissions(upn)
            # the same state through Graph: the hidden rule stays invisible there
            graph_rules = await conn.graph.get("/users/u0000/mailFolders/inbox/messageRules")
            out["graph_rules"] = [r["displayName"] for r in graph_rules["value"]]
            return out

    out = main()
    mailbox: Mailbox = out["mailbox"]
    assert mailbox.forwards and mailbox.forwarding_smtp_address == "smtp:drop@evil.example"
    assert not mailbox.deliver_to_mailbox_and_forward
    assert mailbox.raw["UserPrincipalName"] == "user0000@contoso.com"  # kept as received, for evidence
    rules: list[InboxRule] = out["rules"]
    assert [r.name for r in rules] == ["..", "hidden"] and len(out["visible"]) == 1
    assert rules[0].subject_contains_words == ["invoice", "payment"] and rules[0].mark_as_read
    assert rules[1].delete_message and rules[1].identity and "\\" in rules[1].identity
    assert out["sweep"][0].name == "tidy" and out["sweep"][0].enabled
    assert out["blocked"][0].sender_address == "user0000@contoso.com"
    assert out["blocked"][0].reason == "OutboundSpamLimitExceeded"
    perms = {p.user: p.access_rights for p in out["perms"]}
    assert perms["mallory@contoso.com"] == ["FullAccess"]
    assert perms["NT AUTHORITY\\SELF"] == ["FullAccess", "ReadPermission"]  # "A, B" on the wire, split
    assert "mallory@contoso.com" in [p.trustee for p in out["sendas"]]
    assert out["devices"][0].device_model == "iPhone"
    assert out["cas"].identity
    assert out["transport"] == []
    assert not out["after_mailbox"].forwards
    assert [r.enabled for r in out["after_rules"]] == [True, False]
    assert out["after_cas"].imap_enabled is False and out["after_cas"].pop_enabled is False
    assert [p.user for p in out["after_perms"]] == ["NT AUTHORITY\\SELF"]
    assert out["graph_rules"] == [".."]


def test_warnings_are_surfaced(serve: Serve) -> None:
    c = serve(fixture(1))
    seen: list[Any] = []

    async def main() -> Any:
        settings_conn = connect(c)
        settings_conn.exchange.on_warning = seen.append
        async with settings_conn as conn:
            await conn.exchange.set_mailbox_forwarding("user0000@contoso.com")  # clears it: no warning
            await conn.exchange.set_mailbox_forwarding("user0000@contoso.com")  # nothing to change: a warning
            return conn.exchange.warnings

    warnings = asyncio.run(main())
    assert len(warnings) == 1 and warnings == seen
    assert warnings[0].cmdlet == "Set-Mailbox" and "no settings" in warnings[0].message


def test_errors_are_typed_from_the_service_answer(serve: Serve) -> None:
    reader = {"clientId": "33333333-0000-0000-0000-00000000000b", "clientSecret": "reader-secret",
              "permissions": ["User.Read.All", "Exchange.ManageAsApp"], "roles": ["Global Reader"]}
    no_exo = {"clientId": "44444444-0000-0000-0000-00000000000c", "clientSecret": "noexo-secret",
              "permissions": ["User.Read.All"], "roles": []}
    full = fixture(1)
    full["apps"] = [reader, no_exo, {"clientId": "55555555-0000-0000-0000-00000000000d", "clientSecret": "s",
                                     "permissions": ["Exchange.ManageAsApp"], "roles": ["Exchange Administrator"]}]
    c = serve(full)

    async def attempt(app: dict[str, Any], cmdlet: str, params: dict[str, Any]) -> BaseException:
        async with connect(c, app=app) as conn:
            try:
                await conn.exchange.invoke(cmdlet, params)
            except Exception as exc:  # noqa: BLE001 - returned for the assertions
                return exc
        raise AssertionError("no error")

    admin = full["apps"][2]
    missing = asyncio.run(attempt(admin, "Get-Mailbox", {"Identity": "ghost@contoso.com"}))
    assert isinstance(missing, ExchangeNotFound) and isinstance(missing, NotFound)
    assert missing.exception_type == "ManagementObjectNotFoundException" and missing.cmdlet == "Get-Mailbox"
    assert "couldn't be found" in str(missing) and "Ex6F9304" not in str(missing)

    unknown = asyncio.run(attempt(admin, "Get-Nothing", {}))
    assert type(unknown) is ExchangeError and unknown.exception_type == "CommandNotFoundException"
    assert "is not recognized" in str(unknown)

    denied = asyncio.run(attempt(reader, "Set-Mailbox", {"Identity": "user0000@contoso.com",
                                                         "ForwardingSmtpAddress": None}))
    assert isinstance(denied, AccessDenied) and denied.exit_code == 3
    assert denied.missing_role and "Exchange Administrator" in denied.missing_role

    hidden = asyncio.run(attempt(reader, "Get-InboxRule", {"Mailbox": "user0000@contoso.com",
                                                           "IncludeHidden": True}))
    assert isinstance(hidden, AccessDenied) and "Exchange Administrator" in str(hidden)

    refused = asyncio.run(attempt(no_exo, "Get-Mailbox", {}))
    assert isinstance(refused, AuthenticationFailed) and "Exchange.ManageAsApp" in str(refused)


def test_faults_and_throttling_every_cmdlet_completes_once(serve: Serve) -> None:
    c = serve(fixture(6, settings={"exchangeConcurrency": 3}),
              faults=FaultSpec.parse("429=0.1,503=0.05,reset=0.05,retry_after=0.2"), seed=9, latency_ms=5)
    sleep = VirtualSleep(c.emulator)

    async def main() -> Any:
        async with connect(c, sleep=sleep) as conn:
            x = conn.exchange

            async def clean(i: int) -> None:
                upn = f"user{i:04d}@contoso.com"
                rules = await x.get_inbox_rules(upn)
                await x.disable_inbox_rule(upn, str(rules[0].identity))
                await x.remove_inbox_rule(upn, str(rules[1].identity))
                await x.set_mailbox_forwarding(upn)
                await x.remove_sweep_rule(upn, str((await x.get_sweep_rules(upn))[0].identity))

            await asyncio.gather(*(clean(i) for i in range(6)))
            return conn.pipeline.stats

    stats = asyncio.run(main())
    assert stats.retries > 0 and c.emulator.faults.injected
    for user in c.emulator.state.users():
        mbx = user["mailbox"]
        assert [(r["displayName"], r["isEnabled"]) for r in mbx["inboxRules"]] == [("..", False)]
        assert mbx["sweepRules"] == [] and mbx["forwardingSmtpAddress"] is None


def test_a_removal_whose_answer_was_lost_counts_as_done(serve: Serve) -> None:
    c = serve(fixture(1))
    lost: list[str] = []

    class Lose(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self.inner = httpx.AsyncHTTPTransport()

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await self.inner.handle_async_request(request)
            if b"Remove-InboxRule" in request.content and not lost:
                await response.aread()
                lost.append("x")
                raise httpx.RemoteProtocolError("Server disconnected without sending a response.",
                                                request=request)
            return response

        async def aclose(self) -> None:
            await self.inner.aclose()

    @run
    async def main() -> None:
        async with connect(c, transport=Lose()) as conn:
            rules = await conn.exchange.get_inbox_rules("user0000@contoso.com")
            await conn.exchange.remove_inbox_rule("user0000@contoso.com", str(rules[1].identity))

    main()
    assert lost and len([r for r in calls(c, "POST", "/InvokeCommand") if "Remove" in json.dumps(r.body)]) == 2
    assert [r["displayName"] for r in c.emulator.state.users()[0]["mailbox"]["inboxRules"]] == [".."]


# ---------------------------------------------------------------------------------------------- error shapes
@pytest.mark.parametrize(("body", "text", "exc_type", "kind"), [
    ({"error": {"code": "NotFound", "message": "Error executing cmdlet",
                "details": [{"code": "Client", "message": "Ex6F9304|Microsoft.Exchange.Configuration.Tasks."
                             "ManagementObjectNotFoundException|The operation couldn't be performed."}],
                "innererror": {"internalexception": {"message": "inner text", "type": "X.OtherException"}}}},
     "The operation couldn't be performed.", "OtherException", ExchangeNotFound),
    ({"error": {"code": "BadRequest", "message": "outer",
                "innererror": {"internalException": {"message": "from the inner exception",
                                                     "type": "System.ArgumentException"}}}},
     "from the inner exception", "ArgumentException", ExchangeError),
    ({"error": {"code": "BadRequest", "message": "only the outer message"}},
     "only the outer message", None, ExchangeError),
])
def test_error_text_precedence(body: dict[str, Any], text: str, exc_type: str | None, kind: type) -> None:
    error = exchange_error(400 if kind is ExchangeError else 404, body, {"request-id": "rid-1"}, cmdlet="Get-X",
                           url="https://outlook.office365.com/adminapi/beta/t/InvokeCommand")
    assert type(error) is kind
    assert isinstance(error, ExchangeError)
    assert error.message == f"Get-X: {text}" and error.exception_type == exc_type and error.request_id == "rid-1"


def test_mock_transport_paging_and_not_found_on_any_status() -> None:
    pages = [{"value": [{"Identity": "a"}], "@odata.nextLink":
              "https://outlook.office365.com/adminapi/beta/t/InvokeCommand?$skiptoken=1"},
             {"value": [{"Identity": "b"}], "@adminapi.warnings": ["careful"]}]
    seen: list[tuple[str, bytes]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), request.content))
        return httpx.Response(200, json=pages[len(seen) - 1])

    @run
    async def main() -> list[dict[str, Any]]:
        async with mock_connection(handler, StaticTokens()) as conn:
            return await conn.exchange.invoke("Get-Mailbox", {"ResultSize": "Unlimited"})

    assert [x["Identity"] for x in main()] == ["a", "b"]
    assert seen[0][0] == "https://outlook.office365.com/adminapi/beta/11111111-2222-3333-4444-555555555555/" \
                         "InvokeCommand"
    assert seen[1][0].endswith("$skiptoken=1") and seen[0][1] == seen[1][1]
