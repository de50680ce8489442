"""Detection: from collected evidence to findings, a verdict and a timeline.

::

    EvidenceBundle (evidence.py)     raw payloads per artifact kind, or NotCollected(reason)
        │
        ├─ rules.py                  one InboxRule model from Graph / Exchange / CSV (+ rulecsv.py)
        ├─ checks/*.py               one module per check, METADATA + run() or assess() (registry.py)
        ├─ rulescore.py              rule-check signals → ONE finding per rule
        ├─ correlate.py              suspicious window, attacker-IP correlation, verdict, timeline
        ▼
    engine.analyze(bundle) → Analysis(findings, not_checked, verdict, window, timeline)

Public entry points: :func:`reclaim.detect.engine.analyze`, :func:`reclaim.detect.engine.analyze_rules`,
:class:`reclaim.detect.evidence.EvidenceBundle`, :class:`reclaim.detect.model.Finding`.
"""
