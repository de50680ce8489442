"""The report's own read model: everything the writers show, built once from the case store.

Strings in here are as stored (attacker-controlled text included); each writer makes them inert for its
format. Times are aware datetimes in the reader's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reclaim.report._files import FilesView
from reclaim.report._notify import NotifyView
from reclaim.report._scope import TenantView
from reclaim.store import CaseIntegrity, ChainStatus, EvidenceInfo
from reclaim.store.models import Case

#: Most severe first: the order findings are shown in.
SEVERITY_ORDER: tuple[str, ...] = ("critical", "high", "medium", "low", "info")


@dataclass(frozen=True)
class Fact:
    """One line of a finding's evidence: "Forwards to" → "invoices.contoso@mailvault.example"."""

    label: str
    value: str


@dataclass(frozen=True)
class FindingView:
    id: int
    check: str
    severity: str
    kind: str
    title: str
    detail: str | None
    #: the source procedure's symptom (or step) this finding explains, or "beyond the procedure (...)"
    symptom: str
    reasons: tuple[str, ...]
    artifact_type: str | None
    artifact_id: str | None
    time: datetime | None
    user: str | None
    #: the evidence a person reads first (the exact rule, forwarding address, sign-in IP and place ...)
    facts: tuple[Fact, ...]
    #: the finding's whole evidence record, as stored
    evidence: dict[str, Any]
    evidence_ids: tuple[int, ...]


@dataclass(frozen=True)
class TimelineItem:
    time: datetime
    kind: str
    summary: str
    #: "evidence" (collected from the tenant) or "remediation" (from the journal)
    origin: str
    severity: str | None = None
    source: str | None = None
    artifact_type: str | None = None
    artifact_id: str | None = None


@dataclass(frozen=True)
class JournalStepView:
    seq: int
    action_id: str
    target: str
    step: str
    recorded_at: datetime
    started_at: datetime | None
    operator: str | None
    request: dict[str, Any] | None
    result: dict[str, Any] | None
    verify: dict[str, Any] | None
    before_evidence_id: int | None
    before_evidence_sha256: str | None
    prev_hash: str
    entry_hash: str


@dataclass(frozen=True)
class ActionView:
    """One remediation action (all journal entries of one ``action_id`` on one target)."""

    action_id: str
    target: str
    label: str
    #: the last step reached, in words: "done and verified", "applied but did not hold", ...
    outcome: str
    #: held / not held / not verified
    verification: str
    #: True / False as the journal records it; None when the journal does not say
    reversible: bool | None
    undo_note: str | None
    before_evidence_id: int | None
    before_evidence_sha256: str | None
    #: the snapshot payload (parsed JSON) of the state before the change, when it could be read
    before_state: Any
    request: dict[str, Any] | None
    result: dict[str, Any] | None
    verify: dict[str, Any] | None
    steps: tuple[JournalStepView, ...]
    #: what changed, from what to what, when, by whom, and whether a re-read confirmed it: one sentence
    sentence: str = ""
    #: each changed field: "account enabled: yes → no"
    changes: tuple[str, ...] = ()
    #: when the change was made (the ``applied`` entry), and by whom
    applied_at: datetime | None = None
    operator: str | None = None


@dataclass(frozen=True)
class NotCheckedView:
    what: str
    reason: str
    detail: str | None = None
    #: "check" (a check could not run) or "evidence" (something could not be collected)
    source: str = "check"


@dataclass(frozen=True)
class Summary:
    """The first section, for a reader who is not technical."""

    headline: str
    account: str
    display_name: str | None
    verdict: str | None
    because: str | None
    window_since: datetime | None
    window_until: datetime | None
    when: str
    how_found: tuple[str, ...]
    done: tuple[str, ...]
    needs_a_person: tuple[str, ...]
    #: profile fields the attacker changed, old → new ("display name: “Alice Wu” → “Contoso Accounts Payable”")
    profile_changes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    generated_at: datetime
    #: the IANA name (or offset) of the reader's zone every time is shown in
    tz_name: str
    case: Case
    summary: Summary
    findings: tuple[FindingView, ...]
    prevention: tuple[FindingView, ...]
    severity_counts: dict[str, int]
    timeline: tuple[TimelineItem, ...]
    actions: tuple[ActionView, ...]
    journal: tuple[JournalStepView, ...]
    chain: ChainStatus
    not_checked: tuple[NotCheckedView, ...]
    evidence: tuple[EvidenceInfo, ...]
    user: dict[str, Any] = field(default_factory=dict)
    #: the Files section (OneDrive shares and files the attacker touched); ``None`` when the case has none
    files: FilesView | None = None
    #: the People to notify section (outside recipients of the attacker's mail); ``None`` when it sent none
    notify: NotifyView | None = None
    #: the case's seal re-computed (store.CaseIntegrity); its head is the anchor the report prints
    integrity: CaseIntegrity | None = None
    #: a sweep's or hunt's tenant-wide view (tenant, mailboxes swept, flagged, blast radius); ``None`` for an
    #: investigation of one account
    tenant: TenantView | None = None

    @property
    def title(self) -> str:
        return self.tenant.title if self.tenant is not None else "Compromised account report"

    @property
    def intact(self) -> bool:
        """The case's seal, the journal's chain and every evidence payload's SHA-256 all match."""
        sealed = self.integrity is None or self.integrity.ok
        return sealed and self.chain.ok and all(e.hash_ok for e in self.evidence)

    @property
    def incident_timeline(self) -> tuple[TimelineItem, ...]:
        """The events of the incident: from the start of the suspicious window on (every event when the case
        has no window), remediation included; oldest first."""
        since = self.summary.window_since
        return tuple(t for t in self.timeline if since is None or t.time >= since or t.origin == "remediation")

    @property
    def context_timeline(self) -> tuple[TimelineItem, ...]:
        """The evidence from before the suspicious window: routine context, shown folded."""
        since = self.summary.window_since
        return () if since is None else tuple(t for t in self.timeline
                                              if t.time < since and t.origin != "remediation")

    def local(self, moment: datetime | None) -> datetime | None:
        """``moment`` in the report's time zone."""
        return None if moment is None else moment.astimezone(self.generated_at.tzinfo)
