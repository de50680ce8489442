"""Helpers for the remediation tests: a practice tenant served over HTTP, investigated once per module,
reset before each test; a view of what remediation changes; the emulator's write calls."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from reclaim.collect import investigate
from reclaim.emulator import Emulator
from reclaim.emulator.scenarios import load_scenario
from reclaim.emulator.server import serve_in_thread
from reclaim.m365 import Connection, ConnectionSettings, RetryPolicy
from reclaim.store import Store

T = TypeVar("T")
WRITE_METHODS = {"PATCH", "POST", "DELETE", "PUT"}
READ_VERBS = ("get-",)


@dataclass
class Practice:
    """A served scenario with its users investigated once (``template`` holds the cases)."""

    emulator: Emulator
    url: str
    template: Path
    cases: dict[str, str]
    truth: dict[str, Any]
    passwords: list[str] = field(default_factory=list)

    def fresh(self, tmp: Path) -> Path:
        """Reset the tenant to the scenario and return a copy of the investigated case store."""
        self.emulator.reset()
        db = tmp / "cases.db"
        shutil.copy(self.template, db)
        return db

    def settings(self) -> ConnectionSettings:
        async def virtual_sleep(seconds: float) -> None:
            # Retry-After and backoff pass in emulator time: throttled Identity Protection reads cost nothing.
            self.emulator.clock.advance(seconds)
            await asyncio.sleep(0)

        return ConnectionSettings.for_endpoint(self.url, policy=RetryPolicy(sleep=virtual_sleep))

    def run(self, work: Callable[[Connection], Coroutine[Any, Any, T]]) -> T:
        async def main() -> T:
            async with Connection.open(self.settings()) as conn:
                return await work(conn)

        return asyncio.run(main())

    def sink(self, upn: str, password: str) -> str:
        self.passwords.append(password)
        return "terminal"


@contextmanager
def practice(scenario: str, users: list[str], tmp: Path, *, throttling: bool = True,
             edit: Callable[[dict[str, Any]], None] | None = None) -> Iterator[Practice]:
    """``edit`` changes the scenario's fixture before it is served (an attacker's counter-move, a name)."""
    fixture = load_scenario(scenario)
    if edit is not None:
        edit(fixture)
    if not throttling:  # for runs in a subprocess, which cannot move the emulator's clock while it waits
        fixture["tenant"].setdefault("settings", {})["throttling"] = False
    emulator = Emulator(fixture)
    with serve_in_thread(emulator) as url:
        template = tmp / "template.db"
        store = Store(str(template))
        cases: dict[str, str] = {}

        made = Practice(emulator, url, template, cases, fixture.get("scenarioTruth", {}))

        async def main() -> None:
            async with Connection.open(made.settings()) as conn:
                # concurrently: each investigation paces its Identity Protection requests (1/s) on its own
                done = await asyncio.gather(*(investigate(conn, store, upn, audit_wait=5) for upn in users))
                cases.update({upn: result.case_id for upn, result in zip(users, done, strict=True)})

        asyncio.run(main())
        store.close()
        yield made


def writes(emulator: Emulator) -> list[str]:
    """Every write the tenant received: Graph PATCH/POST/DELETE (but $batch envelopes and audit-log queries,
    which are reads) and Exchange cmdlets other than Get-*."""
    out: list[str] = []
    for call in emulator.calls:
        if "/oauth2/" in call.path or call.path.startswith("/_emulator"):
            continue
        if call.path.endswith("/InvokeCommand"):
            body = call.body if isinstance(call.body, dict) else {}
            name = str((body.get("CmdletInput") or {}).get("CmdletName") or "")
            if not name.lower().startswith(READ_VERBS):
                out.append(name)
        elif call.method in WRITE_METHODS and not call.path.endswith(("/$batch", "/security/auditLog/queries")):
            out.append(f"{call.method} {call.path}")
    return out


def tenant_view(emulator: Emulator, upn: str) -> dict[str, Any]:
    """What remediation may change about one user, as the emulator holds it."""
    user = emulator.state.find_user(upn)
    assert user is not None
    mbx = user["mailbox"]
    blocked = [b for b in emulator.state.data.get("blockedSenders", [])
               if str(b.get("senderAddress", "")).lower() == upn.lower()]
    return {
        "accountEnabled": user.get("accountEnabled"),
        "forwarding": (mbx.get("forwardingSmtpAddress"), mbx.get("forwardingAddress"),
                       bool(mbx.get("deliverToMailboxAndForward"))),
        "rules": {r["id"]: r.get("isEnabled", True) for r in mbx.get("inboxRules", [])},
        "sweepRules": {r["ruleId"]: r.get("enabled", True) for r in mbx.get("sweepRules", [])},
        "methods": sorted(str(m["id"]) for m in user.get("authenticationMethods", [])),
        "grants": sorted(str(g["id"]) for g in user.get("oauth2PermissionGrants", [])),
        "devices": sorted(str(d["id"]) for d in mbx.get("mobileDevices", [])),
        "fullAccess": sorted(str(p["user"]).lower() for p in mbx.get("permissions", [])),
        "sendAs": sorted(str(p["trustee"]).lower() for p in mbx.get("recipientPermissions", [])),
        "cas": {k: v for k, v in (mbx.get("casMailbox") or {}).items()},
        "risk": (user.get("risk") or {}).get("riskState"),
        "autoReply": (mbx.get("automaticRepliesSetting") or {}).get("status"),
        "passwordChanged": user.get("lastPasswordChangeDateTime"),
        "sessionsValidFrom": user.get("signInSessionsValidFromDateTime"),
        "unblockRequested": [bool(b.get("removalRequestedDateTime")) for b in blocked],
    }
