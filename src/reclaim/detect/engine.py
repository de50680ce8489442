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
from reclaim.detect.model import Finding, NotChecked, Severity, Verdict, VerdictName
from reclaim.detect.registry import Check, CheckMeta, checks, resolve
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
    #: the tenant's own verdict, from tenant-scoped findings (never part of the user's)
    tenant: Verdict = field(default_factory=lambda: Verdict(VerdictName.CLEAN, "no tenant-wide indicator"))

    @property
    def user_findings(self) -> tuple[Finding, ...]:
        """Findings about the user and their mailbox (the user's verdict rests on their compromise ones)."""
        return tuple(f for f in self.findings if f.scope != "tenant")

    @property
    def tenant_findings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.scope == "tenant")

    @property
    def worst(self) -> Severity | None:
        """The highest severity of a finding about the user or their mailbox."""
        return max((f.severity for f in self.user_findings), key=lambda s: s.rank, default=None)

    def actors(self) -> list[dict[str, Any]]:
        """Who created or changed the tenant-scoped artifacts, from the audit trail (``evidence.changedBy``)."""
        return actors_of(self.tenant_findings)

    def to_json(self) -> dict[str, Any]:
        """The ``investigate --json`` shape of DESIGN.md (without ``user``/``case``, which the caller adds)."""
        ordered = _ordered(self.user_findings)
        return {
            "verdict": self.verdict.name.value,
            "because": self.verdict.because,
            "findings": [f.to_json() for f in ordered],
            "tenant": {"verdict": self.tenant.name.value, "because": self.tenant.because,
                       "findings": [f.to_json() for f in _ordered(self.tenant_findings)], "actors": self.actors()},
            "notChecked": [n.to_json() for n in self.not_checked],
            "suspiciousWindow": None if self.window is None else {
                "since": iso(self.window.since), "until": iso(self.window.until)},
            "timeline": [e.to_json() for e in self.timeline],
        }


def _ordered(findings: Sequence[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (-f.severity.rank, f.check, f.artifact.id))


def actors_of(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    """The people who made tenant-scoped changes: ``evidence.changedBy`` entries of the findings, each with
    the artifact it changed, oldest first."""
    out: list[dict[str, Any]] = []
    for f in findings:
        for change in f.evidence.get("changedBy") or []:
            if isinstance(change, Mapping) and change.get("user"):
                out.append({**change, "artifact": f.artifact.to_json(), "check": f.check})
    return sorted(out, key=lambda a: str(a.get("time") or ""))


# -- rules -----------------------------------------------------------------------------------------

def mailbox_rules(bundle: EvidenceBundle) -> list[InboxRule]:
    """The mailbox's rules from whatever was collected (Graph and Exchange merged, hidden ones marked)."""
    owner = owner_of(bundle)
    try:
        folders = folder_index(bundle.records("folders"))
    except ArtifactMissing:
        folders = {}
    graph: list[InboxRule] | None = None
    exo: list[InboxRule] | None = None
    try:
        graph = [from_graph(r, folders, owner) for r in bundle.records("graph_rules")]
    except ArtifactMissing:
        graph = None
    try:
        exo = [from_exchange(r, "exo", owner) for r in bundle.records("exo_rules")]
    except ArtifactMissing:
        exo = None
    if graph is None and exo is None:
        return []
    return merge_rules(graph, exo)


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
                   own_addresses=_own_addresses(bundle), rule_events=rule_events(bundle),
                   missing=bundle.not_collected(), bundle=bundle)


def _rule_findings(rules: Sequence[InboxRule], context: Context,
                   rule_checks: Sequence[Check]) -> tuple[list[Finding], list[NotChecked]]:
    findings: list[Finding] = []
    unjudged: dict[str, list[NotChecked]] = {}
    for rule in rules:
        signals: list[RuleSignal] = []
        for check in rule_checks:
            assert check.assess is not None
            for answer in check.assess(rule, context):
                if isinstance(answer, NotChecked):
                    unjudged.setdefault(answer.check, []).append(answer)
                else:
                    signals.append(answer)
        finding = rulescore.combine(rule, signals, context)
        if finding is not None:
            if not finding.artifact.id:
                finding = replace(finding, artifact=replace(finding.artifact, id=f"name:{rule.name}"))
            findings.append(resolve(finding))
    # one record per check, however many rules it could not judge
    not_checked = [NotChecked(check, items[0].reason + (f" (and {len(items) - 1} more rule(s))" if len(items) > 1
                                                        else "")) for check, items in unjudged.items()]
    return findings, not_checked


# -- running -------------------------------------------------------------------------------------

def unmet_needs(meta: CheckMeta, bundle: EvidenceBundle) -> str | None:
    """Why a check cannot run on this evidence (a need not collected), or ``None``."""
    reasons = [r for need in meta.needs if (r := bundle.missing_need(need)) is not None]
    return "; ".join(reasons) or None


def _run(check: Check, bundle: EvidenceBundle, context: Context) -> tuple[list[Finding], list[NotChecked]]:
    assert check.run is not None
    unmet = unmet_needs(check.meta, bundle)
    if unmet is not None:
        return [], [NotChecked(check.meta.id, unmet)]
    try:
        result = check.run(bundle, context)
    except ArtifactMissing as exc:
        return [], [NotChecked(check.meta.id, str(exc))]
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        # Unreadable evidence is recorded, never taken for "nothing found".
        return [], [NotChecked(check.meta.id, f"could not read the evidence: {type(exc).__name__}: {exc}")]
    if isinstance(result, NotChecked):
        return [], [result]
    return [resolve(f) for f in result], []


def analyze(bundle: EvidenceBundle, *, selected: Sequence[Check] | None = None) -> Analysis:
    findings, not_checked, context, rules = _analyze(bundle, selected)
    window = context.suspicious
    return Analysis(
        user=owner_of(bundle), findings=tuple(findings), not_checked=tuple(not_checked),
        verdict=correlate.verdict(findings, not_checked, window), window=window,
        timeline=tuple(correlate.timeline(bundle, findings)), rules=tuple(rules),
        tenant=correlate.tenant_verdict(findings),
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
    rule_checks: list[Check] = []
    for check in (c for c in available if c.assess is not None):
        unmet = unmet_needs(check.meta, bundle)
        if unmet is None:
            rule_checks.append(check)
        else:
            not_checked.append(NotChecked(check.meta.id, unmet))
    rules: list[InboxRule] = []
    if rule_checks:
        rules = mailbox_rules(bundle)
        f, n = _rule_findings(rules, context, rule_checks)
        findings += f
        not_checked += n
    for phase in (1, 2):
        if phase == 2:
            context.suspicious, context.suspicious_reason = correlate.suspicious_window(findings, bundle.now)
            context.attacker_ips = correlate.attacker_ips(findings)
            findings = correlate.correlate_changes(findings, context.suspicious, context.attacker_ips)
        for check in available:
            if check.run is not None and check.meta.phase == phase:
                f, n = _run(check, bundle, context)
                findings += f
                not_checked += n
    return findings, not_checked, context, rules


def analyze_rules(rules: Sequence[InboxRule], *, domains: Sequence[str], mailbox: str,
                  now: datetime | None = None, hidden_known: bool = False) -> Analysis:
    """The rule checks alone, on rules read offline (``reclaim analyze rules``).

    An export is what a plain ``Get-InboxRule`` shows: the visible rules. Unless ``hidden_known``, the checks
    that need Exchange's ``-IncludeHidden`` view are reported as not checked."""
    moment = now or datetime.now(UTC)
    missing = {} if hidden_known else {"exo_rules": "hidden rules are not in a CSV export; investigate the live "
                                                    "mailbox (Get-InboxRule -IncludeHidden) to see them"}
    context = Context(domains=tuple(domains), now=moment, window=Window(None, moment),
                      own_addresses=frozenset({mailbox.casefold()}), missing=missing)
    rule_checks: list[Check] = []
    not_checked: list[NotChecked] = []
    for check in (c for c in checks() if c.assess is not None):
        lacking = [missing[need] for need in check.meta.needs if need in missing]
        if lacking:
            not_checked.append(NotChecked(check.meta.id, lacking[0]))
        else:
            rule_checks.append(check)
    findings, more = _rule_findings(rules, context, rule_checks)
    not_checked += more
    return Analysis(user=mailbox, findings=tuple(findings), not_checked=tuple(not_checked),
                    verdict=correlate.verdict(findings, not_checked, None), window=None, rules=tuple(rules))


__all__ = ["Analysis", "actors_of", "analyze", "analyze_rules", "build_context", "findings_of", "mailbox_rules",
           "owner_of", "rule_events", "unmet_needs"]
