"""Correlation: the suspicious window, the timeline, and the verdict.

Every rule here reads the checks' own metadata (:class:`~reclaim.detect.registry.CheckMeta`), never a
list of check ids.

Suspicious window
    From the earliest time of a phase-1 compromise finding about the user or their mailbox, of medium
    severity or more (an anomalous sign-in, a rule created from an unusual IP, forwarding set, a risk
    detection ...) minus one hour, to the time of collection. Phase-2 checks raise what was created inside
    it (MFA methods, devices, OAuth grants, delegates, automatic replies). No such finding: no window.
    Tenant-wide findings do not open a user's window: the tenant is not the user.

Changes made by the attacker
    A change found by a check marked ``raised_by_attacker_ip`` (an inbox rule, mailbox forwarding, a bulk
    delete) whose audit event came from an address a ``marks_attacker_ip`` check named (a suspicious
    sign-in) is raised to at least high; a low such finding dated inside the window becomes medium.

Verdict (per user: only compromise findings of scope user or mailbox count; exposure, context and
tenant findings never do)
    ``compromised``: any such finding of high or critical severity, or medium findings from at least two
    different checks of which at least one falls inside the suspicious window (two independent footprints
    of the same intrusion) and at least one shows access or action, not only an attempt or a suspicion
    (a check marked ``attempt_only``: an Identity Protection risk level; or a finding saying so: denied MFA
    prompts).
    ``suspicious``: otherwise any medium such finding.
    ``clean``: otherwise (low findings are listed but do not change the verdict); the verdict says how
    many checks could not run, because "clean" only covers what was checked.

Tenant verdict
    The same rules over the tenant-scoped compromise findings: "the tenant shows signs of an admin
    compromise" is its own verdict, shown apart, and never makes a user compromised.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from reclaim.detect.evidence import ArtifactMissing, EvidenceBundle, ListKind, Window
from reclaim.detect.fields import get, iso, items, mappings, text, when
from reclaim.detect.model import Artifact, Finding, NotChecked, Severity, Verdict, VerdictName
from reclaim.detect.registry import meta_of, resolve

MARGIN = timedelta(hours=1)


def suspicious_window(findings: Iterable[Finding], now: datetime) -> tuple[Window | None, str | None]:
    anchors = [f for f in map(resolve, findings) if f.counts_for_user and f.severity.rank >= Severity.MEDIUM.rank
               and f.time is not None]
    if not anchors:
        return None, None
    first = min(anchors, key=lambda f: f.time)  # type: ignore[arg-type, return-value]
    assert first.time is not None
    start = first.time - MARGIN
    return Window(start, max(now, first.time)), (f"which starts {start.strftime('%Y-%m-%d %H:%M')} UTC, an hour "
                                                 f"before the first sign ({first.check})")


def normalise_ip(value: str | None) -> str | None:
    """``1.2.3.4:5678`` / ``[2001:db8::1]:443`` (unified audit log) → the bare address."""
    if not value:
        return None
    v = value.strip()
    if v.startswith("[") and "]" in v:
        return v[1:v.index("]")].lower()
    if v.count(":") == 1:
        return v.split(":", 1)[0]
    return v.lower()


def attacker_ips(findings: Iterable[Finding]) -> frozenset[str]:
    """Addresses the attacker used: those findings of medium or more name, whose check ``marks_attacker_ip``."""
    out: set[str] = set()
    for f in findings:
        if f.severity.rank >= Severity.MEDIUM.rank and _meta(f.check, "marks_attacker_ip"):
            ip = normalise_ip(str(f.evidence.get("ipAddress") or ""))
            if ip:
                out.add(ip)
    return frozenset(out)


def _ips_of(finding: Finding) -> set[str]:
    ips = {normalise_ip(str(e.get("clientIP") or "")) for e in finding.evidence.get("auditEvents", [])
           if isinstance(e, Mapping)}
    ips.add(normalise_ip(str(finding.evidence.get("setFromIP") or "")))
    ips.add(normalise_ip(str(finding.evidence.get("clientIP") or "")))
    return {ip for ip in ips if ip}


def correlate_changes(findings: Sequence[Finding], window: Window | None, ips: frozenset[str]) -> list[Finding]:
    """Raise rules and forwarding made from a suspicious sign-in's IP (at least high) or inside the window.

    A change made from the same address as a suspicious sign-in is the attacker's own work; a low
    finding (a rule that only tidies mail) created inside the suspicious window becomes medium.
    """
    out: list[Finding] = []
    for f in findings:
        if _meta(f.check, "raised_by_attacker_ip"):
            shared = sorted(_ips_of(f) & ips)
            if shared:
                f = replace(f, severity=max(f.severity, Severity.HIGH, key=lambda s: s.rank),
                            reasons=(*f.reasons, f"made from {', '.join(shared)}, the address of a suspicious sign-in"))
            elif f.severity is Severity.LOW and window is not None and window.contains(f.time):
                f = replace(f, severity=Severity.MEDIUM, reasons=(*f.reasons, "made during the suspicious window"))
        out.append(f)
    return out


def _meta(check: str, fact: str) -> bool:
    """A correlation fact of a check's metadata (``False`` for a finding of no built-in check)."""
    try:
        return bool(getattr(meta_of(check), fact))
    except KeyError:
        return False


def attempt_only(finding: Finding) -> bool:
    return _meta(finding.check, "attempt_only") or finding.evidence.get("attemptOnly") is True


def verdict(findings: Sequence[Finding], not_checked: Sequence[NotChecked], window: Window | None) -> Verdict:
    """The user's verdict: from compromise findings about the user or their mailbox only."""
    return _judge([f for f in map(resolve, findings) if f.counts_for_user], not_checked, window)


def tenant_verdict(findings: Sequence[Finding], not_checked: Sequence[NotChecked] = ()) -> Verdict:
    """The tenant's verdict, from its tenant-scoped compromise findings (never a user's)."""
    tenant = [f for f in map(resolve, findings) if f.kind == "compromise" and f.scope == "tenant"]
    result = _judge(tenant, not_checked, None)
    if result.name is VerdictName.CLEAN:
        return result
    return replace(result, because=f"the tenant shows signs of an admin compromise: {result.because}")


def _judge(compromise: Sequence[Finding], not_checked: Sequence[NotChecked], window: Window | None) -> Verdict:
    strong = [f for f in compromise if f.severity.rank >= Severity.HIGH.rank]
    if strong:
        return Verdict(VerdictName.COMPROMISED, f"{len(strong)} high or critical compromise indicator(s)",
                       tuple(strong))
    medium = [f for f in compromise if f.severity is Severity.MEDIUM]
    checks = {f.check for f in medium}
    in_window = [f for f in medium if window is not None and window.contains(f.time)]
    acted = [f for f in medium if not attempt_only(f)]
    if len(checks) >= 2 and in_window and acted:
        return Verdict(VerdictName.COMPROMISED, f"medium indicators from {len(checks)} different checks, "
                       "correlated in the suspicious window", tuple(medium))
    if medium:
        return Verdict(VerdictName.SUSPICIOUS, f"{len(medium)} medium indicator(s), not enough to conclude",
                       tuple(medium))
    note = f"; {len(not_checked)} check(s) could not run" if not_checked else ""
    return Verdict(VerdictName.CLEAN, "no compromise indicator of medium severity or more" + note, ())


# -- timeline --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TimelineEvent:
    time: datetime
    kind: str
    summary: str
    artifact: Artifact | None = None
    check: str | None = None
    severity: Severity | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"time": iso(self.time), "kind": self.kind, "summary": self.summary}
        if self.artifact:
            out["artifact"] = self.artifact.to_json()
        if self.check:
            out["check"] = self.check
        if self.severity:
            out["severity"] = self.severity.value
        return out


def _records(bundle: EvidenceBundle, kind: ListKind) -> list[Mapping[str, Any]]:
    try:
        return bundle.records(kind)
    except ArtifactMissing:
        return []


def _params(record: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in mappings(items(record, "Parameters", "parameters")):
        name = text(p, "Name")
        if name:
            out[name] = text(p, "Value") or ""
    return out


def timeline(bundle: EvidenceBundle, findings: Sequence[Finding]) -> list[TimelineEvent]:
    """Every timed piece of evidence, oldest first, with the findings that point at it."""
    events: list[TimelineEvent] = []
    for s in _records(bundle, "sign_ins"):
        t = when(s, "createdDateTime")
        if t is None or not bundle.window.contains(t):
            continue  # the baseline read before the investigated period is not part of its story
        loc = get(s, "location")
        country = text(loc, "countryOrRegion") or "?"
        status = get(s, "status")
        code = get(status, "errorCode")
        ok = "succeeded" if code in (0, "0", None) else f"failed ({code})"
        events.append(TimelineEvent(t, "signIn", f"Sign-in from {text(s, 'ipAddress') or '?'} ({country}) with "
                                    f"{text(s, 'clientAppUsed') or '?'} to {text(s, 'appDisplayName') or '?'}: {ok}",
                                    Artifact("signIn", text(s, "id") or "")))
    for a in _records(bundle, "directory_audits"):
        t = when(a, "activityDateTime")
        if t:
            events.append(TimelineEvent(t, "directoryAudit", f"Directory: {text(a, 'activityDisplayName') or '?'}",
                                        Artifact("directoryAudit", text(a, "id") or "")))
    for r in _records(bundle, "audit_records"):
        t = when(r, "CreationTime", "creationTime")
        if t:
            p = _params(r)
            detail = p.get("Name") or p.get("Identity") or text(r, "ObjectId") or ""
            events.append(TimelineEvent(t, "auditRecord", f"Audit: {text(r, 'Operation') or '?'} {detail} "
                                        f"from {text(r, 'ClientIP', 'ClientIPAddress') or '?'}".strip(),
                                        Artifact("auditRecord", text(r, "Id", "id") or "")))
    for m in _records(bundle, "auth_methods"):
        t = when(m, "createdDateTime")
        if t:
            kind = (text(m, "@odata.type") or "method").rsplit(".", 1)[-1]
            events.append(TimelineEvent(t, "authenticationMethod", f"Authentication method registered: {kind}",
                                        Artifact("authenticationMethod", text(m, "id") or "")))
    for d in _records(bundle, "mobile_devices"):
        t = when(d, "FirstSyncTime", "firstSyncTime")
        if t:
            events.append(TimelineEvent(t, "mobileDevice", f"Mobile device first synced: "
                                        f"{text(d, 'DeviceModel', 'deviceModel') or '?'}",
                                        Artifact("mobileDevice", text(d, "Guid", "Identity", "DeviceId", "id") or "")))
    for r in _records(bundle, "risk_detections"):
        t = when(r, "detectedDateTime", "activityDateTime")
        if t:
            events.append(TimelineEvent(t, "riskDetection", f"Risk detected: {text(r, 'riskEventType') or '?'} "
                                        f"({text(r, 'riskLevel') or '?'})", Artifact("riskyUser", text(r, "id") or "")))
    for b in _records(bundle, "blocked_senders"):
        t = when(b, "CreatedDatetime", "CreatedDateTime", "createdDatetime")
        if t:
            events.append(TimelineEvent(t, "blockedSender", f"Restricted from sending: {text(b, 'Reason') or '?'}",
                                        Artifact("blockedSender", text(b, "SenderAddress", "senderAddress") or "")))
    for al in _records(bundle, "alerts"):
        t = when(al, "createdDateTime")
        if t:
            events.append(TimelineEvent(t, "alert", f"Alert: {text(al, 'title') or '?'}"))
    by_day: dict[str, list[Mapping[str, Any]]] = {}
    for m in _records(bundle, "message_trace"):
        t = when(m, "receivedDateTime")
        if t:
            by_day.setdefault(t.date().isoformat(), []).append(m)
    for day, msgs in sorted(by_day.items()):
        first = min(t for m in msgs if (t := when(m, "receivedDateTime")) is not None)
        recipients = {text(m, "recipientAddress") for m in msgs}
        events.append(TimelineEvent(first, "messageTrace", f"{len(msgs)} message(s) sent to {len(recipients)} "
                                    f"recipient(s) on {day}"))
    for f in findings:
        if f.time:
            events.append(TimelineEvent(f.time, "finding", f.title, f.artifact, f.check, f.severity))
    events.sort(key=lambda e: (e.time, e.kind))
    return events
