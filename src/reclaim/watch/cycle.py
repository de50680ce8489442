"""One watch cycle of one tenant: a full sweep now and then, and in between only what changed.

A **full cycle** sweeps the tenant into a sweep case of its own (every mailbox). It runs first (the baseline),
then every ``WatchConfig.full_every`` seconds (the safety net: what no log recorded is still found).

An **incremental cycle** reads what changed since the watermark (:mod:`reclaim.watch.changes`: the unified
audit log, the directory audits, the risky users) and sweeps only the mailboxes those records name, into a
small sweep case (the tenant-wide lists are read again with them, so a new transport rule is found too). A
**quiet** incremental cycle (no record names anything) stores nothing but the new watermark. A log that could
not be read makes the cycle "not checked": it alerts on nothing and keeps the old watermark, so the next cycle
reads the same window again (an unread log is never "nothing changed").

State lives in the case store through its public API only: the newest complete watch case of the tenant
(a sweep case whose summary carries ``watch``) holds the fingerprints seen, the alerts still to deliver, the
watermark, the last full sweep's time and the audit records already acted on. A finding is new when its
fingerprint (check, user, artifact) was not seen before, or its alert was not delivered then (at least once:
a failed webhook is retried next cycle, a delivered one is not sent again). A cycle whose sweep did not
complete alerts on nothing new (an unread mailbox is not "gone") and is not a baseline for the next one.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from reclaim.m365 import Connection
from reclaim.store import Finding, Store
from reclaim.sweep import SweepOptions, SweepTarget, sweep
from reclaim.sweep.core import Connect
from reclaim.watch.alerts import Alert, Delivery, NewFinding, Proposal, deliver
from reclaim.watch.changes import ChangeReader
from reclaim.watch.config import SEVERITIES, Policy, WatchConfig

JSON = dict[str, Any]
RANK = {name: i for i, name in enumerate(SEVERITIES)}
#: how far before the last full sweep's start an incremental window begins (audit times are whole seconds)
MARGIN = timedelta(minutes=1)


def fingerprint(f: Finding) -> str:
    key = "\x1f".join([f.check_id, (f.user or "").lower(), f.artifact_type or "", f.artifact_id or ""])
    return hashlib.sha256(key.encode()).hexdigest()[:24]


@dataclass
class WatchCycle:
    tenant: str
    case: str | None
    status: str
    previous: str | None
    #: "full" (every mailbox), "incremental" (the mailboxes the logs named), "quiet" (nothing named)
    mode: str = "full"
    new: list[NewFinding] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    requests: int = 0
    error: str | None = None
    #: the users the logs named (incremental cycles)
    named: list[str] = field(default_factory=list)
    watermark: str | None = None

    @property
    def delivered(self) -> bool:
        return all(d.ok for d in self.deliveries)

    def to_json(self) -> JSON:
        return {"tenant": self.tenant, "case": self.case, "status": self.status, "previous": self.previous,
                "mode": self.mode, "named": self.named, "watermark": self.watermark,
                "newFindings": [f.to_json() for f in self.new], "proposals": [p.to_json() for p in self.proposals],
                "deliveries": [d.to_json() for d in self.deliveries], "requests": self.requests,
                "error": self.error}


@dataclass
class WatchState:
    """What the last complete cycle left for the next one (kept in its case's summary under ``watch``)."""

    case: str
    seen: set[str]
    pending: list[NewFinding]
    watermark: datetime | None
    last_full: datetime | None
    handled: dict[str, str]


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _new_finding(data: Any) -> NewFinding | None:
    if not isinstance(data, dict):
        return None
    artifact = data.get("artifact") or {}
    return NewFinding(str(data.get("fingerprint")), str(data.get("check")), str(data.get("severity")),
                      str(data.get("title")), data.get("user"), artifact.get("type"), artifact.get("id"))


def watch_state(store: Store, tenant: str) -> WatchState | None:
    """The tenant's last complete watch cycle, and what it leaves for the next one."""
    for item in store.list_cases(kind="sweep", tenant=tenant):
        case = item.case
        watch = case.summary.get("watch")
        if not isinstance(watch, dict) or case.status != "complete":
            continue
        undelivered = set(watch.get("undelivered") or [])
        if isinstance(watch.get("seen"), list):
            seen = set(watch["seen"])
        else:  # a cycle from before the incremental watch: what its sweep found
            seen = {fingerprint(f) for f in store.findings(case.id)} - undelivered
        pending = [n for n in (_new_finding(x) for x in watch.get("pending") or []) if n is not None]
        handled = watch.get("handled") if isinstance(watch.get("handled"), dict) else {}
        return WatchState(case.id, seen, pending, _time(watch.get("watermark")), _time(watch.get("lastFull")),
                          {str(k): str(v) for k, v in (handled or {}).items()})
    return None


def previous_cycle(store: Store, tenant: str) -> tuple[str, set[str]] | None:
    """The tenant's last complete watch case, and the fingerprints it saw and delivered."""
    state = watch_state(store, tenant)
    return (state.case, state.seen) if state is not None else None


def proposals(policies: Sequence[Policy], tenant: str, findings: Sequence[Finding], new: set[str]) -> list[Proposal]:
    """The policies whose conditions hold for a user in this cycle, with at least one of them new."""
    by_user: dict[str, dict[str, list[str]]] = {}
    for f in findings:
        if f.user:
            by_user.setdefault(f.user.lower(), {}).setdefault(f.check_id, []).append(fingerprint(f))
    out: list[Proposal] = []
    for policy in policies:
        if not policy.applies_to(tenant):
            continue
        for user, found in sorted(by_user.items()):
            if not all(check in found for check in policy.when_all):
                continue
            because = tuple(fp for check in policy.when_all for fp in found[check])
            if any(fp in new for fp in because):
                out.append(Proposal(policy.name, user, policy.then, because))
    return out


def _full_due(state: WatchState | None, config: WatchConfig, now: datetime) -> bool:
    if state is None or state.watermark is None or state.last_full is None or config.full_every <= 0:
        return True
    return (now - state.last_full).total_seconds() >= config.full_every


async def _alert(cycle: WatchCycle, config: WatchConfig, http: httpx.AsyncClient | None,
                 on_alert: Callable[[Alert], None] | None) -> None:
    if not cycle.new:
        return
    alert = Alert(cycle.tenant, cycle.case or "", tuple(cycle.new), tuple(cycle.proposals))
    if on_alert is not None:
        on_alert(alert)
    cycle.deliveries = await deliver(alert, config.alerts, client=http)


def _merge(pending: Sequence[NewFinding], found: Sequence[NewFinding]) -> list[NewFinding]:
    out = {n.fingerprint: n for n in pending}
    out.update({n.fingerprint: n for n in found})
    return sorted(out.values(), key=lambda n: (-RANK.get(n.severity, 0), n.user or "", n.check))


def _mark(cycle: WatchCycle, seen: set[str], watermark: datetime, last_full: datetime | None,
          handled: dict[str, str]) -> JSON:
    fps = {n.fingerprint for n in cycle.new}
    delivered = cycle.delivered
    return {"previous": cycle.previous, "mode": cycle.mode, "new": sorted(fps),
            "undelivered": [] if delivered else sorted(fps),
            "pending": [] if delivered else [n.to_json() for n in cycle.new],
            "seen": sorted(seen | fps if delivered else seen - fps),
            "deliveries": [d.to_json() for d in cycle.deliveries],
            "proposals": [p.to_json() for p in cycle.proposals],
            "named": cycle.named, "watermark": stamp_exact(watermark),
            "lastFull": stamp_exact(last_full) if last_full else None, "handled": handled}


def stamp_exact(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()


async def _sweep_case(store: Store, tenant: str, settings: Any, config: WatchConfig, cycle: WatchCycle,
                      seen: set[str], pending: Sequence[NewFinding], options: SweepOptions,
                      connect: Connect | None) -> list[Finding] | None:
    """Sweep (all of the tenant, or ``options.only``) into a new case; the findings, or None if incomplete."""
    case = store.create_case("sweep", tenant, tenant=tenant, summary={"tenants": [tenant], "deep": options.deep})
    cycle.case = case.id
    result = await sweep([SweepTarget(tenant, settings)], store, options=options, resume=case.id, connect=connect)
    summary = result.tenants[0]
    cycle.status, cycle.error = summary.status, summary.error
    cycle.requests += summary.requests
    if summary.status != "complete":
        return None  # no "watch" mark: not a baseline, and nothing said new from a partial read
    findings = store.findings(case.id)
    wanted = [f for f in findings if RANK[f.severity] >= RANK[config.min_severity]]
    new_fps = {fingerprint(f) for f in wanted} - seen
    found = [NewFinding(fingerprint(f), f.check_id, f.severity, f.title, f.user, f.artifact_type, f.artifact_id)
             for f in wanted if fingerprint(f) in new_fps]
    cycle.new = _merge(pending, found)
    cycle.proposals = proposals(config.policies, tenant, findings, new_fps)
    return findings


async def watch_tenant(store: Store, tenant: str, settings: Any, config: WatchConfig, *,
                       options: SweepOptions | None = None, connect: Connect | None = None,
                       http: httpx.AsyncClient | None = None,
                       on_alert: Callable[[Alert], None] | None = None,
                       now: Callable[[], datetime] | None = None) -> WatchCycle:
    """One cycle for ``tenant`` (``settings``: its ``ConnectionSettings``); full or incremental as due."""
    clock = now or (lambda: datetime.now(UTC))
    options = options or SweepOptions()
    state = watch_state(store, tenant)
    started = clock()
    if _full_due(state, config, started):
        return await _full(store, tenant, settings, config, state, started, options, connect, http, on_alert)
    assert state is not None and state.watermark is not None and state.last_full is not None
    cycle = WatchCycle(tenant=tenant, case=None, status="complete", previous=state.case, mode="quiet")
    window = max(state.watermark - timedelta(seconds=config.audit_lookback), state.last_full - MARGIN)
    opened = connect or (lambda s: Connection.open(s))
    async with opened(settings) as conn:
        changes = await ChangeReader(conn, window, started, state.handled, audit_wait=config.audit_wait).read()
    cycle.requests = changes.requests
    if changes.missing:
        cycle.status = "not checked"
        cycle.error = "; ".join(f"not checked: {name}: {why}" for name, why in sorted(changes.missing.items()))
        cycle.watermark = stamp_exact(state.watermark)
        return cycle  # the old watermark stays: the next cycle reads this window again
    keep_from = started - timedelta(seconds=config.audit_lookback) - MARGIN
    handled = {k: v for k, v in {**state.handled, **changes.keys}.items()
               if (_time(v) or started) >= keep_from}
    cycle.watermark = stamp_exact(started)
    seen = set(state.seen)
    if changes.users or changes.tenant:
        cycle.mode = "incremental"
        cycle.named = sorted(changes.users, key=str.lower)
        if changes.identity_protection_at is not None:  # the sweep lists the risky users again: one per second
            wait = options.identity_protection_spacing - (asyncio.get_running_loop().time()
                                                          - changes.identity_protection_at)
            if wait > 0:
                await asyncio.sleep(wait)
        findings = await _sweep_case(store, tenant, settings, config, cycle, seen, state.pending,
                                     replace(options, only=frozenset(changes.users)), connect)
        if findings is None:
            cycle.watermark = stamp_exact(state.watermark)
            return cycle  # the mailboxes were not all read: the next cycle names them again
    else:
        cycle.new = list(state.pending)  # alerts still to deliver go out again, even in a quiet cycle
    await _alert(cycle, config, http, on_alert)
    mark = _mark(cycle, seen, started, state.last_full, handled)
    if cycle.case is None:  # quiet: the previous cycle's case carries the new watermark; nothing else is stored
        current = store.get_case(state.case).summary
        store.set_status(state.case, "complete", summary={**current, "watch": {
            **current.get("watch", {}), **{k: mark[k] for k in ("watermark", "handled", "pending", "undelivered",
                                                                 "seen")},
            "quiet": int(current.get("watch", {}).get("quiet", 0)) + 1}})
        cycle.case = None
    else:
        current = store.get_case(cycle.case).summary
        store.set_status(cycle.case, "complete", summary={**current, "watch": mark})
    return cycle


async def _full(store: Store, tenant: str, settings: Any, config: WatchConfig, state: WatchState | None,
                started: datetime, options: SweepOptions, connect: Connect | None, http: httpx.AsyncClient | None,
                on_alert: Callable[[Alert], None] | None) -> WatchCycle:
    cycle = WatchCycle(tenant=tenant, case=None, status="complete", previous=state.case if state else None)
    seen = state.seen if state else set()
    findings = await _sweep_case(store, tenant, settings, config, cycle, seen, state.pending if state else [],
                                 replace(options, only=None), connect)
    if findings is None or cycle.case is None:
        return cycle
    await _alert(cycle, config, http, on_alert)
    # what the full sweep found is all there is: findings gone since are no longer "seen"
    everything = {fingerprint(f) for f in findings}
    cycle.watermark = stamp_exact(started)
    current = store.get_case(cycle.case).summary
    store.set_status(cycle.case, "complete", summary={**current, "watch": _mark(cycle, everything, started, started,
                                                                                 {})})
    return cycle
