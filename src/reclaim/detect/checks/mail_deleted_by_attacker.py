"""Mail the attacker deleted: mailbox audit records (``SoftDelete``, ``HardDelete``, ``MoveToDeletedItems``) made
from the attacker's addresses, or inside the suspicious window from an address the user was never seen at.

One finding per deleted message (by internet message id), with the folder it was deleted from, so that
``restore-deleted-mail`` can bring it back. The user's own deletions (a familiar address) are not reported:
they are never touched. A context finding: the verdict rests on the indicators that found the attacker.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reclaim.detect.api import (
    Artifact,
    CheckMeta,
    Context,
    EvidenceBundle,
    Finding,
    NotChecked,
    Severity,
    get,
    items,
    mappings,
    normalise_ip,
    text,
    when,
)
from reclaim.detect.checks._mailtrail import familiar_ips

METADATA = CheckMeta(
    id="mail-deleted-by-attacker",
    title="The attacker deleted mail",
    severity=("medium for a message deleted from an address the attacker used; low for one deleted inside the "
              "suspicious window from an address the user was not seen at before (confirm with the user); the "
              "user's own deletions are not reported."),
    symptom="missing or deleted email",
    references=("https://learn.microsoft.com/purview/audit-mailboxes",
                "https://learn.microsoft.com/graph/api/message-move",
                "https://learn.microsoft.com/powershell/module/exchange/restore-recoverableitems"),
    scope="mailbox",
    kind="context",
    phase=2,
    needs=("audit_records",),
    reads=("sign_ins",),
    indicators=(("subject", "subject"),),
    advice=("a message the attacker hard-deleted is only in Purges: restore it with Restore-RecoverableItems "
            "(Mailbox Import Export role)"),
)

DELETES = {"softdelete": "SoftDelete", "harddelete": "HardDelete", "movetodeleteditems": "MoveToDeletedItems"}


def run(bundle: EvidenceBundle, context: Context) -> list[Finding] | NotChecked:
    familiar = familiar_ips(bundle, context)
    out: dict[str, Finding] = {}
    for r in sorted(bundle.records("audit_records"), key=lambda r: text(r, "CreationTime") or ""):
        operation = DELETES.get((text(r, "Operation") or "").lower())
        if operation is None:
            continue
        ip = normalise_ip(text(r, "ClientIP", "ClientIPAddress"))
        moment = when(r, "CreationTime")
        if ip and ip in context.attacker_ips:
            severity, by_attacker, why = Severity.MEDIUM, True, f"deleted from {ip}, an address the attacker used"
        elif context.in_suspicious_window(moment) and ip and ip not in familiar:
            severity, by_attacker, why = Severity.LOW, False, (f"deleted inside the suspicious window from {ip}, "
                                                                "an address the user was not seen at before")
        else:
            continue
        for item in mappings(items(r, "AffectedItems")):
            imid = text(item, "InternetMessageId")
            if not imid or imid in out:
                continue
            out[imid] = _finding(r, item, operation, imid, severity, by_attacker, why)
    return list(out.values())


def _finding(r: Mapping[str, Any], item: Mapping[str, Any], operation: str, imid: str, severity: Severity,
             by_attacker: bool, why: str) -> Finding:
    parent: Any = get(item, "ParentFolder") or get(r, "Folder") or {}
    folder_path = (text(parent, "Path") or "").lstrip("\\")
    subject = text(item, "Subject") or "(no subject)"
    where = {"SoftDelete": "Recoverable Items (Deletions)", "HardDelete": "Recoverable Items (Purges)",
             "MoveToDeletedItems": "Deleted Items"}[operation]
    return Finding(METADATA.id, severity, f'The message "{subject}" was deleted ({operation}) from '
                   f'{folder_path or "a folder"}; it is now in {where}.',
                   Artifact("deletedMail", imid),
                   evidence={"internetMessageId": imid, "subject": subject, "operation": operation,
                             "folderId": text(parent, "Id"), "folder": folder_path, "now": where,
                             "clientIP": normalise_ip(text(r, "ClientIP", "ClientIPAddress")),
                             "sessionId": text(r, "SessionId"), "auditRecord": text(r, "Id"),
                             "time": text(r, "CreationTime"), "byAttacker": by_attacker},
                   reasons=(why,), time=when(r, "CreationTime"), symptom=METADATA.symptom)
