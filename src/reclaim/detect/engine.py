"""Run the checks on one user's evidence: findings, what could not be checked, verdict, timeline.

``analyze(bundle)`` runs everything; ``analyze_rules(rules, ...)`` runs only the rule checks on rules
read offline (an exported CSV). Both return an :class:`Analysis`.

Order: normalise the rules once (Graph + Exchange merged, hidden ones marked), run the phase-1
checks and the rule checks, derive the suspicious window from their findings, run the phase-2 checks
with that window, then the verdict and the timeline. A check that needs evidence which was not
collected yields ``NotChecked``; a check that meets evidence it cannot read yields ``NotChecked``
saying so (never a crash, never a silent "clean").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from reclaim.detect import correlate, rulescore
from reclaim.detect.context import Context, RuleEvent, RuleSignal
from reclaim.detect.correlate import TimelineEvent
from reclaim.detect.evidence import ArtifactMissing, EvidenceBundle, NotCollected, Window
from reclaim.detect.fields import iso, items, mappings, strings, text, when
from reclaim.detect.model import Finding, NotChecked, Severity, Verdict
from reclaim.detect.registry import Check, checks
from reclaim.detect.rules import InboxRule, folder_index, from_exchange, from_graph, merge_rules

RULE_OPERATIONS = frozenset({"new-inboxrule", "set-inboxrule", "updateinboxrules", "enable-inboxrule",
                             "remove-inboxrule", "disable-inboxrule"})


@dataclass(frozen=True)
class Analysis:
    user: str
    findings: tuple[Finding, ...]
    not_checked: tuple[NotChecked, ...]
    verdict: Verdict
    window: Window | None
    timeline: tuple[TimelineEvent, ...] = ()
    rules: tuple[InboxRule, ...] = field(default=(), compare=False)

    @property
    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=None)

    def to_json(self) -> dict[str, Any]:
        """The ``investigate --json`` shape of DESIGN.md (without ``user``/``case``, which the caller adds)."""
        ordered = sorted(self.findings, key=lambda f: (-f.severity.rank, f.check, f.artifact.id))
        return {
            "verdict": self.verdict.name.value,
            "because": self.verdict.because,
            "findings": [f.to_json() for f in ordered],
            "notChecked": [n.to_json() for n in self.not_checked],
            "suspiciousWindow": None if self.window is None else {
                "since": iso(self.window.since), "until": iso(self.window.until)},
            "timeline": [e.to_json() for e in self.timeline],
        }


# -- rules -----------------------------------------------------------------------------------------

def mailbox_rules(bundle: EvidenceBundle) -> tuple[list[InboxRule], list[NotChecked]]:
    """The mailbox's rules from whatever was collected, and what that leaves unchecked."""
    owner = owner_of(bundle)
    missing: list[NotChecked] = []
    folders: dict[str, Mapping[str, Any]] = {}
    try:
        folders = folder_index(bundle.records("folders"))
    except ArtifactMissing as exc:
        folders_reason: str | None = exc.reason
    else:
        folders_reason = None
    graph: list[InboxRule] | None = None
    exo: list[InboxRule] | None = None
    reasons: list[str] = []
    try:
        graph = [from_graph(r, folders, owner) for r in bundle.records("graph_rules")]
    except ArtifactMissing as exc:
        reasons.append(str(exc))
    try:
        exo = [from_exchange(r, "exo", owner) for r in bundle.records("exo_rules")]
    except ArtifactMissing as exc:
        reasons.append(str(exc))
    if graph is None and exo is None:
        return [], [NotChecked(c.meta.id, "; ".join(reasons)) for c in checks() if c.assess is not None]
    if exo is None:
        missing.append(NotChecked("inbox-rule-hidden", f"{reasons[-1]}: hidden rules are only visible through "
                                  "Exchange Get-InboxRule -IncludeHidden"))
    rules = merge_rules(graph, exo)
    unresolved = [r for r in rules if r.actions.move_to and not r.actions.move_to.resolved]
    if unresolved and folders_reason:
        missing.append(NotChecked("inbox-rule-hiding", f"folders not collected ({folders_reason}): the "
                                  f"destination of {len(unresolved)} rule(s) moving mail is unknown"))
    return rules, missing


def owner_of(bundle: EvidenceBundle) -> str:
    if bundle.mailbox_owner:
        return bundle.mailbox_owner
    if not isinstance(bundle.user, NotCollected):
        return text(bundle.user, "userPrincipalName", "mail", "id") or "unknown user"
    return "unknown user"


def rule_events(bundle: EvidenceBundle) -> dict[str, list[RuleEvent]]:
    out: dict[str, list[RuleEvent]] = {}
    try:
        records = bundle.records("audit_records")
    except ArtifactMissing:
        return out
    for r in records:
        op = text(r, "Operation", "operation") or ""
        if op.lower() not in RULE_OPERATIONS:
            continue
        params = {text(p, "Name") or "": text(p, "Value") or ""
                  for p in mappings(items(r, "Parameters", "parameters"))}
        props = {text(p, "Name") or "": text(p, "Value") or ""
                 for p in mappings(items(r, "OperationProperties", "operationProperties"))}
        event = RuleEvent(op, when(r, "CreationTime", "creationTime"),
                          text(r, "ClientIP", "ClientIPAddress", "clientip"), text(r, "Id", "id"))
        # Keyed by name and by identity (a Graph id, a RuleIdentity, or "mailbox\\RuleIdentity").
        keys = {k.casefold() for k in (params.get("Name"), props.get("RuleName"), params.get("Identity"),
                                       (params.get("Identity") or "").rsplit("\\", 1)[-1]) if k}
        for key in keys:
            out.setdefault(key, []).append(event)
    return out


def _own_addresses(bundle: EvidenceBundle) -> frozenset[str]:
    found: list[str] = []
    for source, keys in ((bundle.user, ("mail", "userPrincipalName", "proxyAddresses", "otherMails")),
                         (bundle.mailbox, ("PrimarySmtpAddress", "EmailAddresses", "UserPrincipalName"))):
        if isinstance(source, NotCollected):
            continue
        for key in keys:
            found.extend(strings(items(source, key)))
    if bundle.mailbox_owner:
        found.append(bundle.mailbox_owner)
    return frozenset(a.split(":", 1)[-1].casefold() if a.lower().startswith("smtp:") else a.casefold()
                     for a in found if "@" in a)


def build_context(bundle: EvidenceBundle) -> Context:
    try:
        domains: tuple[str, ...] | None = tuple(bundle.domains())
        reason = None
    except ArtifactMissing as exc:
        domains, reason = None, exc.reason
    return Context(domains=domains, domains_reason=reason, now=bundle.now, window=bundle.window,
                   own_addresses=_own_addresses(bundle), rule_events=rule_events(bundle))


def _rule_findings(rules: Sequence[InboxRule], context: Context,
                   rule_checks: Sequence[Check]) -> tuple[list[Finding], list[NotChecked]]:
    findings: list[Finding] = []
    not_checked: list[NotChecked] = []
    for rule in rules:
        signals: list[RuleSignal] = []
        for check in rule_checks:
            assert check.assess is not None
            signals.extend(check.assess(rule, context))
        finding = rulescore.combine(rule, signals, context)
        if finding is not None:
            if not finding.artifact.id:
                finding = replace(finding, artifact=replace(finding.artifact, id=f"name:{rule.name}"))
            findings.append(finding)
    if context.domains is None and any(r.actions.recipients for r in rules):
        not_checked.append(NotChecked("inbox-rule-external-forward",
                                      f"accepted domains not collected ({context.domains_reason}): cannot tell "
                                      "whether forwarding targets are outside the organisation"))
    return findings, not_checked


# -- running -------------------------------------------------------------------------------------

def _run(check: Check, bundle: EvidenceBundle, context: Context) -> tuple[list[Finding], list[NotChecked]]:
    assert check.run is not None
    try:
        result = check.run(bundle, context)
    except ArtifactMissing as exc:
        return [], [NotChecked(check.meta.id, str(exc))]
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        # Unreadable evidence is recorded, never taken for "nothing found".
        return [], [NotChecked(check.meta.id, f"could not read the evidence: {type(exc).__name__}: {exc}")]
    if isinstance(result, NotChecked):
        return [], [result]
    return result, []


def analyze(bundle: EvidenceBundle, *, selected: Sequence[Check] | None = None) -> Analysis:
    findings, not_checked, context, rules = _analyze(bundle, selected)
    window = context.suspicious
    return Analysis(
        user=owner_of(bundle), findings=tuple(findings), not_checked=tuple(not_checked),
        verdict=correlate.verdict(findings, not_checked, window), window=window,
        timeline=tuple(correlate.timeline(bundle, findings)), rules=tuple(rules),
    )


def findings_of(bundle: EvidenceBundle, *, selected: Sequence[Check] | None = None) -> list[Finding]:
    """The findings :func:`analyze` gives, without its verdict and timeline (a sweep stores findings only)."""
    return _analyze(bundle, selected)[0]


def _analyze(bundle: EvidenceBundle, selected: Sequence[Check] | None
             ) -> tuple[list[Finding], list[NotChecked], Context, list[InboxRule]]:
    available = tuple(selected) if selected is not None else checks()
    context = build_context(bundle)
    findings: list[Finding] = []
    not_checked: list[NotChecked] = []
    rule_checks = [c for c in available if c.assess is not None]
    rules: list[InboxRule] = []
    if rule_checks:
        rules, missing = mailbox_rules(bundle)
        wanted = {c.meta.id for c in rule_checks}
        not_checked.extend(n for n in missing if n.check in wanted)
        f, n = _rule_findings(rules, context, rule_checks)
        findings += f
        not_checked += n
    for phase in (1, 2):
        if phase == 2:
            context.suspicious, context.suspicious_reason = correlate.suspicious_window(findings, bundle.now)
            findings = correlate.correlate_changes(findings, context.suspicious, correlate.attacker_ips(findings))
        for check in available:
            if check.run is not None and check.meta.phase == phase:
                f, n = _run(check, bundle, context)
                findings += f
                not_checked += n
    return findings, not_checked, context, rules


def analyze_rules(rules: Sequence[InboxRule], *, domains: Sequence[str], mailbox: str,
                  now: datetime | None = None, hidden_known: bool = False) -> Analysis:
    """The rule checks alone, on rules read offline (``reclaim analyze rules``)."""
    moment = now or datetime.now(UTC)
    context = Context(domains=tuple(domains), now=moment, window=Window(None, moment),
                      own_addresses=frozenset({mailbox.casefold()}))
    rule_checks = [c for c in checks() if c.assess is not None]
    findings, not_checked = _rule_findings(rules, context, rule_checks)
    if not hidden_known:
        not_checked.append(NotChecked("inbox-rule-hidden", "an export does not say which rules are hidden; "
                                      "investigate the live mailbox to compare with Graph"))
    return Analysis(user=mailbox, findings=tuple(findings), not_checked=tuple(not_checked),
                    verdict=correlate.verdict(findings, not_checked, None), window=None, rules=tuple(rules))


__all__ = ["Analysis", "analyze", "analyze_rules", "build_context", "findings_of", "mailbox_rules", "owner_of",
           "rule_events"]
