"""Shared by the checks on the account's mail trail (deleted, sent): which addresses are the user's own.

Not a check (the leading underscore keeps it out of the registry)."""

from __future__ import annotations

from datetime import datetime

from reclaim.detect.api import Context, EvidenceBundle, get, normalise_ip, text, when


def familiar_ips(bundle: EvidenceBundle, context: Context) -> frozenset[str]:
    """Addresses the user was seen at before the suspicious window (successful sign-ins, mailbox audit records),
    never one the attacker used. Evidence that was not collected adds nothing."""
    start = context.suspicious.since if context.suspicious is not None else None
    out: set[str] = set()

    def before(moment: datetime | None) -> bool:
        return moment is not None and (start is None or moment < start)

    if bundle.collected("sign_ins"):
        for s in bundle.records("sign_ins"):
            ok = get(get(s, "status"), "errorCode") in (0, None, "0") and before(when(s, "createdDateTime"))
            if ok and (ip := normalise_ip(text(s, "ipAddress"))):
                out.add(ip)
    if bundle.collected("audit_records"):
        for r in bundle.records("audit_records"):
            if before(when(r, "CreationTime")) and (ip := normalise_ip(text(r, "ClientIP", "ClientIPAddress"))):
                out.add(ip)
    return frozenset(out - context.attacker_ips)
