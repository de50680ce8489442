"""An inbox rule is hidden: Outlook, OWA, Graph and the admin centre do not show it."""

from __future__ import annotations

from reclaim.detect.api import CheckMeta, Context, InboxRule, RuleSignal, Severity

METADATA = CheckMeta(
    id="inbox-rule-hidden",
    title="Inbox rule is hidden from the user and the admin centre",
    severity=("medium: only Get-InboxRule -IncludeHidden shows it, a known attacker trick (MAPI-edited rules); "
              "Exchange's own hidden rules (Junk E-Mail Rule, Microsoft.Exchange.OOF.*) are ignored; "
              "a hidden rule that forwards or hides mail is at least high (see rulescore)."),
    symptom="inbox rules the user did not create",
    references=(
        "https://learn.microsoft.com/powershell/module/exchange/get-inboxrule (-IncludeHidden)",
        "KelvinTegelaar/CIPP-API Invoke-ExecBECRemediate.ps1",
        "cisagov/untitledgoosetool",
    ),
    scope="mailbox",
    needs=("exo_rules",),
    reads=("graph_rules", "audit_records"),
    raised_by_attacker_ip=True,
    indicators=(("rule", "name"), ("address", "actions"), ("keywords", "conditions")),
)


def assess(rule: InboxRule, context: Context) -> list[RuleSignal]:
    if not rule.hidden or rule.is_system:
        return []
    return [RuleSignal(METADATA.id, Severity.MEDIUM,
                       "it is hidden: Outlook, Graph and the admin centre do not show it, only Exchange does",
                       frozenset({"hidden"}))]
