"""mail-deleted-by-attacker and mail-sent-by-attacker: the attacker's deletions and mail, the user's own deletions
and mail (familiar address) left out, malformed input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from reclaim.detect.evidence import NotCollected
from reclaim.detect.model import Severity
from tests.detect.helpers import NOW, by_check, not_checked, run
from tests.detect.test_engine import bec_bundle

EVIL, HOME, ODD = "203.0.113.9", "198.51.100.1", "192.0.2.77"


def t(days: float) -> str:
    return (NOW - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S")


def deletion(rid: str, op: str, ip: str, days: float, imid: str, subject: str) -> dict[str, Any]:
    return {"Id": rid, "RecordType": 3, "Operation": op, "CreationTime": t(days), "ClientIP": ip,
            "ClientIPAddress": ip, "SessionId": f"s-{ip}", "Folder": {"Id": "F-IN", "Path": "\\Inbox"},
            "AffectedItems": [{"Id": f"i-{rid}", "InternetMessageId": imid, "Subject": subject,
                               "ParentFolder": {"Id": "F-IN", "Name": "Inbox", "Path": "\\Inbox"}}]}


def trace(tid: str, to: str, ip: str, days: float, subject: str, status: str = "Delivered") -> dict[str, Any]:
    return {"id": tid, "senderAddress": "alice@contoso.com", "recipientAddress": to, "messageId": f"<{tid}@x>",
            "subject": subject, "receivedDateTime": t(days), "status": status, "fromIP": ip}


def test_deletions_by_the_attacker_are_reported_and_her_own_are_not() -> None:
    base = bec_bundle()
    a = run(**{**base, "audit_records": [*base["audit_records"],
                                         deletion("d1", "SoftDelete", EVIL, 2.5, "<bank@v>", "Confirm bank change"),
                                         deletion("d2", "HardDelete", EVIL, 2.5, "<cb@v>", "Callback"),
                                         deletion("d3", "MoveToDeletedItems", ODD, 1, "<odd@v>", "Odd"),
                                         deletion("d4", "SoftDelete", HOME, 1, "<own@v>", "Parking"),
                                         deletion("d5", "SoftDelete", EVIL, 40, "<old@v>", "Old")]})
    found = {f.artifact.id: f for f in by_check(a, "mail-deleted-by-attacker")}
    assert set(found) == {"<bank@v>", "<cb@v>", "<odd@v>", "<old@v>"}  # an attacker address is the attacker's
    bank = found["<bank@v>"]
    assert bank.severity is Severity.MEDIUM and bank.kind == "context" and bank.evidence["byAttacker"] is True
    assert bank.evidence["folder"] == "Inbox" and bank.evidence["now"] == "Recoverable Items (Deletions)"
    assert found["<cb@v>"].evidence["operation"] == "HardDelete"
    odd = found["<odd@v>"]  # inside the window, from an address never seen: offered, not chosen
    assert odd.severity is Severity.LOW and odd.evidence["byAttacker"] is False
    assert a.verdict == run(**base).verdict  # context: the verdict rests on the indicators


def test_mail_sent_by_the_attacker_lists_colleagues_and_outside_recipients() -> None:
    base = bec_bundle()
    a = run(**{**base, "message_trace": [
        trace("p1", "mark@contoso.com", EVIL, 2, "Q4 Statement"),
        trace("p2", "x@fabrikam.example", EVIL, 2, "Q4 Statement"),
        trace("p3", "ben@contoso.com", EVIL, 2, "Q4 Statement", status="Failed"),
        trace("own", "mark@contoso.com", HOME, 2, "Q4 accruals"),
        trace("old", "ben@contoso.com", HOME, 30, "Lunch")]})
    f = by_check(a, "mail-sent-by-attacker")[0]
    assert f.kind == "context" and f.severity is Severity.MEDIUM
    assert [e["recipient"] for e in f.evidence["internal"]] == ["mark@contoso.com", "ben@contoso.com"]
    assert f.evidence["internalMailboxes"] == ["mark@contoso.com"]  # the failed delivery reached nobody
    assert [e["recipient"] for e in f.evidence["external"]] == ["x@fabrikam.example"]
    assert "<own@x>" not in repr(f.evidence)


def test_nothing_without_attacker_activity_and_malformed_input() -> None:
    clean = run(audit_records=[deletion("d4", "SoftDelete", HOME, 1, "<own@v>", "Parking")],
                message_trace=[trace("own", "mark@contoso.com", HOME, 2, "Hi")])
    assert by_check(clean, "mail-deleted-by-attacker") == [] and by_check(clean, "mail-sent-by-attacker") == []
    base = bec_bundle()
    bad = run(**{**base, "audit_records": [*base["audit_records"], {"Operation": "SoftDelete", "ClientIP": EVIL,
                                                                     "AffectedItems": "x"}, None],
                 "message_trace": [{"fromIP": EVIL}, None]})
    assert by_check(bad, "mail-deleted-by-attacker") == []
    assert not not_checked(bad, "mail-deleted-by-attacker")
    assert not_checked(run(**{**base, "audit_records": NotCollected("needs AuditLogsQuery.Read.All")}),
                       "mail-deleted-by-attacker")
    assert not_checked(run(**{**base, "message_trace": NotCollected("needs ExchangeMessageTrace.Read.All")}),
                       "mail-sent-by-attacker")
