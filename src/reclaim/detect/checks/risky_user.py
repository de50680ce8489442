"""Identity Protection: the user is at risk, or risk detections name attacker behaviour."""

from __future__ import annotations

from reclaim.detect.api import (
    Artifact,
    CheckMeta,
    Context,
    EvidenceBundle,
    Finding,
    NotChecked,
    Severity,
    text,
    user_id,
    when,
)

METADATA = CheckMeta(
    id="risky-user",
    title="Identity Protection rates the user at risk",
    severity=("high when the user is confirmed compromised or at high risk, or a detection names mailbox "
              "manipulation (suspicious forwarding or inbox rules, anomalous token); medium for medium risk; "
              "low for low risk; nothing when the risk was dismissed or remediated."),
    symptom="people receive mail the user did not send (risky sign-ins)",
    references=("https://learn.microsoft.com/graph/api/resources/riskyuser",
                "sigma azure_identity_protection_inbox_forwarding_rule",
                "sigma azure_identity_protection_inbox_manipulation"),
    scope="user",
    needs=("risky_user", "risk_detections"),
    attempt_only=True,
)

STRONG = {"suspiciousinboxforwarding", "mcassuspiciousinboxmanipulationrules", "anomaloustoken",
          "tokenissueranomaly", "attackerinthemiddle", "adversaryinthemiddle", "passwordspray",
          "leakedcredentials", "maliciousipaddress", "investigationsthreatintelligence"}
LEVEL = {"high": Severity.HIGH, "medium": Severity.MEDIUM, "low": Severity.LOW}


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    risky = bundle.optional_record("risky_user")
    detections = bundle.records("risk_detections")
    reasons: list[str] = []
    severity: Severity | None = None
    state = (text(risky, "riskState") or "").lower() if risky else ""
    if risky and state not in ("dismissed", "remediated", "none", ""):
        level = (text(risky, "riskLevel") or "").lower()
        severity = LEVEL.get(level)
        if state == "confirmedcompromised":
            severity = Severity.HIGH
            reasons.append("an administrator confirmed the user compromised")
        elif severity:
            reasons.append(f"Identity Protection rates the user {level} risk ({state})")
    active = [d for d in detections if (text(d, "riskState") or "atrisk").lower() not in ("dismissed", "remediated")]
    times = [t for d in active if (t := when(d, "detectedDateTime", "activityDateTime"))]
    for d in active:
        kind = text(d, "riskEventType") or "?"
        level_s = LEVEL.get((text(d, "riskLevel") or "").lower(), Severity.LOW)
        if kind.replace("_", "").lower() in STRONG:
            level_s = Severity.HIGH
        severity = level_s if severity is None or level_s.rank > severity.rank else severity
        reasons.append(f"risk detection {kind} ({text(d, 'riskLevel') or '?'}) from {text(d, 'ipAddress') or '?'}")
    if severity is None:
        return []
    return [Finding(METADATA.id, severity, f"Microsoft Identity Protection flags this account ({reasons[0]}).",
                    Artifact("riskyUser", user_id(bundle)),
                    evidence={"riskLevel": text(risky, "riskLevel") if risky else None, "riskState": state or None,
                              "detections": [{"id": text(d, "id"), "type": text(d, "riskEventType"),
                                              "level": text(d, "riskLevel"), "ip": text(d, "ipAddress")}
                                             for d in active[:50]]},
                    reasons=tuple(dict.fromkeys(reasons)), time=min(times) if times else None,
                    symptom=METADATA.symptom)]
