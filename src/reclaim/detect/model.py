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

from reclaim.detect.artifacts import ARTIFACT_TYPES, ArtifactType
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

#: ``compromise``: an indicator that an attacker got in or acted (only these make a verdict); ``exposure``: a
#: weakness that makes a compromise easier (advice, never a verdict); ``context``: worth knowing, neither.
FindingKind = Literal["compromise", "exposure", "context"]
FINDING_KINDS: frozenset[str] = frozenset(FindingKind.__args__)  # type: ignore[attr-defined]

#: What a finding is about: the user's account (``user``), their mailbox (``mailbox``), or the whole tenant
#: (``tenant``: a mail-flow rule, an app consented for everyone, audit ingestion turned off). A user's verdict
#: rests only on user and mailbox findings; tenant findings make the tenant's own verdict.
Scope = Literal["user", "mailbox", "tenant"]
SCOPES: frozenset[str] = frozenset(Scope.__args__)  # type: ignore[attr-defined]

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
    #: ``None``: the check's ``CheckMeta.kind`` (the engine fills it in); a check sets it only to say a finding
    #: is ``context`` rather than what the check usually finds
    kind: FindingKind | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()
    time: datetime | None = None
    symptom: str = "beyond the procedure"
    #: ``None``: the check's ``CheckMeta.scope`` (the engine fills it in); a check sets it when one finding is
    #: about the tenant and another about the user (a consent for one user vs for every user)
    scope: Scope | None = None

    @property
    def counts_for_user(self) -> bool:
        """A compromise indicator about this user or their mailbox: what a user's verdict rests on."""
        return self.kind == "compromise" and self.scope != "tenant"

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check, "severity": self.severity.value, "kind": self.kind, "scope": self.scope,
            "title": self.title, "artifact": self.artifact.to_json(), "evidence": dict(self.evidence),
            "reasons": list(self.reasons), "time": iso(self.time), "symptom": self.symptom,
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


__all__ = ["ARTIFACT_TYPES", "FINDING_KINDS", "SCOPES", "Artifact", "ArtifactType", "Finding", "FindingKind",
           "NotChecked", "Scope", "Severity", "Verdict", "VerdictName"]
