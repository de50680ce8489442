"""An inbox rule targets money or security-warning mail by its words or senders."""

from __future__ import annotations

from reclaim.detect.api import (
    CheckMeta,
    Context,
    InboxRule,
    RuleSignal,
    Severity,
    TermKind,
    matching_terms,
    warning_sender,
)

METADATA = CheckMeta(
    id="inbox-rule-keywords",
    title="Inbox rule targets payment or security-warning mail",
    severity=("info on its own (users sort invoices too); it is what turns a hiding or forwarding rule into "
              "a high or critical finding (see rulescore). Terms in English, German, French, Spanish, "
              "Italian, Dutch, Portuguese and Polish."),
    symptom="inbox rules the user did not create",
    references=(
        "Azure-Sentinel Malicious BEC Inbox Rule (keyword list)",
        "https://learn.microsoft.com/defender-xdr/alert-grading-playbook-inbox-manipulation-rules",
        "Red Canary: email payroll diversion",
    ),
    scope="mailbox",
    needs=("graph_rules|exo_rules",),
    reads=("audit_records",),
    raised_by_attacker_ip=True,
    indicators=(("rule", "name"), ("address", "actions"), ("keywords", "conditions")),
)


def assess(rule: InboxRule, context: Context) -> list[RuleSignal]:
    c = rule.conditions
    finance = sorted({t for w in c.words for t in matching_terms(w, TermKind.FINANCE)})
    warning = sorted({t for w in c.words for t in matching_terms(w, TermKind.WARNING)})
    senders = [r.address or r.name for r in c.from_addresses] + list(c.sender_words)
    warning_senders = sorted({s for s in senders if warning_sender(s)})
    out: list[RuleSignal] = []
    if finance:
        out.append(RuleSignal(METADATA.id, Severity.INFO, "it picks out payment-related mail ("
                              + ", ".join(finance) + ")", frozenset({"finance"}), {"financeTerms": finance}))
    if warning or warning_senders:
        found = warning + warning_senders
        out.append(RuleSignal(METADATA.id, Severity.INFO, "it picks out security warnings (" + ", ".join(found) + ")",
                              frozenset({"warning"}), {"warningTerms": warning, "warningSenders": warning_senders}))
    return out
