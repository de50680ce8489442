"""One watch cycle of one tenant: sweep it into a case of its own, compare with the previous cycle's case,
alert on what is new, and say which containment policies' conditions now hold.

State lives in the case store through its public API only: a cycle's case is a sweep case whose summary
carries ``watch`` (the previous cycle, the new findings' fingerprints, the deliveries). The previous cycle is
the newest sweep case of the tenant with a ``watch`` summary and status ``complete``. A finding is new when its
fingerprint (check, user, artifact) was not among the previous cycle's findings, or its alert was not
delivered then (at least once: a failed webhook is retried next cycle, a delivered one is not sent again).
A cycle whose sweep did not complete alerts on nothing new (an unread mailbox is not "gone") and is not a
baseline for the next one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from reclaim.store import Finding, Store
from reclaim.sweep import SweepOptions, SweepTarget, sweep
from reclaim.sweep.core import Connect
from reclaim.watch.alerts import Alert, Delivery, NewFinding, Proposal, deliver
from reclaim.watch.config import SEVERITIES, Policy, WatchConfig

JSON = dict[str, Any]
RANK = {name: i for i, name in enumerate(SEVERITIES)}


def fingerprint(f: Finding) -> str:
    key = "\x1f".join([f.check_id, (f.user or "").lower(), f.artifact_type or "", f.artifact_id or ""])
    return hashlib.sha256(key.encode()).hexdigest()[:24]


@dataclass
class WatchCycle:
    tenant: str
    case: str
    status: str
    previous: str | None
    new: list[NewFinding] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    requests: int = 0
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return all(d.ok for d in self.deliveries)

    def to_json(self) -> JSON:
        return {"tenant": self.tenant, "case": self.case, "status": self.status, "previous": self.previous,
                "newFindings": [f.to_json() for f in self.new], "proposals": [p.to_json() for p in self.proposals],
                "deliveries": [d.to_json() for d in self.deliveries], "requests": self.requests,
                "error": self.error}


def previous_cycle(store: Store, tenant: str) -> tuple[str, set[str]] | None:
    """The tenant's last complete watch case, and the fingerprints it saw and delivered."""
    for item in store.list_cases(kind="sweep", tenant=tenant):
        case = item.case
        watch = case.summary.get("watch")
        if not isinstance(watch, dict) or case.status != "complete":
            continue
        undelivered = set(watch.get("undelivered") or [])
        seen = {fingerprint(f) for f in store.findings(case.id)} - undelivered
        return case.id, seen
    return None


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


async def watch_tenant(store: Store, tenant: str, settings: Any, config: WatchConfig, *,
                       options: SweepOptions | None = None, connect: Connect | None = None,
                       http: httpx.AsyncClient | None = None,
                       on_alert: Callable[[Alert], None] | None = None) -> WatchCycle:
    """One cycle for ``tenant`` (``settings``: its ``ConnectionSettings``)."""
    before = previous_cycle(store, tenant)
    case = store.create_case("sweep", tenant, tenant=tenant, summary={"tenants": [tenant], "deep": False})
    result = await sweep([SweepTarget(tenant, settings)], store, options=options, resume=case.id, connect=connect)
    summary = result.tenants[0]
    cycle = WatchCycle(tenant=tenant, case=case.id, status=summary.status, previous=before[0] if before else None,
                       requests=summary.requests, error=summary.error)
    if summary.status != "complete":
        return cycle  # no "watch" mark: not a baseline, and nothing said new from a partial read
    seen = before[1] if before else set()
    findings = store.findings(case.id)
    wanted = [f for f in findings if RANK[f.severity] >= RANK[config.min_severity]]
    new_fps = {fingerprint(f) for f in wanted} - seen
    cycle.new = [NewFinding(fingerprint(f), f.check_id, f.severity, f.title, f.user, f.artifact_type, f.artifact_id)
                 for f in wanted if fingerprint(f) in new_fps]
    cycle.new.sort(key=lambda n: (-RANK[n.severity], n.user or "", n.check))
    cycle.proposals = proposals(config.policies, tenant, findings, new_fps)
    if cycle.new:
        alert = Alert(tenant, case.id, tuple(cycle.new), tuple(cycle.proposals))
        if on_alert is not None:
            on_alert(alert)
        cycle.deliveries = await deliver(alert, config.alerts, client=http)
    current = store.get_case(case.id).summary
    store.set_status(case.id, "complete", summary={**current, "watch": {
        "previous": cycle.previous, "new": sorted(new_fps),
        "undelivered": [] if cycle.delivered else sorted(new_fps),
        "deliveries": [d.to_json() for d in cycle.deliveries],
        "proposals": [p.to_json() for p in cycle.proposals]}})
    return cycle
