"""``admin-takeover``: Northwind, where an administrator's account was taken over and every user is clean.

The attacker signed in as the IT administrator from Lagos (a high-risk sign-in), then changed the tenant,
not a mailbox: a mail-flow rule that blind-copies every message mentioning an invoice to an outside
address (New-TransportRule in the unified audit log, from the attacker's address), and an application
consented for every user (a directory audit "Consent to application" by the administrator).

What an investigation must get right here: no user is compromised because of the tenant's rule (their
verdict is ``clean``; the rule is a tenant finding shown apart, naming the administrator who made it),
remediating a user plans no containment, and investigating the administrator finds the account taken over.
"""

from __future__ import annotations

from typing import Any

from reclaim.emulator.scenarios._common import (
    Scenario,
    ca_policy,
    directory_audit,
    empty_planted,
    guid,
    initiator_user,
    service_principal,
    sign_in,
    standard_transport_rules,
    transport_rule,
    truth_entry,
    user_object,
)
from reclaim.emulator.scenarios._tenant import (
    graph_sp_id,
    open_tenant,
    scenario_truth,
    tenant_settings,
)

K = "northwind"
TENANT_ID = "3c9d1e7a-5b2f-4e8c-9a1d-6f0b2c4e8a13"
OFFICE_IP = "192.0.2.80"
MOBILE_IP = "192.0.2.81"
ATTACKER_IP = "203.0.113.77"
DROP = "ledger-archive@outlook-mailbox.example"
RULE_NAME = "Finance journaling"
APP_ID = "4b7e2c19-8d3a-4f6e-b1c5-9a0d2e7f3c81"


def build() -> dict[str, Any]:
    t = open_tenant(K, TENANT_ID, "Northwind Traders", apps_created=(700, 10))
    clock = t.clock
    domain = "northwind.com"

    def person(key: str, display: str, job: str, dept: str) -> dict[str, Any]:
        u = t.add_user(user_object(guid(K, "user", key), f"{key}@{domain}", display, job=job, department=dept,
                                   office="Seattle", created=clock.days_ago(900, 9)))
        # two months of ordinary sign-ins: the investigated window and the baseline before it
        t.history(u, ip=OFFICE_IP, place="seattle", hour=16, days=range(55, 0, -1), mobile_ip=MOBILE_IP)
        return u

    admin = person("it-admin", "Sam Rivera", "IT Administrator", "IT")
    users = [admin, person("nancy.davolio", "Nancy Davolio", "Accountant", "Finance"),
             person("andrew.fuller", "Andrew Fuller", "Sales Director", "Sales"),
             person("janet.leverling", "Janet Leverling", "Sales Representative", "Sales")]

    # The take-over: a high-risk sign-in from Lagos, then the tenant changes from the same address.
    taken = clock.days_ago(4, 2, 13)
    t.sign_ins.append(sign_in(guid(K, "signin", "attack"), admin, when=taken, ip=ATTACKER_IP, place="lagos",
                              app="Azure Portal", client="Browser", device="win-chrome", risk_level="high",
                              risk_state="atRisk", risk_events=["unfamiliarFeatures"]))
    made = clock.days_ago(4, 2, 31)
    rule = transport_rule(guid(K, "tr", "journal"), RULE_NAME, priority=2, changed=made,
                          description="If the message:\n\tIncludes 'invoice' in the subject or body\n"
                                      f"Take the following actions:\n\tBlind carbon copy (Bcc) the message to "
                                      f"'{DROP}'", SubjectOrBodyContainsWords=["invoice", "payment"],
                          BlindCopyTo=[DROP])
    t.transport_rules.extend(standard_transport_rules(K, domain, clock.days_ago(300, 9)))
    t.transport_rules.append(rule)
    t.audit_records.append({
        "Id": guid(K, "audit", "new-transport-rule"), "RecordType": 1, "CreationTime": made,
        "Operation": "New-TransportRule", "OrganizationId": TENANT_ID, "UserType": 2,
        "UserKey": admin["userPrincipalName"], "Workload": "Exchange", "ResultStatus": "True",
        "ObjectId": RULE_NAME, "UserId": admin["userPrincipalName"], "ClientIP": f"{ATTACKER_IP}:50712",
        "Parameters": [{"Name": "Name", "Value": RULE_NAME}, {"Name": "BlindCopyTo", "Value": DROP},
                       {"Name": "SubjectOrBodyContainsWords", "Value": "invoice;payment"}],
        "ExternalAccess": False, "OrganizationName": f"{K}.onmicrosoft.com"})
    # An application consented for every user, by the administrator from the attacker's address.
    app_sp = guid(K, "sp", "mailsync")
    t.service_principals.append(service_principal(app_sp, APP_ID, "Mail Sync Pro", publisher=None, verified=False,
                                                  owner_tenant="0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
                                                  created=clock.days_ago(4, 2, 40),
                                                  reply_urls=["http://localhost:8400/callback"]))
    consent = clock.days_ago(4, 2, 41)
    t.directory_audits.append(directory_audit(
        guid(K, "da", "consent"), when=consent, activity="Consent to application", category="ApplicationManagement",
        initiated_by=initiator_user(admin, ATTACKER_IP), operation="Assign",
        targets=[{"id": app_sp, "displayName": "Mail Sync Pro", "type": "ServicePrincipal",
                  "modifiedProperties": [{"displayName": "ConsentContext.IsAdminConsent", "oldValue": None,
                                          "newValue": "\"True\""}]}]))
    everyone = {"id": guid(K, "grant", "mailsync"), "clientId": app_sp, "consentType": "AllPrincipals",
                "principalId": None, "resourceId": graph_sp_id(K), "scope": "Mail.Read Mail.Send offline_access"}
    t.ca_policies.append(ca_policy(guid(K, "ca", "all"), "Require MFA for all users", created=clock.days_ago(600, 9),
                                   include_users=["All"]))
    for u in users[1:]:
        for d in (20, 12, 5):
            t.send(u, [(users[(users.index(u) % 3) + 1]["mail"], "colleague")], "Weekly numbers",
                   "The figures for this week.", clock.days_ago(d, 17, 5), from_ip=OFFICE_IP, tag=u["id"][:4])

    entries: dict[str, Any] = {}
    for u in users:
        entries[u["userPrincipalName"]] = truth_entry(u, "clean", empty_planted(), [])
    planted = {**empty_planted(), "signIns": [guid(K, "signin", "attack")]}
    entries[admin["userPrincipalName"]] = truth_entry(admin, "compromised", planted, ["riskySignIn"],
                                                      note="the tenant changes were made from this account")
    fixture = t.fixture(settings=tenant_settings(entra_id_p2=True, unblock_delay_seconds=0),
                        truth=scenario_truth("admin-takeover", t, entries, ips=[ATTACKER_IP],
                                             forwarding_addresses=[DROP], domains=["outlook-mailbox.example"],
                                             app_ids=[APP_ID]))
    fixture["oauth2PermissionGrants"] = [everyone]
    fixture["scenarioTruth"]["tenant"] = {
        "verdict": "compromised", "actor": admin["userPrincipalName"],
        "planted": {"transportRules": [rule["Guid"]], "oauth2PermissionGrants": [everyone["id"]]}}
    return fixture


SCENARIO = Scenario("admin-takeover", "Northwind: an administrator taken over; a mail-flow rule and a consent for "
                    "everyone; every user clean.", build)
