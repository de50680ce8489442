"""Rule changes in the unified audit log for rules that are no longer there (created, used, removed)."""

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
    from_exchange,
    items,
    judge_rule,
    mappings,
    normalise_ip,
    text,
    when,
)

METADATA = CheckMeta(
    id="inbox-rule-audit-event",
    title="A suspicious inbox rule was created and later removed",
    severity=("the severity the rule checks give the rule as the audit record describes it (New-InboxRule / "
              "Set-InboxRule parameters); only reported for rules that no longer exist (attackers remove "
              "their rules after use) or when the current rules could not be read, so a live rule is never "
              "reported twice."),
    symptom="inbox rules the user did not create (creation events from unusual IPs)",
    references=("panther-analysis Microsoft365.Exchange.External.Forwarding",
                "sigma microsoft365_susp_inbox_rule_creation_or_update_activity",
                "Azure-Sentinel Malicious Inbox Rule"),
    scope="mailbox",
    needs=("audit_records",),
    reads=("graph_rules", "exo_rules"),
    raised_by_attacker_ip=True,
)

OPERATIONS = {"new-inboxrule", "set-inboxrule"}


def _current_names(bundle: EvidenceBundle) -> set[str] | None:
    """Names and ids (Graph id, RuleIdentity, Identity) of the rules the mailbox has now."""
    names: set[str] = set()
    seen = False
    for kind, keys in (("graph_rules", ("displayName", "id")), ("exo_rules", ("Name", "RuleIdentity", "Identity"))):
        try:
            rules = bundle.records(kind)  # type: ignore[arg-type]
        except ArtifactMissing:
            continue
        seen = True
        for r in rules:
            for key in keys:
                value = (text(r, key) or "").casefold()
                names.update({value, value.rsplit("\\", 1)[-1]} - {""})
    return names if seen else None


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    records = bundle.records("audit_records")
    current = _current_names(bundle)
    out: list[Finding] = []
    for record in records:
        operation = text(record, "Operation") or ""
        if operation.lower() not in OPERATIONS:
            continue
        params: dict[str, Any] = {}
        for p in mappings(items(record, "Parameters")):
            if name := text(p, "Name"):
                params[name] = p.get("Value")
        name = text(params, "Name") or (text(params, "Identity") or "").rsplit("\\", 1)[-1]
        identity = (text(params, "Identity") or "").casefold()
        known = {name.casefold(), identity, identity.rsplit("\\", 1)[-1]} - {""}
        if not name or (current is not None and known & current):
            continue
        for key in ("ForwardTo", "RedirectTo", "ForwardAsAttachmentTo", "SubjectContainsWords",
                    "SubjectOrBodyContainsWords", "BodyContainsWords", "From"):
            if isinstance(params.get(key), str):
                params[key] = [v for v in str(params[key]).replace(",", ";").split(";") if v.strip()]
        params["Name"] = name
        if operation.lower() == "set-inboxrule":
            # Set-InboxRule records only the changed parameters: unchanged conditions are unknown, not absent.
            params.setdefault("Description", "If the message:\n\t(conditions not in this Set-InboxRule record)\n")
        rule = from_exchange(params, "exo", text(params, "Mailbox") or bundle.mailbox_owner)
        scored = judge_rule(rule, context)
        if scored is None or scored.severity.rank < Severity.LOW.rank:
            continue
        ip = normalise_ip(text(record, "ClientIP", "ClientIPAddress"))
        moment = when(record, "CreationTime")
        gone = "it no longer exists" if current is not None else "the current rules could not be read"
        does = scored.title.split(f'"{name}" ', 1)[-1].rstrip(".")
        out.append(Finding(METADATA.id, scored.severity,
                           f'{operation} made the rule "{name}", which {does} ({gone}).',
                           Artifact("auditRecord", text(record, "Id", "id") or ""),
                           evidence={"operation": operation, "clientIP": ip, "rule": rule.evidence(),
                                     "checks": scored.evidence.get("checks", [])},
                           reasons=(*scored.reasons, f"{operation} from {ip or 'an unknown address'}; {gone}"),
                           time=moment, symptom=METADATA.symptom))
    return out
