"""An inbox rule hides mail: deletes it, moves it where nobody looks, or marks it read."""

from __future__ import annotations

from reclaim.detect.api import CheckMeta, Context, FolderKind, InboxRule, NotChecked, RuleSignal, Severity

METADATA = CheckMeta(
    id="inbox-rule-hiding",
    title="Inbox rule hides mail from the user",
    severity=("low for one hiding action on chosen mail (users delete newsletters and send marketing to Junk "
              "too); high when it applies to every message (no condition, a one-letter word, or a tiny size "
              "limit): the user stops seeing their mail; raised further with keywords, a disguised name, "
              "hidden status or external forwarding (see rulescore)."),
    symptom="missing or deleted email; inbox rules that move to Notes/Junk/RSS/Deleted Items",
    references=(
        "https://learn.microsoft.com/defender-office-365/responding-to-a-compromised-email-account",
        "Azure-Sentinel Malicious Mailbox Rules (BEC)",
        "LETHAL-FORENSICS/Microsoft-Analyzer-Suite MoveToFolder-Blacklist.csv",
        "https://learn.microsoft.com/defender-xdr/alert-grading-playbook-inbox-manipulation-rules",
    ),
    scope="mailbox",
    needs=("graph_rules|exo_rules",),
    reads=("folders", "audit_records"),
    raised_by_attacker_ip=True,
    indicators=(("rule", "name"), ("address", "actions"), ("keywords", "conditions")),
)

_FOLDER_WORDS = {
    FolderKind.RSS: "the RSS Feeds folder", FolderKind.NOTES: "the Notes folder", FolderKind.JUNK: "Junk Email",
    FolderKind.DELETED: "Deleted Items", FolderKind.ARCHIVE: "the Archive folder",
    FolderKind.CONVERSATION_HISTORY: "Conversation History",
}
#: Folders nobody opens without a reason: RSS, Notes, Conversation History are stronger signs than Junk.
_UNUSUAL = {FolderKind.RSS, FolderKind.NOTES, FolderKind.CONVERSATION_HISTORY}


def assess(rule: InboxRule, context: Context) -> list[RuleSignal | NotChecked]:
    a = rule.actions
    unknown: list[RuleSignal | NotChecked] = []
    if a.move_to and not a.move_to.resolved and "folders" in context.missing:
        unknown.append(NotChecked(METADATA.id, f"folders not collected ({context.missing['folders']}): where rule "
                                  f"{rule.name!r} moves mail is unknown"))
    what: list[str] = []
    unusual = False
    if a.permanent_delete:
        what.append("deletes mail permanently")
    elif a.delete:
        what.append("deletes mail")
    kind = a.move_to.kind if a.move_to else None
    if kind is not None:
        label = _FOLDER_WORDS[kind]
        name = a.move_to.name if a.move_to else None
        what.append(f"moves mail to {label}" + (f" ({name})" if name and name.casefold() not in label.casefold()
                                                else ""))
        unusual = kind in _UNUSUAL
    if a.mark_as_read:
        what.append("marks mail as read")
    if not what:
        return unknown
    evidence = {"folderKind": kind.value if kind else None}
    tags = {"hide"}
    if rule.applies_to_all:
        tags.add("catch-all")
        return [*unknown, RuleSignal(METADATA.id, Severity.HIGH,
                                     f"it {' and '.join(what)} for every incoming message (or nearly): the user "
                                     "stops seeing their mail", frozenset(tags), evidence)]
    if a.mark_as_read and not (a.delete or a.permanent_delete or kind) and not a.stop_processing:
        # Marking chosen mail read alone is a common tidy-up.
        return [*unknown, RuleSignal(METADATA.id, Severity.INFO, "it marks chosen mail as read", frozenset(),
                                     evidence)]
    severity = Severity.LOW
    reason = f"it {' and '.join(what)}"
    if unusual:
        reason += ", a folder people rarely open and attackers favour"
    return [*unknown, RuleSignal(METADATA.id, severity, reason, frozenset(tags), evidence)]
