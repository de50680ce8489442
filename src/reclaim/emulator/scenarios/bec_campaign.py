"""``bec-campaign``: Fabrikam, four accounts taken over by one crew, each with a different technique mix.

For the remediation tests: every planted artifact must go, every one of the users' own objects must stay.

* nina.fischer — risky browser sign-in, a HIDDEN rule deleting warnings (Graph cannot see it), a consent to
  the unverified app "PDF Convert Online" (Mail.Read offline_access). Nothing else.
* omar.haddad — IMAP4 sign-in (legacy), mailbox forwarding to treasury.fabrikam@mailvault.example that
  keeps a copy (DeliverToMailboxAndForward true: the user notices nothing).
* li.chen (a French mailbox) — risky sign-in, a visible rule redirecting payment mail to the same address
  and moving it to "Historique des conversations" (Conversation History), an MFA phone, an ActiveSync
  device, SendAs granted to Nina's account.
* tom.berg — SMTP AUTH sign-in, spam run, restricted sender and NDRs, a sweep rule, automatic replies,
  display name changed.
* anna.kowalski, ravi.kumar, felix.wagner, sofia.rossi — clean, with look-alikes: internal mailbox
  forwarding with a copy, an assistant's delegate rights, a marketing sender to Junk, an own sweep rule,
  an external payroll forward (medium).
Attacker IPs 198.51.100.77 (Bucharest) and 203.0.113.200 (Ho Chi Minh City). The app name, Tom's sweep rule
name and the spam subject are hostile text (terminal escapes, rich markup, a CSV formula, HTML), listed in
``scenarioTruth.hostileText`` for the escaping tests.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from reclaim.emulator.scenarios._common import (
    FOLDERS_FR,
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
    grant,
    grant_id,
    guid,
    inbox_rule,
    initiator_user,
    message,
    message_id,
    mobile_device,
    phone_method,
    recipient,
    rule_id,
    service_principal,
    sign_in,
    sweep_id,
    sweep_rule,
    system_rules,
    target_user,
    truth_entry,
    user_object,
)
from reclaim.emulator.scenarios._tenant import graph_sp_id, open_tenant, scenario_truth, tenant_settings

K = "fabrikam"
TENANT_ID = "f4b1c3d5-6e7f-4a8b-9c0d-1e2f3a4b5c6d"
IP_A, PLACE_A = "198.51.100.77", "bucharest"
IP_B, PLACE_B = "203.0.113.200", "hochiminh"
FORWARD = "treasury.fabrikam@mailvault.example"
APP_ID = "c2d4e6f8-0a1b-4c3d-8e5f-6a7b8c9d0e1f"
SPAM_SUBJECT = "Updated banking details for outstanding invoices <img src=x onerror=alert(1)>"
#: Attacker-controlled text that must come out escaped everywhere (terminal, HTML, CSV): an app name with
#: terminal escape sequences, a sweep rule name that is a spreadsheet formula, a subject with HTML.
APP_NAME = "PDF Convert Online\x1b[2J\x1b[H\x1b]8;;http://evil.example/\x1b\\[bold red]OK[/bold red]"
SWEEP_NAME = '=HYPERLINK("http://evil.example/x","Sweep Fabrikam IT")'

OFFICE_IP = "192.0.2.30"
MOBILE_IP = "192.0.2.31"


def build() -> dict[str, Any]:
    t = open_tenant(K, TENANT_ID, "Fabrikam", apps_created=(800, 12))
    clock, org = t.clock, t.org

    def person(key: str, display: str, job: str, dept: str, folders: tuple[str, ...] = (),
               names: dict[str, str] | None = None) -> dict[str, Any]:
        u = t.add_user(user_object(guid(K, "user", key), f"{key}@fabrikam.com", display, job=job, department=dept,
                                   office="Toronto", created=clock.days_ago(700, 14), custom_folders=folders,
                                   folder_names=names))
        u["usageLocation"] = "CA"
        u["authenticationMethods"].append(authenticator_method(guid(K, "m", key), "Phone", clock.days_ago(365, 14)))
        mbx = u["mailbox"]
        mbx["inboxRules"] = system_rules(u["id"], fid(mbx["folders"], "junkemail"), oof=False)
        mbx["mobileDevices"] = [mobile_device(guid(K, "dev", key, "own"), u["mail"], display, device_type="Outlook",
                                              model="Outlook for iOS and Android", os="Android 14",
                                              user_agent="Outlook-Android/2.0", first_sync=clock.days_ago(300, 15),
                                              last_sync=clock.days_ago(1, 15), client_type="Outlook")]
        t.history(u, ip=OFFICE_IP, place="toronto", hour=13, days=range(29, 0, -1), mobile_ip=MOBILE_IP)
        return u

    def ex_obj(u: dict[str, Any], suffix: str = "") -> str:
        local = u["userPrincipalName"].split("@")[0]
        return f"YT3PR01MB8862.CANPRD01.PROD.OUTLOOK.COM/Microsoft Exchange Hosted Organizations/{org}/{local}{suffix}"

    nina = person("nina.fischer", "Nina Fischer", "Financial Controller", "Finance")
    omar = person("omar.haddad", "Omar Haddad", "Sales Director", "Sales")
    li = person("li.chen", "Li Chen", "Accounts Payable Clerk", "Finance", ("Factures",), FOLDERS_FR)
    tom = person("tom.berg", "Tom Berg", "Treasury Analyst", "Finance")
    anna = person("anna.kowalski", "Anna Kowalski", "Office Manager", "Operations", ("Facilities",), FOLDERS_FR)
    ravi = person("ravi.kumar", "Ravi Kumar", "Payroll Specialist", "Human Resources")
    felix = person("felix.wagner", "Felix Wagner", "Marketing Lead", "Marketing", ("Newsletters",))
    sofia = person("sofia.rossi", "Sofia Rossi", "Executive Assistant", "Operations")
    for u in t.users.values():
        colleague = next(o for o in t.users.values() if o is not u)
        for d in (18, 11, 4):
            t.send(u, [(colleague["mail"], colleague["displayName"])], "Weekly update", "Notes attached.",
                   clock.days_ago(d, 15, 20), from_ip=OFFICE_IP, tag=u["id"][:4])
    truth: dict[str, Any] = {}

    # ------------------------------------------------------------------ Nina: hidden rule + consent
    pn = empty_planted()
    s = sign_in(guid(K, "signin", "nina", "att"), nina, when=clock.days_ago(5, 2, 14), ip=IP_A, place=PLACE_A,
                app="OfficeHome", app_id=OFFICE_HOME_APP_ID, device="win-chrome-new", risk_level="high",
                risk_state="atRisk", risk_events=["unfamiliarFeatures", "anomalousToken"], ca_status="success")
    t.sign_ins.append(s)
    pn["signIns"] = [s["id"]]
    nm = nina["mailbox"]
    hidden = inbox_rule(rule_id(K, "nina", "hidden"), ";;;", sequence=1, hidden=True,
                        conditions={"bodyOrSubjectContains": ["phish", "hacked", "did you send", "security alert"]},
                        actions={"permanentDelete": True, "stopProcessingRules": True})
    nm["inboxRules"].insert(0, hidden)
    pn["hiddenInboxRules"] = [hidden["id"]]
    app = service_principal(guid(K, "sp", "pdf"), APP_ID, APP_NAME, publisher=None, verified=False,
                            owner_tenant="0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e", created=clock.days_ago(5, 2, 20),
                            reply_urls=["http://127.0.0.1:5000/getAToken"])
    t.service_principals.append(app)
    g = grant(grant_id(K, "nina", "pdf"), app["id"], graph_sp_id(K), nina["id"], "Mail.Read offline_access User.Read")
    nina["oauth2PermissionGrants"].append(g)
    pn["oauth2PermissionGrants"], pn["servicePrincipals"] = [g["id"]], [app["id"]]
    r = audit_record(guid(K, "ual", "nina"), when=clock.days_ago(5, 2, 25), operation="New-InboxRule",
                     user=nina["userPrincipalName"], ip=f"{IP_A}:40112", org=org, tenant_id=TENANT_ID,
                     object_id=ex_obj(nina, "\\;;;"), parameters=[
                         ("Name", ";;;"), ("SubjectOrBodyContainsWords", "phish;hacked;did you send;security alert"),
                         ("DeleteMessage", "True"), ("StopProcessingRules", "True")])
    t.audit_records.append(r)
    pn["auditRecords"] = [r["Id"]]
    nina["risk"] = {"riskLevel": "high", "riskState": "atRisk", "riskDetail": "none",
                    "riskLastUpdatedDateTime": clock.days_ago(5, 2, 30)}
    truth[nina["userPrincipalName"]] = truth_entry(nina, "compromised", pn,
                                                   ["riskySignIn", "hiddenDeleteRule", "oauthGrant"])

    # ------------------------------------------------------------------ Omar: IMAP + forwarding with a copy
    po = empty_planted()
    s = sign_in(guid(K, "signin", "omar", "imap"), omar, when=clock.days_ago(4, 22, 3), ip=IP_A, place=PLACE_A,
                client="IMAP4", device="linux-unknown", ca_status="notApplied", user_agent="BAV2ROPC")
    t.sign_ins.append(s)
    po["signIns"], po["legacyProtocols"] = [s["id"]], ["IMAP4"]
    om = omar["mailbox"]
    om["forwardingSmtpAddress"] = f"smtp:{FORWARD}"
    om["deliverToMailboxAndForward"] = True
    po["forwarding"] = {"forwardingSmtpAddress": f"smtp:{FORWARD}", "forwardingAddress": None,
                        "deliverToMailboxAndForward": True}
    r = audit_record(guid(K, "ual", "omar"), when=clock.days_ago(4, 22, 9), operation="Set-Mailbox",
                     user=omar["userPrincipalName"], ip=f"{IP_A}:40230", org=org, tenant_id=TENANT_ID,
                     object_id=ex_obj(omar), parameters=[("Identity", omar["id"]),
                                                         ("ForwardingSmtpAddress", f"smtp:{FORWARD}"),
                                                         ("DeliverToMailboxAndForward", "True")])
    t.audit_records.append(r)
    po["auditRecords"] = [r["Id"]]
    truth[omar["userPrincipalName"]] = truth_entry(omar, "compromised", po, ["legacySignIn", "smtpForwarding"])

    # ------------------------------------------------------------ Li: visible redirect rule, phone, device, SendAs
    pl = empty_planted()
    s = sign_in(guid(K, "signin", "li", "att"), li, when=clock.days_ago(3, 3, 40), ip=IP_B, place=PLACE_B,
                app="OfficeHome", app_id=OFFICE_HOME_APP_ID, device="win-chrome-new", risk_level="medium",
                risk_state="atRisk", risk_events=["unfamiliarFeatures"], ca_status="success")
    t.sign_ins.append(s)
    pl["signIns"] = [s["id"]]
    lm = li["mailbox"]
    own = inbox_rule(rule_id(K, "li", "invoices"), "Invoices", sequence=1,
                     conditions={"senderContains": ["invoices@"]},
                     actions={"moveToFolder": fid(lm["folders"], "Factures")})
    bad = inbox_rule(rule_id(K, "li", "redirect"), "..", sequence=2,
                     conditions={"bodyOrSubjectContains": ["payment", "bank", "ACH", "wire"]},
                     actions={"redirectTo": [recipient(FORWARD, "Treasury")], "markAsRead": True,
                              "moveToFolder": fid(lm["folders"], "conversationhistory"), "stopProcessingRules": True})
    lm["inboxRules"] = [own, bad, *lm["inboxRules"]]
    pl["inboxRules"] = [bad["id"]]
    li["authenticationMethods"].append(phone_method("+84 90 000 0177", clock.days_ago(3, 3, 48)))
    pl["authenticationMethods"] = [MOBILE_PHONE_METHOD_ID]
    dev = mobile_device(guid(K, "dev", "li", "att"), li["mail"], "Li Chen", device_type="Android", model="SM-G991B",
                        os="Android 13", user_agent="Android-Mail/2024.01.07", first_sync=clock.days_ago(3, 3, 55),
                        last_sync=clock.days_ago(1, 4))
    lm["mobileDevices"].append(dev)
    pl["mobileDevices"] = [dev["id"]]
    lm["recipientPermissions"] = [{"trustee": nina["userPrincipalName"], "accessRights": ["SendAs"],
                                   "accessControlType": "Allow", "isInherited": False}]
    pl["recipientPermissions"] = [{"trustee": nina["userPrincipalName"], "accessRights": ["SendAs"]}]
    recs = [
        audit_record(guid(K, "ual", "li", "rule"), when=clock.days_ago(3, 3, 44), operation="New-InboxRule",
                     user=li["userPrincipalName"], ip=f"{IP_B}:51200", org=org, tenant_id=TENANT_ID,
                     object_id=ex_obj(li, "\\.."), parameters=[
                         ("Name", ".."), ("SubjectOrBodyContainsWords", "payment;bank;ACH;wire"),
                         ("RedirectTo", FORWARD), ("MarkAsRead", "True"),
                         ("MoveToFolder", "Historique des conversations"), ("StopProcessingRules", "True")]),
        audit_record(guid(K, "ual", "li", "sendas"), when=clock.days_ago(3, 3, 58), operation="Add-RecipientPermission",
                     user=li["userPrincipalName"], ip=f"{IP_B}:51221", org=org, tenant_id=TENANT_ID,
                     object_id=ex_obj(li), parameters=[("Identity", li["id"]), ("Trustee", nina["userPrincipalName"]),
                                                       ("AccessRights", "SendAs")]),
    ]
    t.audit_records.extend(recs)
    pl["auditRecords"] = [x["Id"] for x in recs]
    mfa = directory_audit(guid(K, "da", "li", "mfa"), when=clock.days_ago(3, 3, 48), activity="User registered "
                          "security info", category="UserManagement", initiated_by=initiator_user(li, IP_B),
                          service="Authentication Methods", operation="Add",
                          result_reason="User registered Mobile Phone SMS", targets=[target_user(li, [])])
    t.directory_audits.append(mfa)
    pl["directoryAudits"] = [mfa["id"]]
    li["risk"] = {"riskLevel": "medium", "riskState": "atRisk", "riskDetail": "none",
                  "riskLastUpdatedDateTime": clock.days_ago(3, 4)}
    truth[li["userPrincipalName"]] = truth_entry(li, "compromised", pl,
                                                 ["riskySignIn", "forwardRule", "hidingRule", "mfaMethod",
                                                  "mobileDevice", "sendAs"])

    # ------------------------------------------------------------------ Tom: SMTP AUTH spam, restricted, sweep, OOF
    pt = empty_planted()
    s = sign_in(guid(K, "signin", "tom", "smtp"), tom, when=clock.days_ago(2, 1, 2), ip=IP_B, place=PLACE_B,
                client="Authenticated SMTP", device="linux-unknown", ca_status="notApplied", user_agent="BAV2ROPC")
    t.sign_ins.append(s)
    pt["signIns"], pt["legacyProtocols"] = [s["id"]], ["Authenticated SMTP"]
    tm = tom["mailbox"]
    sw = sweep_rule(sweep_id(K, "tom", "sweep"), SWEEP_NAME, tom["mail"], source="Inbox",
                    destination="Deleted Items", sender="it-security@fabrikam.com")
    tm["sweepRules"] = [sw]
    pt["sweepRules"] = [sw["ruleId"]]
    tm["automaticRepliesSetting"] = {
        "status": "alwaysEnabled", "externalAudience": "all", "internalReplyMessage": "Out of office.",
        "externalReplyMessage": "Out of office. Our banking details have changed; reply for the new details.",
        "scheduledStartDateTime": {"dateTime": clock.days_ago(2, 1, 10), "timeZone": "UTC"},
        "scheduledEndDateTime": {"dateTime": clock.days_ago(-20, 1, 10), "timeZone": "UTC"}}
    pt["automaticReplies"] = True
    spam: list[str] = []
    for i in range(80):
        to = f"ap{i}@{('northwind', 'adventure-works', 'alpineskihouse', 'cohowinery')[i % 4]}.example"
        _imid, ids = t.send(tom, [(to, "")], SPAM_SUBJECT, "Please update our bank details before the next "
                            "payment run.", clock.iso(clock.at(2, 1, 5) + timedelta(seconds=20 * i)), from_ip=IP_B,
                            status="failed" if i >= 72 else "delivered", in_sent_items=False, tag="spam")
        spam.extend(ids)
    pt["messageTraces"] = spam
    blocked = clock.days_ago(2, 1, 29)
    t.blocked_senders.append({"senderAddress": tom["mail"], "reason": "OutboundSpamLimitExceeded",
                              "createdDatetime": blocked, "changedDatetime": blocked,
                              "restrictionType": "OutboundSpamLimitExceeded"})
    pt["blockedSender"] = True
    for i in range(3):
        mid = message_id(K, "tom", "ndr", str(i))
        tm["messages"]["inbox"].append(message(
            mid, folder=fid(tm["folders"], "inbox"), subject=f"Undeliverable: {SPAM_SUBJECT}",
            sender=("postmaster@fabrikam.onmicrosoft.com", "Microsoft Outlook"), to=[(tom["mail"], "Tom Berg")],
            when=clock.days_ago(2, 1, 30 + i), importance="high", is_read=False,
            imid=f"<ndr{i}-{mid[-12:-4]}@fabrikam>",
            body="Your message couldn't be delivered because you weren't recognized as a valid sender.\n"
                 "Remote server returned '550 5.1.8 Access denied, bad outbound sender AS(42004)'"))
        pt["ndrMessages"].append(mid)
    a = alert(f"fa{guid(K, 'alert', 'tom').replace('-', '')[:30]}", tom, when=clock.days_ago(2, 1, 30),
              title="User restricted from sending email", description="A user was restricted from sending email "
              "because of outbound spam.", severity="high", category="ThreatManagement",
              service="microsoftDefenderForOffice365", tenant_id=TENANT_ID)
    t.alerts.append(a)
    pt["alerts"] = [a["id"]]
    dn = directory_audit(guid(K, "da", "tom", "dn"), when=clock.days_ago(2, 1, 12), activity="Update user",
                         category="UserManagement", initiated_by=initiator_user(tom, IP_B),
                         targets=[target_user(tom, [("DisplayName", "Tom Berg", "Fabrikam Treasury")])])
    t.directory_audits.append(dn)
    pt["directoryAudits"], pt["displayNameChanged"] = [dn["id"]], True
    tom["displayName"] = "Fabrikam Treasury"
    r = audit_record(guid(K, "ual", "tom", "oof"), when=clock.days_ago(2, 1, 10),
                     operation="Set-MailboxAutoReplyConfiguration", user=tom["userPrincipalName"], ip=f"{IP_B}:51400",
                     org=org, tenant_id=TENANT_ID, object_id=ex_obj(tom),
                     parameters=[("Identity", tom["id"]), ("AutoReplyState", "Enabled")])
    t.audit_records.append(r)
    pt["auditRecords"] = [r["Id"]]
    tom["risk"] = {"riskLevel": "medium", "riskState": "atRisk", "riskDetail": "none",
                   "riskLastUpdatedDateTime": clock.days_ago(2, 2)}
    truth[tom["userPrincipalName"]] = truth_entry(tom, "compromised", pt,
                                                  ["legacySignIn", "sweepRule", "autoReply", "displayName", "spam",
                                                   "blockedSender"])

    # ------------------------------------------------------------------ clean users
    am = anna["mailbox"]
    am["forwardingAddress"] = sofia["userPrincipalName"]
    am["deliverToMailboxAndForward"] = True
    am["inboxRules"].insert(0, inbox_rule(rule_id(K, "anna", "facilities"), "Facilities", sequence=1,
                                          conditions={"senderContains": ["@buildingservices.example"]},
                                          actions={"moveToFolder": fid(am["folders"], "Facilities")}))
    am["permissions"] = [{"user": sofia["userPrincipalName"], "accessRights": ["FullAccess"], "isInherited": False,
                          "deny": False, "inheritanceType": "All"}]
    am["recipientPermissions"] = [{"trustee": sofia["userPrincipalName"], "accessRights": ["SendAs"],
                                   "accessControlType": "Allow", "isInherited": False}]
    rm = ravi["mailbox"]
    rm["inboxRules"].insert(0, inbox_rule(rule_id(K, "ravi", "pay"), "Pay slip copy", sequence=1,
                                          conditions={"subjectContains": ["pay slip"]},
                                          actions={"forwardTo": [recipient("ravi.kumar.84@outlook.com", "Ravi")]}))
    fm = felix["mailbox"]
    fm["inboxRules"][:0] = [
        inbox_rule(rule_id(K, "felix", "news"), "Newsletters", sequence=1, conditions={"senderContains": ["news"]},
                   actions={"moveToFolder": fid(fm["folders"], "Newsletters")}),
        inbox_rule(rule_id(K, "felix", "junk"), "Spammy vendor", sequence=2,
                   conditions={"senderContains": ["offers@bulkmailer.example"]},
                   actions={"moveToFolder": fid(fm["folders"], "junkemail"), "markAsRead": True}),
    ]
    fm["sweepRules"] = [sweep_rule(sweep_id(K, "felix", "own"), "Old newsletters", felix["mail"], source="Newsletters",
                                   destination="Deleted Items", sender="news@industry.example", keep_for_days=10)]
    for u in (anna, ravi, felix, sofia):
        note = "external forward of pay slips to a personal address: medium, not a compromise" if u is ravi else None
        truth[u["userPrincipalName"]] = truth_entry(
            u, "clean", empty_planted(), [], max_severity="medium" if u is ravi else "low",
            accepted=["clean", "suspicious"] if u is ravi else None, note=note)
    for upn in truth:
        truth[upn]["prevention"] = (["mfaNotRequired"] if upn in (omar["userPrincipalName"], tom["userPrincipalName"])
                                    else [])

    t.ca_policies.append(ca_policy(guid(K, "ca", "all"), "Require MFA for all users", created=clock.days_ago(500, 12),
                                   include_users=["All"], exclude_users=[omar["id"], tom["id"]]))
    return t.fixture(settings=tenant_settings(entra_id_p2=True, unblock_delay_seconds=30),
                     truth=scenario_truth("bec-campaign", t, truth, ips=[IP_A, IP_B], forwarding_addresses=[FORWARD],
                                          domains=["mailvault.example"], app_ids=[APP_ID],
                                          phishing_subjects=[SPAM_SUBJECT], rule_names=[";;;", ".."],
                                          hostile_text=[APP_NAME, SWEEP_NAME, SPAM_SUBJECT]))


SCENARIO = Scenario("bec-campaign", "Fabrikam: four accounts taken over by one crew with different technique mixes, "
                                    "four clean ones with look-alikes (remediation tests).", build)
