"""An inbox rule's name is made to be overlooked: punctuation only, blank, or a single character."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from reclaim.detect.api import CheckMeta, Context, InboxRule, RuleSignal, Severity

METADATA = CheckMeta(
    id="inbox-rule-suspicious-name",
    title="Inbox rule has a name made to be overlooked",
    severity=("low for a name of only punctuation, blank or one character (\".\", \"..\", \";;;\" are the most "
              "common names of malicious rules); a name of two to five letters is only noted (info) because "
              "users write \"HR\" or \"Uber\"; either raises a hiding rule (see rulescore)."),
    symptom="inbox rules the user did not create",
    references=(
        "Proofpoint 2026: mailbox rules as a post-exploitation tactic",
        "LETHAL-FORENSICS/Microsoft-Analyzer-Suite (non-alphanumeric or 1-5 character rule names)",
        "bitpusher2k/M365IRScripts",
    ),
    scope="mailbox",
    needs=("graph_rules|exo_rules",),
    reads=("audit_records",),
    raised_by_attacker_ip=True,
    indicators=(("rule", "name"), ("address", "actions"), ("keywords", "conditions")),
)


@lru_cache(maxsize=4096)
def _visible(name: str) -> str:
    return "".join(c for c in name if unicodedata.category(c)[0] not in ("Z", "C")).strip()


def assess(rule: InboxRule, context: Context) -> list[RuleSignal]:
    if rule.is_system:
        return []
    shown = _visible(rule.name)
    if not shown:
        return [RuleSignal(METADATA.id, Severity.LOW, "its name is blank or invisible", frozenset({"disguise"}),
                           {"name": rule.name})]
    if not any(c.isalnum() for c in shown):
        return [RuleSignal(METADATA.id, Severity.LOW, f"its name {shown!r} is only punctuation, a common attacker "
                           "choice", frozenset({"disguise"}), {"name": rule.name})]
    if len(shown) == 1:
        return [RuleSignal(METADATA.id, Severity.LOW, f"its name {shown!r} is a single character",
                           frozenset({"disguise"}), {"name": rule.name})]
    alnum = sum(1 for c in shown if c.isalnum())
    if alnum <= 5 and " " not in shown:
        return [RuleSignal(METADATA.id, Severity.INFO, f"its name {shown!r} is very short", frozenset(),
                           {"name": rule.name})]
    return []
