"""What checks produce: findings, things that could not be checked, and the verdict.

A :class:`Finding` is one thing wrong with one object (an inbox rule, a sign-in, a grant ...), with
the evidence that earned its severity and one sentence a customer understands. A check that needs
evidence which was not collected returns :class:`NotChecked` (never an empty, "clean" result).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from reclaim.detect.fields import iso


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def raised(self, steps: int = 1) -> Severity:
        return _ORDER[min(len(_ORDER) - 1, max(0, self.rank + steps))]


_ORDER = [Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]
_RANK = {s: i for i, s in enumerate(_ORDER)}

FindingKind = Literal["compromise", "prevention"]

#: The artifact types of DESIGN.md "Interfaces", plus ``user`` (prevention findings about the account
#: itself), ``messageTrace`` (outbound spike) and ``auditRecord`` (unified audit log events).
ArtifactType = Literal[
    "inboxRule", "sweepRule", "mailboxForwarding", "signIn", "directoryAudit", "authenticationMethod",
    "oauth2PermissionGrant", "mailboxPermission", "recipientPermission", "mobileDevice", "blockedSender",
    "sentItemsGap", "automaticReplies", "transportRule", "riskyUser", "user", "messageTrace", "auditRecord",
]
ARTIFACT_TYPES: frozenset[str] = frozenset(ArtifactType.__args__)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Artifact:
    type: ArtifactType
    id: str

    def to_json(self) -> dict[str, str]:
        return {"type": self.type, "id": self.id}


@dataclass(frozen=True)
class Finding:
    check: str
    severity: Severity
    title: str
    artifact: Artifact
    kind: FindingKind = "compromise"
    evidence: Mapping[str, Any] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()
    time: datetime | None = None
    symptom: str = "beyond the procedure"

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check, "severity": self.severity.value, "kind": self.kind, "title": self.title,
            "artifact": self.artifact.to_json(), "evidence": dict(self.evidence), "reasons": list(self.reasons),
            "time": iso(self.time), "symptom": self.symptom,
        }


@dataclass(frozen=True)
class NotChecked:
    check: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"check": self.check, "reason": self.reason}


class VerdictName(StrEnum):
    COMPROMISED = "compromised"
    SUSPICIOUS = "suspicious"
    CLEAN = "clean"


@dataclass(frozen=True)
class Verdict:
    name: VerdictName
    because: str
    findings: tuple[Finding, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.name.value, "because": self.because,
                "findings": [f.artifact.to_json() | {"check": f.check} for f in self.findings]}
