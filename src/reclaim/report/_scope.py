"""The report of a tenant-wide case: a sweep (every mailbox checked) or a hunt (a case's indicators looked for
across the tenant). Its reader wants the tenant, how many mailboxes were covered, which were flagged and why,
the tenant's own findings, and the blast radius — not one account's story.

Built from the case's stored summary (what ``reclaim sweep`` / ``reclaim hunt`` recorded) and its findings;
strings stay as stored (user names and rule names can be attacker-chosen: the writers make them inert).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reclaim.store import CaseDetail
from reclaim.store.models import Finding

__all__ = ["FlaggedRow", "TenantView", "tenant_view"]

_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


@dataclass(frozen=True)
class FlaggedRow:
    """One mailbox a sweep flagged, or one user a hunt matched."""

    user: str
    worst: str
    #: why, in words: the findings' or hits' titles
    why: tuple[str, ...]


@dataclass(frozen=True)
class TenantView:
    kind: str  # sweep | hunt
    title: str
    tenant: str
    #: (label, value) facts shown first: tenants, mailboxes swept, flagged, indicators ...
    facts: tuple[tuple[str, str], ...]
    flagged: tuple[FlaggedRow, ...]
    #: findings about the tenant itself (mail-flow rules, consents for everyone), shown once
    tenant_findings: tuple[Finding, ...]
    #: forwarding destinations several users send to (a hunt's campaign indicator)
    campaigns: tuple[tuple[str, tuple[str, ...]], ...]
    blast_radius: str
    next_steps: tuple[str, ...]


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _sorted(rows: list[FlaggedRow]) -> tuple[FlaggedRow, ...]:
    return tuple(sorted(rows, key=lambda r: (-_RANK.get(r.worst, 0), r.user)))


def _sweep(detail: CaseDetail, summary: Mapping[str, Any]) -> TenantView:
    case = detail.case
    tenants = _strings(summary.get("tenants")) or [case.subject]
    results = [t for t in summary.get("tenantResults") or [] if isinstance(t, Mapping)]
    mailboxes = _int(summary.get("mailboxes")) or sum(_int(t.get("mailboxes")) for t in results)
    incomplete = sum(_int(t.get("incomplete")) for t in results)
    rows: dict[str, list[Finding]] = {}
    for f in detail.findings:
        if f.scope != "tenant" and f.user and _RANK.get(f.severity, 0) >= _RANK["medium"]:
            rows.setdefault(f.user, []).append(f)
    flagged = _sorted([FlaggedRow(user, max((f.severity for f in fs), key=lambda s: _RANK.get(s, 0)),
                                  tuple(dict.fromkeys(f.title for f in fs)))
                       for user, fs in rows.items()])
    tenant_findings = tuple(f for f in detail.findings if f.scope == "tenant")
    status = str(summary.get("status") or case.status)
    facts = [("Tenants", ", ".join(tenants)), ("Mailboxes swept", str(mailboxes)),
             ("Flagged", f"{len(flagged)} mailbox(es) with findings of medium severity or more"),
             ("Tenant-wide findings", str(len(tenant_findings))),
             ("Depth", "deep (message traces and audit records too)" if summary.get("deep") else "standard"),
             ("Status", status)]
    if incomplete:
        facts.append(("Not fully checked", f"{incomplete} mailbox(es): some reads failed (see What was not checked)"))
    for t in results:
        if t.get("error"):
            facts.append((f"Tenant {t.get('tenant')}", f"{t.get('status')}: {t.get('error')}"))
    share = f" of {mailboxes}" if mailboxes else ""
    radius = (f"{len(flagged)} mailbox(es){share} show signs of compromise or abuse"
              + (f"; {len(tenant_findings)} finding(s) concern the whole tenant" if tenant_findings else "")
              + ("." if status == "complete" else f" (the sweep is {status}: the rest was not checked)."))
    steps = [f"Investigate each flagged mailbox: `reclaim investigate {row.user}`" for row in flagged[:10]]
    if len(flagged) > 10:
        steps.append(f"… and {len(flagged) - 10} more flagged mailboxes (listed above).")
    if status != "complete":
        steps.append(f"Finish the sweep: `reclaim sweep --resume {case.id}`.")
    return TenantView("sweep", "Tenant sweep report", ", ".join(tenants), tuple(facts), flagged, tenant_findings,
                      (), radius, tuple(steps))


def _hunt(detail: CaseDetail, summary: Mapping[str, Any]) -> TenantView:
    case = detail.case
    indicators = summary.get("indicators") if isinstance(summary.get("indicators"), Mapping) else {}
    assert isinstance(indicators, Mapping)
    users = [u for u in summary.get("users") or [] if isinstance(u, Mapping)] if isinstance(
        summary.get("users"), list) else []
    flagged = _sorted([FlaggedRow(str(u.get("user")), str(u.get("worst") or "info"),
                                  tuple(dict.fromkeys(str(h.get("title")) for h in u.get("hits") or []
                                                      if isinstance(h, Mapping))))
                       for u in users])
    if not flagged:  # an older summary: from the findings
        rows: dict[str, list[Finding]] = {}
        for f in detail.findings:
            if f.user:
                rows.setdefault(f.user, []).append(f)
        flagged = _sorted([FlaggedRow(user, max((f.severity for f in fs), key=lambda s: _RANK.get(s, 0)),
                                      tuple(dict.fromkeys(f.title for f in fs))) for user, fs in rows.items()])
    labels = {"ips": "IP addresses", "addresses": "addresses", "domains": "domains", "ruleNames": "rule names",
              "appIds": "applications", "subjects": "subjects"}
    what = [f"{len(v)} {labels[k]}" for k, v in indicators.items() if k in labels and isinstance(v, list) and v]
    keyword_sets = indicators.get("keywordSets")
    if isinstance(keyword_sets, list) and keyword_sets:
        what.append(f"{len(keyword_sets)} rule keyword set(s)")
    source = summary.get("sourceCase") or indicators.get("sourceCase")
    campaigns = tuple((str(c.get("destination")), tuple(_strings(c.get("users"))))
                      for c in summary.get("campaigns") or [] if isinstance(c, Mapping))
    facts = [("Tenant", case.tenant or "-"),
             ("Looked for", ", ".join(what) or "-"),
             ("From", f"case {source} ({indicators.get('source')})" if source else str(indicators.get("source")
                                                                                       or "--ioc values")),
             ("Matched", f"{len(flagged)} user(s)"),
             ("Forwarding destinations shared by several users", str(len(campaigns)))]
    radius = (f"{len(flagged)} user(s) besides the source show the same indicators"
              if source else f"{len(flagged)} user(s) show the indicators") + (
        f"; {len(campaigns)} forwarding destination(s) receive mail from several of them." if campaigns else ".")
    steps = [f"Investigate: `reclaim investigate {row.user}`" for row in flagged[:10]]
    if len(flagged) > 10:
        steps.append(f"… and {len(flagged) - 10} more users (listed above).")
    return TenantView("hunt", "Hunt report", case.tenant or "-", tuple(facts), flagged, (), campaigns, radius,
                      tuple(steps))


def tenant_view(detail: CaseDetail) -> TenantView | None:
    """The tenant-wide view of a sweep or hunt case; ``None`` for an investigation of one account."""
    summary = detail.case.summary if isinstance(detail.case.summary, Mapping) else {}
    if detail.case.kind == "sweep":
        return _sweep(detail, summary)
    if detail.case.kind == "hunt":
        return _hunt(detail, summary)
    return None
