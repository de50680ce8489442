"""Re-analysis: today's checks on a stored investigation's evidence, with no tenant access.

The evidence a case stored (payloads as received and the reasons for what was not collected) is turned back
into the same bundle the investigation analysed (:func:`~reclaim.collect.collection.collection_from_case`), the
checks run on it, and the result is compared with the findings the case stored: what a change to a check
finds that it did not before, what it no longer finds, and where the severity moved. This is how a responder
re-reads yesterday's cases after an update, and how this project measures a detection change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reclaim.collect.collection import attribute, collection_from_case
from reclaim.detect.engine import Analysis, analyze
from reclaim.errors import BadInput
from reclaim.store import Store
from reclaim.text import article

JSON = dict[str, Any]
Key = tuple[str, str, str]  # (check, artifact type, artifact id)


@dataclass(frozen=True)
class Reanalysis:
    case_id: str
    analysis: Analysis
    #: the verdict the case stored
    stored_verdict: str | None
    #: findings now and not then / then and not now / (then, now) severities that moved
    added: tuple[Key, ...] = ()
    removed: tuple[Key, ...] = ()
    changed: dict[Key, tuple[str, str]] = field(default_factory=dict)

    @property
    def same(self) -> bool:
        return not (self.added or self.removed or self.changed) and \
            self.stored_verdict == self.analysis.verdict.name.value

    def to_json(self) -> JSON:
        def key(k: Key) -> JSON:
            return {"check": k[0], "artifact": {"type": k[1], "id": k[2]}}

        return {"case": self.case_id, "storedVerdict": self.stored_verdict, **self.analysis.to_json(),
                "comparedWithStored": {"same": self.same, "added": [key(k) for k in self.added],
                                       "removed": [key(k) for k in self.removed],
                                       "changed": [key(k) | {"stored": a, "now": b}
                                                   for k, (a, b) in sorted(self.changed.items())]}}


def reanalyze(store: Store, case_id: str) -> Reanalysis:
    """Today's checks on the stored evidence of investigation ``case_id``, compared with what it stored."""
    case = store.get_case(case_id)
    if case.kind != "investigate":
        raise BadInput(f"case {case_id} is {article(case.kind)} {case.kind} case, not an investigation",
                       hint="analyze case re-runs the checks of `reclaim investigate` cases")
    if case.until is None:
        raise BadInput(f"case {case_id} has no collection time", hint="re-run `reclaim investigate`")
    collected = collection_from_case(store, case_id)
    bundle = collected.bundle(since=case.since, until=case.until, owner=case.subject)
    analysis, _ = attribute(analyze(bundle), collected.values, case.subject)
    then: dict[Key, str] = {(f.check_id, f.artifact_type or "", f.artifact_id or ""): f.severity
                            for f in store.findings(case_id)}
    now: dict[Key, str] = {(f.check, str(f.artifact.type), f.artifact.id): f.severity.value for f in analysis.findings}
    return Reanalysis(case_id=case_id, analysis=analysis, stored_verdict=case.verdict,
                      added=tuple(sorted(now.keys() - then.keys())), removed=tuple(sorted(then.keys() - now.keys())),
                      changed={k: (then[k], now[k]) for k in sorted(then.keys() & now.keys()) if then[k] != now[k]})


__all__ = ["Reanalysis", "reanalyze"]
