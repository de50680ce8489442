"""From the signals of all rule checks on one rule to ONE finding for that rule.

Decision (documented for the report and the tests): a rule gets at most one finding, whose

- ``severity`` is the strongest signal's, raised by these combinations, each adding its reason:

  ======================================================  ==========
  steal + hide (forwarded outside, then removed)          high
  steal + disguise (punctuation / one-character name)     high
  steal + hide + finance/warning keywords                 critical
  hide + warning keywords (security notices hidden)       high
  hide + finance keywords (payment mail hidden: BEC)      high
  hide + disguise (punctuation / one-character name)      medium
  hide + keywords + disguise or hidden                    critical
  hidden (not a system rule) + steal or hide              one level up, at least high
  ======================================================  ==========

  A disabled rule is one level lower (it does nothing now, but somebody made it).
- ``check`` is the id of the check with the strongest signal (ties: external forward, hiding,
  hidden, keywords, name — in that order); ``evidence.checks`` lists every contributing check.
- Exchange's own rules (``Junk E-Mail Rule``, ``Microsoft.Exchange.OOF.*``) only count when they
  send mail outside (then they merely wear the name).
- Rules whose signals are all ``info`` (a keyword condition that only colours mail, a short name)
  produce no finding.
"""

from __future__ import annotations

from collections.abc import Sequence

from reclaim.detect.addresses import NOT_EXPORTED
from reclaim.detect.context import Context, RuleEvent, RuleSignal
from reclaim.detect.model import Artifact, Finding, Severity
from reclaim.detect.rules import InboxRule

_ORDER = ("inbox-rule-external-forward", "inbox-rule-hiding", "inbox-rule-hidden", "inbox-rule-keywords",
          "inbox-rule-suspicious-name")
SYMPTOM = ("inbox rules the user did not create (forward externally, move to Notes/Junk/RSS/Deleted); "
           "missing or deleted email")


def _at_least(current: Severity, floor: Severity) -> Severity:
    return floor if floor.rank > current.rank else current


def combine(rule: InboxRule, signals: Sequence[RuleSignal], context: Context) -> Finding | None:
    if rule.is_system:
        # Exchange's own rules (junk filter, out-of-office) are left alone, unless one forwards mail out:
        # then it only wears a system rule's name.
        signals = [s for s in signals if "steal" in s.tags]
    if not signals:
        return None
    tags = set().union(*(s.tags for s in signals))
    reasons = [s.reason for s in sorted(signals, key=lambda s: -s.severity.rank)]
    severity = max((s.severity for s in signals), key=lambda s: s.rank)
    keywords = bool(tags & {"finance", "warning"})
    hide = "hide" in tags
    steal = "steal" in tags
    if steal and hide:
        severity = _at_least(severity, Severity.HIGH)
        reasons.append("it sends mail outside the organisation and also hides it from the user")
        if keywords:
            severity = Severity.CRITICAL
            reasons.append("and it targets payment or security-warning mail: the pattern of an attacker rule")
    if steal and "disguise" in tags:
        severity = _at_least(severity, Severity.HIGH)
        reasons.append("a rule sending mail out under a name made to be overlooked is an attacker's rule")
    if hide and "warning" in tags:
        severity = _at_least(severity, Severity.HIGH)
        reasons.append("it hides security warnings from the user, which attackers do to stay unnoticed")
    if hide and "finance" in tags:
        severity = _at_least(severity, Severity.HIGH)
        reasons.append("it hides payment-related mail, the pattern of invoice fraud (business email compromise)")
    if hide and "disguise" in tags:
        severity = _at_least(severity, Severity.MEDIUM)
    if hide and keywords and tags & {"disguise", "hidden"}:
        severity = Severity.CRITICAL
        reasons.append("its name or visibility is made to be overlooked")
    if "hidden" in tags and (steal or hide):
        severity = _at_least(severity.raised(), Severity.HIGH)
    if severity is Severity.INFO:
        return None
    if not rule.enabled:
        severity = severity.raised(-1)
        reasons.append("the rule is disabled now")
    primary = max(signals, key=lambda s: (s.severity.rank, -_ORDER.index(s.check) if s.check in _ORDER else -99))
    events = list({id(e): e for key in (rule.name, rule.id, rule.alt_id) if key
                   for e in context.rule_events.get(key.casefold(), [])}.values())
    first = _first(events)
    evidence = rule.evidence() | {
        "checks": sorted({s.check for s in signals}, key=lambda c: _ORDER.index(c) if c in _ORDER else 99),
        "signals": [{"check": s.check, "severity": s.severity.value, "reason": s.reason,
                     "tags": sorted(s.tags)} | ({"detail": dict(s.evidence)} if s.evidence else {})
                    for s in signals],
    }
    if events:
        evidence["auditEvents"] = [{"operation": e.operation, "time": e.time.isoformat() if e.time else None,
                                    "clientIP": e.client_ip, "recordId": e.record_id} for e in events]
    return Finding(
        check=primary.check, severity=severity, title=title(rule, tags, context.domains),
        artifact=Artifact("inboxRule", rule.id),
        evidence=evidence, reasons=tuple(dict.fromkeys(reasons)), time=first.time if first else None,
        symptom=SYMPTOM,
    )


def _first(events: Sequence[RuleEvent]) -> RuleEvent | None:
    timed = [e for e in events if e.time is not None]
    return min(timed, key=lambda e: e.time) if timed else None  # type: ignore[arg-type,return-value]


def title(rule: InboxRule, tags: set[str], domains: Sequence[str] | None = None) -> str:
    """One sentence a customer understands: what the rule does to which mail."""
    a = rule.actions
    doing: list[str] = []
    if a.recipients:
        verb = "redirects" if a.redirect_to and not a.forward_to else "forwards"
        outside = [r for r in a.recipients if domains is not None and r.is_external(domains)]
        shown = [r.address if r.kind == "smtp" else "recipients the export does not list"
                 if r.address == NOT_EXPORTED else (r.name or "a recipient in your organisation")
                 for r in a.recipients]
        if outside and len(outside) < len(a.recipients):
            shown = [f"{s} (outside your organisation)" if r in outside else s for s, r in zip(shown, a.recipients,
                                                                                               strict=True)]
        target = ", ".join(shown[:3]) + (" and others" if len(shown) > 3 else "")
        everyone_outside = bool(outside) and len(outside) == len(a.recipients)
        doing.append(f"{verb} {{obj}} to {target}" + (" outside your organisation" if everyone_outside else ""))
    if a.permanent_delete:
        doing.append("deletes {obj} permanently")
    elif a.delete:
        doing.append("deletes {obj}")
    if a.move_to:
        doing.append(f"moves {{obj}} to {a.move_to.label()}")
    if a.mark_as_read:
        doing.append("marks {obj} as read")
    if not doing:
        doing.append("acts on {obj}")
    doing = [d.format(obj="mail" if i == 0 else "it") for i, d in enumerate(doing)]
    c = rule.conditions
    if c.min_size_kb is not None and rule.applies_to_all:
        scope = f"for every message over {c.min_size_kb:g} KB, that is nearly all mail"
    elif "catch-all" in tags or c.is_empty:
        scope = "for every incoming message"
    elif c.words:
        scope = "when the message mentions " + ", ".join(f"'{w}'" for w in c.words[:4])
    elif c.from_addresses or c.sender_words:
        senders = [r.address if r.kind == "smtp" else (r.name or "a colleague") for r in c.from_addresses]
        senders += [f"senders containing '{w}'" for w in c.sender_words]
        scope = "when it comes from " + ", ".join(senders[:3])
    elif c.undisclosed:
        scope = "when " + c.undisclosed[0].removeprefix("the message ")
    else:
        scope = "for messages matching its conditions"
    kind = "Hidden inbox rule" if rule.hidden else "Inbox rule"
    return f'{kind} "{rule.name}" {_join(doing)} {scope}.'


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
