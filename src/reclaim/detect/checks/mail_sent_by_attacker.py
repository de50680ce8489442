"""Mail the attacker sent from the account (message trace): who got it, inside and outside the organisation.

Messages sent from an address the attacker used, or inside the suspicious window from an address the user was not
seen at before. One finding lists them all, per recipient: the internal copies ``purge-sent-mail`` can remove from
colleagues' mailboxes, and the outside recipients to notify. The user's own mail (a familiar address) is never in
it. A context finding: the outbound spike and the attacker's sign-ins are the indicators.
"""

from __future__ import annotations

from reclaim.detect.api import (
    Artifact,
    CheckMeta,
    Context,
    EvidenceBundle,
    Finding,
    NotChecked,
    Severity,
    normalise_ip,
    parse_recipients,
    text,
    when,
)
from reclaim.detect.checks._mailtrail import familiar_ips

METADATA = CheckMeta(
    id="mail-sent-by-attacker",
    title="The attacker sent mail from the account",
    severity=("medium when the mail was sent from an address the attacker used or inside the suspicious window "
              "from an address the user was not seen at before; the user's own mail is not reported."),
    symptom="people receive mail the user did not send",
    references=("https://learn.microsoft.com/graph/api/resources/exchangemessagetrace",
                "https://learn.microsoft.com/defender-office-365/responding-to-a-compromised-email-account"),
    scope="mailbox",
    kind="context",
    phase=2,
    needs=("message_trace", "accepted_domains"),
    reads=("sign_ins",),
    indicators=(("subject", "subjects"),),
    advice=("tell the outside recipients of the attacker's mail that it was not sent by {user} (the list is in "
            "the report)"),
)


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    domains = bundle.domains()
    familiar = familiar_ips(bundle, context)
    own = context.own_addresses
    internal: list[dict[str, object]] = []
    external: list[dict[str, object]] = []
    ips: set[str] = set()
    subjects: list[str] = []
    first = None
    for m in sorted(bundle.records("message_trace"), key=lambda m: text(m, "receivedDateTime") or ""):
        if own and (text(m, "senderAddress") or "").lower() not in own:
            continue
        ip = normalise_ip(text(m, "fromIP"))
        moment = when(m, "receivedDateTime")
        if not ip or not (ip in context.attacker_ips or (context.in_suspicious_window(moment)
                                                          and ip not in familiar)):
            continue
        imid = text(m, "messageId")
        subject = text(m, "subject") or ""
        for r in parse_recipients(text(m, "recipientAddress")):
            entry: dict[str, object] = {"recipient": r.address.lower(), "internetMessageId": imid, "subject": subject,
                     "time": text(m, "receivedDateTime"), "status": text(m, "status"), "fromIP": ip}
            (external if r.is_external(domains) else internal).append(entry)
        ips.add(ip)
        first = first or m
        if subject not in subjects:
            subjects.append(subject)
    if first is None:
        return []
    delivered = [e for e in internal if str(e.get("status") or "").lower() in ("delivered", "")]
    mailboxes = sorted({str(e["recipient"]) for e in delivered})
    return [Finding(METADATA.id, Severity.MEDIUM,
                    f"The attacker sent {len(internal) + len(external)} messages from the account: "
                    f"{len(delivered)} reached {len(mailboxes)} colleagues' mailboxes, {len(external)} went outside.",
                    Artifact("sentMail", text(first, "messageId") or text(first, "id") or "sent"),
                    evidence={"subjects": subjects[:20], "fromIPs": sorted(ips), "internal": internal,
                              "external": external, "internalMailboxes": mailboxes,
                              "first": text(first, "receivedDateTime")},
                    reasons=(f"sent from {', '.join(sorted(ips))}",), time=when(first, "receivedDateTime"),
                    symptom=METADATA.symptom)]
