"""Shared pieces of the reliability suite: a practice tenant served on loopback without the emulator's own
throttling (faults are injected instead), fast retry settings, and views of the call log and the tenant."""

from __future__ import annotations

import asyncio
import copy
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from reclaim.emulator import Emulator
from reclaim.emulator.app import CallRecord
from reclaim.emulator.faults import FaultInjector, FaultSpec
from reclaim.emulator.scenarios import load_scenario
from reclaim.emulator.server import serve_in_thread
from reclaim.m365 import Connection, ConnectionSettings, RetryPolicy
from tests.remediate.helpers import tenant_view as tenant_view  # shared with the remediation tests

T = TypeVar("T")
JSON = dict[str, Any]

#: 20 % of requests fail: every status fault, resets and answers slower than the client waits.
TWENTY_PERCENT = "429=0.05,500=0.02,502=0.02,503=0.03,504=0.02,reset=0.04,slow=0.02"
#: the client's timeout in the fault runs, and how long a "slow" answer takes (past it)
CLIENT_TIMEOUT = 0.25
SLOW_SECONDS = 0.4
WRITE_METHODS = frozenset({"PATCH", "POST", "DELETE", "PUT"})
#: POSTs that read (a batch envelope's own entry, an audit-log search, a token)
READ_POSTS = ("/$batch", "/security/auditLog/queries", "/oauth2/v2.0/token")


@contextmanager
def scratch() -> Iterator[Path]:
    """A directory for case stores on tmpfs when there is one: each journal entry is a durable commit
    (fsync), which on a disk costs ~15 ms and would dominate a seeded run."""
    shm = Path("/dev/shm")
    path = Path(tempfile.mkdtemp(prefix="reclaim-", dir=shm if shm.is_dir() else None))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def quiet_fixture(scenario: str) -> JSON:
    """A scenario without the emulator's own throttling (its Retry-After runs on the emulator's clock)."""
    fixture = copy.deepcopy(load_scenario(scenario))
    fixture.setdefault("tenant", {}).setdefault("settings", {})["throttling"] = {"enabled": False}
    return fixture


@dataclass
class Tenant:
    emulator: Emulator
    url: str

    def faults(self, spec: str | None, seed: int, *, reset: bool = True) -> None:
        """Back to the scenario's state (unless not ``reset``: the call log is cleared only), with ``spec``
        injected from now on (``None``: no faults)."""
        # A request held past the client's timeout may still be in flight (the client moved on): let it land
        # before the reset, or it would change the next run's tenant.
        deadline = time.monotonic() + SLOW_SECONDS + 1
        while any(c.fault == "slow" and c.status is None for c in self.emulator.calls) \
                and time.monotonic() < deadline:
            time.sleep(0.02)
        if reset:
            self.emulator.reset()
        else:
            self.emulator.calls.clear()
        parsed = FaultSpec.parse(spec) if spec else FaultSpec()
        parsed.slow_seconds = SLOW_SECONDS
        if seed % 2:
            parsed.retry_after = None  # odd seeds: 429 without Retry-After (the client backs off on its own)
        else:
            parsed.retry_after = 0.5
        self.emulator.faults = FaultInjector(parsed, seed=seed)
        self.emulator.seed = seed

    def settings(self, *, timeout: float = CLIENT_TIMEOUT, policy: RetryPolicy | None = None) -> ConnectionSettings:
        return ConnectionSettings.for_endpoint(self.url, timeout=timeout,
                                               policy=policy or RetryPolicy(time_scale=0.01))

    def run(self, work: Callable[[Connection], Coroutine[Any, Any, T]], *, timeout: float = CLIENT_TIMEOUT,
            transport: httpx.AsyncBaseTransport | None = None, policy: RetryPolicy | None = None) -> T:
        async def main() -> T:
            async with Connection.open(self.settings(timeout=timeout, policy=policy), transport=transport) as conn:
                return await work(conn)

        return asyncio.run(main())


@contextmanager
def served(scenario: str, *, latency_ms: float = 1.0,
           prepare: Callable[[Emulator], None] | None = None) -> Iterator[Tenant]:
    """``prepare`` runs before the server starts (e.g. to wrap ``emulator.app`` in a middleware)."""
    emulator = Emulator(quiet_fixture(scenario), latency_ms=latency_ms)
    if prepare is not None:
        prepare(emulator)
    with serve_in_thread(emulator) as url:
        yield Tenant(emulator, url)


def write_key(call: CallRecord) -> str | None:
    """What a write changes (method, path, body; the cmdlet and its parameters), ``None`` for a read."""
    body = call.body if isinstance(call.body, dict) else {}
    if call.path.endswith("/InvokeCommand"):
        cmd = body.get("CmdletInput") or {}
        name = str(cmd.get("CmdletName") or "")
        if name.lower().startswith("get-"):
            return None
        return f"{name} {sorted((cmd.get('Parameters') or {}).items(), key=str)}"
    if call.method not in WRITE_METHODS or call.path.endswith(READ_POSTS) or call.path.startswith("/_emulator"):
        return None
    return f"{call.method} {call.path} {sorted(body.items(), key=str) if body else ''}"


def effective_writes(calls: list[CallRecord]) -> Counter[str]:
    """Writes that reached the tenant's state: answered 2xx, or held past the client's patience ("slow")."""
    out: Counter[str] = Counter()
    for call in calls:
        key = write_key(call)
        if key is None:
            continue
        if call.fault == "slow" or (call.fault is None and call.status is not None and call.status < 300):
            out[key] += 1
    return out


#: writes whose repeat gives the same state (setting a value, removing an object, granting a permission that is
#: already held); anything else (POST creations, New-*) must never take effect twice
_REPEATABLE_METHODS = ("PATCH ", "PUT ", "DELETE ")
_REPEATABLE_VERBS = ("Set-", "Enable-", "Disable-", "Remove-", "Add-MailboxPermission ", "Add-RecipientPermission ",
                     "Restore-RecoverableItems ")
#: Graph actions (POST) that set a state rather than create something: confirming twice is confirming once; a
#: message moved by its immutable id (reclaim's moves always ask for it) stays the same message in the same folder
_REPEATABLE_ACTIONS = ("/revokeSignInSessions", "/confirmCompromised", "/dismiss", "/move")


def doubled_writes(calls: list[CallRecord], *, first_answers_lost: bool = False) -> dict[str, str]:
    """Writes that took effect more than once, with why that is wrong; empty when every repeat was safe: a
    repeatable write, re-sent only because an earlier attempt's answer never came (it was "slow", or the
    client's transport lost the first answer of every write: ``first_answers_lost``)."""
    problems: dict[str, str] = {}
    by_key: dict[str, list[CallRecord]] = {}
    for call in calls:
        key = write_key(call)
        if key is not None:
            by_key.setdefault(key, []).append(call)
    for key, n in effective_writes(calls).items():
        if n < 2:
            continue
        action = key.startswith("POST ") and key.split(" ")[1].endswith(_REPEATABLE_ACTIONS)
        if not (action or key.startswith(_REPEATABLE_METHODS + _REPEATABLE_VERBS)):
            problems[key] = f"took effect {n} times and is not repeatable"
            continue
        lost = sum(1 for c in by_key[key] if c.fault == "slow") + (1 if first_answers_lost else 0)
        if lost < n - 1:
            problems[key] = f"took effect {n} times, only {lost} answer(s) were lost"
    return problems


