"""Tenant transport (mail flow) rules that redirect or copy mail outside the organisation."""

from __future__ import annotations

from typing import Any

from reclaim.detect.api import (
    Artifact,
    ArtifactMissing,
    CheckMeta,
    Context,
    EvidenceBundle,
    Finding,
    NotChecked,
    Severity,
    audit_parameters,
    get,
    normalise_ip,
    parse_recipients,
    text,
    when,
)

METADATA = CheckMeta(
    id="transport-rule-forwarding",
    title="A mail flow rule sends mail outside the organisation",
    severity=("high for an enabled, enforced transport rule that redirects, BCCs, copies or adds an outside "
              "recipient (it silently copies mail of many users); low when disabled or in test mode."),
    symptom="beyond the procedure (tenant transport rules that forward)",
    references=("Azure-Sentinel Mail redirect via ExO transport rule",
                "https://learn.microsoft.com/powershell/module/exchange/get-transportrule"),
    scope="tenant",
    needs=("transport_rules", "accepted_domains"),
    reads=("tenant_audit_records",),
    advice=("tenant mail-flow rule {name!r} sends mail out: review it in the Exchange admin centre (Mail flow → "
            "Rules) and disable it unless it is known and approved; reclaim does not change tenant-wide settings"),
)

ACTIONS = ("RedirectMessageTo", "BlindCopyTo", "CopyTo", "AddToRecipients", "AddManagerAsRecipientType",
           "GenerateIncidentReport")


OPERATIONS = {"new-transportrule", "set-transportrule", "enable-transportrule"}


def _changes(bundle: EvidenceBundle) -> dict[str, list[dict[str, Any]]]:
    """Who created or changed each transport rule (by name and identity, casefolded), oldest first, from the
    tenant-wide admin audit records."""
    try:
        records = bundle.records("tenant_audit_records")
    except ArtifactMissing:
        return {}
    out: dict[str, list[dict[str, Any]]] = {}
    for r in sorted(records, key=lambda r: text(r, "CreationTime") or ""):
        if (text(r, "Operation") or "").lower() not in OPERATIONS:
            continue
        params = audit_parameters(r)
        change = {"user": text(r, "UserId"), "operation": text(r, "Operation"), "time": text(r, "CreationTime"),
                  "ip": normalise_ip(text(r, "ClientIP", "ClientIPAddress")), "record": text(r, "Id")}
        for key in {params.get("Name"), params.get("Identity"), text(r, "ObjectId")} - {None, ""}:
            out.setdefault(str(key).casefold(), []).append(change)
    return out


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    domains = bundle.domains()
    changes = _changes(bundle)
    out: list[Finding] = []
    for rule in bundle.records("transport_rules"):
        outside: dict[str, list[str]] = {}
        for action in ACTIONS:
            for r in parse_recipients(get(rule, action)):
                if r.kind == "smtp" and r.is_external(domains):
                    outside.setdefault(action, []).append(r.address)
        if not outside:
            continue
        state = (text(rule, "State", "state") or "Enabled").lower()
        mode = (text(rule, "Mode", "mode") or "Enforce").lower()
        active = state == "enabled" and mode == "enforce"
        name = text(rule, "Name", "name") or "?"
        rule_id = text(rule, "Guid", "Identity", "Id", "id") or name
        changed = list({id(c): c for key in (name, rule_id) for c in changes.get(key.casefold(), [])}.values())
        addresses = sorted({a for v in outside.values() for a in v})
        out.append(Finding(METADATA.id, Severity.HIGH if active else Severity.LOW,
                           f'The mail flow rule "{name}" sends copies of mail to {", ".join(addresses)} outside your '
                           "organisation" + ("." if active else " (not active now)."),
                           Artifact("transportRule", rule_id),
                           evidence={"name": name, "actions": outside, "state": state, "mode": mode,
                                     "description": text(rule, "Description"),
                                     "changedBy": [c for c in changed if c["user"]]},
                           reasons=(*(f"{a}: {', '.join(v)}" for a, v in outside.items()),
                                    *(f"{c['operation']} by {c['user']} at {c['time']} from {c['ip'] or '?'}"
                                      for c in changed if c["user"])),
                           time=when(rule, "WhenChanged", "WhenCreated"), symptom=METADATA.symptom))
    return out
