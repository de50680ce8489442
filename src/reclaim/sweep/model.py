"""What a sweep and a hunt return, and how progress reaches the UI (the core never prints)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from reclaim.store import SEVERITIES

JSON = dict[str, Any]

#: Severity ranks of the case store (info 0 … critical 4); "flagged" means medium (2) or more.
RANK: dict[str, int] = {name: rank for rank, name in enumerate(SEVERITIES)}
FLAG_RANK = RANK["medium"]


@dataclass(frozen=True)
class SweepOptions:
    """How a sweep runs (per tenant)."""

    #: add hidden inbox rules and sweep rules through the Exchange admin API (one call each per mailbox)
    deep: bool = False
    #: ``$batch`` envelopes (20 mailboxes each) in flight per tenant
    workers: int = 16
    #: Exchange admin API calls in flight per tenant (``--deep``); Exchange caps a tenant's concurrency
    exchange_workers: int = 8
    #: seconds between Identity Protection requests (one per second per tenant on the real service)
    identity_protection_spacing: float = 1.0
    #: results written per store transaction at most
    write_group: int = 64
    #: seconds at least between two store transactions while results keep coming (each costs a commit and the
    #: case store's bookkeeping, ~10 ms of CPU: 500 of them would compete with the requests for the CPU); a
    #: kill loses at most this much finished work, which ``--resume`` reads again
    write_interval: float = 0.25
    #: run the checks in a helper process: ``None`` once a tenant lists ``checks_in_process_from`` mailboxes
    checks_in_process: bool | None = None
    checks_in_process_from: int = 2000
    #: read only these mailboxes (UPNs), each with ``Get-Mailbox -Identity``, instead of listing every one: the
    #: watch's incremental cycle deep-reads the users the audit events name (``None``: every mailbox)
    only: frozenset[str] | None = None


class SweepProgress(Protocol):
    """Progress as a sweep runs; every method is called from the event loop's thread."""

    def started(self, case_id: str, resumed: bool) -> None:
        """The case the sweep writes to (created, or resumed)."""

    def listed(self, tenant: str, mailboxes: int, complete: bool) -> None:
        """``mailboxes`` are known so far (``complete``: the listing is finished)."""

    def advanced(self, tenant: str, mailboxes: int) -> None:
        """``mailboxes`` more were checked (or skipped as done by an earlier run)."""


class NoProgress:
    def started(self, case_id: str, resumed: bool) -> None:
        return None

    def listed(self, tenant: str, mailboxes: int, complete: bool) -> None:
        return None

    def advanced(self, tenant: str, mailboxes: int) -> None:
        return None


@dataclass(frozen=True)
class FlaggedFinding:
    check: str
    severity: str
    title: str
    artifact_type: str | None
    artifact_id: str | None

    def to_json(self) -> JSON:
        return {"check": self.check, "severity": self.severity, "title": self.title,
                "artifact": {"type": self.artifact_type, "id": self.artifact_id}}


@dataclass(frozen=True)
class FlaggedMailbox:
    """A mailbox with findings of medium severity or more."""

    tenant: str
    user: str
    worst: str
    findings: tuple[FlaggedFinding, ...]

    def to_json(self) -> JSON:
        return {"tenant": self.tenant, "user": self.user, "worst": self.worst,
                "findings": [f.to_json() for f in self.findings]}


@dataclass
class TenantSweep:
    """The outcome for one tenant of a sweep."""

    tenant: str
    status: str = "complete"  # complete | interrupted | failed
    error: str | None = None
    mailboxes: int = 0
    #: checked in this run (the rest were done by an earlier run of the same case)
    checked: int = 0
    resumed: int = 0
    #: mailboxes whose per-mailbox reads failed (not checked, with the reason stored in the case)
    incomplete: int = 0
    requests: int = 0
    seconds: float = 0.0
    #: tenant-wide artifacts that could not be read: kind -> reason (they are not checked for anyone)
    not_collected: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> JSON:
        return {"tenant": self.tenant, "status": self.status, "error": self.error, "mailboxes": self.mailboxes,
                "checked": self.checked, "resumed": self.resumed, "incomplete": self.incomplete,
                "requests": self.requests, "seconds": round(self.seconds, 3),
                "notCollected": [{"kind": k, "reason": v} for k, v in sorted(self.not_collected.items())]}


@dataclass
class SweepResult:
    case_id: str
    deep: bool
    tenants: list[TenantSweep]
    flagged: list[FlaggedMailbox]
    #: checks a sweep does not run (they need per-user evidence an investigation collects)
    not_in_sweep: list[JSON]
    seconds: float = 0.0

    @property
    def status(self) -> str:
        statuses = {t.status for t in self.tenants}
        if "failed" in statuses:
            return "failed"
        if "interrupted" in statuses:
            return "interrupted"
        return "complete"

    def to_json(self) -> JSON:
        return {
            "case": self.case_id, "kind": "sweep", "deep": self.deep, "status": self.status,
            "mailboxes": sum(t.mailboxes for t in self.tenants),
            "flaggedMailboxes": len(self.flagged),
            "requests": sum(t.requests for t in self.tenants), "seconds": round(self.seconds, 3),
            "tenants": [t.to_json() for t in self.tenants],
            "flagged": [m.to_json() for m in self.flagged],
            "notInSweep": self.not_in_sweep,
        }
