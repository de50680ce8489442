"""One collection path for investigate, sweep, hunt and the re-analysis of stored cases.

A :class:`Collection` holds, per evidence kind (an :class:`~reclaim.detect.evidence.EvidenceBundle` field),
either the payload as the service returned it or the reason it is missing, plus the evidence rows to store.
:meth:`Collection.fetch` is the only way a collector reads something: it runs one fetch and records the
payload (stored as evidence with its request, collection time and SHA-256) or, on a service error, the
reason a person can act on ("missing permission ...", "licence required ...") — never an empty list.

:meth:`Collection.bundle` turns a collection into the checks' input; :func:`collection_from_case` rebuilds
the same collection from a stored case (its evidence and not-collected records), so ``reclaim analyze case``
runs today's checks on yesterday's evidence and gets what an investigation would get now.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from reclaim.detect import attribution
from reclaim.detect.artifacts import evidence_of
from reclaim.detect.engine import Analysis
from reclaim.detect.evidence import EVIDENCE_KINDS, EvidenceBundle, NotCollected, Window
from reclaim.detect.model import Finding
from reclaim.m365 import (
    AccessDenied,
    AuthenticationFailed,
    LicenseRequired,
    M365Error,
    MailboxNotEnabled,
    NotFound,
    Throttled,
    Unreachable,
)
from reclaim.store import Store
from reclaim.store.models import NewEvidence, NewFinding

JSON = dict[str, Any]
#: The audit searches attribution reads (the user's own records, any workload); ``activity_audit_records`` is
#: read by attribution only, no check needs it.
ATTRIBUTION_KINDS = ("audit_records", "drive_audit_records", "activity_audit_records")
#: ``absent=ABSENT``: a 404 is an error (the default); any other value is what a 404 means ("none").
ABSENT: Any = ...


def reason_for(exc: M365Error) -> str:
    """A not-collected reason a person can act on."""
    if isinstance(exc, AccessDenied):
        needs = " or ".join(x for x in (exc.missing_permission, exc.missing_role) if x)
        return f"missing permission {needs}" if needs else "access denied (a permission or role is missing)"
    if isinstance(exc, LicenseRequired):
        return f"licence required: {exc.message}"
    if isinstance(exc, Throttled):
        return "throttled: the service kept refusing after retries"
    if isinstance(exc, MailboxNotEnabled):
        return "the user has no Exchange Online mailbox"
    if isinstance(exc, NotFound):
        return f"not found: {exc.message}"
    return exc.message


@dataclass
class Collection:
    """Per evidence kind the payload or why it is missing; the evidence rows to store, in collection order."""

    values: dict[str, Any] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    evidence: list[NewEvidence] = field(default_factory=list)
    requests: int = 0

    def record(self, kind: str, source: str, request: JSON, payload: Any) -> None:
        """A payload as received: the bundle's value and an evidence row."""
        self.values[kind] = payload
        self.missing.pop(kind, None)
        self.evidence.append(NewEvidence(kind=kind, source=source, request=request, payload=payload,
                                         collected_at=datetime.now(UTC)))

    def lack(self, kind: str, reason: str) -> None:
        """``kind`` could not be collected (unless it already was)."""
        if kind not in self.values:
            self.missing.setdefault(kind, reason)

    async def fetch(self, kind: str, source: str, request: JSON, fetch: Callable[[], Awaitable[Any]], *,
                    absent: Any = ABSENT) -> Any:
        """Run ``fetch`` and record its payload; on a service error record why and return ``None``.

        Authentication failures and an unreachable service are not "missing evidence": they end the
        collection (raised). ``absent``: what a 404 means, when it means "there is none"."""
        try:
            payload = await fetch()
        except (AuthenticationFailed, Unreachable):
            raise
        except NotFound as exc:
            if absent is ABSENT:
                self.lack(kind, reason_for(exc))
                return None
            payload = absent
        except M365Error as exc:
            self.lack(kind, reason_for(exc))
            return None
        self.record(kind, source, request, payload)
        return payload

    def bundle(self, *, since: datetime | None, until: datetime, owner: str) -> EvidenceBundle:
        """The checks' input: every evidence kind as collected, or ``NotCollected`` with the reason.

        Tenant-wide lists stored whole are narrowed to the user here (the alerts that name them), so a
        stored case gives the same bundle as the live collection did."""
        values: dict[str, Any] = {}
        for kind in EVIDENCE_KINDS:
            if kind in self.missing:
                values[kind] = NotCollected(self.missing[kind])
            elif kind in self.values:
                values[kind] = self.values[kind]
        if isinstance(values.get("alerts"), list):
            values["alerts"] = concerning(values["alerts"], self.values.get("user"), owner)
        return EvidenceBundle(**values, window=Window(since, until), now=until, mailbox_owner=owner)

    def store_evidence(self, store: Store, case_id: str, *, subject: str | None = None) -> dict[str, list[int]]:
        """Store the evidence rows and the not-collected records (about ``subject``); the evidence ids by kind."""
        ids = store.add_evidence_many(case_id, self.evidence)
        by_kind: dict[str, list[int]] = {}
        for item, eid in zip(self.evidence, ids, strict=True):
            by_kind.setdefault(item.kind, []).append(eid)
        for kind, reason in sorted(self.missing.items()):
            store.record_not_collected(case_id, kind, reason, subject=subject)
        return by_kind


def concerning(alerts: list[Any], user: Any, upn: str) -> list[Any]:
    """The tenant's alerts that name this user (by UPN, mail or object id anywhere in the alert)."""
    keys = {upn.lower()}
    if isinstance(user, Mapping):
        keys |= {str(user.get(k)).lower() for k in ("id", "mail", "userPrincipalName") if user.get(k)}
    return [a for a in alerts if any(k in json.dumps(a, ensure_ascii=False).lower() for k in keys)]


def new_finding(finding: Finding, user: str | None, evidence_ids: Mapping[str, Iterable[int]], *,
                extra: Mapping[str, Any] | None = None) -> NewFinding:
    """A finding as the store keeps it, linked to the evidence its artifact rests on."""
    ids = tuple(i for k in evidence_of(finding.artifact.type) for i in evidence_ids.get(k, ()))
    return NewFinding(check_id=finding.check, severity=finding.severity.value, title=finding.title,
                      kind=finding.kind or "compromise", scope=finding.scope or "user",
                      detail="; ".join(finding.reasons) or None,
                      artifact_type=finding.artifact.type, artifact_id=finding.artifact.id,
                      evidence={**dict(finding.evidence), **(extra or {}), "symptom": finding.symptom,
                                "time": finding.time.isoformat() if finding.time else None,
                                "reasons": list(finding.reasons)},
                      evidence_ids=ids, user=user)


def attribute(analysis: Analysis, values: Mapping[str, Any], upn: str) -> tuple[Analysis, attribution.Touched | None]:
    """What the attacker's sessions touched in the user's audit records, added to the analysis as context
    findings (``attacker-activity``: they never change a verdict); ``None`` when no attacker session is known."""
    records = [r for kind in ATTRIBUTION_KINDS if isinstance(values.get(kind), list)
               for r in values[kind] if isinstance(r, dict)]
    touched = attribution.attribute(analysis.findings, records, user=upn)
    if not touched:
        return analysis, None
    return replace(analysis, findings=analysis.findings + tuple(attribution.findings(touched, upn))), touched


def collection_from_case(store: Store, case_id: str) -> Collection:
    """The collection an investigation stored: each evidence kind's payload (the last stored, as the live
    collection kept the last), and the not-collected reasons."""
    out = Collection()
    for info in store.evidence(case_id):
        if info.kind in EVIDENCE_KINDS or info.kind in ATTRIBUTION_KINDS:
            out.values[info.kind] = store.get_evidence(info.id).json()
    for record in store.not_collected(case_id):
        if record.kind in EVIDENCE_KINDS and record.kind not in out.values:
            out.missing[record.kind] = record.reason
    return out


__all__ = ["ABSENT", "ATTRIBUTION_KINDS", "Collection", "attribute", "collection_from_case", "concerning",
           "new_finding", "reason_for"]
