"""The JSON report: the whole case, machine-readable, as ``schema/report.schema.json`` documents it.

Strings are kept exactly as stored (attacker-controlled text included: it is data); the document is written
with ``ensure_ascii`` so control, bidi and zero-width characters appear as ``\\uXXXX`` escapes, never raw.
Times are ISO 8601 UTC; ``timeZone`` names the zone the other formats show them in.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from reclaim.report._files import files_document
from reclaim.report._notify import notify_document
from reclaim.report.model import ActionView, FindingView, JournalStepView, Report, TimelineItem

__all__ = ["SCHEMA_ID", "report_json", "to_document"]

SCHEMA_ID = "urn:reclaim:schema:report:1"
FORMAT_VERSION = 1


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _finding(f: FindingView) -> dict[str, Any]:
    return {"id": f.id, "check": f.check, "severity": f.severity, "kind": f.kind, "title": f.title,
            "detail": f.detail, "symptom": f.symptom, "reasons": list(f.reasons),
            "artifact": {"type": f.artifact_type, "id": f.artifact_id}, "time": _iso(f.time), "user": f.user,
            "facts": [{"label": x.label, "value": x.value} for x in f.facts], "evidence": f.evidence,
            "evidenceIds": list(f.evidence_ids)}


def _timeline(t: TimelineItem) -> dict[str, Any]:
    return {"time": _iso(t.time), "kind": t.kind, "summary": t.summary, "origin": t.origin, "severity": t.severity,
            "source": t.source, "artifact": {"type": t.artifact_type, "id": t.artifact_id}}


def _step(s: JournalStepView) -> dict[str, Any]:
    return {"seq": s.seq, "actionId": s.action_id, "target": s.target, "step": s.step,
            "recordedAt": _iso(s.recorded_at), "startedAt": _iso(s.started_at),
            "operator": s.operator, "request": s.request, "result": s.result, "verify": s.verify,
            "beforeEvidenceId": s.before_evidence_id, "beforeEvidenceSha256": s.before_evidence_sha256,
            "prevHash": s.prev_hash, "entryHash": s.entry_hash}


def _action(a: ActionView) -> dict[str, Any]:
    return {"actionId": a.action_id, "target": a.target, "label": a.label, "outcome": a.outcome,
            "verification": a.verification, "reversible": a.reversible, "undo": a.undo_note,
            "beforeEvidenceId": a.before_evidence_id, "beforeEvidenceSha256": a.before_evidence_sha256,
            "beforeState": a.before_state, "request": a.request, "result": a.result, "verify": a.verify,
            "steps": [s.seq for s in a.steps], "sentence": a.sentence, "changes": list(a.changes),
            "appliedAt": _iso(a.applied_at), "operator": a.operator}


def _tenant(report: Report) -> dict[str, Any]:
    tv = report.tenant
    assert tv is not None
    return {"kind": tv.kind, "title": tv.title, "tenant": tv.tenant,
            "facts": [{"label": label, "value": value} for label, value in tv.facts],
            "flagged": [{"user": r.user, "worst": r.worst, "why": list(r.why)} for r in tv.flagged],
            "tenantFindings": [f.id for f in tv.tenant_findings],
            "campaigns": [{"destination": d, "users": list(users)} for d, users in tv.campaigns],
            "blastRadius": tv.blast_radius, "nextSteps": list(tv.next_steps)}


def to_document(report: Report) -> dict[str, Any]:
    case, summary, chain = report.case, report.summary, report.chain
    return {
        "$schema": SCHEMA_ID,
        "formatVersion": FORMAT_VERSION,
        "generatedAt": _iso(report.generated_at),
        "timeZone": report.tz_name,
        "case": {"id": case.id, "kind": case.kind, "subject": case.subject, "tenant": case.tenant,
                 "verdict": case.verdict, "status": case.status, "created": _iso(case.created_at),
                 "updated": _iso(case.updated_at), "since": _iso(case.since), "until": _iso(case.until),
                 "operator": case.operator, "summary": case.summary},
        "summary": {"headline": summary.headline, "account": summary.account, "displayName": summary.display_name,
                    "verdict": summary.verdict, "because": summary.because,
                    "suspiciousWindow": None if summary.window_since is None else {
                        "since": _iso(summary.window_since), "until": _iso(summary.window_until)},
                    "when": summary.when, "howFound": list(summary.how_found), "done": list(summary.done),
                    "needsAPerson": list(summary.needs_a_person)},
        "severityCounts": dict(report.severity_counts),
        "findings": [_finding(f) for f in report.findings],
        "prevention": [_finding(f) for f in report.prevention],
        "timeline": [_timeline(t) for t in report.timeline],
        "journal": {"actions": [_action(a) for a in report.actions], "entries": [_step(s) for s in report.journal],
                    "chain": {"ok": chain.ok, "length": chain.length, "headHash": chain.head_hash,
                              "firstBadSeq": chain.first_bad_seq, "reason": chain.reason}},
        "notChecked": [{"what": n.what, "reason": n.reason, "detail": n.detail, "source": n.source}
                       for n in report.not_checked],
        "evidence": [{"id": e.id, "kind": e.kind, "source": e.source, "request": e.request,
                      "collectedAt": _iso(e.collected_at), "contentType": e.content_type, "size": e.size,
                      "sha256": e.sha256, "hashOk": e.hash_ok} for e in report.evidence],
        "files": None if report.files is None else files_document(report.files),
        "notify": None if report.notify is None else notify_document(report.notify),
        **({} if (seal := report.integrity) is None else {"seal": {
            "state": seal.state, "headHash": seal.head, "length": seal.length, "problems": list(seal.problems)}}),
        "tenantView": None if report.tenant is None else _tenant(report),
        "intact": report.intact,
    }


def report_json(report: Report) -> str:
    return json.dumps(to_document(report), indent=2, ensure_ascii=True, allow_nan=False) + "\n"
