"""An inbox rule was created or changed from an anonymising address (Tor, anonymous VPN, proxy)."""

from __future__ import annotations

from reclaim.detect.api import (
    CheckMeta,
    Context,
    EvidenceBundle,
    InboxRule,
    RuleSignal,
    Severity,
    items,
    normalise_ip,
    strings,
    text,
)

METADATA = CheckMeta(
    id="inbox-rule-anonymous-ip",
    title="Inbox rule made from an anonymising address",
    severity=("high when the unified audit log shows the rule was created or changed (New-InboxRule, "
              "Set-InboxRule, UpdateInboxRules) from an address that Identity Protection flags as anonymised "
              "(an anonymizedIPAddress risk detection, or a sign-in flagged so from the same address): a person "
              "making mailbox rules through Tor or an anonymous VPN is hiding where they are."),
    symptom="inbox rules the user did not create (creation events from unusual IPs)",
    references=("https://learn.microsoft.com/entra/id-protection/concept-identity-protection-risks "
                "(anonymous IP address)",
                "Azure-Sentinel hunting: mail rule creation with mail move",
                "https://learn.microsoft.com/defender-xdr/alert-grading-playbook-inbox-manipulation-rules"),
    scope="mailbox",
    needs=("graph_rules|exo_rules", "audit_records", "risk_detections|sign_ins"),
    raised_by_attacker_ip=True,
    indicators=(("rule", "name"), ("address", "actions"), ("keywords", "conditions"), ("ip", "anonymousIPs")),
)

ANONYMISED = "anonymizedipaddress"


def anonymising_addresses(bundle: EvidenceBundle | None) -> dict[str, str]:
    """Addresses Identity Protection flags as anonymised, with where that comes from."""
    found: dict[str, str] = {}
    if bundle is None:
        return found
    if isinstance(bundle.risk_detections, list | tuple):
        for d in bundle.records("risk_detections"):
            ip = normalise_ip(text(d, "ipAddress"))
            if ip and (text(d, "riskEventType") or "").lower() == ANONYMISED:
                found.setdefault(ip, "an anonymizedIPAddress risk detection")
    if isinstance(bundle.sign_ins, list | tuple):
        for s in bundle.records("sign_ins"):
            ip = normalise_ip(text(s, "ipAddress"))
            kinds = strings(items(s, "riskEventTypes_v2")) + strings(items(s, "riskEventTypes"))
            if ip and ANONYMISED in {k.lower() for k in kinds}:
                found.setdefault(ip, "a sign-in flagged as from an anonymised address")
    return found


def assess(rule: InboxRule, context: Context) -> list[RuleSignal]:
    flagged = context.memo(METADATA.id, lambda: anonymising_addresses(context.bundle))
    if not flagged:
        return []
    events = {id(e): e for key in (rule.name, rule.id, rule.alt_id) if key
              for e in context.rule_events.get(key.casefold(), [])}.values()
    hits = sorted({ip: e for e in events if (ip := normalise_ip(e.client_ip)) in flagged}.items())
    if not hits:
        return []
    ip, event = hits[0]
    return [RuleSignal(METADATA.id, Severity.HIGH,
                       f"{event.operation} made it from {ip}, an anonymising address ({flagged[ip]})",
                       frozenset({"anonymous"}), {"anonymousIPs": [ip for ip, _ in hits]})]
