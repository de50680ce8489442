"""What the attacker touched: the attacker's sessions, and every record of them, by workload.

From the indicators of the findings (the attacker's addresses, and the sessions of the records those findings
rest on) come the attacker's sessions: IP addresses, ``SessionId``, ``AppAccessContext.AADSessionId`` (and a
sign-in's ``sessionId``). Every audit record of those sessions is the attacker's, across workloads: mail read
(``MailItemsAccessed``: which messages, by internet message id and folder, bind vs sync), sent, moved or
deleted; files accessed, downloaded, synced, deleted; sharing; Teams. :func:`summarise` turns them into the
"What the attacker touched" section (counts, lists, first and last time) and :func:`findings` into findings whose
``records`` list the attributed records: the input to a breach-notification decision.

A record is attributed only through a session indicator; the user's own activity from their own addresses and
sessions is not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reclaim.detect.correlate import attacker_ips, normalise_ip
from reclaim.detect.fields import get, iso, mappings, text, when
from reclaim.detect.model import Artifact, Finding, Severity

CHECK_ID = "attacker-activity"

#: category → (label, operations)
CATEGORIES: dict[str, tuple[str, frozenset[str]]] = {
    "mailRead": ("Mail read", frozenset({"mailitemsaccessed", "messagebind"})),
    "mailSent": ("Mail sent", frozenset({"send", "sendas", "sendonbehalf"})),
    "mailMoved": ("Mail moved or deleted", frozenset({"movetodeleteditems", "softdelete", "harddelete", "move",
                                                      "movetofolder"})),
    "filesRead": ("Files accessed or downloaded", frozenset({"fileaccessed", "filedownloaded",
                                                             "filesyncdownloadedfull", "filesyncdownloadedpartial",
                                                             "filepreviewed", "fileaccessedextended"})),
    "filesChanged": ("Files deleted or changed", frozenset({"filedeleted", "filerecycled", "filemodified",
                                                            "fileuploaded", "filerenamed", "filemoved"})),
    "sharing": ("Sharing", frozenset({"anonymouslinkcreated", "companylinkcreated", "sharinginvitationcreated",
                                      "sharingset", "addedtosecurelink", "securelinkcreated",
                                      "anonymouslinkused", "sharinginvitationaccepted"})),
    "teams": ("Teams", frozenset()),
    "signIns": ("Sign-ins", frozenset({"userloggedin", "userloginfailed", "signin"})),
    "other": ("Other actions", frozenset()),
}
_SEVERITY = {"mailRead": Severity.HIGH, "mailSent": Severity.HIGH, "filesRead": Severity.HIGH,
             "sharing": Severity.HIGH, "filesChanged": Severity.MEDIUM, "mailMoved": Severity.MEDIUM,
             "teams": Severity.MEDIUM, "signIns": Severity.LOW, "other": Severity.LOW}
#: how many items each category lists (the counts are always complete)
LIST_LIMIT = 200


def category(record: Mapping[str, Any]) -> str:
    op = (text(record, "Operation", "operation") or "").casefold()
    if not op and text(record, "createdDateTime"):
        return "signIns"
    for name, (_, operations) in CATEGORIES.items():
        if op in operations:
            return name
    if (text(record, "Workload") or "").casefold() == "microsoftteams":
        return "teams"
    return "other"


@dataclass(frozen=True)
class Sessions:
    """The attacker's session indicators."""

    ips: frozenset[str] = frozenset()
    session_ids: frozenset[str] = frozenset()
    user_agents: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.ips or self.session_ids)

    def to_json(self) -> dict[str, list[str]]:
        return {"ips": sorted(self.ips), "sessionIds": sorted(self.session_ids),
                "userAgents": sorted(self.user_agents)}


def record_sessions(record: Mapping[str, Any]) -> set[str]:
    """A record's session ids: ``SessionId``, ``AppAccessContext.AADSessionId``, a sign-in's ``sessionId``."""
    found = {text(record, "SessionId", "sessionId"), text(get(record, "AppAccessContext") or {}, "AADSessionId")}
    return {s for s in found if s}


def record_ip(record: Mapping[str, Any]) -> str | None:
    return normalise_ip(text(record, "ClientIP", "ClientIPAddress", "ActorIpAddress", "ipAddress", "IPAddress"))


def _finding_ips(finding: Finding) -> set[str]:
    ev = finding.evidence
    found = {str(ev.get(k) or "") for k in ("ipAddress", "clientIP", "setFromIP")}
    for key in ("auditEvents", "changedBy"):
        for e in ev.get(key) or []:
            if isinstance(e, Mapping):
                found |= {str(e.get("clientIP") or ""), str(e.get("ip") or "")}
    return {ip for v in found if (ip := normalise_ip(v))}


def indicators(findings: Sequence[Finding], records: Mapping[str, Mapping[str, Any]]) -> Sessions:
    """The attacker's sessions from the compromise findings of medium or more: their addresses, and the session
    ids and user agents of the records they rest on (``records``: record id → record)."""
    strong = [f for f in findings if f.kind in (None, "compromise") and f.check != CHECK_ID
              and f.severity.rank >= Severity.MEDIUM.rank and not f.evidence.get("attemptOnly")]
    ips = set(attacker_ips(strong))
    sessions: set[str] = set()
    agents: set[str] = set()
    for f in strong:
        ips |= _finding_ips(f)
        for rid in f.evidence.get("records") or []:
            r = records.get(str(rid))
            if r is None:
                continue
            sessions |= record_sessions(r)
            if (ua := text(r, "UserAgent", "userAgent", "ClientInfoString")):
                agents.add(ua)
    return Sessions(frozenset(ips), frozenset(sessions), frozenset(agents))


def attributed(record: Mapping[str, Any], sessions: Sessions) -> bool:
    return bool((record_ip(record) in sessions.ips) or (record_sessions(record) & sessions.session_ids))


def _items(cat: str, record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What one record touched: messages (with folder and bind/sync), files, shares."""
    t = text(record, "CreationTime")
    if cat == "mailRead":
        props = {text(p, "Name"): text(p, "Value") for p in mappings(get(record, "OperationProperties") or [])}
        access = (props.get("MailAccessType") or "").casefold() or "bind"
        out = []
        for folder in mappings(get(record, "Folders") or []):
            path = text(folder, "Path")
            messages = mappings(get(folder, "FolderItems") or [])
            if access == "sync" or not messages:
                out.append({"access": "sync" if access == "sync" else access, "folder": path, "time": t})
            out += [{"access": "bind", "folder": path, "internetMessageId": text(m, "InternetMessageId"),
                     "subject": text(m, "Subject"), "time": t} for m in messages]
        return out or [{"access": access, "time": t}]
    if cat in ("mailSent",):
        item = get(record, "Item") or {}
        return [{"internetMessageId": text(item, "InternetMessageId"), "subject": text(item, "Subject"),
                 "operation": text(record, "Operation"), "time": t}]
    if cat == "mailMoved":
        source = text(get(record, "Folder") or {}, "Path")
        dest = text(get(record, "DestFolder") or {}, "Path")
        return [{"internetMessageId": text(m, "InternetMessageId"), "subject": text(m, "Subject"), "folder": source,
                 "to": dest, "operation": text(record, "Operation"), "time": t}
                for m in mappings(get(record, "AffectedItems") or [])] or [
                    {"folder": source, "operation": text(record, "Operation"), "time": t}]
    if cat in ("filesRead", "filesChanged", "sharing"):
        return [{"file": text(record, "ObjectId", "SourceFileName"), "site": text(record, "SiteUrl"),
                 "operation": text(record, "Operation"), "target": text(record, "TargetUserOrGroupName"),
                 "time": t}]
    return [{"operation": text(record, "Operation", "operation") or "sign-in", "time": t,
             "object": text(record, "ObjectId")}]


@dataclass
class Touched:
    """What the attacker touched, by category: counts, items (first :data:`LIST_LIMIT`), records, times."""

    sessions: Sessions = field(default_factory=Sessions)
    counts: dict[str, int] = field(default_factory=dict)
    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    records: dict[str, list[str]] = field(default_factory=dict)
    first: dict[str, datetime] = field(default_factory=dict)
    last: dict[str, datetime] = field(default_factory=dict)
    users: dict[str, set[str]] = field(default_factory=dict)

    def add(self, record: Mapping[str, Any]) -> None:
        cat = category(record)
        rid = text(record, "Id", "id") or ""
        self.records.setdefault(cat, []).append(rid)
        new = _items(cat, record)
        bucket = self.items.setdefault(cat, [])
        bucket.extend(new[: max(0, LIST_LIMIT - len(bucket))])
        self.counts[cat] = self.counts.get(cat, 0) + (len(new) if cat in ("mailRead", "mailMoved") else 1)
        if (who := text(record, "UserId", "userPrincipalName")):
            self.users.setdefault(cat, set()).add(who)
        if (moment := when(record, "CreationTime", "createdDateTime")) is not None:
            self.first[cat] = min(self.first.get(cat, moment), moment)
            self.last[cat] = max(self.last.get(cat, moment), moment)

    def __bool__(self) -> bool:
        return bool(self.records)

    def to_json(self) -> dict[str, Any]:
        return {"sessions": self.sessions.to_json(), "categories": [
            {"category": cat, "label": CATEGORIES[cat][0], "count": self.counts.get(cat, 0),
             "records": len(self.records[cat]), "users": sorted(self.users.get(cat, set())),
             "first": iso(self.first.get(cat)), "last": iso(self.last.get(cat)), "items": self.items.get(cat, [])}
            for cat in CATEGORIES if cat in self.records]}


def summarise(records: Iterable[Mapping[str, Any]], sessions: Sessions) -> Touched:
    out = Touched(sessions=sessions)
    for r in sorted(records, key=lambda r: text(r, "CreationTime", "createdDateTime") or ""):
        out.add(r)
    return out


def attribute(findings: Sequence[Finding], records: Iterable[Mapping[str, Any]], *,
              user: str | None = None) -> Touched:
    """What the attacker's sessions touched among ``records`` (an online investigation's audit records).

    The sessions come from :func:`indicators`; the session ids seen from the attacker's addresses are the
    attacker's too (one step, as offline). ``user``: only that user's records (any when ``None``)."""
    mine = [r for r in records if user is None or (text(r, "UserId", "userPrincipalName") or "").casefold()
            == user.casefold()]
    by_id = {rid: r for r in mine if (rid := text(r, "Id", "id"))}
    sessions = indicators(findings, by_id)
    if not sessions:
        return Touched(sessions=sessions)
    more = {s for r in mine if record_ip(r) in sessions.ips for s in record_sessions(r)} - sessions.session_ids
    if more:
        sessions = Sessions(sessions.ips, sessions.session_ids | frozenset(more), sessions.user_agents)
    seen: set[str] = set()
    picked = []
    for r in mine:
        key = text(r, "Id", "id") or repr(sorted(r.items(), key=lambda kv: kv[0]))
        if key not in seen and attributed(r, sessions):
            seen.add(key)
            picked.append(r)
    return summarise(picked, sessions)


def findings(touched: Touched, user: str) -> list[Finding]:
    """One finding per category of the attacker's activity, its ``records`` the attributed records."""
    out: list[Finding] = []
    for cat, ids in touched.records.items():
        label = CATEGORIES[cat][0]
        count = touched.counts.get(cat, len(ids))
        first, last = touched.first.get(cat), touched.last.get(cat)
        out.append(Finding(
            CHECK_ID, _SEVERITY[cat], f"{label} in the attacker's sessions: {count} "
            f"({len(ids)} audit record(s)) for {user}", Artifact("auditRecord", ids[0]), kind="context",
            scope="user", time=first,
            evidence={"category": cat, "count": count, "records": ids, "first": iso(first), "last": iso(last),
                      "items": touched.items.get(cat, [])[:50], **touched.sessions.to_json()},
            reasons=(f"records of the attacker's sessions ({', '.join(sorted(touched.sessions.ips)) or 'by session'})"
                     f" from {iso(first)} to {iso(last)}",),
            symptom="what the attacker read, sent, downloaded and shared (breach scope)"))
    return out


__all__ = ["CATEGORIES", "CHECK_ID", "Sessions", "Touched", "attribute", "attributed", "category", "findings",
           "indicators", "record_ip", "record_sessions", "summarise"]
