"""sweep-rule, mailbox-forwarding, transport-rule-forwarding, automatic-replies, mailbox-delegate-added,
mobile-device-added: positive case, benign look-alike, malformed input."""

from __future__ import annotations

from datetime import timedelta

from reclaim.detect.evidence import NotCollected
from reclaim.detect.model import Severity
from tests.detect.helpers import NOW, by_check, not_checked, one, run

# -- sweep-rule -------------------------------------------------------------------------------------


def test_sweep_rule_deleting_security_mail_is_high() -> None:
    a = run(sweep_rules=[{"RuleId": "s1", "Name": "x", "Enabled": True, "Sender": "security@contoso.com",
                          "SourceFolder": "Inbox", "DestinationFolder": None}])
    f = one(by_check(a, "sweep-rule"))
    assert f.severity is Severity.HIGH and f.artifact.type == "sweepRule" and f.artifact.id == "s1"


def test_sweep_rule_for_a_newsletter_is_low_and_disabled_ignored() -> None:
    a = run(sweep_rules=[{"RuleId": "s1", "Name": "news", "Enabled": True, "Sender": "news@shop.example",
                          "DestinationFolder": "Deleted Items", "KeepLatest": 1},
                         {"RuleId": "s2", "Name": "old", "Enabled": False}])
    assert [f.severity for f in by_check(a, "sweep-rule")] == [Severity.LOW]


def test_sweep_rule_malformed_and_missing() -> None:
    a = run(sweep_rules=[{"RuleId": ["x"], "Sender": {"a": 1}}, None, "x"])
    assert not not_checked(a, "sweep-rule")
    assert not_checked(run(sweep_rules=NotCollected("throttled")), "sweep-rule") == ["sweep_rules not collected: "
                                                                                     "throttled"]

# -- mailbox-forwarding -----------------------------------------------------------------------------


def test_external_forwarding_without_copy_is_high() -> None:
    a = run(mailbox={"ForwardingSmtpAddress": "smtp:peter.griffin@familyguy.com",
                     "DeliverToMailboxAndForward": False},
            audit_records=[{"Id": "a1", "Operation": "Set-Mailbox", "CreationTime": "2026-11-19T22:19:00",
                            "ClientIP": "1.2.3.4", "Parameters": [{"Name": "ForwardingSmtpAddress",
                                                                    "Value": "smtp:peter.griffin@familyguy.com"}]}])
    f = one(by_check(a, "mailbox-forwarding"))
    assert f.severity is Severity.HIGH and f.artifact == f.artifact.__class__("mailboxForwarding", "u1")
    assert f.time is not None and "1.2.3.4" in " ".join(f.reasons)


def test_forwarding_with_copy_is_medium_and_internal_is_low() -> None:
    a = run(mailbox={"ForwardingSmtpAddress": "SMTP:x@gmail.com", "DeliverToMailboxAndForward": "True"})
    assert one(by_check(a, "mailbox-forwarding")).severity is Severity.MEDIUM
    b = run(mailbox={"ForwardingSmtpAddress": "smtp:marge@sub.contoso.com", "DeliverToMailboxAndForward": True})
    assert one(by_check(b, "mailbox-forwarding")).severity is Severity.LOW
    assert by_check(run(mailbox={"ForwardingSmtpAddress": None, "ForwardingAddress": None}), "mailbox-forwarding") == []


def test_forwarding_malformed_mailbox() -> None:
    a = run(mailbox=["not", "an", "object"])
    assert "malformed" in not_checked(a, "mailbox-forwarding")[0]
    b = run(mailbox={"ForwardingSmtpAddress": 42, "DeliverToMailboxAndForward": "perhaps"})
    assert all(f.severity.rank <= Severity.HIGH.rank for f in by_check(b, "mailbox-forwarding"))

# -- transport-rule-forwarding --------------------------------------------------------------------


def test_transport_rule_bcc_outside_is_high() -> None:
    a = run(transport_rules=[{"Guid": "t1", "Name": "Copy", "State": "Enabled", "Mode": "Enforce",
                              "BlindCopyTo": ["drop@evil.example"]}])
    f = one(by_check(a, "transport-rule-forwarding"))
    assert f.severity is Severity.HIGH and f.artifact.id == "t1"


def test_transport_rule_internal_or_disabled() -> None:
    a = run(transport_rules=[{"Guid": "t1", "Name": "Legal", "BlindCopyTo": ["legal@contoso.com"]},
                             {"Guid": "t2", "Name": "Off", "State": "Disabled", "RedirectMessageTo": "x@evil.example"},
                             {"Guid": "t3", "Name": "Broken", "BlindCopyTo": {"x": 1}}, 7])
    assert [(f.artifact.id, f.severity) for f in by_check(a, "transport-rule-forwarding")] == [("t2", Severity.LOW)]

# -- automatic-replies ---------------------------------------------------------------------------


def test_auto_reply_to_outsiders_with_bank_details_is_medium() -> None:
    a = run(mailbox_settings={"automaticRepliesSetting": {
        "status": "alwaysEnabled", "externalAudience": "all",
        "externalReplyMessage": "<p>Our bank details changed, new IBAN attached. Contact cfo@evil.example</p>"}})
    assert one(by_check(a, "automatic-replies")).severity is Severity.MEDIUM


def test_holiday_notice_is_low_and_disabled_is_nothing() -> None:
    a = run(mailbox_settings={"automaticRepliesSetting": {"status": "scheduled", "externalAudience": "none",
                                                          "internalReplyMessage": "On holiday until Monday"}})
    assert one(by_check(a, "automatic-replies")).severity is Severity.LOW
    assert by_check(run(mailbox_settings={"automaticRepliesSetting": {"status": "disabled"}}),
                    "automatic-replies") == []
    assert by_check(run(mailbox_settings={"automaticRepliesSetting": "on"}), "automatic-replies") == []

# -- mailbox-delegate-added / mobile-device-added (judged against the suspicious window) ----------

ATTACK = {"id": "s1", "createdDateTime": (NOW - timedelta(days=2)).isoformat(), "ipAddress": "203.0.113.9",
          "clientAppUsed": "IMAP4", "status": {"errorCode": 0}, "location": {"countryOrRegion": "NG"}}
HOME = [{"id": f"h{i}", "createdDateTime": (NOW - timedelta(days=20, hours=i)).isoformat(), "ipAddress": "198.51.100.1",
         "clientAppUsed": "Browser", "status": {"errorCode": 0}, "location": {"countryOrRegion": "DE"}}
        for i in range(5)]


def test_delegate_and_device_added_in_window_are_high() -> None:
    inside = (NOW - timedelta(days=1)).isoformat()
    a = run(sign_ins=[*HOME, ATTACK],
            user={"id": "u1", "userPrincipalName": "alice@contoso.com", "usageLocation": "DE"},
            mailbox_permissions=[{"User": "eve@contoso.com", "AccessRights": ["FullAccess"], "IsInherited": False,
                                  "WhenChanged": inside},
                                 {"User": "NT AUTHORITY\\SELF", "AccessRights": ["FullAccess"]}],
            recipient_permissions=[{"Trustee": "x@evil.example", "AccessRights": ["SendAs"]}],
            mobile_devices=[{"Guid": "d1", "DeviceModel": "iPhone", "FirstSyncTime": inside},
                            {"Guid": "d0", "DeviceModel": "Pixel", "FirstSyncTime": "2024-01-01T00:00:00Z"}])
    assert a.window is not None
    delegates = {f.artifact.id: f.severity for f in by_check(a, "mailbox-delegate-added")}
    assert delegates == {"eve@contoso.com": Severity.HIGH, "x@evil.example": Severity.HIGH}
    assert [(f.artifact.id, f.severity) for f in by_check(a, "mobile-device-added")] == [("d1", Severity.HIGH)]


def test_delegate_and_device_without_window_are_low() -> None:
    recent = (NOW - timedelta(days=3)).isoformat()
    a = run(mailbox_permissions=[{"User": "assistant@contoso.com", "AccessRights": "FullAccess",
                                  "WhenChanged": recent}],
            recipient_permissions=[], mobile_devices=[{"Guid": "d1", "DeviceModel": "iPhone", "FirstSyncTime": recent}])
    assert [f.severity for f in by_check(a, "mailbox-delegate-added")] == [Severity.LOW]
    assert [f.severity for f in by_check(a, "mobile-device-added")] == [Severity.LOW]


def test_delegate_and_device_malformed() -> None:
    a = run(mailbox_permissions=[{"User": None, "AccessRights": 5}, "x"], recipient_permissions=NotCollected("403"),
            mobile_devices=[{"FirstSyncTime": "yesterday"}, 3])
    assert by_check(a, "mailbox-delegate-added") == [] and by_check(a, "mobile-device-added") == []
    both = run(mailbox_permissions=NotCollected("403"), recipient_permissions=NotCollected("403"))
    assert not_checked(both, "mailbox-delegate-added")


def test_delegate_dated_by_audit_record_and_undated_is_info() -> None:
    inside = (NOW - timedelta(days=1)).isoformat()
    grant = {"Id": "g", "Operation": "Add-MailboxPermission", "CreationTime": inside, "ClientIP": "203.0.113.9",
             "Parameters": [{"Name": "Identity", "Value": "alice"}, {"Name": "User", "Value": "eve@contoso.com"},
                            {"Name": "AccessRights", "Value": "FullAccess"}]}
    perms = [{"User": "eve@contoso.com", "AccessRights": ["FullAccess"]},
             {"User": "assistant@contoso.com", "AccessRights": ["FullAccess"]}]
    a = run(sign_ins=[*HOME, ATTACK], user={"id": "u1", "userPrincipalName": "alice@contoso.com",
                                            "usageLocation": "DE"},
            mailbox_permissions=perms, recipient_permissions=[], audit_records=[grant])
    found = {f.artifact.id: f.severity for f in by_check(a, "mailbox-delegate-added")}
    assert found == {"eve@contoso.com": Severity.HIGH, "assistant@contoso.com": Severity.INFO}


def test_sweep_rule_removing_a_finance_senders_mail_is_medium_like_the_inbox_rule() -> None:
    for sender in ("accounts.payable@fabrikam-supplies.example", "invoices@vendor.example", "billing@saas.example"):
        a = run(sweep_rules=[{"RuleId": "s1", "Name": "tidy", "Enabled": True, "Sender": sender,
                              "SourceFolder": "Inbox", "DestinationFolder": None}])
        f = one(by_check(a, "sweep-rule"))
        assert f.severity is Severity.MEDIUM and any("finance or billing" in r for r in f.reasons), sender
    newsletter = run(sweep_rules=[{"RuleId": "s2", "Name": "news", "Enabled": True, "Sender": "deals@shop.example",
                                   "DestinationFolder": "Deleted Items"}])
    assert one(by_check(newsletter, "sweep-rule")).severity is Severity.LOW
