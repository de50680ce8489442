"""Sweep rules: Outlook "Sweep" schedules that delete or move a sender's mail, invisible in the admin centre."""

from __future__ import annotations

import re

from reclaim.detect.api import (
    Artifact,
    CheckMeta,
    Context,
    EvidenceBundle,
    Finding,
    FolderKind,
    NotChecked,
    Severity,
    TermKind,
    flag,
    folder_kind,
    get,
    matching_terms,
    max_severity,
    parse_recipients,
    text,
    warning_sender,
)

METADATA = CheckMeta(
    id="sweep-rule",
    title="Sweep rule removes mail",
    severity=("low for a sweep rule that deletes or moves one sender's mail (users sweep newsletters); "
              "medium when it has no sender (all mail of a folder), moves to a hiding folder, or removes mail "
              "from a finance or billing sender (invoice fraud hides the supplier's mail, as an inbox rule "
              "would); high when it removes mail from security or help-desk senders."),
    symptom="missing or deleted email (audit sweep rules: the admin screen cannot)",
    references=("https://learn.microsoft.com/powershell/module/exchange/get-sweeprule",
                "https://learn.microsoft.com/defender-office-365/responding-to-a-compromised-email-account"),
    scope="mailbox",
    needs=("sweep_rules",),
)


def _leaf(path: str | None) -> str | None:
    """``<mailbox>:\\Inbox\\News`` → ``News``."""
    return path.split(":\\", 1)[-1].rsplit("\\", 1)[-1] if path else None


#: Mailbox names finance and billing mail comes from, besides the finance terms of the lexicon.
_FINANCE_MAILBOXES = {"accounts", "accountspayable", "ap", "ar", "receivables", "payables", "finance", "treasury",
                      "billing", "invoices", "invoice", "payments", "remittance", "remittances", "payroll"}


def _finance_sender(address: str) -> bool:
    local = address.split("@", 1)[0].lower()
    words = [w for w in re.split(r"[^a-z0-9]+", local) if w]
    return local.replace(".", "").replace("-", "").replace("_", "") in _FINANCE_MAILBOXES or \
        any(w in _FINANCE_MAILBOXES or matching_terms(w, TermKind.FINANCE) for w in words if len(w) > 2)


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    out: list[Finding] = []
    for rule in bundle.records("sweep_rules"):
        if flag(rule, "Enabled", "enabled") is False:
            continue
        rule_id = text(rule, "RuleId", "ruleId", "Identity", "Id", "id") or text(rule, "Name", "name") or "unknown"
        name = text(rule, "Name", "name") or ""
        sender_value = get(rule, "Sender", "sender")
        senders = [r.address or r.name for r in parse_recipients(sender_value)]
        destination = text(rule, "DestinationFolder", "destinationFolder")
        kind = folder_kind(destination) if destination else None
        deletes = destination is None or kind is FolderKind.DELETED
        action = "deletes" if deletes else f"moves to {_leaf(destination)}"
        reasons = [f"it {action} mail" + (f" from {', '.join(senders)}" if senders else " from every sender")
                   + f" in {_leaf(text(rule, 'SourceFolder', 'sourceFolder')) or 'the inbox'}"]
        severity = Severity.LOW
        if not senders:
            severity = Severity.MEDIUM
            reasons.append("it applies to all mail of the folder, not one sender")
        if kind is not None and kind is not FolderKind.DELETED:
            severity = Severity.MEDIUM
            reasons.append(f"the destination {destination} is a folder people rarely open")
        finance = [s for s in senders if _finance_sender(s)]
        if finance:
            severity = max_severity(severity, Severity.MEDIUM)
            reasons.append(f"{', '.join(finance)} looks like a finance or billing sender: payment mail is what "
                           "invoice fraud hides")
        if any(warning_sender(s) for s in senders):
            severity = Severity.HIGH
            reasons.append("it removes mail from security or help-desk senders")
        reasons.append("sweep rules do not show in the admin centre's rule list")
        out.append(Finding(
            METADATA.id, severity, f'Sweep rule "{name}" {reasons[0].removeprefix("it ")}.',
            Artifact("sweepRule", rule_id), evidence={"name": name, "senders": senders,
                                                      "destinationFolder": destination, "raw": dict(rule)},
            reasons=tuple(reasons), symptom=METADATA.symptom))
    return out
