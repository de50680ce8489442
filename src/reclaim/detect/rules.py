"""One model of an inbox rule, whatever it came from.

:class:`InboxRule` is built from a Graph ``messageRule``, an Exchange ``Get-InboxRule`` object, or a row
of a ``Get-InboxRule | Export-Csv`` file (Microsoft-Extractor-Suite and Hawk column sets; see
:mod:`reclaim.detect.rulecsv`). Builders never raise on shape: a field of the wrong type is ignored
and the rule keeps what could be read (``InboxRule.problems`` says what was not).

Graph and Exchange list the same rules with different ids (Graph: an opaque base64 id; Exchange:
``RuleIdentity``, a decimal number). :func:`merge_rules` pairs them (same id, else same name and
position) and marks Exchange-only rules as hidden when the Graph list was collected: Graph never
returns hidden rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from reclaim.detect.addresses import NOT_EXPORTED, TYPE_NAME, Recipient, parse_recipients
from reclaim.detect.fields import as_list, flag, get, text
from reclaim.detect.lexicon import WELL_KNOWN, FolderKind, folder_kind, is_catch_all_word

RuleSource = Literal["graph", "exo", "csv"]


@dataclass(frozen=True)
class FolderRef:
    """A move/copy destination: Graph gives an id (resolved through the folder list), Exchange a name."""

    id: str | None = None
    name: str | None = None
    well_known: str | None = None

    @property
    def kind(self) -> FolderKind | None:
        return folder_kind(self.name, self.well_known)

    @property
    def resolved(self) -> bool:
        return bool(self.name or self.well_known)

    def label(self) -> str:
        return self.name or self.well_known or f"folder id {self.id}"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "wellKnownName": self.well_known,
                "kind": self.kind.value if self.kind else None}


@dataclass(frozen=True)
class RuleConditions:
    subject: tuple[str, ...] = ()
    body: tuple[str, ...] = ()
    subject_or_body: tuple[str, ...] = ()
    header: tuple[str, ...] = ()
    sender_words: tuple[str, ...] = ()
    recipient_words: tuple[str, ...] = ()
    from_addresses: tuple[Recipient, ...] = ()
    sent_to: tuple[Recipient, ...] = ()
    #: Other predicates that are set (``hasAttachments``, ``importance``, ``sentToMe``...), by name.
    other: tuple[str, ...] = ()
    #: Smallest message size (KB) a size condition requires, if there is one.
    min_size_kb: float | None = None
    #: Conditions known to exist but not readable (e.g. only in a CSV export's Description).
    undisclosed: tuple[str, ...] = ()

    @property
    def words(self) -> tuple[str, ...]:
        return self.subject + self.body + self.subject_or_body + self.header

    @property
    def is_empty(self) -> bool:
        return not (self.words or self.sender_words or self.recipient_words or self.from_addresses
                    or self.sent_to or self.other or self.min_size_kb is not None or self.undisclosed)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in (("subjectContains", self.subject), ("bodyContains", self.body),
                           ("subjectOrBodyContains", self.subject_or_body), ("headerContains", self.header),
                           ("senderContains", self.sender_words), ("recipientContains", self.recipient_words),
                           ("other", self.other), ("undisclosed", self.undisclosed)):
            if value:
                out[key] = list(value)
        if self.from_addresses:
            out["fromAddresses"] = [r.to_json() for r in self.from_addresses]
        if self.sent_to:
            out["sentToAddresses"] = [r.to_json() for r in self.sent_to]
        if self.min_size_kb is not None:
            out["minimumSizeKB"] = self.min_size_kb
        return out


@dataclass(frozen=True)
class RuleActions:
    forward_to: tuple[Recipient, ...] = ()
    redirect_to: tuple[Recipient, ...] = ()
    forward_as_attachment_to: tuple[Recipient, ...] = ()
    move_to: FolderRef | None = None
    copy_to: FolderRef | None = None
    delete: bool = False
    permanent_delete: bool = False
    mark_as_read: bool = False
    stop_processing: bool = False
    #: Other actions that are set (``markImportance``, ``assignCategories``, ``startApplication``...).
    other: tuple[str, ...] = ()

    @property
    def recipients(self) -> tuple[Recipient, ...]:
        return self.forward_to + self.redirect_to + self.forward_as_attachment_to

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, rcpts in (("forwardTo", self.forward_to), ("redirectTo", self.redirect_to),
                           ("forwardAsAttachmentTo", self.forward_as_attachment_to)):
            if rcpts:
                out[key] = [r.to_json() for r in rcpts]
        if self.move_to:
            out["moveToFolder"] = self.move_to.to_json()
        if self.copy_to:
            out["copyToFolder"] = self.copy_to.to_json()
        for key, on in (("delete", self.delete), ("permanentDelete", self.permanent_delete),
                        ("markAsRead", self.mark_as_read), ("stopProcessingRules", self.stop_processing)):
            if on:
                out[key] = True
        if self.other:
            out["other"] = list(self.other)
        return out


@dataclass(frozen=True)
class InboxRule:
    id: str
    name: str
    source: RuleSource
    enabled: bool = True
    priority: int | None = None
    hidden: bool = False
    mailbox: str | None = None
    conditions: RuleConditions = field(default_factory=RuleConditions)
    exceptions: RuleConditions = field(default_factory=RuleConditions)
    actions: RuleActions = field(default_factory=RuleActions)
    in_error: bool = False
    description: str | None = None
    #: The other API's id for the same rule (Exchange RuleIdentity when ``id`` is Graph's).
    alt_id: str | None = None
    problems: tuple[str, ...] = ()

    @property
    def applies_to_all(self) -> bool:
        """The rule catches (nearly) every incoming message: no condition, only blank or one-letter words,
        or only a size condition of at most 10 KB."""
        c = self.conditions
        if c.is_empty:
            return True
        if c.words and all(is_catch_all_word(w) for w in c.words) and not (
                c.from_addresses or c.sender_words or c.other or c.undisclosed or c.recipient_words or c.sent_to):
            return True
        only_size = c.min_size_kb is not None and not (c.words or c.from_addresses or c.sender_words
                                                      or c.recipient_words or c.sent_to)
        return only_size and (c.min_size_kb or 0) <= 10

    @property
    def is_system(self) -> bool:
        """Rules Exchange itself keeps (junk-mail filter, out-of-office), hidden by design."""
        n = self.name.strip().lower()
        return n in {"junk e-mail rule", "junk email rule"} or n.startswith("microsoft.exchange.")

    def evidence(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "source": self.source, "enabled": self.enabled,
                               "hidden": self.hidden, "conditions": self.conditions.to_json(),
                               "actions": self.actions.to_json()}
        if self.priority is not None:
            out["priority"] = self.priority
        if self.exceptions.to_json():
            out["exceptions"] = self.exceptions.to_json()
        if self.alt_id:
            out["exchangeRuleIdentity"] = self.alt_id
        if self.mailbox:
            out["mailbox"] = self.mailbox
        if self.problems:
            out["problems"] = list(self.problems)
        return out


# -- Graph ---------------------------------------------------------------------------------------

_GRAPH_WORDS = {"subjectContains": "subject", "bodyContains": "body", "bodyOrSubjectContains": "subject_or_body",
                "headerContains": "header", "senderContains": "sender_words", "recipientContains": "recipient_words"}
_GRAPH_SKIP_FALSE = {"hasAttachments", "isAutomaticForward", "isAutomaticReply", "sentToMe", "sentOnlyToMe",
                     "sentCcMe", "sentToOrCcMe", "notSentToMe", "isApprovalRequest", "isEncrypted",
                     "isMeetingRequest", "isMeetingResponse", "isNonDeliveryReport", "isPermissionControlled",
                     "isReadReceipt", "isSigned", "isVoicemail"}


def _words(value: Any) -> tuple[str, ...]:
    return tuple(v for v in as_list(value) if isinstance(v, str))


def _graph_predicates(raw: object, problems: list[str], where: str) -> RuleConditions:
    if raw is None:
        return RuleConditions()
    if not isinstance(raw, Mapping):
        problems.append(f"{where} is not an object")
        return RuleConditions()
    words: dict[str, tuple[str, ...]] = {}
    other: list[str] = []
    min_size: float | None = None
    for key, value in raw.items():
        if value in (None, [], {}, False, ""):
            continue
        if key in _GRAPH_WORDS:
            words[_GRAPH_WORDS[key]] = _words(value)
            if not words[_GRAPH_WORDS[key]]:
                # Present but unreadable: a condition exists, so never read it as "all messages".
                problems.append(f"{where}.{key} has no readable words")
                other.append(f"{key} (unreadable)")
        elif key in ("fromAddresses", "sentToAddresses"):
            if not parse_recipients(value):
                problems.append(f"{where}.{key} has no readable address")
                other.append(f"{key} (unreadable)")
        elif key == "withinSizeRange":
            size = get(value, "minimumSize")
            min_size = float(size) if isinstance(size, int | float) and not isinstance(size, bool) else 0.0
            other.append(key)
        elif key in _GRAPH_SKIP_FALSE or isinstance(value, str | bool | int | list | Mapping):
            other.append(str(key))
    return RuleConditions(
        subject=words.get("subject", ()), body=words.get("body", ()),
        subject_or_body=words.get("subject_or_body", ()), header=words.get("header", ()),
        sender_words=words.get("sender_words", ()), recipient_words=words.get("recipient_words", ()),
        from_addresses=tuple(parse_recipients(get(raw, "fromAddresses"))),
        sent_to=tuple(parse_recipients(get(raw, "sentToAddresses"))),
        other=tuple(sorted(other)), min_size_kb=min_size,
    )


def _graph_folder(value: Any, folders: Mapping[str, Mapping[str, Any]]) -> FolderRef | None:
    if not isinstance(value, str) or not value.strip():
        return None
    folder = folders.get(value)
    if folder is not None:
        return FolderRef(value, text(folder, "displayName"), text(folder, "wellKnownName"))
    lowered = value.strip().lower()
    if lowered in WELL_KNOWN or lowered in {"inbox", "sentitems", "drafts", "outbox", "msgfolderroot"}:
        return FolderRef(value, None, lowered)
    return FolderRef(value, None, None)


def folder_index(folders: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Graph mailFolder objects by id."""
    return {fid: f for f in folders if (fid := text(f, "id"))}


def from_graph(raw: Mapping[str, Any], folders: Mapping[str, Mapping[str, Any]] | None = None,
               mailbox: str | None = None) -> InboxRule:
    problems: list[str] = []
    folders = folders or {}
    actions_raw = get(raw, "actions")
    if actions_raw is not None and not isinstance(actions_raw, Mapping):
        problems.append("actions is not an object")
        actions_raw = {}
    a: Mapping[str, Any] = actions_raw or {}
    other = [k for k, v in a.items() if v not in (None, [], {}, False, "") and k not in {
        "forwardTo", "redirectTo", "forwardAsAttachmentTo", "moveToFolder", "copyToFolder", "delete",
        "permanentDelete", "markAsRead", "stopProcessingRules"}]
    actions = RuleActions(
        forward_to=tuple(parse_recipients(get(a, "forwardTo"))),
        redirect_to=tuple(parse_recipients(get(a, "redirectTo"))),
        forward_as_attachment_to=tuple(parse_recipients(get(a, "forwardAsAttachmentTo"))),
        move_to=_graph_folder(get(a, "moveToFolder"), folders),
        copy_to=_graph_folder(get(a, "copyToFolder"), folders),
        delete=flag(a, "delete") is True, permanent_delete=flag(a, "permanentDelete") is True,
        mark_as_read=flag(a, "markAsRead") is True, stop_processing=flag(a, "stopProcessingRules") is True,
        other=tuple(sorted(str(k) for k in other)),
    )
    rule_id = text(raw, "id")
    if rule_id is None:
        problems.append("rule has no id")
    seq = get(raw, "sequence")
    return InboxRule(
        id=rule_id or "", name=text(raw, "displayName") or "", source="graph",
        enabled=flag(raw, "isEnabled") is not False,
        priority=seq if isinstance(seq, int) and not isinstance(seq, bool) else None,
        hidden=flag(raw, "hidden", "isHidden") is True, mailbox=mailbox,
        conditions=_graph_predicates(get(raw, "conditions"), problems, "conditions"),
        exceptions=_graph_predicates(get(raw, "exceptions"), problems, "exceptions"),
        actions=actions, in_error=flag(raw, "hasError") is True,
        problems=tuple(problems),
    )


# -- Exchange (Get-InboxRule objects and CSV rows) -----------------------------------------------

_EXO_WORDS = {"SubjectContainsWords": "subject", "BodyContainsWords": "body",
              "SubjectOrBodyContainsWords": "subject_or_body", "HeaderContainsWords": "header",
              "FromAddressContainsWords": "sender_words", "RecipientAddressContainsWords": "recipient_words"}
_EXO_OTHER_CONDITIONS = ("HasAttachment", "WithImportance", "WithSensitivity", "FlaggedForAction", "SentOnlyToMe",
                         "MyNameInToBox", "MyNameInCcBox", "MyNameInToOrCcBox", "MyNameNotInToBox",
                         "MessageTypeMatches", "HasClassification", "FromSubscription", "WithinSizeRangeMaximum")
_EXO_OTHER_ACTIONS = ("MarkImportance", "ApplyCategory", "ApplySystemCategory", "PinMessage",
                      "SendTextMessageNotificationTo")
_FALSY_TEXT = {"", "false", "none", "null", "$null", "{}", "[]"}


def _split_words(value: Any) -> tuple[str, ...]:
    """Exchange gives arrays; exports join them with ", " or ";". Quoted values keep their commas."""
    out: list[str] = []
    for element in as_list(value):
        if isinstance(element, bool) or not isinstance(element, str | int | float):
            continue
        s = str(element).strip()
        if not s or s.lower() in _FALSY_TEXT:
            continue
        if isinstance(value, str):
            out.extend(p.strip().strip("'\"").strip() for p in re.split(r"[;,]", s) if p.strip().strip("'\""))
        else:
            out.append(s)
    return tuple(out)


def _exo_folder(value: Any) -> FolderRef | None:
    if isinstance(value, Mapping):
        name = text(value, "Name", "DisplayName", "FolderPath", "displayName")
        return FolderRef(text(value, "Id", "FolderId", "id"), name, None) if name else None
    if not isinstance(value, str) or value.strip().lower() in _FALSY_TEXT:
        return None
    name = value.strip()
    # "alice:\Inbox\RSS Feeds", "contoso.com/Users/alice:\RSS Feeds", "\Junk Email"
    leaf = re.split(r"[\\]", name.split(":\\", 1)[-1])[-1].strip() or name
    return FolderRef(None, leaf, None)


def _flag(raw: Mapping[str, Any], key: str, problems: list[str]) -> bool:
    value = get(raw, key)
    if value is None:
        return False
    result = flag(raw, key)
    if result is None:
        problems.append(f"{key} is not a boolean: {str(value)[:40]!r}")
        return False
    return result


def _present(raw: Mapping[str, Any], key: str) -> bool:
    value = get(raw, key)
    if value is None or value is False:
        return False
    if isinstance(value, str):
        return value.strip().lower() not in _FALSY_TEXT
    return not (isinstance(value, list | tuple | Mapping) and not value)


_DESC_CONDITION = re.compile(r"if the message:\s*(?P<body>.*?)(?:take the following actions:|$)", re.I | re.S)
_DESC_SIZE = re.compile(r"larger than\s+(?P<n>[\d.,]+)\s*(?P<unit>B|KB|MB|GB)", re.I)


def _description_conditions(description: str | None) -> tuple[tuple[str, ...], float | None]:
    if not description:
        return (), None
    m = _DESC_CONDITION.search(description)
    if not m:
        return (), None
    lines = tuple(line.strip() for line in m.group("body").splitlines() if line.strip())
    size: float | None = None
    s = _DESC_SIZE.search(m.group("body"))
    if s:
        try:
            n = float(s.group("n").replace(",", ""))
        except ValueError:
            n = 0.0
        size = n * {"b": 1 / 1024, "kb": 1, "mb": 1024, "gb": 1024 * 1024}[s.group("unit").lower()]
    return lines, size


def from_exchange(raw: Mapping[str, Any], source: RuleSource = "exo", mailbox: str | None = None) -> InboxRule:
    """A ``Get-InboxRule`` object (or an exported row with the same column names)."""
    problems: list[str] = []
    words: dict[str, tuple[str, ...]] = {k: _split_words(get(raw, key)) for key, k in _EXO_WORDS.items()}
    other_conditions = [k for k in _EXO_OTHER_CONDITIONS if _present(raw, k) and not (
        k in ("HasAttachment", "SentOnlyToMe", "MyNameInToBox", "MyNameInCcBox", "MyNameInToOrCcBox",
              "MyNameNotInToBox", "FlaggedForAction") and flag(raw, k) is False)]
    min_size: float | None = None
    size = get(raw, "WithinSizeRangeMinimum")
    if size not in (None, "", False):
        min_size = _size_kb(size)
        other_conditions.append("WithinSizeRangeMinimum")
    description = text(raw, "Description", "TextDescription")
    undisclosed: tuple[str, ...] = tuple(
        f"{key}: {text(raw, key)}" for key in (*_EXO_WORDS, "From", "SentTo")
        if (v := text(raw, key)) is not None and TYPE_NAME.match(v.strip()))
    words = {k: () if any(u.startswith(key + ":") for u in undisclosed) else v
             for key, k in _EXO_WORDS.items() for v in [words[k]]}
    conditions = RuleConditions(
        subject=words["subject"], body=words["body"], subject_or_body=words["subject_or_body"],
        header=words["header"], sender_words=words["sender_words"], recipient_words=words["recipient_words"],
        from_addresses=tuple(r for r in parse_recipients(get(raw, "From")) if r.address != NOT_EXPORTED),
        sent_to=tuple(r for r in parse_recipients(get(raw, "SentTo")) if r.address != NOT_EXPORTED),
        other=tuple(other_conditions), min_size_kb=min_size, undisclosed=undisclosed,
    )
    if conditions.is_empty:
        # Exports carry only some condition columns; the Description lists them all.
        undisclosed, desc_size = _description_conditions(description)
        if undisclosed:
            conditions = replace(conditions, undisclosed=undisclosed, min_size_kb=desc_size)
    exceptions = RuleConditions(
        subject=_split_words(get(raw, "ExceptIfSubjectContainsWords")),
        body=_split_words(get(raw, "ExceptIfBodyContainsWords")),
        subject_or_body=_split_words(get(raw, "ExceptIfSubjectOrBodyContainsWords")),
        from_addresses=tuple(parse_recipients(get(raw, "ExceptIfFrom"))),
    )
    desc = (description or "").lower()
    has_column = {k.lower() for k in raw}
    delete = _flag(raw, "DeleteMessage", problems)
    soft = _flag(raw, "SoftDeleteMessage", problems)
    mark_read = _flag(raw, "MarkAsRead", problems)
    stop = _flag(raw, "StopProcessingRules", problems)
    if "deletemessage" not in has_column and "delete the message" in desc:
        delete = True
    if "markasread" not in has_column and "mark the message as read" in desc:
        mark_read = True
    if "stopprocessingrules" not in has_column and "stop processing more rules" in desc:
        stop = True
    actions = RuleActions(
        forward_to=tuple(parse_recipients(get(raw, "ForwardTo"))),
        redirect_to=tuple(parse_recipients(get(raw, "RedirectTo"))),
        forward_as_attachment_to=tuple(parse_recipients(get(raw, "ForwardAsAttachmentTo"))),
        move_to=_exo_folder(get(raw, "MoveToFolder")), copy_to=_exo_folder(get(raw, "CopyToFolder")),
        # SoftDeleteMessage: to Recoverable Items, past Deleted Items (Graph ``permanentDelete``).
        delete=delete, permanent_delete=soft or _flag(raw, "PermanentDelete", problems) or (
            "softdeletemessage" not in has_column and "delete the message permanently" in desc),
        mark_as_read=mark_read, stop_processing=stop,
        other=tuple(k for k in _EXO_OTHER_ACTIONS if _present(raw, k) and flag(raw, k) is not False
                    and text(raw, k) not in ("Normal",)),
    )
    identity = text(raw, "RuleIdentity")
    ident = text(raw, "Identity")
    if identity is None and ident:
        identity = ident.rsplit("\\", 1)[-1]
    if identity is None:
        problems.append("rule has no RuleIdentity")
    owner = mailbox or text(raw, "MailboxOwnerId", "MailboxOwnerID", "UserName", "Mailbox")
    if owner is None and ident and "\\" in ident:
        owner = ident.rsplit("\\", 1)[0]
    priority = get(raw, "Priority")
    prio: int | None = None
    if isinstance(priority, int) and not isinstance(priority, bool):
        prio = priority
    elif isinstance(priority, str) and priority.strip().isdecimal() and priority.strip().isascii():
        prio = int(priority.strip())
    enabled_value = get(raw, "Enabled", "RuleEnabled")
    enabled = flag(raw, "Enabled", "RuleEnabled")
    if enabled_value is not None and enabled is None:
        problems.append(f"Enabled is not a boolean: {str(enabled_value)[:40]!r}")
    return InboxRule(
        id=identity or "", name=text(raw, "Name", "RuleName") or "", source=source,
        enabled=enabled is not False, priority=prio,
        hidden=flag(raw, "IsHidden", "hidden") is True, mailbox=owner, conditions=conditions,
        exceptions=exceptions, actions=actions, in_error=flag(raw, "InError") is True,
        description=description, problems=tuple(problems),
    )


def _size_kb(value: Any) -> float:
    """``"1 KB (1,024 bytes)"``, ``1024`` (bytes), ``{"Value": ...}`` → KB; unreadable → 0 (any size)."""
    if isinstance(value, Mapping):
        value = get(value, "Value", "value")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) / 1024
    if isinstance(value, str):
        m = re.search(r"\(([\d,.]+)\s*bytes\)", value)
        if m:
            try:
                return float(m.group(1).replace(",", "")) / 1024
            except ValueError:
                return 0.0
        m2 = _DESC_SIZE.search("larger than " + value)
        if m2:
            try:
                n = float(m2.group("n").replace(",", ""))
            except ValueError:
                return 0.0
            return n * {"b": 1 / 1024, "kb": 1, "mb": 1024, "gb": 1024 * 1024}[m2.group("unit").lower()]
    return 0.0


# -- merging the two views of one mailbox ----------------------------------------------------------

def merge_rules(graph: Sequence[InboxRule] | None, exo: Sequence[InboxRule] | None) -> list[InboxRule]:
    """One list of rules for a mailbox from the Graph and the Exchange view (either may be missing).

    Pairs go by equal id, else by equal name and position. A pair keeps the Graph rule (its id is what
    Graph remediation uses, and its folders are resolved) with the Exchange ``RuleIdentity`` as
    ``alt_id``. Exchange rules without a Graph twin are hidden when the Graph list was collected.
    """
    if exo is None:
        return list(graph or [])
    if graph is None:
        return list(exo)
    unpaired = list(graph)
    merged: list[InboxRule] = []
    for rule in exo:
        twin = next((g for g in unpaired if g.id and g.id == rule.id), None)
        if twin is None:
            twin = next((g for g in unpaired if g.name == rule.name and (
                g.priority is None or rule.priority is None or g.priority == rule.priority)), None)
        if twin is None:
            # Priorities can differ between the two views (hidden rules take numbers too): a unique name will do.
            same_name = [g for g in unpaired if g.name == rule.name]
            twin = same_name[0] if len(same_name) == 1 else None
        if twin is None:
            merged.append(replace(rule, hidden=True))
            continue
        unpaired.remove(twin)
        # Exchange sees what Graph cannot express (isReadOnly rules come back empty from Graph).
        conditions = twin.conditions if not twin.conditions.is_empty else rule.conditions
        actions = twin.actions
        if not (actions.recipients or actions.move_to or actions.copy_to or actions.delete
                or actions.permanent_delete or actions.mark_as_read):
            actions = rule.actions
        elif actions.move_to and not actions.move_to.resolved and rule.actions.move_to:
            actions = replace(actions, move_to=FolderRef(actions.move_to.id, rule.actions.move_to.name))
        merged.append(replace(twin, conditions=conditions, actions=actions, hidden=twin.hidden or rule.hidden,
                              alt_id=rule.id or None, mailbox=twin.mailbox or rule.mailbox))
    merged.extend(unpaired)
    return merged
