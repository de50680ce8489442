"""An inbox rule forwards, redirects or forwards as attachment to an address outside the tenant."""

from __future__ import annotations

from reclaim.detect.api import (
    NOT_EXPORTED,
    CheckMeta,
    Context,
    InboxRule,
    NotChecked,
    RuleSignal,
    Severity,
    TermKind,
    matching_terms,
)

METADATA = CheckMeta(
    id="inbox-rule-external-forward",
    title="Inbox rule sends mail outside the organisation",
    severity=("high when every incoming message is sent out; "
              "medium: copies of the user's mail leave the tenant (even a user's own payroll forward to a "
              "personal address is a data leak); low when the rule only forwards mail that came from one "
              "outside sender anyway and mentions nothing sensitive; combined with hiding or keyword "
              "targeting it becomes high or critical (see rulescore)."),
    symptom="inbox rules the user did not create (forward externally)",
    references=(
        "https://learn.microsoft.com/defender-office-365/responding-to-a-compromised-email-account",
        "panther-analysis Microsoft365.Exchange.External.Forwarding",
        "sigma microsoft365_susp_inbox_forwarding",
        "T0pCyber/hawk Get-HawkUserInboxRule",
    ),
    scope="mailbox",
    needs=("graph_rules|exo_rules",),
    reads=("accepted_domains", "folders", "audit_records"),
    raised_by_attacker_ip=True,
    indicators=(("rule", "name"), ("address", "actions"), ("keywords", "conditions")),
)


def assess(rule: InboxRule, context: Context) -> list[RuleSignal | NotChecked]:
    unlisted = [r for r in rule.actions.recipients if r.address == NOT_EXPORTED]
    recipients = tuple(r for r in rule.actions.recipients if r.address != NOT_EXPORTED)
    if unlisted and not recipients:
        return [RuleSignal(METADATA.id, Severity.LOW, "it forwards mail to recipients this export does not list "
                           f"({unlisted[0].name}); check the live mailbox", frozenset({"forward"}))]
    if not recipients:
        return []
    if context.domains is None:
        addresses = ", ".join(r.address for r in recipients)
        why = context.domains_reason or "accepted domains unknown"
        return [RuleSignal(METADATA.id, Severity.LOW, f"it forwards mail to {addresses}; whether that is outside "
                           f"the organisation is unknown ({why})", frozenset({"forward"})),
                NotChecked(METADATA.id, f"accepted domains not collected ({why}): cannot tell whether forwarding "
                           "targets are outside the organisation")]
    external = [r for r in recipients if r.is_external(context.domains)
                and r.address.casefold() not in context.own_addresses]
    if not external:
        return []
    addresses = ", ".join(r.address for r in external)
    c = rule.conditions
    sensitive = any(matching_terms(w, TermKind.FINANCE) or matching_terms(w, TermKind.WARNING) for w in c.words)
    senders_outside = bool(c.from_addresses) and all(r.is_external(context.domains) for r in c.from_addresses)
    how = "redirects" if rule.actions.redirect_to and not rule.actions.forward_to else "forwards"
    evidence = {"externalRecipients": [r.to_json() for r in external]}
    if senders_outside and not sensitive and not c.words:
        return [RuleSignal(METADATA.id, Severity.LOW,
                           f"it {how} mail from an outside sender to {addresses}, outside the organisation",
                           frozenset({"steal"}), evidence)]
    if rule.applies_to_all:
        return [RuleSignal(METADATA.id, Severity.HIGH,
                           f"it {how} every incoming message to {addresses}, outside the organisation",
                           frozenset({"steal", "catch-all"}), evidence)]
    return [RuleSignal(METADATA.id, Severity.MEDIUM,
                       f"it {how} mail to {addresses}, outside the organisation: the data leaves the tenant",
                       frozenset({"steal"}), evidence)]
