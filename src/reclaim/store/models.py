"""Read models and inputs of the case store: plain frozen dataclasses, no ORM session behind them.

Callers (CLI, reports, remediation) get these from :class:`reclaim.store.Store` and never touch SQLAlchemy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from reclaim.store._canonical import sha256_hex

CaseKind = Literal["investigate", "sweep", "hunt", "logs"]
Verdict = Literal["compromised", "suspicious", "clean"]
CaseStatus = Literal["open", "complete", "interrupted", "failed", "closed"]
Severity = Literal["info", "low", "medium", "high", "critical"]
#: compromise: an indicator of compromise (only these make a verdict); exposure: advice (a weakness an attacker
#: could use, e.g. MFA not required); context: information (e.g. a profile change by a provisioning app).
FindingKind = Literal["compromise", "exposure", "context"]
#: What a finding is about: the user's account, their mailbox, or the whole tenant (a transport rule, a consent
#: for all users). A user's verdict rests only on user and mailbox findings.
FindingScope = Literal["user", "mailbox", "tenant"]
# The steps of one action in the journal. ``applying`` is written before the write request is sent and
# ``applied`` after its response, so a run killed in between is visible on resume.
JournalStep = Literal["planned", "snapshot", "applying", "applied", "verified", "not_held", "undoing", "undone",
                      "skipped", "failed"]

CASE_KINDS: frozenset[str] = frozenset(get_args(CaseKind))
VERDICTS: frozenset[str] = frozenset(get_args(Verdict))
CASE_STATUSES: frozenset[str] = frozenset(get_args(CaseStatus))
SEVERITIES: tuple[str, ...] = get_args(Severity)
FINDING_KINDS: frozenset[str] = frozenset(get_args(FindingKind))
#: Kind names from before issue 14, accepted on input and stored under their new name.
LEGACY_FINDING_KINDS: dict[str, str] = {"prevention": "exposure"}
FINDING_SCOPES: frozenset[str] = frozenset(get_args(FindingScope))
JOURNAL_STEPS: frozenset[str] = frozenset(get_args(JournalStep))
SEVERITY_RANK: dict[str, int] = {name: rank for rank, name in enumerate(SEVERITIES)}
MEDIUM_RANK = SEVERITY_RANK["medium"]


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    created_at: datetime
    updated_at: datetime
    kind: str
    subject: str
    tenant: str | None
    verdict: str | None
    since: datetime | None
    until: datetime | None
    status: str
    operator: str | None
    summary: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CaseListItem:
    """One line of ``reclaim cases list``."""

    case: Case
    findings_medium_or_above: int
    findings_total: int


@dataclass(frozen=True, slots=True)
class Evidence:
    """A stored payload exactly as received, with where and when it came from."""

    id: int
    case_id: str
    kind: str
    source: str
    request: dict[str, Any]
    collected_at: datetime
    stored_at: datetime
    content_type: str
    sha256: str
    payload: bytes = field(repr=False)

    def verify(self) -> bool:
        """True when the payload still hashes to the SHA-256 recorded when it was stored."""
        return sha256_hex(self.payload) == self.sha256

    def json(self) -> Any:
        """The payload parsed as JSON."""
        return json.loads(self.payload)


@dataclass(frozen=True, slots=True)
class EvidenceInfo:
    """Evidence without its payload (for listings), with the result of checking its hash."""

    id: int
    case_id: str
    kind: str
    source: str
    request: dict[str, Any]
    collected_at: datetime
    content_type: str
    size: int
    sha256: str
    hash_ok: bool


@dataclass(frozen=True, slots=True)
class NewEvidence:
    """Input of :meth:`Store.add_evidence_many`. ``payload`` as bytes is stored as received; anything else
    is stored as its canonical JSON."""

    kind: str
    source: str
    request: dict[str, Any]
    payload: bytes | Any
    collected_at: datetime
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class NotCollected:
    id: int
    case_id: str
    kind: str
    reason: str
    detail: str | None
    subject: str | None
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class NewFinding:
    check_id: str
    severity: str
    title: str
    kind: str = "compromise"
    scope: str = "user"
    detail: str | None = None
    artifact_type: str | None = None
    artifact_id: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    evidence_ids: tuple[int, ...] = ()
    user: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    id: int
    case_id: str
    check_id: str
    severity: str
    kind: str
    scope: str
    title: str
    detail: str | None
    artifact_type: str | None
    artifact_id: str | None
    evidence: dict[str, Any]
    evidence_ids: tuple[int, ...]
    user: str | None
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class NewTimelineEvent:
    time: datetime
    kind: str
    summary: str
    artifact_type: str | None = None
    artifact_id: str | None = None
    source: str | None = None
    evidence_id: int | None = None
    user: str | None = None


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    id: int
    case_id: str
    time: datetime
    kind: str
    summary: str
    artifact_type: str | None
    artifact_id: str | None
    source: str | None
    evidence_id: int | None
    user: str | None


@dataclass(frozen=True, slots=True)
class JournalEntry:
    id: int
    case_id: str
    seq: int
    action_id: str
    target: str
    step: str
    before_evidence_id: int | None
    before_evidence_sha256: str | None
    request: dict[str, Any] | None
    result: dict[str, Any] | None
    verify: dict[str, Any] | None
    operator: str | None
    started_at: datetime | None
    recorded_at: datetime
    prev_hash: str
    entry_hash: str


@dataclass(frozen=True, slots=True)
class ChainStatus:
    """The result of re-computing a case's journal hash chain.

    ``ok`` is False when an entry's hash does not match its content, an entry does not point at the hash
    of the one before, a sequence number is missing, or the before-state snapshot an entry cites is gone,
    was replaced or no longer matches its SHA-256; ``first_bad_seq`` names the first such entry.
    ``head_hash`` is the hash of the last entry (the genesis hash for an empty journal): write it down
    elsewhere (a report, a ticket) and a rewrite of the whole chain becomes detectable too.
    """

    ok: bool
    head_hash: str
    length: int
    first_bad_seq: int | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class CaseIntegrity:
    """The case's seal re-computed (:meth:`Store.verify_case`): "intact", or "altered" with what no longer matches.

    The seal is one hash chain per case over its verdict, status and summary, evidence (with each payload's
    SHA-256), not-checked records, findings, timeline and journal; the case row records its head and length, so
    a record deleted, added or changed and a journal or seal cut short are all found. ``head`` / ``length``
    are the seal's head hash and length as the case records them: ``head`` is printed in the report as the
    anchor (someone able to rewrite the whole store consistently could re-seal it; compare the heads).
    ``records`` counts the records checked, by type.
    """

    case_id: str
    ok: bool
    head: str
    length: int
    problems: tuple[str, ...] = ()
    records: Mapping[str, int] = field(default_factory=dict)

    @property
    def state(self) -> str:
        return "intact" if self.ok else "altered"

    def describe(self) -> str:
        """One line: "intact (N seal entries)" or "altered: the first problem (and N more)"."""
        if self.ok:
            return f"intact ({self.length} seal entries)"
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        return f"altered: {self.problems[0]}{more}"


@dataclass(frozen=True, slots=True)
class SweepCheckpoint:
    case_id: str
    tenant: str
    cursor: str | None
    mailboxes_done: int
    results_pointer: str | None
    state: dict[str, Any]
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class CaseDetail:
    """Everything ``reclaim cases show`` prints (evidence without payloads)."""

    case: Case
    findings: list[Finding]
    not_collected: list[NotCollected]
    evidence: list[EvidenceInfo]
    timeline: list[TimelineEvent]
    journal: list[JournalEntry]
    chain: ChainStatus
    #: the case's seal re-computed; ``ok`` is False ("altered") when anything no longer matches
    integrity: CaseIntegrity

    @property
    def intact(self) -> bool:
        """The seal, the journal's chain and every evidence payload's SHA-256 all match."""
        return self.integrity.ok and self.chain.ok and all(e.hash_ok for e in self.evidence)
