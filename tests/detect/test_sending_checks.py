"""sent-items-gap, outbound-spike, restricted-sender: positive case, benign look-alike, malformed input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from reclaim.detect.evidence import NotCollected
from reclaim.detect.model import Severity
from tests.detect.helpers import NOW, by_check, not_checked, one, run


def trace(i: int, subject: str = "Hello", to: str = "bob@contoso.com", minutes: int = 0,
          sender: str = "alice@contoso.com") -> dict[str, Any]:
    return {"id": f"t{i}", "messageId": f"<m{i}@contoso.com>", "senderAddress": sender, "recipientAddress": to,
            "subject": subject, "receivedDateTime": (NOW - timedelta(hours=5, minutes=-minutes)).isoformat(),
            "fromIP": "203.0.113.9", "status": "Delivered"}


def sent(i: int, subject: str = "Hello", minutes: int = 0) -> dict[str, Any]:
    return {"id": f"s{i}", "internetMessageId": f"<m{i}@contoso.com>", "subject": subject,
            "sentDateTime": (NOW - timedelta(hours=5, minutes=-minutes)).isoformat()}

# -- sent-items-gap ---------------------------------------------------------------------------------


def test_messages_missing_from_sent_items() -> None:
    a = run(message_trace=[trace(i, f"Invoice {i}") for i in range(10)], sent_items=[sent(0, "Invoice 0")])
    f = one(by_check(a, "sent-items-gap"))
    assert f.severity is Severity.HIGH and f.evidence["missing"] == 9 and f.artifact.type == "sentItemsGap"


def test_all_present_by_id_or_subject_and_time() -> None:
    msgs = [trace(i, f"Note {i}", minutes=i) for i in range(6)]
    # one message to three recipients = three trace rows, one Sent Items copy
    msgs += [{**trace(9, "Team"), "recipientAddress": r} for r in ("a@contoso.com", "b@contoso.com", "c@x.com")]
    items = [sent(i, f"Note {i}", minutes=i) for i in range(3)] + [sent(9, "Team")]
    items += [{**sent(100 + i, f"note {i}", minutes=i + 2), "internetMessageId": None} for i in range(3, 6)]
    assert by_check(run(message_trace=msgs, sent_items=items), "sent-items-gap") == []


def test_sent_items_gap_malformed_or_missing() -> None:
    a = run(message_trace=[{"subject": 5}, None, {"receivedDateTime": "x"}], sent_items=[{"subject": []}])
    assert by_check(a, "sent-items-gap") == []
    b = run(message_trace=NotCollected("missing permission ExchangeMessageTrace.Read.All"), sent_items=[])
    assert "ExchangeMessageTrace.Read.All" in not_checked(b, "sent-items-gap")[0]

# -- outbound-spike ---------------------------------------------------------------------------------


def test_same_subject_to_many_outsiders_is_high() -> None:
    a = run(message_trace=[trace(i, "Shared document", to=f"victim{i}@example.net") for i in range(60)])
    f = one(by_check(a, "outbound-spike"))
    assert f.severity is Severity.HIGH and f.evidence["externalRecipients"] == 60


def test_normal_traffic_and_internal_announcement_are_not_spikes() -> None:
    msgs = [trace(i, f"Re: project {i % 7}", to=f"p{i}@partner.example") for i in range(40)]
    msgs += [trace(100 + i, "All hands", to=f"e{i}@contoso.com") for i in range(30)]
    assert by_check(run(message_trace=msgs), "outbound-spike") == []


def test_outbound_spike_malformed() -> None:
    a = run(message_trace=[{"recipientAddress": ["x"], "subject": None}] * 60)
    assert not [n for n in a.not_checked if n.check == "outbound-spike" and "read" in n.reason]

# -- restricted-sender ------------------------------------------------------------------------------


def test_blocked_sender_is_high() -> None:
    a = run(blocked_senders=[{"SenderAddress": "alice@contoso.com", "Reason": "OutboundSpamLimitExceeded",
                              "CreatedDatetime": "2026-11-19T08:00:00Z"}], ndr_messages=[], alerts=[])
    f = one(by_check(a, "restricted-sender"))
    assert f.severity is Severity.HIGH and f.artifact.id == "alice@contoso.com" and f.time is not None


def test_ndr_alone_is_medium_and_other_blocked_users_ignored() -> None:
    ndr = {"id": "n1", "subject": "Undeliverable: invoice", "bodyPreview": "550 5.1.8 Access denied, bad outbound "
           "sender", "receivedDateTime": "2026-11-19T09:00:00Z"}
    a = run(blocked_senders=[{"SenderAddress": "bob@contoso.com"}], ndr_messages=[ndr], alerts=NotCollected("403"))
    assert one(by_check(a, "restricted-sender")).severity is Severity.MEDIUM
    assert by_check(run(blocked_senders=[], ndr_messages=[{"subject": "Undeliverable"}], alerts=[]),
                    "restricted-sender") == []


def test_restricted_sender_alert_and_missing() -> None:
    a = run(blocked_senders=NotCollected("403"), ndr_messages=NotCollected("403"),
            alerts=[{"id": "al1", "title": "User restricted from sending email", "createdDateTime": "2026-11-19"}])
    assert one(by_check(a, "restricted-sender")).severity is Severity.HIGH
    b = run(blocked_senders=NotCollected("403"), ndr_messages=NotCollected("403"), alerts=NotCollected("403"))
    assert not_checked(b, "restricted-sender")
