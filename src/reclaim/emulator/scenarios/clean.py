"""``clean``: Adatum, a small tenant with nothing wrong — only benign look-alikes and ordinary sign-ins.

The mailboxes are German ("Posteingang", "Junk-E-Mail", ...), so folder names must be matched localised.

Every user is covered by an MFA policy and has registered MFA long ago. The look-alikes an investigation
must not flag as compromise: newsletters and vendor mail moved to user folders, a marketing sender to
Junk, a forward to a colleague, mailbox forwarding to an internal shared mailbox, the system "Junk E-Mail
Rule" and OOF rules, an assistant with delegate rights, a verified app consented long ago.
"""

from __future__ import annotations

from typing import Any

from reclaim.emulator.scenarios._common import (
    FOLDERS_DE,
    Scenario,
    authenticator_method,
    ca_policy,
    empty_planted,
    fid,
    guid,
    inbox_rule,
    mobile_device,
    phone_method,
    recipient,
    rule_id,
    standard_transport_rules,
    sweep_id,
    sweep_rule,
    system_rules,
    truth_entry,
    user_object,
)
from reclaim.emulator.scenarios._tenant import open_tenant, scenario_truth, tenant_settings, zoom_app, zoom_grant

K = "adatum"
TENANT_ID = "a7d2c4e6-1b3f-4a5c-8e9d-0f1a2b3c4d5e"
OFFICE_IP = "192.0.2.60"
MOBILE_IP = "192.0.2.61"


def build() -> dict[str, Any]:
    t = open_tenant(K, TENANT_ID, "Adatum", apps_created=(900, 12))
    clock = t.clock

    def person(key: str, display: str, job: str, dept: str, folders: tuple[str, ...] = ()) -> dict[str, Any]:
        u = t.add_user(user_object(guid(K, "user", key), f"{key}@adatum.com", display, job=job, department=dept,
                                   office="Munich", created=clock.days_ago(800, 9), custom_folders=folders,
                                   folder_names=FOLDERS_DE))
        u["usageLocation"] = "DE"
        u["authenticationMethods"].append(authenticator_method(guid(K, "m", key), "iPhone", clock.days_ago(500, 9)))
        t.history(u, ip=OFFICE_IP, place="munich", hour=7, days=range(29, 0, -1), mobile_ip=MOBILE_IP)
        return u

    eva = person("eva.schmidt", "Eva Schmidt", "Head of Finance", "Finance", ("Newsletter", "Lieferanten"))
    jonas = person("jonas.weber", "Jonas Weber", "Assistant to the Head of Finance", "Finance", ("Projekte",))
    mia = person("mia.hoffmann", "Mia Hoffmann", "Marketing Specialist", "Marketing", ("Newsletter",))
    lukas = person("lukas.becker", "Lukas Becker", "Service Desk", "IT", ("Tickets",))
    info = person("info", "Adatum Info", "Shared inbox", "Office")

    em = eva["mailbox"]
    em["inboxRules"] = [
        inbox_rule(rule_id(K, "eva", "news"), "Newsletter", sequence=1,
                   conditions={"senderContains": ["newsletter@", "news@"]},
                   actions={"moveToFolder": fid(em["folders"], "Newsletter")}),
        inbox_rule(rule_id(K, "eva", "vendors"), "Lieferanten-Rechnungen", sequence=2,
                   conditions={"senderContains": ["@contoso-supplies.example"], "subjectContains": ["Rechnung"]},
                   actions={"moveToFolder": fid(em["folders"], "Lieferanten"), "assignCategories": ["Kreditoren"]}),
        inbox_rule(rule_id(K, "eva", "cc-jonas"), "Termine an Jonas", sequence=3,
                   conditions={"subjectContains": ["Termin"]},
                   actions={"forwardTo": [recipient(jonas["mail"], jonas["displayName"])]}),
        *system_rules(eva["id"], fid(em["folders"], "junkemail"), oof=True),
    ]
    em["permissions"] = [{"user": jonas["userPrincipalName"], "accessRights": ["FullAccess"], "isInherited": False,
                          "deny": False, "inheritanceType": "All"}]
    em["mobileDevices"] = [mobile_device(guid(K, "dev", "eva"), eva["mail"], "Eva Schmidt", device_type="Outlook",
                                         model="Outlook for iOS and Android", os="iOS 17.5",
                                         user_agent="Outlook-iOS/2.0", first_sync=clock.days_ago(450, 8),
                                         last_sync=clock.days_ago(1, 17), client_type="Outlook")]
    mm = mia["mailbox"]
    mm["inboxRules"] = [
        inbox_rule(rule_id(K, "mia", "news"), "Newsletters lesen später", sequence=1,
                   conditions={"senderContains": ["newsletter"]},
                   actions={"moveToFolder": fid(mm["folders"], "Newsletter"), "markAsRead": True}),
        inbox_rule(rule_id(K, "mia", "junk"), "Werbung", sequence=2,
                   conditions={"fromAddresses": [recipient("angebote@shop-deals.example", "Shop Deals")]},
                   actions={"moveToFolder": fid(mm["folders"], "junkemail")}),
        *system_rules(mia["id"], fid(mm["folders"], "junkemail"), oof=False),
    ]
    mm["sweepRules"] = [sweep_rule(sweep_id(K, "mia", "digest"), "Keep latest from Industry Digest", mia["mail"],
                                   source="Inbox", destination="Deleted Items", sender="digest@industry.example",
                                   keep_latest=1)]
    lm = lukas["mailbox"]
    lm["inboxRules"] = [
        inbox_rule(rule_id(K, "lukas", "tickets"), "Tickets", sequence=1,
                   conditions={"subjectContains": ["[Ticket#"]},
                   actions={"moveToFolder": fid(lm["folders"], "Tickets")}),
        *system_rules(lukas["id"], fid(lm["folders"], "junkemail"), oof=False),
    ]
    lukas["authenticationMethods"].append(phone_method("+49 89 5550 1234", clock.days_ago(700, 9), slot="office"))
    # The shared info@ mailbox forwards to the internal service desk, keeping a copy.
    im = info["mailbox"]
    im["forwardingAddress"] = lukas["userPrincipalName"]
    im["deliverToMailboxAndForward"] = True
    t.service_principals.append(zoom_app(K, clock.days_ago(400, 9)))
    mia["oauth2PermissionGrants"].append(zoom_grant(K, "mia", mia))
    for u in (eva, jonas, mia, lukas):
        others = [(o["mail"], o["displayName"]) for o in (eva, jonas, mia, lukas) if o is not u]
        for d in (21, 14, 7, 2):
            t.send(u, [others[d % 3]], "Wochenplanung", "Anbei die Planung für die nächste Woche.",
                   clock.days_ago(d, 9, 15), from_ip=OFFICE_IP, tag=u["id"][:4])
        t.send(u, [("kontakt@contoso-supplies.example", "Contoso Supplies")], "Bestellung 2291",
               "Bitte bestätigen Sie den Liefertermin.", clock.days_ago(9, 10, 40), from_ip=OFFICE_IP)
    for d in (20, 13, 6):
        t.receive(eva, ("newsletter@finanz-news.example", "Finanz News"), "Finanz News der Woche",
                  "Die wichtigsten Meldungen.", clock.days_ago(d, 6), folder="Newsletter")

    t.transport_rules.extend(standard_transport_rules(K, "adatum.com", clock.days_ago(300, 9)))
    t.ca_policies.append(ca_policy(guid(K, "ca", "all"), "Require MFA for all users", created=clock.days_ago(700, 9),
                                   include_users=["All"]))
    t.ca_policies.append(ca_policy(guid(K, "ca", "legacy"), "Block legacy authentication",
                                   created=clock.days_ago(700, 9), include_users=["All"],
                                   client_app_types=["exchangeActiveSync", "other"], grant_controls=["block"]))
    users: dict[str, Any] = {}
    for upn, u in t.users.items():
        users[upn] = truth_entry(u, "clean", empty_planted(), [])
        users[upn]["prevention"] = []
    return t.fixture(settings=tenant_settings(entra_id_p2=False, unblock_delay_seconds=0),
                     truth=scenario_truth("clean", t, users))


SCENARIO = Scenario("clean", "Adatum: a small tenant with nothing wrong, only benign look-alikes.", build)
