"""``bec-classic``: Contoso, where Alice in Accounts Payable shows every symptom of the procedure.

The story (times relative to today, UTC):

* day -3 16:12 Alice signs in from the Seattle office as every weekday. She had opened a lure
  ("Northwind Traders: remittance portal") that morning and typed her password into it.
* day -3 16:58 the attacker signs in over IMAP4 (legacy auth, no MFA: Alice is excluded from the
  "all users" MFA policy) from 203.0.113.45 in Lagos: impossible travel. 17:01 browser sign-in.
* 17:06 consent to the unverified app "Outlook Secure Access" (Mail.ReadWrite Mail.Send offline_access);
  17:09 a phone (+234) registered as MFA method; 17:12 rule "." moving finance mail to RSS Feeds, marked
  read; 17:13 rule ".." deleting warnings (later hidden); 17:15 mailbox forwarding to
  invoices.contoso@mailvault.example without a local copy; 17:18 a sweep rule; 17:20 the "." rule
  widened; 17:22 display name changed to "Contoso Accounts Payable"; 17:25 an ActiveSync device;
  17:27 automatic replies; 17:30 FullAccess on her mailbox for Mark (whom the attacker phishes next).
* day -2 03:09 SMTP AUTH sign-in, then 120 phishing messages in half an hour (missing from Sent Items);
  03:35 the account is restricted (OutboundSpamLimitExceeded), the last 12 fail; NDRs "550 5.1.8"; the
  "did you send this?" replies are deleted by the hidden rule; alert "User restricted from sending email".
* day -2 06:31 Mark Davis (Procurement), one of the internal recipients, signs in from the same IP; 06:36 an
  inbox rule "Invoices" forwards invoice mail to the same external address (the second victim).
* day -1 05:02 Pat Kim, another recipient, gave her password away too, but six MFA prompts were denied
  (suspicious: password known, mailbox untouched).
* Ben, Grace, Raj, Sam and Linda are clean, with benign look-alikes: newsletters and vendor mail to folders,
  a marketing sender to Junk, a forward to an internal colleague, the system Junk and OOF rules, an
  external payroll forward (medium), an assistant's long-standing delegate rights, a CEO on holiday.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from reclaim.emulator.scenarios import _bec_drive, _bec_mail, _bec_recovery
from reclaim.emulator.scenarios._common import (
    EXO_APP_ID,
    GLOBAL_ADMIN_ROLE_TEMPLATE,
    GRAPH_APP_ID,
    MOBILE_PHONE_METHOD_ID,
    OFFICE_HOME_APP_ID,
    Scenario,
    alert,
    audit_record,
    authenticator_method,
    ca_policy,
    directory_audit,
    empty_planted,
    fid,
    fido2_method,
    grant,
    grant_id,
    guid,
    inbox_rule,
    initiator_app,
    initiator_user,
    message,
    message_id,
    mobile_device,
    phone_method,
    recipient,
    risk_detection,
    rule_id,
    service_principal,
    sign_in,
    standard_transport_rules,
    sweep_id,
    sweep_rule,
    system_rules,
    target_user,
    truth_entry,
    user_object,
)
from reclaim.emulator.scenarios._tenant import (
    graph_sp_id,
    open_tenant,
    scenario_truth,
    tenant_settings,
    zoom_app,
    zoom_grant,
)

JSON = dict[str, Any]

K = "contoso"
TENANT_ID = "3c6a2f1e-8d4b-4a7e-9f2c-5b1d0e7a6c94"
ATTACKER_IP = "203.0.113.45"
ATTACKER_PLACE = "lagos"
ATTACKER_FORWARD = "invoices.contoso@mailvault.example"
ATTACKER_APP_ID = "7a1d3e5f-2b4c-4d6e-8f90-a1b2c3d4e5f6"
ATTACKER_TENANT = "9e8d7c6b-5a49-4382-b1a0-f9e8d7c6b5a4"
ATTACKER_PHONE = "+234 8030000142"
PHISH_SUBJECT = 'Contoso Finance shared "Q4 Statement.pdf" with you'
#: the finance mail the "." rule hides in RSS Feeds (the attacker opens each of them)
HIDDEN_SUBJECTS = ("Invoice INV-20931 overdue - second reminder", "Payment confirmation PO 4471",
                   "Updated wire transfer instructions", "Bank details verification")
OFFICE_IP = "192.0.2.10"
CHICAGO_IP = "192.0.2.140"
MOBILE_IP = "192.0.2.201"

UPN = {k: f"{k}@contoso.com" for k in ("alice.wu", "mark.davis", "pat.kim", "ben.carter", "grace.lee",
                                        "raj.patel", "sam.ortiz", "linda.ross")}

_EXTERNAL_DOMAINS = ("northwind-traders.example", "fabrikam.example", "tailspintoys.example",
                     "wingtiptoys.example", "adatum.example", "litwareinc.example", "woodgrovebank.example",
                     "proseware.example", "fourthcoffee.example", "treyresearch.example",
                     "lucernepublishing.example", "margiestravel.example")
_LOCALS = ("j.miller", "accounts", "s.novak", "payables", "k.osei", "finance", "m.rossi", "ap", "d.tanaka",
           "billing", "l.garcia")

NDR_BODY = ("Delivery has failed to these recipients or groups:\n\n{to}\nYour message couldn't be delivered "
            "because you weren't recognized as a valid sender. The most common reason for this is that your "
            "email address is suspected of sending spam and it's no longer allowed to send messages outside of "
            "your organization. Contact your email admin for assistance.\n\nDiagnostic information for "
            "administrators:\n\nGenerating server: BY5PR01MB5601.namprd01.prod.outlook.com\n\n{to}\n"
            "Remote server returned '550 5.1.8 Access denied, bad outbound sender AS(42004)'")


def build() -> dict[str, Any]:
    t = open_tenant(K, TENANT_ID, "Contoso", apps_created=(700, 15))
    clock, graph_sp = t.clock, graph_sp_id(K)

    alice = t.add_user(user_object(
        guid(K, "user", "alice"), UPN["alice.wu"], "Alice Wu", job="Accounts Payable Specialist",
        department="Finance", office="Seattle HQ", created=clock.days_ago(540, 16), mobile="+1 206 555 0142",
        custom_folders=("RSS Feeds", "Vendors"),
        password_policies="DisablePasswordExpiration, DisableStrongPassword"))  # noqa: S106 - a policy name
    mark = t.add_user(user_object(
        guid(K, "user", "mark"), UPN["mark.davis"], "Mark Davis", job="Procurement Lead", department="Operations",
        office="Seattle HQ", created=clock.days_ago(820, 17), custom_folders=("Suppliers",)))
    pat = t.add_user(user_object(
        guid(K, "user", "pat"), UPN["pat.kim"], "Pat Kim", job="Sales Representative", department="Sales",
        office="Seattle HQ", created=clock.days_ago(300, 18)))
    ben = t.add_user(user_object(
        guid(K, "user", "ben"), UPN["ben.carter"], "Ben Carter", job="Marketing Manager", department="Marketing",
        office="Seattle HQ", created=clock.days_ago(960, 16), custom_folders=("Newsletters", "Campaigns")))
    grace = t.add_user(user_object(
        guid(K, "user", "grace"), UPN["grace.lee"], "Grace Lee", job="Executive Assistant",
        department="Executive Office", office="Chicago", created=clock.days_ago(1100, 15),
        custom_folders=("Project Falcon",)))
    raj = t.add_user(user_object(
        guid(K, "user", "raj"), UPN["raj.patel"], "Raj Patel", job="Payroll Manager", department="Human Resources",
        office="Seattle HQ", created=clock.days_ago(640, 16), custom_folders=("HR Cases",)))
    sam = t.add_user(user_object(
        guid(K, "user", "sam"), UPN["sam.ortiz"], "Sam Ortiz", job="IT Administrator", department="IT",
        office="Seattle HQ", created=clock.days_ago(1200, 16), custom_folders=("Alerts",)))
    linda = t.add_user(user_object(
        guid(K, "user", "linda"), UPN["linda.ross"], "Linda Ross", job="Chief Executive Officer",
        department="Executive Office", office="Seattle HQ", created=clock.days_ago(1300, 16),
        custom_folders=("Board",)))

    # ------------------------------------------------------------------ the month before: ordinary life
    # Alice and Mark are excluded from the MFA policy: Conditional Access does not apply to their sign-ins.
    t.history(alice, ip=OFFICE_IP, place="seattle", hour=16, days=range(29, 0, -1), mobile_ip=MOBILE_IP,
              ca_status="notApplied")
    t.history(mark, ip=OFFICE_IP, place="seattle", hour=15, days=range(29, 0, -1), mobile_ip=MOBILE_IP,
              ca_status="notApplied")
    for u, hour in ((pat, 17), (ben, 16), (raj, 16), (sam, 15), (linda, 14)):
        t.history(u, ip=OFFICE_IP, place="seattle", hour=hour, days=range(29, 0, -1), mobile_ip=MOBILE_IP)
    t.history(grace, ip=CHICAGO_IP, place="chicago", hour=14, days=range(29, 0, -1), device="mac-safari")
    # Alice's last ordinary sign-in before the attacker's, on the day of the attack (whatever weekday).
    last_ok = sign_in(guid(K, "signin", "alice", "attack-day"), alice, when=clock.days_ago(3, 16, 12, 41),
                      ip=OFFICE_IP, place="seattle", app="OfficeHome", app_id=OFFICE_HOME_APP_ID,
                      ca_status="notApplied")
    t.sign_ins.append(last_ok)

    colleagues = [(u["mail"], u["displayName"]) for u in (mark, ben, grace, raj, linda)]
    vendors = [(f"{_LOCALS[i]}@{_EXTERNAL_DOMAINS[i]}", _LOCALS[i]) for i in range(6)]
    own_sent = ("", "", "")
    for d in (27, 24, 20, 17, 13, 10, 8, 6, 4):
        subject, at_own = f"RE: Invoice reconciliation week {52 - d // 7}", clock.days_ago(d, 17, 40)
        own_imid, _ = t.send(alice, [vendors[d % 6]], subject, "Hi, payment is scheduled for Friday. Regards, Alice",
                             at_own, tag="alice")
        own_sent = (own_imid, subject, at_own)
        t.send(alice, [colleagues[d % 5]], "Q4 accruals", "Please see the updated accruals sheet.",
               clock.days_ago(d, 19, 5), tag="alice")
    for u, subj in ((mark, "PO 4471 approval"), (ben, "Campaign brief"), (grace, "Board pack"),
                    (raj, "Payroll cut-off reminder"), (sam, "Maintenance window Saturday"),
                    (linda, "All-hands agenda")):
        others = [c for c in colleagues if c[0] != u["mail"]]
        for d in (22, 15, 9, 5):
            t.send(u, [others[(d + len(subj)) % len(others)]], subj, "See attached. Thanks!", clock.days_ago(d, 18, 20),
                   tag=u["id"][:4])
        t.receive(u, vendors[len(subj) % 6], "Meeting follow-up", "Thanks for your time today.",
                  clock.days_ago(11, 20, 2))
    for d in (26, 19, 12, 7):
        t.receive(alice, vendors[d % 6], f"Invoice INV-{20800 + d} from {_EXTERNAL_DOMAINS[d % 6].split('.')[0]}",
                  "Please find attached our invoice. Payment terms 30 days.", clock.days_ago(d, 15, 30))

    # ------------------------------------------------------------------ the lure and the attack (day -3)
    t.receive(alice, ("no-reply@northwind-remit.example", "Northwind Traders"),
              "Northwind Traders: remittance portal - action required",
              "A remittance advice is waiting for you. Sign in with your Microsoft 365 account to view it.",
              clock.days_ago(3, 15, 41), from_ip="198.51.100.200")
    p = empty_planted()
    aip, apl = ATTACKER_IP, ATTACKER_PLACE
    s_imap = sign_in(guid(K, "signin", "alice", "imap"), alice, when=clock.days_ago(3, 16, 58, 7), client="IMAP4",
                     device="linux-unknown", risk_level="high", risk_state="atRisk",
                     risk_events=["unlikelyTravel"], ca_status="notApplied", user_agent="BAV2ROPC", ip=aip, place=apl)
    s_web = sign_in(guid(K, "signin", "alice", "browser"), alice, when=clock.days_ago(3, 17, 1, 33),
                    app="OfficeHome", app_id=OFFICE_HOME_APP_ID, device="win-chrome-new", risk_level="medium",
                    risk_state="atRisk", risk_events=["unfamiliarFeatures"], ca_status="notApplied", ip=aip, place=apl)
    s_smtp = sign_in(guid(K, "signin", "alice", "smtp"), alice, when=clock.days_ago(2, 3, 9, 12),
                     client="Authenticated SMTP", device="linux-unknown", risk_level="high", risk_state="atRisk",
                     risk_events=[], ca_status="notApplied", user_agent="BAV2ROPC", ip=aip, place=apl)
    t.sign_ins.extend([s_imap, s_web, s_smtp])
    p["signIns"] = [s_imap["id"], s_web["id"], s_smtp["id"]]
    p["legacyProtocols"] = ["IMAP4", "Authenticated SMTP"]

    # consent to the unverified app
    sp = service_principal(guid(K, "sp", "attacker-app"), ATTACKER_APP_ID, "Outlook Secure Access",
                           publisher="Default Directory", verified=False, owner_tenant=ATTACKER_TENANT,
                           created=clock.days_ago(3, 17, 6, 2), reply_urls=["http://localhost:8400/callback"])
    t.service_principals.append(sp)
    g = grant(grant_id(K, "alice", "attacker-app"), sp["id"], graph_sp, alice["id"],
              "Mail.ReadWrite Mail.Send offline_access")
    alice["oauth2PermissionGrants"].append(g)
    p["oauth2PermissionGrants"], p["servicePrincipals"] = [g["id"]], [sp["id"]]
    sp_target = {"id": sp["id"], "displayName": sp["displayName"], "type": "ServicePrincipal",
                 "userPrincipalName": None, "groupType": None, "modifiedProperties": []}
    consent = directory_audit(guid(K, "da", "consent"), when=clock.days_ago(3, 17, 6, 5),
                              activity="Consent to application", category="ApplicationManagement",
                              initiated_by=initiator_user(alice, ATTACKER_IP), operation="Assign",
                              targets=[{**sp_target, "modifiedProperties": [
                                  {"displayName": "ConsentContext.IsAdminConsent", "oldValue": None,
                                   "newValue": '"False"'},
                                  {"displayName": "ConsentAction.Permissions", "oldValue": None,
                                   "newValue": f'"[] => [[Id: {g["id"]}, ClientId: {sp["id"]}, PrincipalId: '
                                               f'{alice["id"]}, ResourceId: {graph_sp}, ConsentType: Principal, '
                                               f'Scope: Mail.ReadWrite Mail.Send offline_access]]"'}]}])
    add_sp = directory_audit(guid(K, "da", "add-sp"), when=clock.days_ago(3, 17, 6, 2),
                             activity="Add service principal", category="ApplicationManagement",
                             initiated_by=initiator_user(alice, ATTACKER_IP), operation="Add", targets=[sp_target])

    # MFA phone registered by the attacker; Alice's own authenticator app is old
    alice["authenticationMethods"].append(authenticator_method(guid(K, "m", "alice", "app"), "iPhone 14",
                                                               clock.days_ago(410, 17)))
    alice["authenticationMethods"].append(phone_method(ATTACKER_PHONE, clock.days_ago(3, 17, 9, 40)))
    p["authenticationMethods"] = [MOBILE_PHONE_METHOD_ID]
    mfa = directory_audit(guid(K, "da", "mfa"), when=clock.days_ago(3, 17, 9, 41),
                          activity="User registered security info", category="UserManagement",
                          initiated_by=initiator_user(alice, ATTACKER_IP), service="Authentication Methods",
                          operation="Add", result_reason="User registered Mobile Phone SMS",
                          targets=[target_user(alice, [])])
    strong = directory_audit(guid(K, "da", "mfa-update"), when=clock.days_ago(3, 17, 9, 43),
                             activity="Update user", category="UserManagement",
                             initiated_by=initiator_app("Azure MFA StrongAuthenticationService",
                                                        guid(K, "sp", "mfa-service")),
                             targets=[target_user(alice, [("StrongAuthenticationPhoneDetail", None,
                                                           {"PhoneNumber": ATTACKER_PHONE, "PhoneType": 0})])])

    # inbox rules: "." hides finance mail in RSS Feeds; ".." (hidden) deletes warnings
    mbx = alice["mailbox"]
    rss = fid(mbx["folders"], "RSS Feeds")
    vendor_rule = inbox_rule(rule_id(K, "alice", "vendors"), "Vendor statements", sequence=1,
                             conditions={"senderContains": ["statements@"]},
                             actions={"moveToFolder": fid(mbx["folders"], "Vendors"), "stopProcessingRules": False})
    hide = inbox_rule(rule_id(K, "alice", "dot"), ".", sequence=2,
                      conditions={"bodyOrSubjectContains": ["invoice", "payment", "wire", "bank", "remittance"]},
                      actions={"moveToFolder": rss, "markAsRead": True, "stopProcessingRules": True})
    hidden = inbox_rule(rule_id(K, "alice", "dotdot"), "..", sequence=3, hidden=True,
                        conditions={"bodyOrSubjectContains": ["hacked", "phishing", "did you send", "virus",
                                                              "suspicious", "not from me"]},
                        actions={"delete": True, "markAsRead": True, "stopProcessingRules": True})
    mbx["inboxRules"] = [vendor_rule, hide, hidden, *system_rules(alice["id"], fid(mbx["folders"], "junkemail"),
                                                                  oof=False)]
    p["inboxRules"], p["hiddenInboxRules"] = [hide["id"]], [hidden["id"]]
    ex_org = f"BY5PR01MB5601.namprd01.prod.outlook.com/Microsoft Exchange Hosted Organizations/{t.org}/alice.wu"
    rec = [
        audit_record(guid(K, "ual", "alice", "rule1"), when=clock.days_ago(3, 17, 12, 3), operation="New-InboxRule",
                     user=alice["userPrincipalName"], ip=f"{ATTACKER_IP}:50412", org=t.org, tenant_id=TENANT_ID,
                     object_id=ex_org + "\\.", parameters=[
                         ("AlwaysDeleteOutlookRulesBlob", "False"), ("Force", "False"), ("Name", "."),
                         ("SubjectOrBodyContainsWords", "invoice;payment;wire"), ("MoveToFolder", "RSS Feeds"),
                         ("MarkAsRead", "True"), ("StopProcessingRules", "True")]),
        audit_record(guid(K, "ual", "alice", "rule2"), when=clock.days_ago(3, 17, 13, 51), operation="New-InboxRule",
                     user=alice["userPrincipalName"], ip=f"{ATTACKER_IP}:50419", org=t.org, tenant_id=TENANT_ID,
                     object_id=ex_org + "\\..", parameters=[
                         ("AlwaysDeleteOutlookRulesBlob", "False"), ("Force", "False"), ("Name", ".."),
                         ("SubjectOrBodyContainsWords", "hacked;phishing;did you send;virus;suspicious;not from me"),
                         ("DeleteMessage", "True"), ("MarkAsRead", "True"), ("StopProcessingRules", "True")]),
        audit_record(guid(K, "ual", "alice", "fwd"), when=clock.days_ago(3, 17, 15, 20), operation="Set-Mailbox",
                     user=alice["userPrincipalName"], ip=f"{ATTACKER_IP}:50433", org=t.org, tenant_id=TENANT_ID,
                     object_id=ex_org, parameters=[
                         ("Identity", alice["id"]), ("ForwardingSmtpAddress", f"smtp:{ATTACKER_FORWARD}"),
                         ("DeliverToMailboxAndForward", "False")]),
        audit_record(guid(K, "ual", "alice", "rule1b"), when=clock.days_ago(3, 17, 20, 8), operation="Set-InboxRule",
                     user=alice["userPrincipalName"], ip=f"{ATTACKER_IP}:50440", org=t.org, tenant_id=TENANT_ID,
                     object_id=ex_org + "\\.", parameters=[
                         ("Identity", hide["id"]),
                         ("SubjectOrBodyContainsWords", "invoice;payment;wire;bank;remittance")]),
        audit_record(guid(K, "ual", "alice", "oof"), when=clock.days_ago(3, 17, 27, 30),
                     operation="Set-MailboxAutoReplyConfiguration", user=alice["userPrincipalName"],
                     ip=f"{ATTACKER_IP}:50466", org=t.org, tenant_id=TENANT_ID, object_id=ex_org, parameters=[
                         ("Identity", alice["id"]), ("AutoReplyState", "Enabled"), ("ExternalAudience", "All")]),
        audit_record(guid(K, "ual", "alice", "perm"), when=clock.days_ago(3, 17, 30, 12),
                     operation="Add-MailboxPermission", user=alice["userPrincipalName"], ip=f"{ATTACKER_IP}:50471",
                     org=t.org, tenant_id=TENANT_ID, object_id=ex_org, parameters=[
                         ("Identity", alice["id"]), ("User", mark["userPrincipalName"]),
                         ("AccessRights", "FullAccess"), ("InheritanceType", "All")]),
    ]
    t.audit_records.extend(rec)
    p["auditRecords"] = [r["Id"] for r in rec]

    # mailbox forwarding without a local copy
    mbx["forwardingSmtpAddress"] = f"smtp:{ATTACKER_FORWARD}"
    mbx["deliverToMailboxAndForward"] = False
    p["forwarding"] = {"forwardingSmtpAddress": f"smtp:{ATTACKER_FORWARD}", "forwardingAddress": None,
                       "deliverToMailboxAndForward": False}

    # sweep rule: IT's messages leave the inbox for Deleted Items
    sw = sweep_rule(sweep_id(K, "alice", "it"), "Move all messages from IT Service Desk", alice["mail"],
                    source="Inbox", destination="Deleted Items", sender="servicedesk@contoso.com")
    mbx["sweepRules"] = [sw]
    p["sweepRules"] = [sw["ruleId"]]

    # display name
    dn = directory_audit(guid(K, "da", "displayname"), when=clock.days_ago(3, 17, 22, 18), activity="Update user",
                         category="UserManagement", initiated_by=initiator_user(alice, ATTACKER_IP),
                         targets=[target_user(alice, [("DisplayName", "Alice Wu", "Contoso Accounts Payable")])])
    t.directory_audits.extend([consent, add_sp, mfa, strong, dn])
    p["directoryAudits"] = [a["id"] for a in (consent, add_sp, mfa, strong, dn)]
    p["displayNameChanged"] = True

    # devices: her own iPhone (old), the attacker's Android (new)
    own_dev = mobile_device(guid(K, "dev", "alice", "iphone"), alice["mail"], "Alice Wu", device_type="Outlook",
                            model="Outlook for iOS and Android", os="iOS 17.6", user_agent="Outlook-iOS/2.0",
                            first_sync=clock.days_ago(400, 18), last_sync=clock.days_ago(1, 21), client_type="Outlook")
    bad_dev = mobile_device(guid(K, "dev", "alice", "android"), alice["mail"], "Alice Wu", device_type="Android",
                            model="SM-A515F", os="Android 12", user_agent="Android-Mail/2023.10.29.576452013",
                            first_sync=clock.days_ago(3, 17, 25, 9), last_sync=clock.days_ago(1, 2, 14))
    mbx["mobileDevices"] = [own_dev, bad_dev]
    p["mobileDevices"] = [bad_dev["id"]]

    # automatic replies set by the attacker, FullAccess for Mark
    mbx["automaticRepliesSetting"] = {
        "status": "alwaysEnabled", "externalAudience": "all",
        "internalReplyMessage": "I am out of the office with limited access to email.",
        "externalReplyMessage": "I am out of the office with limited access to email. For payment matters "
                                "please reply to this message and I will respond as soon as possible.",
        "scheduledStartDateTime": {"dateTime": clock.days_ago(3, 17, 27), "timeZone": "UTC"},
        "scheduledEndDateTime": {"dateTime": clock.days_ago(-30, 17, 27), "timeZone": "UTC"}}
    p["automaticReplies"] = True
    mbx["permissions"] = [{"user": mark["userPrincipalName"], "accessRights": ["FullAccess"], "isInherited": False,
                           "deny": False, "inheritanceType": "All"}]
    p["mailboxPermissions"] = [{"user": mark["userPrincipalName"], "accessRights": ["FullAccess"]}]

    # finance mail already hidden in RSS Feeds
    for i, (subj, who) in enumerate(zip(HIDDEN_SUBJECTS, vendors[:4], strict=True)):
        t.receive(alice, who, subj, "Dear customer, please see the details below.",
                  clock.days_ago(2 if i < 2 else 1, 15 + i, 5), folder="RSS Feeds")

    # ------------------------------------------------------------------ day -2: the spam run
    internal = {5: mark, 17: pat, 40: ben, 77: grace}
    spam_body = ("You have received a secure document. Review and sign in to view: "
                 "https://contoso-docs.sharepoint-viewer.example/q4")
    spam_ids: list[str] = []
    spam_to: list[str] = []
    phish_sent: list[tuple[str, str, str]] = []
    for i in range(120):
        victim = internal.get(i)
        to = (victim["mail"], victim["displayName"]) if victim else (
            f"{_LOCALS[i % len(_LOCALS)]}{i}@{_EXTERNAL_DOMAINS[(i * 7) % len(_EXTERNAL_DOMAINS)]}", "")
        at = clock.at(2, 3, 10) + timedelta(seconds=14 * i)
        spam_to.append(to[0])
        imid, ids = t.send(alice, [to], PHISH_SUBJECT, spam_body, clock.iso(at), from_ip=ATTACKER_IP,
                           status="failed" if i >= 108 else "delivered", in_sent_items=False, tag="spam")
        spam_ids.extend(ids)
        phish_sent.append((imid, PHISH_SUBJECT, clock.iso(at)))
    p["messageTraces"] = spam_ids
    blocked_at = clock.days_ago(2, 3, 35, 16)
    t.blocked_senders.append({"senderAddress": alice["mail"], "reason": "OutboundSpamLimitExceeded",
                              "createdDatetime": blocked_at, "changedDatetime": blocked_at,
                              "restrictionType": "OutboundSpamLimitExceeded"})
    p["blockedSender"] = True
    ndrs: list[str] = []
    for when, subject, addr in ((clock.days_ago(2, 3, 35, 40), PHISH_SUBJECT, spam_to[108]),
                                (clock.days_ago(2, 3, 36, 2), PHISH_SUBJECT, spam_to[109]),
                                (clock.days_ago(2, 16, 31), "RE: Q4 accruals", vendors[0][0]),
                                (clock.days_ago(1, 16, 47), "Year-end close timetable", vendors[4][0])):
        if not subject.startswith(PHISH_SUBJECT):
            t.send(alice, [(addr, "")], subject, "Please confirm receipt.", when, status="failed", tag="alice")
        mid = message_id(K, "ndr", when)
        mbx["messages"]["inbox"].append(message(
            mid, folder=fid(mbx["folders"], "inbox"), subject=f"Undeliverable: {subject}",
            sender=("postmaster@contoso.onmicrosoft.com", "Microsoft Outlook"), to=[(alice["mail"], "Alice Wu")],
            when=when, body=NDR_BODY.format(to=addr), is_read=False, importance="high",
            imid=f"<{mid[-20:-4]}@BY5PR01MB5601.namprd01.prod.outlook.com>"))
        ndrs.append(mid)
    p["ndrMessages"] = ndrs
    # warnings the hidden rule deleted
    for i, (who, subj) in enumerate(((vendors[5], f"RE: {PHISH_SUBJECT} - did you send this?"),
                                     (("k.osei@tailspintoys.example", "Kofi Osei"), "Is your account hacked?"),
                                     (("j.miller@wingtiptoys.example", "J Miller"),
                                      f"RE: {PHISH_SUBJECT} - looks like phishing"))):
        t.receive(alice, who, subj, "I received a strange message from you, please check.",
                  clock.days_ago(2, 4 + i, 12), folder="deleteditems")
    t.send(sam, [(alice["mail"], "Alice Wu")], "Phishing warning - suspicious message sent from your account",
           "Alice, your account sent a suspicious message overnight. Please call the service desk.",
           clock.days_ago(2, 15, 2), deliver_internal=False)
    alice_mbx_del = mbx["messages"]["deleteditems"]
    alice_mbx_del.append(message(message_id(K, "alice", "it-warning"), folder=fid(mbx["folders"], "deleteditems"),
                                 subject="Phishing warning - suspicious message sent from your account",
                                 sender=(sam["mail"], sam["displayName"]), to=[(alice["mail"], "Alice Wu")],
                                 when=clock.days_ago(2, 15, 2), body="Alice, your account sent a suspicious message "
                                 "overnight. Please call the service desk.", imid="<it-warning@contoso.com>"))

    # alerts and risk
    a1 = alert(f"fa{guid(K, 'alert', 'restricted').replace('-', '')[:30]}", alice, when=clock.days_ago(2, 3, 36),
               title="User restricted from sending email",
               description="A user was restricted from sending email because of outbound spam.",
               severity="high", category="ThreatManagement", service="microsoftDefenderForOffice365",
               tenant_id=TENANT_ID)
    a2 = alert(f"ad{guid(K, 'alert', 'travel').replace('-', '')[:30]}", alice, when=clock.days_ago(3, 17, 40),
               title="Atypical travel", description="Sign-in from an atypical location based on the user's recent "
               "sign-ins.", severity="medium", category="InitialAccess", service="azureAdIdentityProtection",
               tenant_id=TENANT_ID)
    t.alerts.extend([a1, a2])
    p["alerts"] = [a1["id"], a2["id"]]
    r1 = risk_detection(guid(K, "rd", "travel"), alice, when=s_imap["createdDateTime"], event="unlikelyTravel",
                        level="high", request_id=s_imap["correlationId"], ip=aip, place=apl)
    r2 = risk_detection(guid(K, "rd", "unfamiliar"), alice, when=s_web["createdDateTime"], event="unfamiliarFeatures",
                        level="medium", timing="realtime", request_id=s_web["correlationId"], ip=aip, place=apl)
    r3 = risk_detection(guid(K, "rd", "fwd"), alice, when=clock.days_ago(3, 18, 5), event="suspiciousInboxForwarding",
                        level="medium", source="MicrosoftCloudAppSecurity", ip=aip, place=apl)
    t.risk_detections.extend([r1, r2, r3])
    p["riskDetections"] = [r1["id"], r2["id"], r3["id"]]
    alice["risk"] = {"riskLevel": "high", "riskState": "atRisk", "riskDetail": "none",
                     "riskLastUpdatedDateTime": clock.days_ago(3, 18, 5)}
    alice["displayName"] = "Contoso Accounts Payable"
    alice["mailbox"]["casMailbox"]["smtpClientAuthenticationDisabled"] = False
    truth = {UPN["alice.wu"]: truth_entry(alice, "compromised", p, [
        "legacySignIn", "riskySignIn", "oauthGrant", "mfaMethod", "hidingRule", "hiddenDeleteRule", "smtpForwarding",
        "sweepRule", "displayName", "mobileDevice", "autoReply", "delegate", "spam", "blockedSender"])}
    truth[UPN["alice.wu"]]["prevention"] = ["mfaNotRequired", "weakPasswordPolicy"]

    # ------------------------------------------------------------------ the second victim: Mark
    pm = empty_planted()
    s_mark = sign_in(guid(K, "signin", "mark", "attacker"), mark, when=clock.days_ago(2, 6, 31, 4), app="OfficeHome",
                     app_id=OFFICE_HOME_APP_ID, device="win-chrome-new", ca_status="notApplied", ip=aip, place=apl)
    t.sign_ins.append(s_mark)
    pm["signIns"] = [s_mark["id"]]
    mm = mark["mailbox"]
    mark_rules = [
        inbox_rule(rule_id(K, "mark", "suppliers"), "Suppliers", sequence=1,
                   conditions={"senderContains": ["@northwind-traders.example", "@tailspintoys.example"]},
                   actions={"moveToFolder": fid(mm["folders"], "Suppliers")}),
        inbox_rule(rule_id(K, "mark", "invoices"), "Invoices", sequence=2,
                   conditions={"subjectContains": ["invoice", "remittance"]},
                   actions={"forwardTo": [recipient(ATTACKER_FORWARD, "Invoices")]}),
    ]
    mm["inboxRules"] = [*mark_rules, *system_rules(mark["id"], fid(mm["folders"], "junkemail"), oof=False)]
    pm["inboxRules"] = [mark_rules[1]["id"]]
    mark_rec = audit_record(guid(K, "ual", "mark", "rule"), when=clock.days_ago(2, 6, 36, 40),
                            operation="New-InboxRule", user=mark["userPrincipalName"], ip=f"{ATTACKER_IP}:61220",
                            org=t.org, tenant_id=TENANT_ID,
                            object_id=ex_org.replace("alice.wu", "mark.davis") + "\\Invoices",
                            parameters=[("AlwaysDeleteOutlookRulesBlob", "False"), ("Force", "False"),
                                        ("Name", "Invoices"), ("SubjectContainsWords", "invoice;remittance"),
                                        ("ForwardTo", ATTACKER_FORWARD)])
    t.audit_records.append(mark_rec)
    pm["auditRecords"] = [mark_rec["Id"]]
    mark["authenticationMethods"].append(authenticator_method(guid(K, "m", "mark", "app"), "Pixel 8",
                                                              clock.days_ago(600, 16)))
    truth[UPN["mark.davis"]] = truth_entry(
        mark, "compromised", pm, ["riskySignIn", "forwardRule"],
        note="second victim: one sign-in from the attacker's IP, a plain-looking rule forwarding invoices to the "
             "attacker's address; Identity Protection raised nothing")
    truth[UPN["mark.davis"]]["prevention"] = ["mfaNotRequired"]

    # ------------------------------------------------------------------ the suspicious one: Pat (MFA held)
    ps = empty_planted()
    for i in range(6):
        s = sign_in(guid(K, "signin", "pat", f"mfa{i}"), pat, when=clock.days_ago(1, 5, 2 + i, 7 * i),
                    app="OfficeHome", app_id=OFFICE_HOME_APP_ID, device="win-chrome-new", error=500121,
                    failure="Authentication failed during strong authentication request.", risk_level="medium",
                    risk_state="atRisk", risk_events=["unfamiliarFeatures"], ca_status="failure", ip=aip, place=apl)
        t.sign_ins.append(s)
        ps["signIns"].append(s["id"])
    rp = risk_detection(guid(K, "rd", "pat"), pat, when=clock.days_ago(1, 5, 2), event="unfamiliarFeatures",
                        level="medium", timing="realtime", ip=aip, place=apl)
    t.risk_detections.append(rp)
    ps["riskDetections"] = [rp["id"]]
    pat["risk"] = {"riskLevel": "medium", "riskState": "atRisk", "riskDetail": "none",
                   "riskLastUpdatedDateTime": clock.days_ago(1, 5, 3)}
    pat["authenticationMethods"].append(authenticator_method(guid(K, "m", "pat", "app"), "iPhone 13",
                                                             clock.days_ago(290, 17)))
    truth[UPN["pat.kim"]] = truth_entry(pat, "suspicious", ps, ["riskySignIn"], max_severity="high",
                                        note="password phished (MFA prompts from the attacker's IP were denied); "
                                             "no mailbox change")
    truth[UPN["pat.kim"]]["prevention"] = []

    # ------------------------------------------------------------------ clean users with look-alikes
    bm = ben["mailbox"]
    bm["inboxRules"] = [
        inbox_rule(rule_id(K, "ben", "news"), "Newsletters", sequence=1,
                   conditions={"senderContains": ["newsletter", "digest@"]},
                   actions={"moveToFolder": fid(bm["folders"], "Newsletters"), "markAsRead": True}),
        inbox_rule(rule_id(K, "ben", "junk"), "Deals weekly to junk", sequence=2,
                   conditions={"fromAddresses": [recipient("promo@deals-weekly.example", "Deals Weekly")]},
                   actions={"moveToFolder": fid(bm["folders"], "junkemail"), "stopProcessingRules": True}),
        inbox_rule(rule_id(K, "ben", "campaigns"), "Campaign reports", sequence=3,
                   conditions={"subjectContains": ["Campaign report"]},
                   actions={"moveToFolder": fid(bm["folders"], "Campaigns"), "assignCategories": ["Marketing"]}),
        *system_rules(ben["id"], fid(bm["folders"], "junkemail"), oof=False),
    ]
    ben["authenticationMethods"].append(authenticator_method(guid(K, "m", "ben", "app"), "iPhone 15",
                                                             clock.days_ago(500, 17)))
    ben["authenticationMethods"].append(phone_method("+1 206 555 0173", clock.days_ago(900, 17)))
    bm["mobileDevices"] = [mobile_device(guid(K, "dev", "ben", "iphone"), ben["mail"], "Ben Carter",
                                         device_type="iPhone", model="iPhone15C2", os="iOS 17.6 21G80",
                                         user_agent="Apple-iPhone15C2/2107.80", first_sync=clock.days_ago(480, 17),
                                         last_sync=clock.days_ago(1, 19))]
    t.service_principals.append(zoom_app(K, clock.days_ago(450, 17)))
    ben["oauth2PermissionGrants"].append(zoom_grant(K, "ben", ben))
    t.audit_records.append(audit_record(
        guid(K, "ual", "ben", "rule"), when=clock.days_ago(12, 17, 4), operation="New-InboxRule",
        user=ben["userPrincipalName"], ip=f"{OFFICE_IP}:52110", org=t.org, tenant_id=TENANT_ID,
        object_id=ex_org.replace("alice.wu", "ben.carter") + "\\Campaign reports",
        parameters=[("Name", "Campaign reports"), ("SubjectContainsWords", "Campaign report"),
                    ("MoveToFolder", "Campaigns"), ("ApplyCategory", "Marketing")]))
    for d in (20, 13, 6):
        t.receive(ben, ("newsletter@industry-digest.example", "Industry Digest"), "This week in marketing",
                  "Top stories this week.", clock.days_ago(d, 13), folder="Newsletters")
    truth[UPN["ben.carter"]] = truth_entry(ben, "clean", empty_planted(), [])

    gm = grace["mailbox"]
    gm["inboxRules"] = [
        inbox_rule(rule_id(K, "grace", "vendor"), "Northwind - Project Falcon", sequence=1,
                   conditions={"senderContains": ["@northwind-traders.example"]},
                   actions={"moveToFolder": fid(gm["folders"], "Project Falcon")}),
        inbox_rule(rule_id(K, "grace", "it"), "IT tickets to Sam", sequence=2,
                   conditions={"subjectContains": ["ticket", "laptop"]},
                   actions={"forwardTo": [recipient(sam["mail"], sam["displayName"])]}),
        *system_rules(grace["id"], fid(gm["folders"], "junkemail"), oof=False),
    ]
    grace["authenticationMethods"].append(authenticator_method(guid(K, "m", "grace", "app"), "iPhone 12",
                                                               clock.days_ago(700, 17)))
    gm["mobileDevices"] = [mobile_device(guid(K, "dev", "grace", "outlook"), grace["mail"], "Grace Lee",
                                         device_type="Outlook", model="Outlook for iOS and Android", os="iOS 16.7",
                                         user_agent="Outlook-iOS/2.0", first_sync=clock.days_ago(690, 17),
                                         last_sync=clock.days_ago(1, 14), client_type="Outlook")]
    truth[UPN["grace.lee"]] = truth_entry(grace, "clean", empty_planted(), [])

    rm = raj["mailbox"]
    rm["inboxRules"] = [
        inbox_rule(rule_id(K, "raj", "payslips"), "Payslips to home", sequence=1,
                   conditions={"subjectContains": ["payslip", "payroll statement"]},
                   actions={"forwardTo": [recipient("raj.patel.home@gmail.com", "Raj Patel")]}),
        inbox_rule(rule_id(K, "raj", "cases"), "HR cases", sequence=2,
                   conditions={"sentToAddresses": [recipient("hr-cases@contoso.com", "HR Cases")]},
                   actions={"moveToFolder": fid(rm["folders"], "HR Cases")}),
        *system_rules(raj["id"], fid(rm["folders"], "junkemail"), oof=False),
    ]
    raj["authenticationMethods"].append(authenticator_method(guid(K, "m", "raj", "app"), "Galaxy S23",
                                                             clock.days_ago(380, 17)))
    truth[UPN["raj.patel"]] = truth_entry(
        raj, "clean", empty_planted(), [], max_severity="medium", accepted=["clean", "suspicious"],
        note="external forward of payroll mail to a personal address: medium (data leaves the tenant), "
             "not a compromise; created long ago from the office")

    sm = sam["mailbox"]
    sm["inboxRules"] = [
        inbox_rule(rule_id(K, "sam", "alerts"), "Microsoft 365 alerts", sequence=1,
                   conditions={"fromAddresses": [recipient("o365mc@microsoft.com", "Microsoft 365 Message center")]},
                   actions={"moveToFolder": fid(sm["folders"], "Alerts"), "markImportance": "high"}),
        *system_rules(sam["id"], fid(sm["folders"], "junkemail"), oof=False),
    ]
    sam["authenticationMethods"].extend([
        fido2_method(guid(K, "m", "sam", "fido"), "YubiKey 5 NFC", clock.days_ago(800, 17)),
        authenticator_method(guid(K, "m", "sam", "app"), "Pixel 7", clock.days_ago(820, 17))])
    sam["oauth2PermissionGrants"].append(grant(grant_id(K, "sam", "graphexplorer"), guid(K, "sp", "graphexplorer"),
                                               graph_sp, sam["id"], "openid profile User.Read Mail.Read"))
    truth[UPN["sam.ortiz"]] = truth_entry(sam, "clean", empty_planted(), [])

    lm = linda["mailbox"]
    lm["inboxRules"] = [
        inbox_rule(rule_id(K, "linda", "board"), "Board", sequence=1,
                   conditions={"senderContains": ["@contoso-board.example"]},
                   actions={"moveToFolder": fid(lm["folders"], "Board")}),
        *system_rules(linda["id"], fid(lm["folders"], "junkemail"), oof=True),
    ]
    lm["automaticRepliesSetting"] = {
        "status": "scheduled", "externalAudience": "contactsOnly",
        "internalReplyMessage": "I am on leave until next week. Grace Lee can help in the meantime.",
        "externalReplyMessage": "I am on leave until next week. For urgent matters please contact "
                                "grace.lee@contoso.com.",
        "scheduledStartDateTime": {"dateTime": clock.days_ago(2, 0), "timeZone": "UTC"},
        "scheduledEndDateTime": {"dateTime": clock.days_ago(-6, 0), "timeZone": "UTC"}}
    lm["permissions"] = [{"user": grace["userPrincipalName"], "accessRights": ["FullAccess"], "isInherited": False,
                          "deny": False, "inheritanceType": "All"}]
    lm["recipientPermissions"] = [{"trustee": grace["userPrincipalName"], "accessRights": ["SendAs"],
                                   "accessControlType": "Allow", "isInherited": False}]
    linda["authenticationMethods"].extend([
        authenticator_method(guid(K, "m", "linda", "app"), "iPhone 15 Pro", clock.days_ago(300, 17)),
        phone_method("+1 206 555 0101", clock.days_ago(1000, 17))])
    t.audit_records.append(audit_record(
        guid(K, "ual", "linda", "oof"), when=clock.days_ago(3, 23, 40), operation="Set-MailboxAutoReplyConfiguration",
        user=linda["userPrincipalName"], ip=f"{OFFICE_IP}:53001", org=t.org, tenant_id=TENANT_ID,
        object_id=ex_org.replace("alice.wu", "linda.ross"),
        parameters=[("Identity", linda["id"]), ("AutoReplyState", "Scheduled"), ("ExternalAudience", "Known")]))
    truth[UPN["linda.ross"]] = truth_entry(linda, "clean", empty_planted(), [],
                                           note="on holiday (auto-reply set from the office); her assistant has "
                                                "long-standing FullAccess and SendAs")
    for upn in (UPN["ben.carter"], UPN["grace.lee"], UPN["raj.patel"], UPN["sam.ortiz"], UPN["linda.ross"]):
        truth[upn]["prevention"] = []

    # benign directory changes by the admin
    t.directory_audits.append(directory_audit(
        guid(K, "da", "raj-title"), when=clock.days_ago(20, 18, 3), activity="Update user", category="UserManagement",
        initiated_by=initiator_user(sam, OFFICE_IP), targets=[target_user(raj, [("JobTitle", "Payroll Specialist",
                                                                                  "Payroll Manager")])]))

    t.transport_rules.extend(standard_transport_rules(K, "contoso.com", clock.days_ago(400, 18)))

    # ------------------------------------------------------------------ prevention: who must use MFA
    t.ca_policies.extend([
        ca_policy(guid(K, "ca", "admins"), "CA001: Require MFA for administrators", created=clock.days_ago(600, 12),
                  include_roles=[GLOBAL_ADMIN_ROLE_TEMPLATE]),
        ca_policy(guid(K, "ca", "all"), "CA002: Require MFA for all users", created=clock.days_ago(600, 12),
                  include_users=["All"], exclude_users=[alice["id"], mark["id"]]),
        ca_policy(guid(K, "ca", "legacy"), "CA003: Block legacy authentication", created=clock.days_ago(200, 12),
                  include_users=["All"], client_app_types=["exchangeActiveSync", "other"], grant_controls=["block"],
                  state="enabledForReportingButNotEnforced"),
    ])

    # ------------------------------------------------------------------ mail the attacker deleted, and look-alikes
    recovery_records, recovery_truth = _bec_recovery.plant(K, clock, alice=alice, tenant_id=TENANT_ID, org=t.org,
                                                           attacker_ip=ATTACKER_IP, office_ip=OFFICE_IP,
                                                           vendor=vendors[0])
    t.audit_records.extend(recovery_records)
    truth[UPN["alice.wu"]]["recovery"] = recovery_truth

    # ------------------------------------------------------------------ OneDrive: the attacker's shares and downloads
    drive_records, drive_truth = _bec_drive.plant(K, clock, alice=alice, ben=ben, tenant_id=TENANT_ID,
                                                  attacker_ip=ATTACKER_IP, attacker_mail=ATTACKER_FORWARD,
                                                  office_ip=OFFICE_IP)
    t.audit_records.extend(drive_records)
    truth[UPN["alice.wu"]]["drive"] = drive_truth

    # ------------------------------------------------------------------ the mailbox audit trail: read and sent
    for u in (alice, mark, pat, ben, grace, raj, sam, linda):
        u["licenseDetails"] = [_bec_mail.e5_licence(u)]
    mail_records, mail_truth = _bec_mail.plant(
        K, clock, alice=alice, org=t.org, tenant_id=TENANT_ID, attacker_ip=ATTACKER_IP, office_ip=OFFICE_IP,
        hidden_subjects=list(HIDDEN_SUBJECTS), phish=phish_sent, own_read=f"Invoice INV-20807 from "
        f"{_EXTERNAL_DOMAINS[7 % 6].split('.')[0]}", own_sent=own_sent)
    t.audit_records.extend(mail_records)
    truth[UPN["alice.wu"]]["mail"] = mail_truth

    return t.fixture(settings=tenant_settings(entra_id_p2=True, unblock_delay_seconds=30),
                     truth=scenario_truth("bec-classic", t, truth, ips=[ATTACKER_IP],
                                          forwarding_addresses=[ATTACKER_FORWARD], domains=["mailvault.example"],
                                          app_ids=[ATTACKER_APP_ID], phishing_subjects=[PHISH_SUBJECT],
                                          rule_names=[".", "..", "Invoices"],
                                          internal_recipients=sorted(u["userPrincipalName"]
                                                                     for u in internal.values())))


SCENARIO = Scenario("bec-classic", "Contoso: Alice in Accounts Payable shows every symptom of the procedure; a "
                                   "second victim shares the attacker's IP and forwarding address.", build)

__all__ = ["ATTACKER_FORWARD", "ATTACKER_IP", "EXO_APP_ID", "GRAPH_APP_ID", "SCENARIO", "build"]
