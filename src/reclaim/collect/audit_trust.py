"""Audit you can trust: what an investigation's audit searches really covered, and what they could not.

Before "nothing found" in the unified audit log can mean "nothing happened", four things must hold:

- unified audit ingestion is on (``Get-AdminAuditLogConfig``: ``UnifiedAuditLogIngestionEnabled``); when it is
  off, no record is written at all (Hawk's users get empty results and take them for clean);
- the user's mailbox is audited (``Get-Mailbox``: ``AuditEnabled``) and the account does not bypass mailbox
  auditing (``Get-MailboxAuditBypassAssociation``: ``AuditBypassEnabled``);
- the licence records the record types the question needs: ``MailItemsAccessed`` and ``Send`` ("what did the
  attacker read and send") are Audit (Premium) events, recorded by default with the Microsoft 365 Advanced
  Auditing service plan (E5, E5 Compliance); since 2024 Audit (Standard) mailboxes record them too, but only when
  the mailbox's audited actions include them (``Get-Mailbox``: ``AuditOwner``). Retention is 180 days with Audit
  (Standard), one year with Audit (Premium): a window reaching further back is only partly searched;
- every search returned all its records: a search stops at a fixed number of records without saying so
  (50,000 for ``Search-UnifiedAuditLog`` and the Purview search), so a search that reaches that number is split
  into smaller time windows until each one returns fewer (:class:`SearchLog`).

:func:`coverage` puts it together as the case's coverage section: the time range and the record types really
searched, and what was not available and why. A missing answer is "not checked: reason", never "nothing found".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from reclaim.detect.fields import flag, get

JSON = dict[str, Any]

#: The most records one audit search returns (Search-UnifiedAuditLog, the Purview audit search).
AUDIT_SEARCH_CAP = 50_000
#: A window this short that still reaches the cap is not split further: it is reported as incomplete.
MIN_WINDOW = timedelta(minutes=1)

#: The Microsoft 365 Advanced Auditing service plan (Audit Premium): in E5, E5 Compliance, E5 eDiscovery and Audit.
ADVANCED_AUDITING_PLANS = frozenset({"M365_ADVANCED_AUDITING"})
#: Audit (Premium) keeps a year of records; Audit (Standard) 180 days (since October 2023; 90 before).
PREMIUM_RETENTION = timedelta(days=365)
STANDARD_RETENTION = timedelta(days=180)
#: The record types the breach-scope question needs beyond Audit (Standard)'s defaults.
PREMIUM_OPERATIONS = ("MailItemsAccessed", "Send")

#: audit search kind → what it looked for (shown in the coverage section)
SEARCH_LABELS = {
    "audit_records": "mailbox changes (rules, forwarding, permissions, deletions)",
    "drive_audit_records": "OneDrive and SharePoint files and sharing",
    "activity_audit_records": "mail read, sent, moved and deleted",
    "tenant_audit_records": "tenant-wide admin changes",
}


@dataclass
class SearchLog:
    """One audit search as run: its windows (split when one reached the cap) and whether it is complete."""

    kind: str
    since: datetime
    until: datetime
    operations: tuple[str, ...] = ()
    windows: list[tuple[datetime, datetime, int]] = field(default_factory=list)
    truncated: list[tuple[datetime, datetime]] = field(default_factory=list)
    records: int = 0
    splits: int = 0

    def to_json(self) -> JSON:
        out: JSON = {"kind": self.kind, "label": SEARCH_LABELS.get(self.kind, self.kind),
                     "since": _iso(self.since), "until": _iso(self.until), "operations": list(self.operations),
                     "records": self.records, "windows": len(self.windows) + len(self.truncated),
                     "splits": self.splits, "complete": not self.truncated}
        if self.truncated:
            out["why"] = ("still at the search's cap of records after splitting to "
                          f"{MIN_WINDOW.total_seconds():g} s: records may be missing between "
                          + ", ".join(f"{_iso(a)} and {_iso(b)}" for a, b in self.truncated))
        return out


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _plans(licences: Any) -> set[str]:
    names: set[str] = set()
    for lic in licences if isinstance(licences, list) else []:
        for plan in (lic.get("servicePlans") or []) if isinstance(lic, Mapping) else []:
            if isinstance(plan, Mapping) and str(plan.get("provisioningStatus") or "Success") != "Disabled":
                names.add(str(plan.get("servicePlanName") or "").upper())
    return names


def _audited_actions(mailbox: Any) -> set[str] | None:
    """The mailbox owner's audited actions (``AuditOwner``), when Get-Mailbox gave them."""
    value = get(mailbox, "AuditOwner") if isinstance(mailbox, Mapping) else None
    if isinstance(value, str):
        value = [v.strip() for v in value.replace(";", ",").split(",")]
    if not isinstance(value, list):
        return None
    return {str(v).casefold() for v in value if v}


def _trust(values: Mapping[str, Any], missing: Mapping[str, str], upn: str) -> list[JSON]:
    """Whether the audit log can be relied on: ingestion, mailbox auditing, bypass (``ok`` None: not checked)."""
    out: list[JSON] = []
    config = values.get("audit_config")
    if isinstance(config, Mapping) and flag(config, "UnifiedAuditLogIngestionEnabled") is not None:
        on = flag(config, "UnifiedAuditLogIngestionEnabled")
        out.append({"what": "unified audit log ingestion", "ok": on,
                    "detail": "on (Get-AdminAuditLogConfig)" if on else
                    "OFF (Get-AdminAuditLogConfig UnifiedAuditLogIngestionEnabled False): no audit record is "
                    "written while it is off; an empty search does not mean nothing happened"})
    else:
        why = missing.get("audit_config", "Get-AdminAuditLogConfig gave no UnifiedAuditLogIngestionEnabled")
        out.append({"what": "unified audit log ingestion", "ok": None, "detail": f"not checked: {why}"})
    mailbox = values.get("mailbox")
    enabled = flag(mailbox, "AuditEnabled") if isinstance(mailbox, Mapping) else None
    if enabled is None:
        why = missing.get("mailbox", "Get-Mailbox gave no AuditEnabled")
        out.append({"what": f"mailbox auditing of {upn}", "ok": None, "detail": f"not checked: {why}"})
    else:
        out.append({"what": f"mailbox auditing of {upn}", "ok": enabled,
                    "detail": "on (Get-Mailbox AuditEnabled)" if enabled else
                    "off (Get-Mailbox AuditEnabled False): mailbox actions may not be recorded"})
    bypass = values.get("audit_bypass")
    entries = bypass if isinstance(bypass, list) else [bypass] if isinstance(bypass, Mapping) else None
    if entries is None:
        why = missing.get("audit_bypass", "Get-MailboxAuditBypassAssociation gave nothing")
        out.append({"what": f"mailbox audit bypass of {upn}", "ok": None, "detail": f"not checked: {why}"})
    else:
        bypassed = any(flag(e, "AuditBypassEnabled") is True for e in entries if isinstance(e, Mapping))
        out.append({"what": f"mailbox audit bypass of {upn}", "ok": not bypassed,
                    "detail": "BYPASSED (Get-MailboxAuditBypassAssociation AuditBypassEnabled True): what this "
                              "account does to mailboxes is not recorded" if bypassed else
                              "not bypassed (Get-MailboxAuditBypassAssociation)"})
    return out


def _record_types(values: Mapping[str, Any], missing: Mapping[str, str], since: datetime,
                  until: datetime) -> tuple[list[JSON], timedelta | None]:
    """Per Audit (Premium) record type: available, not available or unknown, and why; and the retention."""
    licences = values.get("license_details")
    if not isinstance(licences, list):
        why = missing.get("license_details", "the user's licences were not read")
        return [{"type": op, "available": None, "why": f"not checked: {why}"} for op in PREMIUM_OPERATIONS], None
    plans = _plans(licences)
    if plans & ADVANCED_AUDITING_PLANS:
        return [{"type": op, "available": True, "why": "Audit (Premium): Microsoft 365 Advanced Auditing licence"}
                for op in PREMIUM_OPERATIONS], PREMIUM_RETENTION
    if not any(p.startswith("EXCHANGE_S_") for p in plans):
        return [{"type": op, "available": False, "why": "the user has no Exchange Online licence: no mailbox "
                 "audit records"} for op in PREMIUM_OPERATIONS], STANDARD_RETENTION
    audited = _audited_actions(values.get("mailbox"))
    out: list[JSON] = []
    for op in PREMIUM_OPERATIONS:
        if audited is None:
            out.append({"type": op, "available": None, "why": "Audit (Standard) licence: recorded only when the "
                        "mailbox audits it, and Get-Mailbox gave no AuditOwner list to tell"})
        elif op.casefold() in audited:
            out.append({"type": op, "available": True, "why": "Audit (Standard): the mailbox's AuditOwner "
                        "actions include it"})
        else:
            out.append({"type": op, "available": False, "why": "Audit (Standard) licence without Audit (Premium), "
                        f"and the mailbox's AuditOwner actions do not include {op}: it is not recorded"})
    return out, STANDARD_RETENTION


def coverage(values: Mapping[str, Any], missing: Mapping[str, str], searches: Sequence[SearchLog], *,
             upn: str, since: datetime, until: datetime) -> JSON:
    """The coverage section: the range and record types really searched, and what was not available and why."""
    trust = _trust(values, missing, upn)
    types, retention = _record_types(values, missing, since, until)
    searched = {s.kind: s for s in searches}
    rows: list[JSON] = []
    for kind, label in SEARCH_LABELS.items():
        if kind in searched:
            rows.append(searched[kind].to_json())
        elif kind in missing:
            rows.append({"kind": kind, "label": label, "complete": False, "records": None,
                         "why": f"not searched: {missing[kind]}"})
    gaps: list[JSON] = []
    for t in trust:
        if t["ok"] is not True:
            gaps.append({"what": t["what"], "why": t["detail"]})
    for t in types:
        if t["available"] is not True:
            gaps.append({"what": f"{t['type']} records", "why": t["why"]})
    for row in rows:
        if not row["complete"]:
            gaps.append({"what": f"audit search: {row['label']}", "why": row["why"]})
    start = since
    if retention is not None and until - since > retention:
        start = until - retention
        gaps.append({"what": f"audit records before {_iso(start)}",
                     "why": f"past the licence's audit retention ({retention.days} days): the window is only "
                            "partly searched"})
    return {"since": _iso(since), "until": _iso(until), "auditFrom": _iso(start), "trust": trust,
            "recordTypes": types, "searches": rows, "notAvailable": gaps}


__all__ = ["ADVANCED_AUDITING_PLANS", "AUDIT_SEARCH_CAP", "MIN_WINDOW", "PREMIUM_OPERATIONS", "SEARCH_LABELS",
           "SearchLog", "coverage"]
