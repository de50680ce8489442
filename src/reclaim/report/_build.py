"""Build a :class:`~reclaim.report.model.Report` from the case store."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any

from reclaim.remediate.actions import ACTIONS
from reclaim.remediate.actions.unblock_sender import UNBLOCK_DELAY
from reclaim.report._files import files_view
from reclaim.report._notify import notify_view
from reclaim.report._scope import TenantView, tenant_view
from reclaim.report._sentences import audit_events_text, change_phrases, pending_phrase
from reclaim.report._tz import zone_name
from reclaim.report.model import (
    SEVERITY_ORDER,
    ActionView,
    Fact,
    FindingView,
    JournalStepView,
    NotCheckedView,
    Report,
    Summary,
    TimelineItem,
)
from reclaim.store import CaseDetail, EvidenceNotFound, EvidenceTampered, Finding, JournalEntry, Store

__all__ = ["build_report", "format_time", "value_text"]

#: Evidence keys shown elsewhere (symptom, reasons, time) or too raw / long for the facts list.
_NOT_FACTS = frozenset({"symptom", "reasons", "time", "signals", "raw", "checks", "messageIds", "signInIds",
                        "mailbox", "exchangeRuleIdentity", "detections"})
#: The evidence a person reads first, per artifact type: (key, label).
_KEY_FACTS: dict[str, tuple[tuple[str, str], ...]] = {
    "inboxRule": (("name", "Rule name"), ("conditions", "When"), ("actions", "Does"), ("enabled", "Enabled"),
                  ("hidden", "Hidden"), ("source", "Read from"), ("auditEvents", "Created / changed")),
    "sweepRule": (("name", "Rule name"), ("senders", "Mail from"), ("destinationFolder", "Moves to")),
    "mailboxForwarding": (("forwardingSmtpAddress", "Forwards to"), ("forwardingAddress", "Forwards to (contact)"),
                          ("deliverToMailboxAndForward", "Keeps a copy"), ("external", "Outside the organisation"),
                          ("setFromIP", "Set from IP")),
    "signIn": (("ipAddress", "IP address"), ("country", "Country"), ("city", "City"), ("clientAppUsed", "Client"),
               ("appDisplayName", "Application"), ("userAgent", "User agent"), ("count", "Sign-ins like this"),
               ("kinds", "Why")),
    "authenticationMethod": (("type", "Method"), ("detail", "Detail"), ("createdDateTime", "Added")),
    "oauth2PermissionGrant": (("app", "Application"), ("scopes", "Scopes"), ("consentType", "Consent"),
                              ("appId", "Application id")),
    "mobileDevice": (("model", "Device"), ("os", "OS"), ("userAgent", "User agent"), ("deviceId", "Device id")),
    "directoryAudit": (("changed", "Changed"), ("initiatedBy", "By"), ("ipAddress", "From IP")),
    "messageTrace": (("subject", "Subject"), ("messages", "Messages"), ("externalRecipients", "Outside recipients"),
                     ("fromIPs", "Sent from"), ("first", "First")),
    "sentItemsGap": (("missing", "Not in Sent Items"), ("sent", "Sent"), ("subjects", "Subjects"),
                     ("fromIPs", "Sent from")),
    "blockedSender": (("blockedSender", "Restriction"), ("ndrCount", "5.1.8 NDRs"), ("alerts", "Alerts")),
    "automaticReplies": (("status", "Status"), ("externalAudience", "Outside audience"),
                         ("externalReplyMessage", "Reply to outsiders"), ("internalReplyMessage", "Reply inside")),
    "mailboxPermission": (("trustee", "Who"), ("accessRights", "Rights")),
    "recipientPermission": (("trustee", "Who"), ("accessRights", "Rights")),
    "riskyUser": (("riskLevel", "Risk level"), ("riskState", "Risk state"), ("detections", "Detections")),
}
_LIST_CAP = 8
_TEXT_CAP = 600

#: What the last journal step of an action means, in words.
_OUTCOME = {
    "planned": "planned, not applied",
    "snapshot": "before-state saved, not applied yet",
    "applying": "interrupted while being applied (resume with `reclaim remediate --resume`)",
    "applied": "applied, not verified yet",
    "verified": "done and verified",
    "not_held": "applied, but a re-read shows it did not hold",
    "undoing": "interrupted while being undone",
    "undone": "undone (restored from the before-state)",
    "skipped": "skipped",
    "failed": "failed",
}


def format_time(moment: datetime | None, zone: tzinfo) -> str:
    """``2026-11-24 18:09:40 CET`` in the reader's zone, ``-`` for no time."""
    if moment is None:
        return "-"
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def value_text(value: Any, *, cap: int = _TEXT_CAP) -> str:
    """An evidence value as one readable line: lists joined, mappings as ``key: value``, addresses plain."""
    text = _value_text(value, 0)
    return text if len(text) <= cap else text[:cap] + f"… ({len(text) - cap} more characters)"


def _value_text(value: Any, depth: int) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, Mapping):
        if "address" in value and isinstance(value.get("address"), str):
            return str(value["address"])
        if "emailAddress" in value and isinstance(value["emailAddress"], Mapping):
            return _value_text(value["emailAddress"], depth + 1)
        if isinstance(value.get("name"), str) and value.get("name") and ("id" in value or "kind" in value):
            return str(value["name"])  # a folder or object reference: its name says it
        if set(value) >= {"old", "new"}:
            return f"{_value_text(value['old'], depth + 1)} → {_value_text(value['new'], depth + 1)}"
        if depth >= 3:
            return json.dumps(value, ensure_ascii=False, sort_keys=True)
        parts = [f"{key}: {_value_text(item, depth + 1)}" for key, item in value.items()
                 if item not in (None, False, [], {}) and not str(key).endswith("@data.type")]
        return "; ".join(parts) if parts else "-"
    if isinstance(value, list | tuple):
        items = [_value_text(item, depth + 1) for item in value[:_LIST_CAP]]
        more = f" … and {len(value) - _LIST_CAP} more" if len(value) > _LIST_CAP else ""
        return (", ".join(items) + more) if items else "-"
    return str(value)


def _fact_text(key: str, value: Any, zone: tzinfo) -> str:
    if key == "auditEvents" and isinstance(value, list):
        return audit_events_text(value, zone)
    return value_text(value)


def _facts(finding: Finding, zone: tzinfo) -> tuple[Fact, ...]:
    evidence = finding.evidence
    wanted = _KEY_FACTS.get(finding.artifact_type or "", ())
    facts = [Fact(label, _fact_text(key, evidence[key], zone)) for key, label in wanted
             if key in evidence and evidence[key] not in (None, "", [], {})]
    seen = {key for key, _ in wanted}
    for key, value in evidence.items():
        if key in seen or key in _NOT_FACTS or value in (None, "", [], {}):
            continue
        facts.append(Fact(_label(key), _fact_text(key, value, zone)))
    if finding.artifact_type:
        facts.append(Fact("Artifact", f"{finding.artifact_type} {finding.artifact_id or ''}".strip()))
    return tuple(facts)


def _label(key: str) -> str:
    """``externalRecipients`` → ``External recipients``."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key).split()
    text = " ".join(w if sum(c.isupper() for c in w) > 1 else w.lower() for w in words)
    return text[:1].upper() + text[1:] if text else key


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def _finding_view(finding: Finding, zone: tzinfo) -> FindingView:
    evidence = dict(finding.evidence)
    reasons = evidence.get("reasons")
    reason_list = tuple(str(r) for r in reasons) if isinstance(reasons, list) else (
        tuple(part for part in (finding.detail or "").split("; ") if part))
    moment = _time(evidence.get("time"))
    return FindingView(id=finding.id, check=finding.check_id, severity=finding.severity, kind=finding.kind,
                       title=finding.title, detail=finding.detail,
                       symptom=str(evidence.get("symptom") or "beyond the procedure"), reasons=reason_list,
                       artifact_type=finding.artifact_type, artifact_id=finding.artifact_id,
                       time=None if moment is None else moment.astimezone(zone), user=finding.user,
                       facts=_facts(finding, zone), evidence=evidence, evidence_ids=finding.evidence_ids)


def _by_severity(findings: Iterable[FindingView]) -> tuple[FindingView, ...]:
    rank = {name: i for i, name in enumerate(SEVERITY_ORDER)}
    return tuple(sorted(findings, key=lambda f: (rank.get(f.severity, len(rank)), f.id)))


# -- journal ---------------------------------------------------------------------------------------------


def _step_view(entry: JournalEntry, zone: tzinfo) -> JournalStepView:
    return JournalStepView(seq=entry.seq, action_id=entry.action_id, target=entry.target, step=entry.step,
                           recorded_at=entry.recorded_at.astimezone(zone),
                           started_at=None if entry.started_at is None else entry.started_at.astimezone(zone),
                           operator=entry.operator, request=entry.request, result=entry.result, verify=entry.verify,
                           before_evidence_id=entry.before_evidence_id,
                           before_evidence_sha256=entry.before_evidence_sha256, prev_hash=entry.prev_hash,
                           entry_hash=entry.entry_hash)


def _lookup(steps: Sequence[JournalStepView], key: str) -> Any:
    """The first value under ``key`` in any step's request / result / verify (planned entries carry the plan)."""
    for step in steps:
        for part in (step.request, step.result, step.verify):
            if isinstance(part, Mapping) and part.get(key) is not None:
                return part[key]
    return None


def _last(steps: Sequence[JournalStepView], *names: str) -> JournalStepView | None:
    found = [s for s in steps if s.step in names]
    return found[-1] if found else None


def _before_state(store: Store, evidence_id: int | None) -> Any:
    if evidence_id is None:
        return None
    try:
        return store.get_evidence(evidence_id).json()
    except (EvidenceNotFound, EvidenceTampered, ValueError) as exc:
        return {"unreadable": str(exc)}


#: The journal's bracket around one remediation run (``applying`` at its start, ``applied`` at its end).
RUN = "run"


def _verification(steps: Sequence[JournalStepView]) -> str:
    last = steps[-1]
    if last.step in ("undone", "undoing"):
        return "undone" if last.step == "undone" else "not verified"
    held = _last(steps, "verified", "not_held")
    if held is None:
        reason = last.result.get("reason") if last.step == "skipped" and last.result else None
        return "held" if reason == "already holds" else "not verified"
    if held.step == "verified":
        return "held"
    return "pending" if (held.verify or {}).get("state") == "pending" else "did not hold"


def _actions(store: Store, entries: Sequence[JournalEntry], zone: tzinfo) -> tuple[ActionView, ...]:
    groups: dict[tuple[str, str], list[JournalStepView]] = {}
    for entry in entries:
        if entry.action_id != RUN:
            groups.setdefault((entry.action_id, entry.target), []).append(_step_view(entry, zone))
    views: list[ActionView] = []
    for (action_id, target), steps in groups.items():
        last = steps[-1]
        verification = _verification(steps)
        outcome = _OUTCOME.get(last.step, last.step)
        why = _lookup([last], "reason") or _lookup([last], "error") or _lookup([last], "detail")
        if last.step in ("skipped", "failed") and why:
            outcome = f"{outcome}: {value_text(why)}"
        elif verification == "pending":
            outcome = pending_phrase(_delay(action_id))
        snapshot = next((s for s in reversed(steps) if s.before_evidence_id is not None), None)
        applied = _last(steps, "applied", "applying", "undone", "undoing")
        held = _last(steps, "verified", "not_held")
        reversible = _lookup(steps, "reversible")
        undo = _lookup(steps, "undo") or _lookup(steps, "undoNote") or _lookup(steps, "undo_note")
        label = _lookup(steps, "label")
        before = _before_state(store, None if snapshot is None else snapshot.before_evidence_id)
        made = _last(steps, "applied")
        changes = change_phrases(None if made is None else made.request, before) if made else ()
        text = str(label) if label else f"{action_id} {target}"
        views.append(ActionView(
            sentence=_sentence(text, outcome, verification, changes, made or last, held, _delay(action_id), zone),
            changes=changes, applied_at=None if made is None else made.recorded_at,
            operator=(made or last).operator,
            action_id=action_id, target=target, label=str(label) if label else f"{action_id} {target}",
            outcome=outcome, verification=verification,
            reversible=reversible if isinstance(reversible, bool) else None,
            undo_note=None if undo is None else value_text(undo),
            before_evidence_id=None if snapshot is None else snapshot.before_evidence_id,
            before_evidence_sha256=None if snapshot is None else snapshot.before_evidence_sha256,
            before_state=before,
            request=None if applied is None else applied.request, result=None if applied is None else applied.result,
            verify=None if held is None else held.verify, steps=tuple(steps)))
    return tuple(views)


def _delay(action_id: str) -> str:
    """How long the service takes to apply an action it applies later (Microsoft's documented delay)."""
    return str(getattr(ACTIONS.get(action_id), "pending_delay", "later"))


def _sentence(label: str, outcome: str, verification: str, changes: Sequence[str], step: JournalStepView,
              held: JournalStepView | None, delay: str, zone: tzinfo) -> str:
    """One sentence a customer reads: what changed, from what to what, when, by whom, and the re-read."""
    head = label[:1].upper() + label[1:]
    who = f" by {step.operator}" if step.operator else ""
    when = f"on {format_time(step.recorded_at, zone)}{who}"
    detail = (held.verify or {}).get("detail") if held is not None else None
    if step.step != "applied":
        return f"{head}: {outcome} ({when})."
    what = "; ".join(changes) if changes else "changed"
    if verification == "held":
        after = f"Checked afterwards: {detail}." if detail else "Checked afterwards: it holds."
    elif verification == "pending":
        after = (f"Pending: Microsoft applies it {delay}"
                 + (f"; until then a re-read shows that {detail}." if detail else "."))
    elif verification == "did not hold":
        after = "Checked afterwards: it did NOT hold" + (f" ({detail})." if detail else ".")
    else:
        after = "Not checked afterwards yet."
    return f"{head}: {what}, {when}. {after}"


def _runs(entries: Sequence[JournalEntry], case_id: str, zone: tzinfo) -> list[str]:
    """One sentence per remediation run: who, when, finished or interrupted."""
    lines: list[str] = []
    for entry in entries:
        if entry.action_id != RUN:
            continue
        who = f" by {entry.operator}" if entry.operator else ""
        if entry.step == "applying":
            lines.append(f"Remediation {entry.target}{who} started {format_time(entry.recorded_at, zone)}.")
        elif entry.step == "applied" and lines:
            ok = (entry.result or {}).get("ok")
            lines[-1] = lines[-1][:-1] + f", finished {format_time(entry.recorded_at, zone)}" + (
                "." if ok is not False else ": some steps did not hold or failed (below).")
    for i, line in enumerate(lines):
        if ", finished" not in line:
            lines[i] = line[:-1] + (f" and was interrupted: resume it with `reclaim remediate --resume {case_id}`.")
    return lines


# -- timeline --------------------------------------------------------------------------------------------


def _timeline(detail: CaseDetail, findings: Sequence[FindingView], zone: tzinfo) -> tuple[TimelineItem, ...]:
    severity = {(f.check, f.artifact_type, f.artifact_id): f.severity for f in findings}
    items = [TimelineItem(time=t.time.astimezone(zone), kind=t.kind, summary=t.summary, origin="evidence",
                          severity=severity.get((t.source or "", t.artifact_type, t.artifact_id))
                          if t.kind == "finding" else None,
                          source=t.source, artifact_type=t.artifact_type, artifact_id=t.artifact_id)
             for t in detail.timeline]
    for entry in detail.journal:
        if entry.action_id == RUN:
            what = "started" if entry.step == "applying" else "finished"
            summary = f"remediation {entry.target} {what}"
        elif entry.step == "not_held" and (entry.verify or {}).get("state") == "pending":
            summary = f"{entry.action_id} on {entry.target}: {pending_phrase(_delay(entry.action_id))}"
        else:
            summary = f"{entry.action_id} on {entry.target}: {_OUTCOME.get(entry.step, entry.step)}"
        items.append(TimelineItem(time=entry.recorded_at.astimezone(zone), kind="remediation", summary=summary,
                                  origin="remediation", source=entry.action_id))
    return tuple(sorted(items, key=lambda i: i.time))  # stable: newest last, store order within a moment


# -- not checked -----------------------------------------------------------------------------------------


def _not_checked(detail: CaseDetail) -> tuple[NotCheckedView, ...]:
    out: list[NotCheckedView] = []
    listed = detail.case.summary.get("notChecked")
    for item in listed if isinstance(listed, list) else []:
        if isinstance(item, Mapping):
            out.append(NotCheckedView(what=str(item.get("check", "?")), reason=str(item.get("reason", "?")),
                                      source="check"))
    for nc in detail.not_collected:
        out.append(NotCheckedView(what=nc.kind, reason=nc.reason, detail=nc.detail, source="evidence"))
    return tuple(out)


# -- the summary -----------------------------------------------------------------------------------------


def _count_phrase(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _profile_value(value: Any) -> str:
    """An audit record's old / new value ('["Alice Wu"]', a JSON list in a string) as the text it holds."""
    if isinstance(value, str):
        text: str = value
        try:
            value = json.loads(text)
        except ValueError:
            return text
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) if value else "(empty)"
    return "(empty)" if value in (None, "") else str(value)


def _profile_changes(findings: Sequence[FindingView]) -> list[str]:
    """The profile fields the attacker changed, old → new: 'display name: “Alice Wu” → “Contoso Accounts
    Payable”' (from the directory-profile-change findings' audit records)."""
    out: list[str] = []
    for f in findings:
        changed = f.evidence.get("changed") if f.check == "directory-profile-change" else None
        if not isinstance(changed, Mapping):
            continue
        for field_name, change in changed.items():
            if isinstance(change, Mapping) and {"old", "new"} <= set(change):
                out.append(f"{_label(str(field_name)).lower()}: \u201c{_profile_value(change['old'])}\u201d → "
                           f"\u201c{_profile_value(change['new'])}\u201d")
    return list(dict.fromkeys(out))


def _tenant_summary(detail: CaseDetail, view: TenantView, not_checked: Sequence[NotCheckedView],
                    zone: tzinfo) -> Summary:
    """The first section of a sweep or hunt report: the tenant, how much was covered, the blast radius."""
    case = detail.case
    verdict = case.verdict
    what = "swept every mailbox of" if view.kind == "sweep" else "looked for the indicators across"
    headline = f"reclaim {what} {view.tenant}: {view.blast_radius}"
    covering = (f", covering {format_time(case.since, zone)} to {format_time(case.until, zone)}"
                if case.since is not None and case.until is not None else "")
    how = [f"{view.title[:1].upper()}{view.title[1:]} of case {case.id}, run {format_time(case.created_at, zone)}"
           f"{covering}: every piece of evidence stored with its SHA-256."]
    how.append("What it covered and found is under the next heading.")
    people = list(view.next_steps) or ["Nothing: no mailbox was flagged."]
    if not_checked:
        people.append(f"Check by hand what reclaim could not check ({_count_phrase(len(not_checked), 'item')}, "
                      "listed under \u201cWhat was not checked\u201d): for those, no finding does not mean clean.")
    return Summary(headline=headline, account=view.tenant, display_name=None, verdict=verdict,
                   because=None, window_since=None, window_until=None,
                   when=f"Run {format_time(case.created_at, zone)}{covering}.", how_found=tuple(how),
                   done=(f"Nothing was changed in the tenant: a {view.kind} only reads.",),
                   needs_a_person=tuple(people))


def _summary(detail: CaseDetail, findings: Sequence[FindingView], prevention: Sequence[FindingView],
             actions: Sequence[ActionView], not_checked: Sequence[NotCheckedView], zone: tzinfo,
             runs: Sequence[str]) -> Summary:
    case = detail.case
    view = tenant_view(detail)
    if view is not None:
        return _tenant_summary(detail, view, not_checked, zone)
    user = case.summary.get("user") if isinstance(case.summary.get("user"), Mapping) else {}
    account = str((user or {}).get("userPrincipalName") or case.subject)
    display = (user or {}).get("displayName")
    display_name = str(display) if display else None
    who = f"{account} ({display_name})" if display_name and display_name != account else account
    verdict = case.verdict
    because = case.summary.get("because")
    window = case.summary.get("suspiciousWindow")
    profile = _profile_changes(findings)
    since = _time(window.get("since")) if isinstance(window, Mapping) else None
    until = _time(window.get("until")) if isinstance(window, Mapping) else None

    if case.kind != "investigate":
        headline = f"{case.kind.capitalize()} case about {who}."
    elif verdict == "compromised":
        headline = f"The Microsoft 365 account {who} was used by someone other than its owner."
    elif verdict == "suspicious":
        headline = (f"The Microsoft 365 account {who} shows signs that someone else may have used it; "
                    "a person should review the findings.")
    elif verdict == "clean":
        headline = f"No sign that someone other than its owner used the account {who} was found."
    else:
        headline = f"The investigation of {who} has no verdict (status: {case.status})."

    if since is not None:
        when = (f"The suspicious activity starts at {format_time(since, zone)} and the window runs until "
                f"{format_time(until, zone)}" + (" (when the account was investigated)." if until and case.until
                                                 and abs((until - case.until).total_seconds()) < 5 else "."))
    else:
        when = "No suspicious window could be derived from the evidence."

    serious = [f for f in findings if f.severity in ("critical", "high")]
    collected = [e for e in detail.evidence if not e.kind.startswith("snapshot:")]
    how = [f"reclaim read {_count_phrase(len(collected), 'piece')} of evidence from Microsoft 365 on "
           f"{format_time(case.created_at, zone)}, covering {format_time(case.since, zone)} to "
           f"{format_time(case.until, zone)}, stored each with its SHA-256, and ran its checks on them."]
    if because:
        how.append(f"Verdict: {verdict} — {because}.")
    how.extend(f"Found: {f.title}" for f in serious[:6])
    if len(serious) > 6:
        how.append(f"… and {len(serious) - 6} more findings of high or critical severity (listed below).")

    done: list[str] = list(runs)
    if not actions:
        done.append("Nothing has been changed in the tenant yet: this case has no remediation journal "
                    f"(`reclaim remediate {account} --plan` shows what would be done).")
    for action in actions:
        undo = ("It can be undone." if action.reversible else "It cannot be undone." if action.reversible is False
                else "")
        done.append(f"{action.sentence} {undo}".strip())
    if any(a.verification == "pending" for a in actions):
        done.append(f"Pending changes are checked again by `reclaim verify {case.id} --wait 24h`.")

    applied = {a.action_id for a in actions if a.verification == "held"}
    sent = [f for f in findings if f.check in ("outbound-spike", "sent-items-gap", "restricted-sender")]
    people: list[str] = []
    if sent or verdict in ("compromised", "suspicious"):
        spike = next((f for f in findings if f.check == "outbound-spike"), None)
        extra = ""
        if spike is not None:
            subject = spike.evidence.get("subject")
            extra = (f" reclaim saw {spike.evidence.get('messages', 'many')} messages to "
                     f"{spike.evidence.get('externalRecipients', 'several')} outside recipients"
                     + (f" with the subject \u201c{subject}\u201d." if subject else "."))
        people.append("Tell the people who received mail from this account during the suspicious window that those "
                      "messages were not sent by its owner, and that any request to pay, change bank details or "
                      f"open a link in them must be ignored.{extra}")
        gap = next((f for f in findings if f.check == "sent-items-gap"), None)
        note = (f" {gap.evidence.get('missing')} of {gap.evidence.get('sent')} sent messages have no copy there."
                if gap is not None else "")
        people.append("Go through Sent Items and Deleted Items with the user: the attacker may have sent mail and "
                      f"deleted it afterwards.{note}")
        if "block-sign-in" in applied and "enable-sign-in" not in applied:
            people.append("Re-enable access once the user has a new password and multi-factor authentication "
                          f"(`reclaim restore-access {account}`); sign-in is blocked until then.")
        else:
            people.append("Re-enable access for the user once the account is secured: new password, multi-factor "
                          "authentication registered by the user themself, sign-in allowed again.")
        if any(f.check == "restricted-sender" for f in findings):
            people.append("Microsoft restricted the account from sending mail; once it is unblocked, Microsoft "
                          f"applies that {UNBLOCK_DELAY}, and the user can send again after that.")
        people.append("Watch for re-compromise in the coming weeks: attackers come back with new rules, forwarding "
                      f"or sign-in methods. Investigate again in a few days (`reclaim investigate {account}`).")
    for finding in prevention:
        people.append(f"Prevent: {finding.title}")
    if not_checked:
        people.append(f"Check by hand what reclaim could not check ({_count_phrase(len(not_checked), 'item')}, "
                      "listed under \u201cWhat was not checked\u201d): for those, no finding does not mean clean.")
    if not people:
        people.append("Nothing: no finding calls for a person's action.")
    if profile:
        people.insert(0, "Put the profile back as it was (reclaim does not change it): "
                      + "; ".join(profile) + ".")
    return Summary(headline=headline, account=account, display_name=display_name, verdict=verdict,
                   because=str(because) if because else None, window_since=since, window_until=until, when=when,
                   how_found=tuple(how), done=tuple(done), needs_a_person=tuple(people),
                   profile_changes=tuple(profile))


# -- everything ------------------------------------------------------------------------------------------


def build_report(store: Store, case_id: str, zone: tzinfo, *, now: datetime | None = None) -> Report:
    """Read the case (findings, timeline, journal, chain, evidence hashes) and shape it for the writers."""
    detail = store.case_detail(case_id)
    views = [_finding_view(f, zone) for f in detail.findings]
    findings = _by_severity(v for v in views if v.kind != "exposure")
    prevention = _by_severity(v for v in views if v.kind == "exposure")
    counts = {name: sum(1 for f in findings if f.severity == name) for name in SEVERITY_ORDER}
    actions = _actions(store, detail.journal, zone)
    not_checked = _not_checked(detail)
    generated = (now or datetime.now(zone)).astimezone(zone)
    user = detail.case.summary.get("user")
    return Report(generated_at=generated, tz_name=zone_name(zone), case=detail.case,
                  summary=_summary(detail, findings, prevention, actions, not_checked, zone,
                                   _runs(detail.journal, case_id, zone)), findings=findings,
                  prevention=prevention, severity_counts=counts, timeline=_timeline(detail, views, zone),
                  actions=actions, journal=tuple(_step_view(e, zone) for e in detail.journal), chain=detail.chain,
                  not_checked=not_checked, evidence=tuple(detail.evidence),
                  user=dict(user) if isinstance(user, Mapping) else {},
                  files=files if not (files := files_view(detail.findings, detail.journal)).empty else None,
                  notify=notify if not (notify := notify_view(detail.findings, detail.journal)).empty else None,
                  integrity=detail.integrity,
                  tenant=tenant_view(detail))
