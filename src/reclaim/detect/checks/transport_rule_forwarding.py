"""Tenant transport (mail flow) rules that redirect or copy mail outside the organisation."""

from __future__ import annotations

from reclaim.detect.addresses import parse_recipients
from reclaim.detect.context import Context
from reclaim.detect.evidence import EvidenceBundle
from reclaim.detect.fields import get, text, when
from reclaim.detect.model import Artifact, Finding, NotChecked, Severity
from reclaim.detect.registry import CheckMeta

METADATA = CheckMeta(
    id="transport-rule-forwarding",
    title="A mail flow rule sends mail outside the organisation",
    severity=("high for an enabled, enforced transport rule that redirects, BCCs, copies or adds an outside "
              "recipient (it silently copies mail of many users); low when disabled or in test mode."),
    symptom="beyond the procedure (tenant transport rules that forward)",
    references=("Azure-Sentinel Mail redirect via ExO transport rule",
                "https://learn.microsoft.com/powershell/module/exchange/get-transportrule"),
    needs=("transport_rules", "accepted_domains"),
)

ACTIONS = ("RedirectMessageTo", "BlindCopyTo", "CopyTo", "AddToRecipients", "AddManagerAsRecipientType",
           "GenerateIncidentReport")


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    domains = bundle.domains()
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
        addresses = sorted({a for v in outside.values() for a in v})
        out.append(Finding(METADATA.id, Severity.HIGH if active else Severity.LOW,
                           f'The mail flow rule "{name}" sends copies of mail to {", ".join(addresses)} outside your '
                           "organisation" + ("." if active else " (not active now)."),
                           Artifact("transportRule", text(rule, "Guid", "Identity", "Id", "id") or name),
                           evidence={"name": name, "actions": outside, "state": state, "mode": mode,
                                     "description": text(rule, "Description")},
                           reasons=tuple(f"{a}: {', '.join(v)}" for a, v in outside.items()),
                           time=when(rule, "WhenChanged", "WhenCreated"), symptom=METADATA.symptom))
    return out
