"""Error mapping from ``error.code`` and the throttling primitives (Retry-After, AIMD, per-mailbox slots)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from reclaim.errors import EXIT_CONNECT, EXIT_USAGE, CannotConnect, ReclaimError
from reclaim.m365 import (
    AccessDenied,
    AuthenticationFailed,
    BadRequest,
    LicenseRequired,
    M365Error,
    MailboxNotEnabled,
    NotFound,
    Throttled,
    TransientError,
)
from reclaim.m365.graph import error_from_body
from reclaim.m365.permissions import Grants, assess, graph_permissions_for
from reclaim.m365.throttle import AdaptiveLimit, MailboxSlots, RetryPolicy, parse_retry_after
from reclaim.remediate.requirements import commands

URL = "https://graph.microsoft.com/v1.0/users/u1/mailFolders/inbox/messageRules?$top=5"


def body(code: str, message: str = "whatever the service says") -> dict[str, Any]:
    return {"error": {"code": code, "message": message,
                      "innerError": {"request-id": "rid-42", "date": "2026-11-27T07:00:00"}}}


@pytest.mark.parametrize(("status", "code", "kind"), [
    (404, "Request_ResourceNotFound", NotFound),
    (404, "ErrorItemNotFound", NotFound),
    (404, "ErrorInvalidUser", NotFound),
    (404, "MailboxNotEnabledForRESTAPI", MailboxNotEnabled),
    (403, "Authorization_RequestDenied", AccessDenied),
    (403, "ErrorAccessDenied", AccessDenied),
    (403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant", LicenseRequired),
    (401, "InvalidAuthenticationToken", AuthenticationFailed),
    (429, "TooManyRequests", Throttled),
    (503, "serviceNotAvailable", TransientError),
    (504, "UnknownError", TransientError),
    (400, "InefficientFilter", BadRequest),
    (400, "BadRequest", BadRequest),
])
def test_graph_errors_are_chosen_by_code_and_status(status: int, code: str, kind: type[M365Error]) -> None:
    err = error_from_body(status, body(code), {}, method="GET", url=URL)
    assert type(err) is kind
    assert err.code == code and err.status == status and err.request_id == "rid-42"
    line = str(err)
    assert "\n" not in line and "rid-42" in line and "$top" not in line  # no query strings in messages


def test_the_message_never_decides_the_class() -> None:
    misleading = "The mailbox is not enabled for REST API; access is denied; resource not found"
    assert type(error_from_body(400, body("BadRequest", misleading), {}, method="GET", url=URL)) is BadRequest
    assert type(error_from_body(404, body("Request_ResourceNotFound", "Access denied"), {}, method="GET",
                                url=URL)) is NotFound


def test_error_exit_codes_and_bases() -> None:
    denied = error_from_body(403, body("ErrorAccessDenied"), {}, method="GET", url=URL)
    auth = error_from_body(401, body("InvalidAuthenticationToken"), {}, method="GET", url=URL)
    missing = error_from_body(404, body("ErrorItemNotFound"), {}, method="GET", url=URL)
    for err in (denied, auth):
        assert isinstance(err, CannotConnect) and err.exit_code == EXIT_CONNECT
    assert isinstance(missing, ReclaimError) and missing.exit_code == EXIT_USAGE
    assert isinstance(denied, AccessDenied) and denied.missing_permission == "MailboxSettings.Read or " \
                                                                             "MailboxSettings.ReadWrite"
    assert "grant the app MailboxSettings.Read" in denied.one_line()


def test_access_denied_uses_what_the_token_held() -> None:
    patch_user = "https://graph.microsoft.com/v1.0/users/u1"
    no_perm = error_from_body(403, body("Authorization_RequestDenied"), {}, method="PATCH", url=patch_user,
                              granted=frozenset({"User.Read.All"}))
    assert isinstance(no_perm, AccessDenied) and no_perm.missing_permission and no_perm.missing_role is None
    no_role = error_from_body(403, body("Authorization_RequestDenied"), {}, method="PATCH", url=patch_user,
                              granted=frozenset({"User.EnableDisableAccount.All"}))
    assert isinstance(no_role, AccessDenied) and no_role.missing_permission is None
    assert no_role.missing_role and "User Administrator" in no_role.missing_role
    risky = "https://graph.microsoft.com/v1.0/identityProtection/riskyUsers"
    no_licence = error_from_body(403, body("Forbidden"), {}, method="GET", url=risky,
                                 granted=frozenset({"IdentityRiskyUser.Read.All"}))
    assert isinstance(no_licence, LicenseRequired) and "Entra ID P2" in str(no_licence)


def test_permission_table() -> None:
    assert graph_permissions_for("GET", "/users/x/authentication/methods")[0] == "UserAuthenticationMethod.Read.All"
    assert graph_permissions_for("POST", "https://graph.microsoft.com/v1.0/users/x/revokeSignInSessions")[0] == \
        "User.RevokeSessions.All"
    assert graph_permissions_for("GET", "/nothing/we/call") == ()


def test_read_only_grants_make_investigate_ready_and_remediate_blocked() -> None:
    read_only = Grants(frozenset({"User.Read.All", "MailboxSettings.Read", "Mail.ReadBasic.All", "AuditLog.Read.All",
                                  "UserAuthenticationMethod.Read.All", "Directory.Read.All",
                                  "IdentityRiskyUser.Read.All", "ExchangeMessageTrace.Read.All",
                                  "SecurityAlert.Read.All", "Exchange.ManageAsApp"}),
                       frozenset({"Global Reader"}))
    state = {r.command: r for r in assess(read_only, commands())}
    assert state["investigate"].can_run and state["investigate"].state == "partial"  # hidden rules need more
    assert state["remediate"].state == "blocked"
    missing = [m for s in state["remediate"].statuses for m in s.missing]
    assert any("User.EnableDisableAccount.All" in m for m in missing)
    assert state["report"].state == "ready"
    assert all(r.state == "ready" for r in assess(Grants(frozenset(), frozenset({"Global Administrator"})),
                                                  [c for c in commands() if all(not x.permissions
                                                                              for x in c.capabilities)]))


# ---------------------------------------------------------------------------------------------- Retry-After
def test_parse_retry_after_forms() -> None:
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("2.128") == pytest.approx(2.128)
    assert parse_retry_after(" 0 ") == 0.0
    assert parse_retry_after("-5") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("nan") is None
    now = datetime(2026, 11, 27, 7, 0, 0, tzinfo=UTC)
    date = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(date, now=lambda: now.timestamp()) == pytest.approx(30.0)
    past = format_datetime(now - timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(past, now=lambda: now.timestamp()) == 0.0


def test_backoff_has_jitter_and_caps() -> None:
    import random

    policy = RetryPolicy(base_delay=1.0, max_delay=8.0, max_retry_after=60.0, rng=random.Random(1))
    delays = [policy.backoff(n) for n in range(1, 8)]
    assert all(0.5 <= d <= 8.0 for d in delays)
    assert delays[0] <= 1.0 and max(delays) > 4.0
    assert policy.delay(3, 2.5) == 2.5  # Retry-After wins over backoff
    assert policy.delay(3, 3600) == 60.0  # but is capped


# ---------------------------------------------------------------------------------------------- AIMD and slots
def test_adaptive_limit_halves_on_throttle_and_grows_while_healthy() -> None:
    clock = [0.0]
    limit = AdaptiveLimit(16, minimum=2, maximum=32, cooldown=1.0, clock=lambda: clock[0])
    limit.on_throttle()
    assert limit.limit == 8
    limit.on_throttle()  # same burst (within the cool-down): counted once
    assert limit.limit == 8
    clock[0] += 2
    limit.on_throttle()
    limit.on_throttle()
    assert limit.limit == 4 and limit.decreases == 2
    for _ in range(40):
        limit.on_success()
    assert 8 < limit.limit <= 32  # +1 per "window" of limit successes
    for _ in range(10):
        clock[0] += 2
        limit.on_throttle()
    assert limit.limit == 2  # never below the minimum


def test_adaptive_limit_bounds_concurrency() -> None:
    limit = AdaptiveLimit(3, minimum=1, maximum=3)

    async def main() -> int:
        async def work() -> None:
            async with limit.slot():
                await asyncio.sleep(0.005)

        await asyncio.gather(*(work() for _ in range(20)))
        return limit.peak

    assert asyncio.run(main()) == 3


def test_mailbox_slots_are_per_mailbox_and_forgotten_when_idle() -> None:
    slots = MailboxSlots(4)
    active: dict[str, int] = {}
    peaks: dict[str, int] = {}

    async def work(mailbox: str) -> None:
        key = mailbox.lower()
        async with slots.slot(mailbox):
            active[key] = active.get(key, 0) + 1
            peaks[key] = max(peaks.get(key, 0), active[key])
            await asyncio.sleep(0.003)
            active[key] -= 1

    async def main() -> None:
        await asyncio.gather(*(work(m) for m in ["a@x", "A@X", "b@x"] * 8))

    asyncio.run(main())
    assert peaks == {"a@x": 4, "b@x": 4}  # case-insensitive: a@x and A@X share four slots
    assert not slots._slots  # nothing kept for idle mailboxes


def test_the_docs_permission_table_is_the_code_table() -> None:
    from pathlib import Path

    from reclaim.m365.permissions import render_markdown

    doc = (Path(__file__).parents[2] / "docs" / "connect-a-real-tenant.md").read_text(encoding="utf-8")
    embedded = doc.split("<!-- permissions:begin -->\n", 1)[1].split("<!-- permissions:end -->", 1)[0]
    assert embedded == render_markdown(commands()), "regenerate the table in docs/connect-a-real-tenant.md"
