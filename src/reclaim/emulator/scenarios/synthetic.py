"""Synthetic tenants: ``build(users, seed)`` — N mailboxes with a realistic spread of benign rules and a small,
seeded share of compromised ones (techniques drawn from the bec-classic repertoire).

Built for scale (the sweep benchmark uses 10,000 users): every id comes from one ``random.Random(seed)``,
nothing is deep-copied, read-only sub-objects (sign-in locations and devices) are shared between records.
The same (users, seed) always gives the same tenant; only the timestamps move with the current time.

``scenarioTruth`` follows the format of ``_common`` with one economy: ``users`` holds entries only for the
compromised users and for clean users with a medium look-alike (external payroll forward); every other UPN
is listed in ``clean`` and has nothing planted.
"""

from __future__ import annotations

import gc
import random
from datetime import timedelta
from typing import Any

from reclaim.emulator.scenarios._common import (
    ALTERNATE_PHONE_METHOD_ID,
    EXO_APP_ID,
    GRAPH_APP_ID,
    JUNK_RULE_NAME,
    MICROSOFT_TENANT_ID,
    MOBILE_PHONE_METHOD_ID,
    OFFICE_HOME_APP_ID,
    OOF_RULE_NAMES,
    OUTLOOK_APP_ID,
    PASSWORD_METHOD_ID,
    PLACES,
    Clock,
    cas_mailbox,
    empty_planted,
    keep_of,
    v1_risk_event_types,
)
from reclaim.emulator.scenarios._tenant import (
    ZOOM_APP_ID,
    ZOOM_OWNER_TENANT,
    ZOOM_PUBLISHER,
    ZOOM_SCOPE,
    tenant_domains,
    tenant_settings,
)

JSON = dict[str, Any]

#: Share of compromised users (at least one for tenants of 10 users or more).
COMPROMISED_SHARE = 0.01

_FIRST = ("James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
          "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Carlos", "Karen",
          "Wei", "Aisha", "Hiroshi", "Fatima", "Lukas", "Sofia", "Mateo", "Emma", "Noah", "Olivia", "Liam", "Ava",
          "Arjun", "Priya", "Mohammed", "Chen", "Ingrid", "Pierre", "Giulia", "Diego", "Anna", "Omar", "Yuki",
          "Nina", "Tomasz", "Eva", "Kofi", "Lena", "Raj", "Grace")
_LAST = ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
         "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee",
         "Nguyen", "Patel", "Kim", "Chen", "Wang", "Mueller", "Schmidt", "Rossi", "Dubois", "Kowalski", "Novak",
         "Tanaka", "Sato", "Okafor", "Haddad", "Fischer", "Weber", "Silva", "Santos", "Berg", "Larsen", "Walsh",
         "Murphy", "Khan", "Ali", "Cohen", "Levi", "Ivanova", "Popescu", "Osei")
_DEPTS = (("Finance", "Accountant"), ("Finance", "Accounts Payable Specialist"), ("Sales", "Account Executive"),
          ("Sales", "Sales Representative"), ("Marketing", "Marketing Specialist"), ("IT", "Systems Engineer"),
          ("Human Resources", "HR Generalist"), ("Operations", "Operations Manager"), ("Legal", "Counsel"),
          ("Engineering", "Software Engineer"), ("Engineering", "Product Manager"), ("Support", "Support Agent"))
_OFFICES = (("seattle", "192.0.2.10"), ("chicago", "192.0.2.20"), ("newyork", "192.0.2.30"),
            ("london", "192.0.2.40"), ("austin", "192.0.2.50"))
_VENDORS = ("northwind-traders.example", "tailspintoys.example", "adventure-works.example", "litwareinc.example",
            "proseware.example", "fourthcoffee.example", "wingtiptoys.example", "alpineskihouse.example")
_PROJECTS = ("Project Falcon", "Project Atlas", "Project Orion", "Q4 Launch", "Website Redesign", "Audit 2026")
_NEWS = ("newsletter", "digest@", "news@", "weekly@")

#: Attacker infrastructure: (ip, place, forwarding address, rule names). Campaigns share these.
_CAMPAIGNS = (
    ("203.0.113.45", "lagos", "invoices.woodgrove@mailvault.example", (".", "..", "...")),
    ("198.51.100.77", "bucharest", "treasury.dept@mailvault.example", (";", ";;;", ",,")),
    ("203.0.113.200", "hochiminh", "payments.team@inbox-relay.example", ("a", "xx", ".")),
    ("198.51.100.23", "moscow", "ap.archive@securemail.example", ("..", "RSS", "...")),
)
_ATTACK_APP = ("5e0f2a7c-93b1-4d6e-a8f4-1c2d3e4f5a6b", "Mail Backup Utility")
_FINANCE = ["invoice", "payment", "wire", "bank", "remittance", "ACH", "transfer"]
_WARNING = ["hacked", "phishing", "did you send", "suspicious", "virus", "not from me"]
_HIDE_TECHNIQUES = ("hidingRule", "forwardRule", "smtpForwarding", "oauthGrant")
_EXTRA_TECHNIQUES = ("hiddenDeleteRule", "sweepRule", "mfaMethod", "mobileDevice", "delegate", "autoReply",
                     "displayName", "spam")


class _Gen:
    """Seeded id and time generator for one build."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.clock = Clock()

    def guid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    def folder_id(self) -> str:
        return f"AAMkAG{self.rng.getrandbits(160):040x}AAA="

    def rule_id(self) -> str:
        return f"AQAAA{self.rng.getrandbits(36):09x}="

    def when(self, days: int, hour: int, minute: int = 0) -> str:
        return self.clock.days_ago(days, hour, minute, self.rng.randrange(60))


def _place(name: str) -> JSON:
    city, state, country, lat, lon = PLACES[name]
    return {"city": city, "state": state, "countryOrRegion": country,
            "geoCoordinates": {"altitude": None, "latitude": lat, "longitude": lon}}


_DEVICE_WEB = {"deviceId": "", "displayName": None, "operatingSystem": "Windows 10", "browser": "Edge 130.0.0",
               "isCompliant": True, "isManaged": True, "trustType": "Azure AD joined"}
_DEVICE_PHONE = {"deviceId": "", "displayName": None, "operatingSystem": "Ios 17.6", "browser": "Mobile Safari",
                 "isCompliant": None, "isManaged": None, "trustType": None}
_DEVICE_ATTACK = {"deviceId": "", "displayName": None, "operatingSystem": "Linux", "browser": "",
                  "isCompliant": None, "isManaged": None, "trustType": None}


def _sign_in(g: _Gen, user: JSON, when: str, ip: str, location: JSON, device: JSON, *, app: str = "OfficeHome",
             app_id: str = OFFICE_HOME_APP_ID, client: str = "Browser", risk: str = "none",
             risk_events: list[str] | None = None, error: int = 0) -> JSON:
    sid = g.guid()
    return {"id": sid, "createdDateTime": when, "userDisplayName": user["displayName"],
            "userPrincipalName": user["userPrincipalName"], "userId": user["id"], "appId": app_id,
            "appDisplayName": app, "ipAddress": ip, "clientAppUsed": client, "correlationId": g.guid(),
            "conditionalAccessStatus": "success" if client == "Browser" else "notApplied", "isInteractive": True,
            "riskDetail": "none", "riskLevelAggregated": risk, "riskLevelDuringSignIn": risk,
            "riskState": "atRisk" if risk != "none" else "none", "riskEventTypes": v1_risk_event_types(risk_events),
            "riskEventTypes_v2": list(risk_events or []), "resourceDisplayName": "Office 365 Exchange Online",
            "resourceId": EXO_APP_ID, "status": {"errorCode": error, "failureReason": None,
                                                 "additionalDetails": None},
            "deviceDetail": device, "location": location, "appliedConditionalAccessPolicies": []}


def _rule(g: _Gen, name: str, seq: int, conditions: JSON, actions: JSON, *, hidden: bool = False,
          enabled: bool = True) -> JSON:
    return {"id": g.rule_id(), "displayName": name, "sequence": seq, "isEnabled": enabled, "hasError": False,
            "isReadOnly": hidden, "conditions": conditions, "actions": actions, "exceptions": {}, "hidden": hidden}


def build(users: int, seed: int = 0) -> JSON:
    """A tenant of ``users`` mailboxes; deterministic for a seed (ids and content; times follow the clock)."""
    if users < 0:
        raise ValueError("users must be >= 0")
    # Hundreds of thousands of small dicts, none of them garbage: the cyclic collector only slows this down.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _build(users, seed)
    finally:
        if was_enabled:
            gc.enable()


def _build(users: int, seed: int) -> JSON:
    g = _Gen(seed)
    rng = g.rng
    clock = g.clock
    domains = tenant_domains("woodgrovebank")
    domain = domains[0]
    tenant_id = g.guid()
    n_bad = max(1, round(users * COMPROMISED_SHARE)) if users >= 10 else 0
    bad = set(rng.sample(range(users), n_bad)) if n_bad else set()
    payroll = {i for i in range(users) if i not in bad and rng.random() < 0.005}
    locations = {name: _place(name) for name, _ in _OFFICES}
    for c in _CAMPAIGNS:
        locations[c[1]] = _place(c[1])
    graph_sp = g.guid()
    zoom_sp = g.guid()
    attack_sp = g.guid()
    old = clock.days_ago(900, 12)
    sps: list[JSON] = [
        {"id": graph_sp, "appId": GRAPH_APP_ID, "displayName": "Microsoft Graph", "appDisplayName": "Microsoft Graph",
         "appOwnerOrganizationId": MICROSOFT_TENANT_ID, "publisherName": "Microsoft Services",
         "verifiedPublisher": {"displayName": None, "verifiedPublisherId": None, "addedDateTime": None},
         "servicePrincipalType": "Application", "accountEnabled": True, "replyUrls": [], "createdDateTime": old},
        {"id": zoom_sp, "appId": ZOOM_APP_ID, "displayName": "Zoom", "appDisplayName": "Zoom",
         "appOwnerOrganizationId": ZOOM_OWNER_TENANT, "publisherName": ZOOM_PUBLISHER,
         "verifiedPublisher": {"displayName": ZOOM_PUBLISHER, "verifiedPublisherId": "4316842",
                               "addedDateTime": old},
         "servicePrincipalType": "Application", "accountEnabled": True, "replyUrls": ["https://zoom.us/oauth"],
         "createdDateTime": old},
    ]

    out_users: list[JSON] = []
    sign_ins: list[JSON] = []
    seen: set[str] = set()
    clean_upns: list[str] = []
    for i in range(users):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        local = f"{first}.{last}".lower()
        if local in seen:
            local = f"{local}{i}"
        seen.add(local)
        upn = f"{local}@{domain}"
        dept, job = rng.choice(_DEPTS)
        office, office_ip = _OFFICES[i % len(_OFFICES)]
        uid = g.guid()
        user: JSON = {
            "id": uid, "userPrincipalName": upn, "displayName": f"{first} {last}", "givenName": first,
            "surname": last, "mail": upn, "accountEnabled": True, "jobTitle": job, "department": dept,
            "officeLocation": PLACES[office][0], "mobilePhone": None, "businessPhones": [], "usageLocation": "US",
            "userType": "Member", "createdDateTime": g.when(rng.randrange(60, 1500), 15), "passwordPolicies": None,
        }
        junk_id = g.folder_id()
        folders: list[JSON] = [{"id": junk_id, "displayName": "Junk Email", "wellKnownName": "junkemail"}]
        rules: list[JSON] = []
        n_rules = rng.choices((0, 1, 2, 3, 4, 5, 6), weights=(25, 25, 20, 13, 9, 5, 3))[0]
        custom: dict[str, str] = {}

        def folder(name: str, custom: dict[str, str] = custom, folders: list[JSON] = folders) -> str:
            if name not in custom:
                custom[name] = g.folder_id()
                folders.append({"id": custom[name], "displayName": name, "wellKnownName": None})
            return custom[name]

        for seq in range(1, n_rules + 1):
            kind = rng.randrange(7)
            if kind == 0:
                rules.append(_rule(g, "Newsletters", seq, {"senderContains": [rng.choice(_NEWS)]},
                                   {"moveToFolder": folder("Newsletters"), "markAsRead": rng.random() < 0.5}))
            elif kind == 1:
                vendor, proj = rng.choice(_VENDORS), rng.choice(_PROJECTS)
                rules.append(_rule(g, f"{vendor.split('.')[0].title()} - {proj}", seq,
                                   {"senderContains": [f"@{vendor}"]}, {"moveToFolder": folder(proj)}))
            elif kind == 2 and i > 0:
                colleague = out_users[rng.randrange(len(out_users))]
                rules.append(_rule(g, f"Forward to {colleague['givenName']}", seq,
                                   {"subjectContains": [rng.choice(("ticket", "schedule", "report", "meeting"))]},
                                   {"forwardTo": [{"emailAddress": {"name": colleague["displayName"],
                                                                    "address": colleague["mail"]}}]}))
            elif kind == 3:
                rules.append(_rule(g, "Marketing to junk", seq,
                                   {"fromAddresses": [{"emailAddress": {"name": "Deals",
                                                                        "address": "promo@deals-weekly.example"}}]},
                                   {"moveToFolder": junk_id, "stopProcessingRules": True}))
            elif kind == 4:
                rules.append(_rule(g, "Notifications", seq, {"senderContains": ["noreply@", "no-reply@"]},
                                   {"moveToFolder": folder("Notifications"), "markAsRead": True}))
            elif kind == 5:
                rules.append(_rule(g, "From my manager", seq, {"senderContains": ["manager"]},
                                   {"markImportance": "high"}))
            else:
                rules.append(_rule(g, "Meeting invites", seq, {"subjectContains": ["Invitation:"]},
                                   {"moveToFolder": folder("Meetings"), "assignCategories": ["Meetings"]}))
        if i in payroll:
            rules.append(_rule(g, "Payslips home", len(rules) + 1, {"subjectContains": ["payslip", "payroll"]},
                               {"forwardTo": [{"emailAddress": {"name": first,
                                                                "address": f"{local.replace('.', '')}@gmail.com"}}]}))
        if rng.random() < 0.7:
            rules.append(_rule(g, JUNK_RULE_NAME, 100, {}, {"moveToFolder": junk_id}, hidden=True))
        oof = rng.random() < 0.1
        if oof:
            rules.extend(_rule(g, n, 101 + k, {}, {}, hidden=True, enabled=False) for k, n in enumerate(OOF_RULE_NAMES))
        methods: list[JSON] = [{"@odata.type": "#microsoft.graph.passwordAuthenticationMethod",
                                "id": PASSWORD_METHOD_ID, "password": None, "createdDateTime": None}]
        if rng.random() < 0.9:
            methods.append({"@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod",
                            "id": g.guid(), "displayName": rng.choice(("iPhone 15", "Pixel 8", "Galaxy S23")),
                            "deviceTag": "SoftwareTokenActivated", "phoneAppVersion": "6.2409.6371",
                            "createdDateTime": g.when(rng.randrange(100, 900), 16)})
        if rng.random() < 0.4:
            methods.append({"@odata.type": "#microsoft.graph.phoneAuthenticationMethod",
                            "id": MOBILE_PHONE_METHOD_ID, "phoneNumber": f"+1 206 555 {1000 + i % 9000:04d}",
                            "phoneType": "mobile", "smsSignInState": "notAllowedByPolicy",
                            "createdDateTime": g.when(rng.randrange(100, 900), 16)})
        devices: list[JSON] = []
        if rng.random() < 0.3:
            did = g.guid()
            devices.append({"id": did, "guid": did, "identity": f"{first} {last}\\ExchangeActiveSyncDevices\\"
                            f"Outlook§{did.replace('-', '')[:32].upper()}", "deviceId": did.replace("-", "")[:32],
                            "deviceType": "Outlook", "deviceModel": "Outlook for iOS and Android",
                            "deviceOS": "iOS 17.6", "deviceUserAgent": "Outlook-iOS/2.0", "friendlyName": None,
                            "clientType": "Outlook", "firstSyncTime": g.when(rng.randrange(60, 700), 17),
                            "lastSuccessSync": g.when(1, 12), "deviceAccessState": "Allowed",
                            "deviceAccessStateReason": "Global"})
        grants: list[JSON] = []
        if rng.random() < 0.05:
            grants.append({"id": f"{g.rng.getrandbits(256):064x}"[:43], "clientId": zoom_sp,
                           "consentType": "Principal", "principalId": uid, "resourceId": graph_sp, "scope": ZOOM_SCOPE})
        auto: JSON = {"status": "disabled", "externalAudience": "all", "internalReplyMessage": "",
                "externalReplyMessage": ""}
        if oof and rng.random() < 0.3:
            auto = {"status": "scheduled", "externalAudience": "contactsOnly",
                    "internalReplyMessage": "I am on leave this week.", "externalReplyMessage": "I am on leave.",
                    "scheduledStartDateTime": {"dateTime": g.when(2, 0), "timeZone": "UTC"},
                    "scheduledEndDateTime": {"dateTime": g.when(-5, 0), "timeZone": "UTC"}}
        user["mailbox"] = {
            "forwardingSmtpAddress": None, "forwardingAddress": None, "deliverToMailboxAndForward": False,
            "folders": folders, "inboxRules": rules, "sweepRules": [], "automaticRepliesSetting": auto,
            "permissions": [], "recipientPermissions": [], "mobileDevices": devices, "messages": {},
            "casMailbox": cas_mailbox(),
        }
        user["authenticationMethods"] = methods
        user["oauth2PermissionGrants"] = grants
        user["risk"] = {"riskLevel": "none", "riskState": "none", "riskDetail": "none",
                        "riskLastUpdatedDateTime": None}
        loc = locations[office]
        for _ in range(rng.choice((1, 2, 2, 3))):
            d = rng.randrange(1, 29)
            if rng.random() < 0.7:
                sign_ins.append(_sign_in(g, user, g.when(d, 14 + rng.randrange(4), rng.randrange(60)), office_ip,
                                         loc, _DEVICE_WEB))
            else:
                sign_ins.append(_sign_in(g, user, g.when(d, 18 + rng.randrange(4), rng.randrange(60)),
                                         f"198.18.{(i >> 8) & 255}.{i & 255}", loc, _DEVICE_PHONE,
                                         app="Microsoft Outlook", app_id=OUTLOOK_APP_ID,
                                         client="Mobile Apps and Desktop clients"))
        out_users.append(user)
        if i not in bad:
            clean_upns.append(upn)

    # ------------------------------------------------------------------ the compromised share
    truth_users: dict[str, JSON] = {}
    extra: JSON = {"messageTraces": [], "blockedSenders": [], "auditRecords": [], "directoryAudits": [],
                   "riskDetections": [], "alerts": []}
    attack_app_used = False
    for n, i in enumerate(sorted(bad)):
        user = out_users[i]
        ip, place, forward, names = _CAMPAIGNS[n % len(_CAMPAIGNS)]
        if n == 0 and n_bad >= 2:
            techniques = ["hiddenDeleteRule"]  # visible only to Get-InboxRule -IncludeHidden (the --deep sweep)
        else:
            techniques = [rng.choice(_HIDE_TECHNIQUES), *rng.sample(_EXTRA_TECHNIQUES, rng.randrange(1, 4))]
        legacy = rng.random() < 0.5
        techniques.insert(0, "legacySignIn" if legacy else "riskySignIn")
        p = empty_planted()
        day = rng.randrange(2, 20)
        s = _sign_in(g, user, g.when(day, 2, rng.randrange(50)), ip, locations[place], _DEVICE_ATTACK,
                     app="Office 365 Exchange Online" if legacy else "OfficeHome",
                     app_id=EXO_APP_ID if legacy else OFFICE_HOME_APP_ID, client="IMAP4" if legacy else "Browser",
                     risk="high", risk_events=["unlikelyTravel"] if legacy else ["unfamiliarFeatures"])
        if legacy:
            s["userAgent"] = "BAV2ROPC"
            p["legacyProtocols"] = ["IMAP4"]
        sign_ins.append(s)
        p["signIns"] = [s["id"]]
        user["risk"] = {"riskLevel": "high", "riskState": "atRisk", "riskDetail": "none",
                        "riskLastUpdatedDateTime": s["createdDateTime"]}
        extra["riskDetections"].append({
            "id": g.guid(), "requestId": s["correlationId"], "correlationId": s["correlationId"],
            "riskEventType": s["riskEventTypes"][0], "riskState": "atRisk",
            "riskLevel": "high", "riskDetail": "none", "source": "IdentityProtection",
            "detectionTimingType": "offline", "activity": "signin", "ipAddress": ip, "location": locations[place],
            "activityDateTime": s["createdDateTime"], "detectedDateTime": s["createdDateTime"],
            "lastUpdatedDateTime": s["createdDateTime"], "userId": user["id"],
            "userDisplayName": user["displayName"], "userPrincipalName": user["userPrincipalName"]})
        p["riskDetections"] = [extra["riskDetections"][-1]["id"]]
        mbx = user["mailbox"]
        after = clock.iso(clock.at(day, 2, 55))

        def audit(operation: str, params: list[tuple[str, str]], user: JSON = user, ip: str = ip,
                  after: str = after, p: JSON = p) -> None:
            rid = g.guid()
            extra["auditRecords"].append({
                "Id": rid, "RecordType": 1, "CreationTime": after, "Operation": operation,
                "OrganizationId": tenant_id, "UserType": 2, "UserKey": user["userPrincipalName"],
                "Workload": "Exchange", "ResultStatus": "True", "ObjectId": user["userPrincipalName"],
                "UserId": user["userPrincipalName"], "ClientIP": f"{ip}:{rng.randrange(40000, 60000)}",
                "Parameters": [{"Name": k, "Value": v} for k, v in params], "ExternalAccess": False,
                "OrganizationName": domains[1], "AppId": EXO_APP_ID})
            p["auditRecords"].append(rid)

        for t in techniques:
            if t == "hidingRule":
                target = rng.choice(("RSS Feeds", "RSS Subscriptions", "Conversation History", "Archive"))
                kw = rng.sample(_FINANCE, 3)
                r = _rule(g, rng.choice(names), len(mbx["inboxRules"]) + 1, {"bodyOrSubjectContains": kw},
                          {"moveToFolder": _wk_folder(g, mbx, target), "markAsRead": True,
                           "stopProcessingRules": True})
                mbx["inboxRules"].insert(0, r)
                p["inboxRules"].append(r["id"])
                audit("New-InboxRule", [("Name", r["displayName"]), ("SubjectOrBodyContainsWords", ";".join(kw)),
                                        ("MoveToFolder", target), ("MarkAsRead", "True")])
            elif t == "hiddenDeleteRule":
                kw = rng.sample(_WARNING, 3)
                r = _rule(g, rng.choice(names), len(mbx["inboxRules"]) + 1, {"bodyOrSubjectContains": kw},
                          {"delete": True, "markAsRead": True, "stopProcessingRules": True}, hidden=True)
                r["isReadOnly"] = False
                mbx["inboxRules"].insert(0, r)
                p["hiddenInboxRules"].append(r["id"])
            elif t == "forwardRule":
                action = rng.choice(("forwardTo", "redirectTo", "forwardAsAttachmentTo"))
                r = _rule(g, rng.choice(names), len(mbx["inboxRules"]) + 1,
                          {"subjectContains": rng.sample(_FINANCE, 2)},
                          {action: [{"emailAddress": {"name": forward, "address": forward}}]})
                mbx["inboxRules"].insert(0, r)
                p["inboxRules"].append(r["id"])
                audit("New-InboxRule", [("Name", r["displayName"]), (action[0].upper() + action[1:], forward)])
            elif t == "smtpForwarding":
                keep = rng.random() < 0.3
                mbx["forwardingSmtpAddress"] = f"smtp:{forward}"
                mbx["deliverToMailboxAndForward"] = keep
                p["forwarding"] = {"forwardingSmtpAddress": f"smtp:{forward}", "forwardingAddress": None,
                                   "deliverToMailboxAndForward": keep}
                audit("Set-Mailbox", [("ForwardingSmtpAddress", f"smtp:{forward}"),
                                      ("DeliverToMailboxAndForward", str(keep))])
            elif t == "oauthGrant":
                if not attack_app_used:
                    sps.append({"id": attack_sp, "appId": _ATTACK_APP[0], "displayName": _ATTACK_APP[1],
                                "appDisplayName": _ATTACK_APP[1],
                                "appOwnerOrganizationId": "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
                                "publisherName": None,
                                "verifiedPublisher": {"displayName": None, "verifiedPublisherId": None,
                                                      "addedDateTime": None},
                                "servicePrincipalType": "Application", "accountEnabled": True,
                                "replyUrls": ["http://localhost:8400/"], "createdDateTime": after})
                    attack_app_used = True
                gr = {"id": f"{rng.getrandbits(256):064x}"[:43], "clientId": attack_sp, "consentType": "Principal",
                      "principalId": user["id"], "resourceId": graph_sp,
                      "scope": "Mail.ReadWrite Mail.Send offline_access"}
                user["oauth2PermissionGrants"].append(gr)
                p["oauth2PermissionGrants"].append(gr["id"])
                p["servicePrincipals"] = [attack_sp]
            elif t == "sweepRule":
                sid = f"{rng.getrandbits(128):032x}"
                mbx["sweepRules"].append({"ruleId": sid, "name": "Sweep", "enabled": True, "provider": "Exchange16",
                                          "sourceFolder": f"{user['mail']}:\\Inbox",
                                          "destinationFolder": f"{user['mail']}:\\Deleted Items",
                                          "sender": f"it-security@{domain}", "keepForDays": 0, "keepLatest": 0})
                p["sweepRules"].append(sid)
            elif t == "mfaMethod":
                taken = any(m["id"] == MOBILE_PHONE_METHOD_ID for m in user["authenticationMethods"])
                slot_id, slot = ((ALTERNATE_PHONE_METHOD_ID, "alternateMobile") if taken
                                 else (MOBILE_PHONE_METHOD_ID, "mobile"))
                user["authenticationMethods"].append({
                    "@odata.type": "#microsoft.graph.phoneAuthenticationMethod", "id": slot_id,
                    "phoneNumber": f"+234 803 000 {rng.randrange(1000, 9999)}", "phoneType": slot,
                    "smsSignInState": "notAllowedByPolicy", "createdDateTime": after})
                p["authenticationMethods"].append(slot_id)
            elif t == "mobileDevice":
                did = g.guid()
                mbx["mobileDevices"].append({
                    "id": did, "guid": did, "identity": f"{user['displayName']}\\ExchangeActiveSyncDevices\\Android§"
                    f"{did.replace('-', '')[:32].upper()}", "deviceId": did.replace("-", "")[:32],
                    "deviceType": "Android", "deviceModel": "SM-A515F", "deviceOS": "Android 12",
                    "deviceUserAgent": "Android-Mail/2023.10.29", "friendlyName": None, "clientType": "EAS",
                    "firstSyncTime": after, "lastSuccessSync": g.when(1, 3), "deviceAccessState": "Allowed",
                    "deviceAccessStateReason": "Global"})
                p["mobileDevices"].append(did)
            elif t == "delegate":
                other = out_users[(i + 1) % len(out_users)]
                mbx["permissions"].append({"user": other["userPrincipalName"], "accessRights": ["FullAccess"],
                                           "isInherited": False, "deny": False, "inheritanceType": "All"})
                p["mailboxPermissions"].append({"user": other["userPrincipalName"], "accessRights": ["FullAccess"]})
                audit("Add-MailboxPermission", [("User", other["userPrincipalName"]), ("AccessRights", "FullAccess")])
            elif t == "autoReply":
                mbx["automaticRepliesSetting"] = {
                    "status": "alwaysEnabled", "externalAudience": "all", "internalReplyMessage": "Out of office.",
                    "externalReplyMessage": "Out of office. For payments reply to this message."}
                p["automaticReplies"] = True
                audit("Set-MailboxAutoReplyConfiguration", [("AutoReplyState", "Enabled")])
            elif t == "displayName":
                old_name = user["displayName"]
                user["displayName"] = f"{dept} Payments"
                aid = f"Directory_{g.guid()}"
                extra["directoryAudits"].append({
                    "id": aid, "category": "UserManagement", "correlationId": g.guid(), "result": "success",
                    "resultReason": "", "activityDisplayName": "Update user", "activityDateTime": after,
                    "loggedByService": "Core Directory", "operationType": "Update",
                    "initiatedBy": {"user": {"id": user["id"], "displayName": None,
                                             "userPrincipalName": user["userPrincipalName"], "ipAddress": ip},
                                    "app": None},
                    "targetResources": [{"id": user["id"], "displayName": None, "type": "User",
                                         "userPrincipalName": user["userPrincipalName"], "groupType": None,
                                         "modifiedProperties": [
                                             {"displayName": "DisplayName", "oldValue": f'["{old_name}"]',
                                              "newValue": f'["{user["displayName"]}"]'}]}],
                    "additionalDetails": []})
                p["directoryAudits"].append(aid)
                p["displayNameChanged"] = True
            elif t == "spam":
                start = clock.at(day - 1, 3)
                subject = f"Document shared with you: {rng.choice(('Q4 Statement', 'Remittance', 'Payroll update'))}"
                for k in range(60):
                    tid = g.guid()
                    extra["messageTraces"].append({
                        "id": tid, "senderAddress": user["mail"], "recipientAddress":
                        f"contact{k}@{_VENDORS[k % len(_VENDORS)]}", "messageId": f"<{tid}@{domain}>",
                        "receivedDateTime": clock.iso(start + timedelta(seconds=20 * k)), "subject": subject,
                        "size": 18211, "fromIP": ip, "toIP": None, "status": "failed" if k >= 55 else "delivered"})
                    p["messageTraces"].append(tid)
                blocked = clock.iso(start + timedelta(seconds=20 * 55))
                extra["blockedSenders"].append({"senderAddress": user["mail"], "reason": "OutboundSpamLimitExceeded",
                                                "createdDatetime": blocked, "changedDatetime": blocked})
                p["blockedSender"] = True
                inbox = mbx["messages"].setdefault("inbox", [])
                for k in (55, 56):
                    mid = f"AAMkAG{rng.getrandbits(200):050x}AAA="
                    inbox.append({
                        "id": mid, "receivedDateTime": clock.iso(start + timedelta(seconds=20 * k + 3)),
                        "sentDateTime": clock.iso(start + timedelta(seconds=20 * k + 3)),
                        "subject": f"Undeliverable: {subject}", "isRead": False, "importance": "high",
                        "from": {"emailAddress": {"name": "Microsoft Outlook",
                                                  "address": f"postmaster@{domains[1]}"}},
                        "toRecipients": [{"emailAddress": {"name": user["displayName"], "address": user["mail"]}}],
                        "internetMessageId": f"<{mid[6:30]}@{domains[1]}>", "hasAttachments": False,
                        "bodyPreview": "Your message couldn't be delivered.",
                        "body": {"contentType": "text", "content": "Your message couldn't be delivered because you "
                                 "weren't recognized as a valid sender.\nRemote server returned '550 5.1.8 Access "
                                 "denied, bad outbound sender AS(42004)'"}})
                    p["ndrMessages"].append(mid)
                aid = g.guid()
                extra["alerts"].append({
                    "id": aid, "status": "new", "severity": "high", "title": "User restricted from sending email",
                    "description": "A user was restricted from sending email because of outbound spam.",
                    "category": "ThreatManagement", "serviceSource": "microsoftDefenderForOffice365",
                    "detectionSource": "microsoftDefenderForOffice365", "createdDateTime": blocked,
                    "lastUpdateDateTime": blocked, "tenantId": tenant_id,
                    "evidence": [{"@odata.type": "#microsoft.graph.security.userEvidence",
                                  "userAccount": {"azureAdUserId": user["id"],
                                                  "userPrincipalName": user["userPrincipalName"]}}]})
                p["alerts"].append(aid)
                if "blockedSender" not in techniques:
                    techniques.append("blockedSender")
        truth_users[user["userPrincipalName"]] = {
            "id": user["id"], "verdict": "compromised", "verdictsAccepted": ["compromised"],
            "maxSeverity": "critical", "techniques": techniques, "planted": p, "keep": keep_of(user, p),
            "campaign": {"ip": ip, "forwardingAddress": forward}}
    for i in sorted(payroll):
        user = out_users[i]
        truth_users[user["userPrincipalName"]] = {
            "id": user["id"], "verdict": "clean", "verdictsAccepted": ["clean", "suspicious"], "maxSeverity": "medium",
            "techniques": [], "planted": empty_planted(), "keep": keep_of(user, empty_planted()),
            "note": "external forward of payroll mail to a personal address: medium, not a compromise"}

    sign_ins.sort(key=lambda s: s["createdDateTime"], reverse=True)
    truth = {
        "scenario": "synthetic", "seed": seed, "size": users,
        "indicators": {"ips": [c[0] for c in _CAMPAIGNS], "forwardingAddresses": [c[2] for c in _CAMPAIGNS],
                       "internalRecipients": [],
                       "domains": sorted({c[2].split("@")[1] for c in _CAMPAIGNS}), "appIds": [_ATTACK_APP[0]],
                       "phishingSubjects": [], "ruleNames": sorted({n for c in _CAMPAIGNS for n in c[3]})},
        "compromised": sorted(out_users[i]["userPrincipalName"] for i in bad),
        "suspicious": [],
        "clean": clean_upns,
        "users": truth_users,
    }
    return {
        "tenant": {"id": tenant_id, "displayName": "Woodgrove Bank", "domains": domains,
                   "settings": tenant_settings(entra_id_p2=True, unblock_delay_seconds=0)},
        "users": out_users,
        "servicePrincipals": sps,
        "blockedSenders": extra["blockedSenders"],
        "signIns": sign_ins,
        "directoryAudits": extra["directoryAudits"],
        "messageTraces": extra["messageTraces"],
        "auditRecords": extra["auditRecords"],
        "transportRules": [],
        "alerts": extra["alerts"],
        "riskDetections": extra["riskDetections"],
        "conditionalAccessPolicies": [{
            "id": g.guid(), "displayName": "Require MFA for all users", "state": "enabled",
            "createdDateTime": old, "modifiedDateTime": old,
            "conditions": {"users": {"includeUsers": ["All"], "excludeUsers": [], "includeGroups": [],
                                     "excludeGroups": [], "includeRoles": [], "excludeRoles": []},
                           "applications": {"includeApplications": ["All"], "excludeApplications": []},
                           "clientAppTypes": ["browser", "mobileAppsAndDesktopClients"]},
            "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}}],
        "scenarioTruth": truth,
    }


def _wk_folder(g: _Gen, mbx: JSON, name: str) -> str:
    """The id of a hiding folder, created when the mailbox lacks it (RSS Feeds and Notes have no well-known
    name; Conversation History and Archive do)."""
    wkn = {"Conversation History": "conversationhistory", "Archive": "archive"}.get(name)
    for f in mbx["folders"]:
        if (wkn and f.get("wellKnownName") == wkn) or f.get("displayName") == name:
            return str(f["id"])
    fid = g.folder_id()
    mbx["folders"].append({"id": fid, "displayName": name, "wellKnownName": wkn})
    return fid
