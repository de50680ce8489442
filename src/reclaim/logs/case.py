"""An offline log analysis stored as a case (kind ``logs``), so that ``reclaim report CASE`` and
``reclaim evidence export CASE`` work on it.

Stored: the list of files read (path, format, records, SHA-256 of the file as given), each user's records the
checks read and the attacker's activity (as evidence), the findings (linked to that evidence), the timeline, the
verdicts and what could not be checked.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from reclaim.collect.collection import new_finding
from reclaim.detect.engine import Analysis
from reclaim.logs.analysis import LogAnalysis
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
    names = [f.path for f in result.files if f.format]
    return "logs: " + (", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else ""))


def store_analysis(store: Store, result: LogAnalysis) -> str:
    """Store ``result`` as a new case; returns its id."""
    now = datetime.now(UTC)
    by_user: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for kind, record in result.records_by_id.values():
        user = str(record.get("UserId") or record.get("userPrincipalName") or "").casefold()
        by_user[user][_KIND_EVIDENCE[kind]].append(record)
    with store.transaction():
        case = store.create_case("logs", subject_of(result), tenant=(result.domains or (None,))[0],
                                 since=result.span[0], until=result.span[1])
        store.add_evidence(case.id, "log_files", "files", {"read": [f.path for f in result.files]},
                           [{"path": f.path, "format": f.format, "records": f.records, "skipped": f.skipped,
                             "sha256": f.sha256, "size": f.size} for f in result.files], now)
        # one write of each kind for the whole analysis (not one per user: thousands of users in one export)
        items: list[NewEvidence] = []
        owners: list[str] = []
        for analysis in result.analyses:
            user = analysis.user
            mine = [NewEvidence(kind, "logs", {"user": user}, records, now)
                    for kind, records in sorted(by_user.get(user.casefold(), {}).items())]
            if user in result.touched:
                mine.append(NewEvidence("attacker_activity", "logs", {"user": user},
                                        result.touched[user].to_json(), now))
            items += mine
            owners += [user] * len(mine)
        ids: dict[str, dict[str, list[int]]] = defaultdict(dict)
        for owner, item, eid in zip(owners, items, store.add_evidence_many(case.id, items), strict=True):
            ids[owner].setdefault(item.kind, []).append(eid)
        store.add_findings(case.id, (new_finding(f, a.user, ids[a.user], extra={"user": a.user})
                                     for a in result.analyses for f in a.findings))
        store.add_timeline(case.id, (NewTimelineEvent(time=e.time, kind=e.kind, summary=e.summary,
                                                      artifact_type=e.artifact.type if e.artifact else None,
                                                      artifact_id=e.artifact.id if e.artifact else None,
                                                      source=e.check, user=a.user)
                                     for a in result.analyses for e in a.timeline))
        for nc in result.not_checked():
            store.record_not_collected(case.id, nc["check"], nc["reason"], f"for {nc['users']} user(s)")
        summary: dict[str, Any] = {"verdict": _worst(result.analyses), "records": result.records,
                   "files": [f.to_json() for f in result.files],
                   "users": [{"user": a.user, "verdict": a.verdict.name.value, "because": a.verdict.because}
                             for a in result.analyses],
                   "touched": {u: t.to_json() for u, t in result.touched.items()},
                   "coverage": coverage(result)}
        store.set_verdict(case.id, summary["verdict"], summary=summary)
    return case.id


def coverage(result: LogAnalysis) -> dict[str, Any]:
    """What the analysis really read: the time range, the formats and record kinds, what was skipped."""
    return {"since": result.span[0].isoformat() if result.span[0] else None,
            "until": result.span[1].isoformat() if result.span[1] else None,
            "formats": sorted({f.format for f in result.files if f.format}),
            "skipped": [{"path": f.path, "why": f.skipped} for f in result.files if f.skipped],
            "notChecked": result.not_checked()}


__all__ = ["coverage", "store_analysis", "subject_of"]
