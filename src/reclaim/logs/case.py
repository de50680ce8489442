"""An offline log analysis stored as a case (kind ``logs``), so that ``reclaim report CASE`` and
``reclaim evidence export CASE`` work on it.

Stored: the list of files read (path, format, records, SHA-256 of the file as given), each user's records the
checks read and the attacker's activity (as evidence), the findings (linked to that evidence), the timeline, the
verdicts and what could not be checked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from reclaim.collect.collection import new_finding
from reclaim.detect.attribution import Touched
from reclaim.detect.engine import Analysis
from reclaim.logs.analysis import FileResult, LogAnalysis
from reclaim.store import Store
from reclaim.store.models import NewEvidence, NewTimelineEvent

_KIND_EVIDENCE = {"auditRecord": "audit_records", "signIn": "sign_ins", "directoryAudit": "directory_audits"}


def _worst(analyses: list[Analysis]) -> str:
    names = [a.verdict.name.value for a in analyses]
    for name in ("compromised", "suspicious"):
        if name in names:
            return name
    return "clean"


def subject_of(result: LogAnalysis) -> str:
    return _subject(result.files)


def _subject(files: Sequence[FileResult]) -> str:
    names = [f.path for f in files if f.format]
    return "logs: " + (", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else ""))


class CaseWriter:
    """Stores an analysis as it is made (a :class:`reclaim.logs.analysis.Sink`): the case and its files first,
    then each user's records, attacker activity, findings and timeline in batches of ``batch`` users (one write
    of each kind per batch: each write locks and seals the case), the verdict and summary last. Everything is
    one transaction: an analysis that fails stores nothing."""

    def __init__(self, store: Store, *, batch: int = 500) -> None:
        self.store = store
        self.batch = batch
        self.case_id: str | None = None
        self._now = datetime.now(UTC)
        self._pending: list[tuple[Analysis, Mapping[str, tuple[str, dict[str, Any]]], Touched | None]] = []
        self._tx: AbstractContextManager[None] | None = None

    def __enter__(self) -> CaseWriter:
        self._tx = self.store.transaction()
        self._tx.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._tx is not None
        self._tx.__exit__(*exc)

    def start(self, files: Sequence[FileResult], span: tuple[datetime | None, datetime | None],
              domains: Sequence[str]) -> None:
        case = self.store.create_case("logs", _subject(files), tenant=(tuple(domains) or (None,))[0], since=span[0],
                                      until=span[1])
        self.case_id = case.id
        self.store.add_evidence(case.id, "log_files", "files", {"read": [f.path for f in files]},
                                [{"path": f.path, "format": f.format, "records": f.records, "skipped": f.skipped,
                                  "sha256": f.sha256, "size": f.size} for f in files], self._now)

    def user(self, analysis: Analysis, records: Mapping[str, tuple[str, dict[str, Any]]],
             touched: Touched | None) -> None:
        self._pending.append((analysis, records, touched))
        if len(self._pending) >= self.batch:
            self._flush()

    def _flush(self) -> None:
        assert self.case_id is not None
        items: list[NewEvidence] = []
        owners: list[str] = []
        for analysis, records, touched in self._pending:
            by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for kind, record in records.values():
                by_kind[_KIND_EVIDENCE[kind]].append(record)
            mine = [NewEvidence(kind, "logs", {"user": analysis.user}, recs, self._now)
                    for kind, recs in sorted(by_kind.items())]
            if touched is not None:
                mine.append(NewEvidence("attacker_activity", "logs", {"user": analysis.user}, touched.to_json(),
                                        self._now))
            items += mine
            owners += [analysis.user] * len(mine)
        ids: dict[str, dict[str, list[int]]] = defaultdict(dict)
        for owner, item, eid in zip(owners, items, self.store.add_evidence_many(self.case_id, items), strict=True):
            ids[owner].setdefault(item.kind, []).append(eid)
        done = [a for a, _, _ in self._pending]
        self.store.add_findings(self.case_id, (new_finding(f, a.user, ids[a.user], extra={"user": a.user})
                                               for a in done for f in a.findings))
        self.store.add_timeline(self.case_id, (
            NewTimelineEvent(time=e.time, kind=e.kind, summary=e.summary,
                             artifact_type=e.artifact.type if e.artifact else None,
                             artifact_id=e.artifact.id if e.artifact else None, source=e.check, user=a.user)
            for a in done for e in a.timeline))
        self._pending = []

    def finish(self, result: LogAnalysis) -> str:
        """The last batch, what was not checked, the verdict and summary; returns the case id."""
        self._flush()
        assert self.case_id is not None
        for nc in result.not_checked():
            self.store.record_not_collected(self.case_id, nc["check"], nc["reason"], f"for {nc['users']} user(s)")
        summary: dict[str, Any] = {"verdict": _worst(result.analyses), "records": result.records,
                   "files": [f.to_json() for f in result.files],
                   "users": [{"user": a.user, "verdict": a.verdict.name.value, "because": a.verdict.because}
                             for a in result.analyses],
                   "touched": {u: t.to_json() for u, t in result.touched.items()},
                   "coverage": coverage(result)}
        self.store.set_verdict(self.case_id, summary["verdict"], summary=summary)
        return self.case_id


def coverage(result: LogAnalysis) -> dict[str, Any]:
    """What the analysis really read: the time range, the formats and record kinds, what was skipped."""
    return {"since": result.span[0].isoformat() if result.span[0] else None,
            "until": result.span[1].isoformat() if result.span[1] else None,
            "formats": sorted({f.format for f in result.files if f.format}),
            "skipped": [{"path": f.path, "why": f.skipped} for f in result.files if f.skipped],
            "notChecked": result.not_checked()}


__all__ = ["CaseWriter", "coverage", "subject_of"]
