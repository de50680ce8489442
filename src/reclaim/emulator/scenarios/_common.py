"""Building blocks shared by the built-in scenarios: Graph- and Exchange-shaped objects, stable ids, times.

Every scenario is a fixture (DESIGN.md, "Fixture format"). Times are computed from "now" (rounded to the
second) so the default 30-day windows always include them; ids never move between builds.

``scenarioTruth`` (an extra top-level field the emulator keeps as given) names what a scenario plants::

    {
      "scenario": "bec-classic",
      "indicators": {"ips": [...], "forwardingAddresses": [...], "domains": [...], "appIds": [...],
                     "phishingSubjects": [...], "ruleNames": [...],
                     "internalRecipients": [...]},    # users inside the tenant the attacker mailed
      "hostileText": [...],                 # optional: attacker-controlled strings the escaping tests look for
      "compromised": [upn, ...], "suspicious": [upn, ...], "clean": [upn, ...],
      "users": {
        upn: {
          "id": "<user id>", "verdict": "compromised|suspicious|clean",
          "verdictsAccepted": [...],          # verdicts a correct investigation may give
          "maxSeverity": "low|medium|...",    # clean/suspicious users: the highest severity a finding may have
          "techniques": [...],                # names from TECHNIQUES
          "planted": {                        # attacker artifacts, by the object's own id
            "inboxRules": [...], "hiddenInboxRules": [...], "sweepRules": [...],
            "forwarding": {"forwardingSmtpAddress", "forwardingAddress", "deliverToMailboxAndForward"} | null,
            "authenticationMethods": [...], "oauth2PermissionGrants": [...], "servicePrincipals": [...],
            "mobileDevices": [...], "mailboxPermissions": [{"user", "accessRights"}],
            "recipientPermissions": [{"trustee", "accessRights"}], "signIns": [...], "directoryAudits": [...],
            "auditRecords": [...], "messageTraces": [...], "ndrMessages": [...], "alerts": [...],
            "riskDetections": [...], "blockedSender": bool, "automaticReplies": bool, "displayNameChanged": bool,
            "legacyProtocols": [...]
          },
          "keep": {                            # the user's own objects that remediation must leave alone
            "inboxRules": [...], "authenticationMethods": [...], "mobileDevices": [...],
            "oauth2PermissionGrants": [...], "mailboxPermissions": [...], "recipientPermissions": [...],
            "forwarding": {...} | null
          }
        }
      }
    }
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

#: Members of v1.0's ``riskEventType`` enum (``signIn.riskEventTypes``); newer detections appear there as
#: ``unknownFutureValue`` and by name only in ``riskEventTypes_v2`` (strings), as the service shows them.
V1_RISK_EVENT_TYPES = frozenset({
    "unlikelyTravel", "anonymizedIPAddress", "maliciousIPAddress", "unfamiliarFeatures", "malwareInfectedIPAddress",
    "suspiciousIPAddress", "leakedCredentials", "investigationsThreatIntelligence", "generic",
    "adminConfirmedUserCompromised", "mcasImpossibleTravel", "mcasSuspiciousInboxManipulationRules",
    "investigationsThreatIntelligenceSigninLinked", "maliciousIPAddressValidCredentialsBlockedIP",
    "unknownFutureValue"})


def v1_risk_event_types(events: list[str] | tuple[str, ...] | None) -> list[str]:
    """``riskEventTypes`` as v1.0 serves it: each event by its enum member, else ``unknownFutureValue``."""
    return [e if e in V1_RISK_EVENT_TYPES else "unknownFutureValue" for e in events or []]

JSON = dict[str, Any]


@dataclass(frozen=True)
class Scenario:
    """A built-in scenario: its name, one line about it, and the function that builds its fixture."""

    name: str
    description: str
    build: Callable[[], JSON]

#: Techniques a compromised user can show (the names used in ``scenarioTruth.users[upn].techniques``).
TECHNIQUES: tuple[str, ...] = (
    "hidingRule", "hiddenDeleteRule", "forwardRule", "smtpForwarding", "sweepRule", "legacySignIn",
    "riskySignIn", "mfaMethod", "oauthGrant", "mobileDevice", "delegate", "sendAs", "spam", "blockedSender",
    "displayName", "autoReply",
)

SEVERITIES: tuple[str, ...] = ("info", "low", "medium", "high", "critical")

# Well-known application ids (first-party Microsoft apps).
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
EXO_APP_ID = "00000002-0000-0ff1-ce00-000000000000"
OFFICE_HOME_APP_ID = "4765445b-32c6-49b0-83e6-1d93765276ca"
OUTLOOK_APP_ID = "d3590ed6-52b3-4102-aeff-aad2292ab01c"
GRAPH_EXPLORER_APP_ID = "de8bc8b5-d9f9-48b1-a8ad-b748da725064"
#: The fixed ids Graph gives the password method and the three phone method slots.
PASSWORD_METHOD_ID = "28c10230-6103-485e-b985-444c60001490"  # noqa: S105 - an id, not a secret
MOBILE_PHONE_METHOD_ID = "3179e48a-750b-4051-897c-87b9720928f7"
ALTERNATE_PHONE_METHOD_ID = "b6332ec1-7057-4abe-9331-3d72feddfe41"
OFFICE_PHONE_METHOD_ID = "e37fc753-ff3b-4958-9484-eaa9425c82bc"

MICROSOFT_TENANT_ID = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
GLOBAL_ADMIN_ROLE_TEMPLATE = "62e90394-69f5-4237-9190-012177145e10"

#: Names of the hidden system rules Exchange keeps in every mailbox that has used junk mail / OOF.
JUNK_RULE_NAME = "Junk E-Mail Rule"
OOF_RULE_NAMES = ("Microsoft.Exchange.OOF.KnownExternalSenders.Global",
                  "Microsoft.Exchange.OOF.AllExternalSenders.Global")

#: (wellKnownName, English display name) of the folders a fresh mailbox has.
FOLDERS_EN: tuple[tuple[str, str], ...] = (
    ("msgfolderroot", "Top of Information Store"), ("inbox", "Inbox"), ("drafts", "Drafts"),
    ("sentitems", "Sent Items"), ("deleteditems", "Deleted Items"), ("junkemail", "Junk Email"),
    ("archive", "Archive"), ("outbox", "Outbox"), ("conversationhistory", "Conversation History"),
)

#: Localised display names of the well-known folders (what Graph and Exchange show in such a mailbox).
FOLDERS_DE: dict[str, str] = {
    "msgfolderroot": "Oberste Ebene des Informationsspeichers", "inbox": "Posteingang", "drafts": "Entwürfe",
    "sentitems": "Gesendete Elemente", "deleteditems": "Gelöschte Elemente", "junkemail": "Junk-E-Mail",
    "archive": "Archiv", "outbox": "Postausgang", "conversationhistory": "Unterhaltungsverlauf"}
FOLDERS_FR: dict[str, str] = {
    "msgfolderroot": "Partie supérieure de la banque d'informations", "inbox": "Boîte de réception",
    "drafts": "Brouillons", "sentitems": "Éléments envoyés", "deleteditems": "Éléments supprimés",
    "junkemail": "Courrier indésirable", "archive": "Archives", "outbox": "Boîte d'envoi",
    "conversationhistory": "Historique des conversations"}

#: Places: city, state, country code, latitude, longitude.
PLACES: dict[str, tuple[str, str, str, float, float]] = {
    "seattle": ("Seattle", "Washington", "US", 47.6062, -122.3321),
    "redmond": ("Redmond", "Washington", "US", 47.6740, -122.1215),
    "chicago": ("Chicago", "Illinois", "US", 41.8781, -87.6298),
    "newyork": ("New York", "New York", "US", 40.7128, -74.0060),
    "austin": ("Austin", "Texas", "US", 30.2672, -97.7431),
    "london": ("London", "England", "GB", 51.5074, -0.1278),
    "munich": ("Munich", "Bavaria", "DE", 48.1351, 11.5820),
    "amsterdam": ("Amsterdam", "North Holland", "NL", 52.3676, 4.9041),
    "toronto": ("Toronto", "Ontario", "CA", 43.6532, -79.3832),
    "lagos": ("Lagos", "Lagos", "NG", 6.5244, 3.3792),
    "bucharest": ("Bucharest", "Bucharest", "RO", 44.4268, 26.1025),
    "moscow": ("Moscow", "Moscow", "RU", 55.7558, 37.6173),
    "hochiminh": ("Ho Chi Minh City", "Ho Chi Minh", "VN", 10.8231, 106.6297),
    "saopaulo": ("Sao Paulo", "Sao Paulo", "BR", -23.5505, -46.6333),
}

DEVICES: dict[str, JSON] = {
    "win-edge": {"deviceId": "", "displayName": None, "operatingSystem": "Windows 10", "browser": "Edge 130.0.0",
                 "isCompliant": None, "isManaged": None, "trustType": None},
    "win-chrome": {"deviceId": "", "displayName": None, "operatingSystem": "Windows 10",
                   "browser": "Chrome 131.0.0", "isCompliant": None, "isManaged": None, "trustType": None},
    "mac-safari": {"deviceId": "", "displayName": None, "operatingSystem": "MacOs", "browser": "Safari 17.6",
                   "isCompliant": None, "isManaged": None, "trustType": None},
    "ios-outlook": {"deviceId": "", "displayName": None, "operatingSystem": "Ios 17.6",
                    "browser": "Mobile Safari", "isCompliant": None, "isManaged": None, "trustType": None},
    "linux-unknown": {"deviceId": "", "displayName": None, "operatingSystem": "Linux", "browser": "",
                      "isCompliant": None, "isManaged": None, "trustType": None},
    "win-chrome-new": {"deviceId": "", "displayName": None, "operatingSystem": "Windows 10",
                       "browser": "Chrome 119.0.0", "isCompliant": None, "isManaged": None, "trustType": None},
}


class Clock:
    """Relative times for one build: ``days_ago(3, 16, 58)`` is 16:58 UTC three days before today."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = (now or datetime.now(UTC)).replace(microsecond=0)
        self.midnight = self.now.replace(hour=0, minute=0, second=0)

    def iso(self, dt: datetime) -> str:
        return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def at(self, days: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
        """A moment ``days`` calendar days before today (``days >= 1`` is always in the past)."""
        return self.midnight - timedelta(days=days) + timedelta(hours=hour, minutes=minute, seconds=second)

    def days_ago(self, days: int, hour: int = 0, minute: int = 0, second: int = 0) -> str:
        return self.iso(self.at(days, hour, minute, second))

    def ago(self, **delta: float) -> str:
        return self.iso(self.now - timedelta(**delta))


# ----------------------------------------------------------------------------------------------- ids
def guid(*parts: str) -> str:
    """A fixed GUID derived from names, so ids are stable across builds."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "reclaim-scenario/" + "/".join(parts)))


def _b64(*parts: str, size: int = 24) -> str:
    return base64.b64encode(hashlib.sha256("/".join(parts).encode()).digest()[:size]).decode()


def folder_id(*parts: str) -> str:
    """A Graph-looking mail folder id."""
    return "AAMkAG" + _b64("folder", *parts, size=30).replace("/", "-").replace("+", "_") + "AAA="


def message_id(*parts: str) -> str:
    return "AAMkAG" + _b64("message", *parts, size=45).replace("/", "-").replace("+", "_") + "AAA="


def rule_id(*parts: str) -> str:
    """A Graph messageRule id (``AQAAAJ5dZp8=`` style)."""
    return "AQAAA" + _b64("rule", *parts, size=6).replace("/", "_").replace("+", "-")


def sweep_id(*parts: str) -> str:
    """An Exchange sweep rule id (``x2hlsdpGmUifjFgxxGIOJw==`` style)."""
    return _b64("sweep", *parts, size=16)


def grant_id(*parts: str) -> str:
    """An oauth2PermissionGrant id (43 characters of base64url)."""
    return base64.urlsafe_b64encode(hashlib.sha256("/".join(("grant", *parts)).encode()).digest()).decode()[:43]


def internet_message_id(domain: str, *parts: str) -> str:
    h = hashlib.sha256("/".join(parts).encode()).hexdigest()
    return f"<{h[:12].upper()}{h[12:20]}@{domain.upper().replace('.', '')}PR01MB{h[20:24]}.namprd01.prod.outlook.com>"


# ----------------------------------------------------------------------------------------------- mailbox
def folders(user_key: str, names: dict[str, str] | None = None, custom: tuple[str, ...] = ()) -> list[JSON]:
    """The well-known folders (display names overridable, e.g. localised) plus custom top-level folders."""
    names = names or {}
    root = folder_id(user_key, "msgfolderroot")
    out: list[JSON] = []
    for wkn, name in FOLDERS_EN:
        out.append({"id": folder_id(user_key, wkn), "displayName": names.get(wkn, name), "wellKnownName": wkn,
                    "parentFolderId": None if wkn == "msgfolderroot" else root, "isHidden": False})
    for name in custom:
        out.append({"id": folder_id(user_key, "custom", name), "displayName": name, "wellKnownName": None,
                    "parentFolderId": root, "isHidden": False})
    return out


def fid(folder_list: list[JSON], name: str) -> str:
    """The id of a folder by well-known name or display name."""
    for f in folder_list:
        if f.get("wellKnownName") == name or f.get("displayName") == name:
            return str(f["id"])
    raise KeyError(name)


def cas_mailbox(*, imap: bool = True, pop: bool = True, smtp_auth_disabled: bool | None = None) -> JSON:
    """Get-CASMailbox switches; Exchange Online's defaults leave IMAP, POP and SMTP AUTH on."""
    return {"imapEnabled": imap, "popEnabled": pop, "activeSyncEnabled": True, "owaEnabled": True,
            "mapiEnabled": True, "ewsEnabled": True, "smtpClientAuthenticationDisabled": smtp_auth_disabled}


def recipient(address: str, name: str | None = None) -> JSON:
    return {"emailAddress": {"name": name or address, "address": address}}


def inbox_rule(rid: str, name: str, *, sequence: int, conditions: JSON | None = None, actions: JSON | None = None,
               exceptions: JSON | None = None, enabled: bool = True, hidden: bool = False,
               read_only: bool = False) -> JSON:
    return {"id": rid, "displayName": name, "sequence": sequence, "isEnabled": enabled, "hasError": False,
            "isReadOnly": read_only, "conditions": conditions or {}, "actions": actions or {},
            "exceptions": exceptions or {}, "hidden": hidden}


def system_rules(user_key: str, junk_folder: str, *, oof: bool, start: int = 100) -> list[JSON]:
    """The hidden system rules: "Junk E-Mail Rule" and, after OOF was used, the two OOF rules."""
    rules = [inbox_rule(rule_id(user_key, "junk"), JUNK_RULE_NAME, sequence=start, hidden=True, read_only=True,
                        actions={"moveToFolder": junk_folder})]
    if oof:
        for i, name in enumerate(OOF_RULE_NAMES, start=1):
            rules.append(inbox_rule(rule_id(user_key, "oof", name), name, sequence=start + i, hidden=True,
                                    read_only=True, enabled=False))
    return rules


def sweep_rule(rid: str, name: str, upn: str, *, source: str, destination: str, sender: str | None = None,
               keep_for_days: int = 0, keep_latest: int = 0, enabled: bool = True) -> JSON:
    """A Get-SweepRule object in camelCase (folders as Exchange names them: ``upn:\\Folder``)."""
    return {"ruleId": rid, "name": name, "enabled": enabled, "provider": "Exchange16",
            "sourceFolder": f"{upn}:\\{source}", "destinationFolder": f"{upn}:\\{destination}",
            "sender": sender, "keepForDays": keep_for_days, "keepLatest": keep_latest,
            "exceptIfFlagged": False, "exceptIfPinned": False, "systemCategory": None}


def mobile_device(did: str, upn: str, display: str, *, device_type: str, model: str, os: str, user_agent: str,
                  first_sync: str, last_sync: str, client_type: str = "EAS") -> JSON:
    eas_id = hashlib.sha256(did.encode()).hexdigest()[:32].upper()
    return {"id": did, "guid": did, "identity": f"{display}\\ExchangeActiveSyncDevices\\{device_type}§{eas_id}",
            "deviceId": eas_id, "deviceType": device_type, "deviceModel": model, "deviceOS": os,
            "deviceUserAgent": user_agent, "friendlyName": model, "clientType": client_type,
            "firstSyncTime": first_sync, "lastSuccessSync": last_sync, "deviceAccessState": "Allowed",
            "deviceAccessStateReason": "Global", "userDisplayName": upn}


def message(mid: str, *, folder: str, subject: str, sender: tuple[str, str], to: list[tuple[str, str]], when: str,
            body: str, is_read: bool = True, imid: str, importance: str = "normal",
            has_attachments: bool = False) -> JSON:
    """A Graph message as it sits in a folder."""
    return {"id": mid, "createdDateTime": when, "lastModifiedDateTime": when, "receivedDateTime": when,
            "sentDateTime": when, "hasAttachments": has_attachments, "internetMessageId": imid,
            "subject": subject, "bodyPreview": body[:255], "importance": importance, "parentFolderId": folder,
            "isRead": is_read, "isDraft": False, "body": {"contentType": "text", "content": body},
            "sender": recipient(sender[0], sender[1]), "from": recipient(sender[0], sender[1]),
            "toRecipients": [recipient(a, n) for a, n in to], "ccRecipients": []}


def message_trace(tid: str, *, sender: str, to: str, imid: str, when: str, subject: str, from_ip: str,
                  to_ip: str | None = None, status: str = "delivered", size: int = 24817) -> JSON:
    return {"id": tid, "senderAddress": sender, "recipientAddress": to, "messageId": imid,
            "receivedDateTime": when, "subject": subject, "size": size, "fromIP": from_ip, "toIP": to_ip,
            "status": status}


# ----------------------------------------------------------------------------------------------- identity
def sign_in(sid: str, user: JSON, *, when: str, ip: str, place: str, app: str = "Office 365 Exchange Online",
            app_id: str = EXO_APP_ID, client: str = "Browser", device: str = "win-edge", error: int = 0,
            failure: str | None = None, risk_level: str = "none", risk_state: str = "none",
            risk_events: list[str] | None = None, ca_status: str = "success",
            user_agent: str | None = None) -> JSON:
    """A Graph signIn (v1.0 shape; ``userAgent`` is the beta field, kept as an extra)."""
    city, state, country, lat, lon = PLACES[place]
    out: JSON = {
        "id": sid, "createdDateTime": when, "userDisplayName": user["displayName"],
        "userPrincipalName": user["userPrincipalName"], "userId": user["id"], "appId": app_id,
        "appDisplayName": app, "ipAddress": ip, "clientAppUsed": client, "correlationId": guid("corr", sid),
        "conditionalAccessStatus": ca_status, "isInteractive": True,
        "riskDetail": "none",
        "riskLevelAggregated": risk_level, "riskLevelDuringSignIn": risk_level, "riskState": risk_state,
        "riskEventTypes": v1_risk_event_types(risk_events), "riskEventTypes_v2": list(risk_events or []),
        "resourceDisplayName": "Office 365 Exchange Online" if app_id == EXO_APP_ID else "Microsoft Graph",
        "resourceId": EXO_APP_ID if app_id == EXO_APP_ID else GRAPH_APP_ID,
        "status": {"errorCode": error, "failureReason": failure, "additionalDetails": None},
        "deviceDetail": DEVICES[device],
        "location": {"city": city, "state": state, "countryOrRegion": country,
                     "geoCoordinates": {"altitude": None, "latitude": lat, "longitude": lon}},
        "appliedConditionalAccessPolicies": [],
    }
    if user_agent is not None:
        out["userAgent"] = user_agent
    return out


def password_method(created: str | None = None) -> JSON:
    return {"@odata.type": "#microsoft.graph.passwordAuthenticationMethod", "id": PASSWORD_METHOD_ID,
            "password": None, "createdDateTime": created}


def authenticator_method(mid: str, device: str, created: str) -> JSON:
    return {"@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod", "id": mid,
            "displayName": device, "deviceTag": "SoftwareTokenActivated", "phoneAppVersion": "6.2409.6371",
            "createdDateTime": created}


def phone_method(number: str, created: str, *, slot: str = "mobile") -> JSON:
    ids = {"mobile": MOBILE_PHONE_METHOD_ID, "alternateMobile": ALTERNATE_PHONE_METHOD_ID,
           "office": OFFICE_PHONE_METHOD_ID}
    return {"@odata.type": "#microsoft.graph.phoneAuthenticationMethod", "id": ids[slot], "phoneNumber": number,
            "phoneType": slot, "smsSignInState": "notAllowedByPolicy", "createdDateTime": created}


def fido2_method(mid: str, model: str, created: str) -> JSON:
    return {"@odata.type": "#microsoft.graph.fido2AuthenticationMethod", "id": mid, "displayName": model,
            "model": model, "aaGuid": "cb69481e-8ff7-4039-93ec-0a2729a154a8", "attestationLevel": "attested",
            "createdDateTime": created}


def service_principal(spid: str, app_id: str, name: str, *, publisher: str | None, verified: bool,
                      owner_tenant: str, created: str, reply_urls: list[str] | None = None,
                      homepage: str | None = None) -> JSON:
    return {"id": spid, "appId": app_id, "displayName": name, "appDisplayName": name,
            "appOwnerOrganizationId": owner_tenant, "publisherName": publisher,
            "verifiedPublisher": {"displayName": publisher if verified else None,
                                  "verifiedPublisherId": guid("mpn", name)[:7] if verified else None,
                                  "addedDateTime": created if verified else None},
            "servicePrincipalType": "Application", "signInAudience": "AzureADMultipleOrgs",
            "accountEnabled": True, "replyUrls": reply_urls or [], "homepage": homepage,
            "tags": ["WindowsAzureActiveDirectoryIntegratedApp"], "createdDateTime": created}


def grant(gid: str, client_sp: str, resource_sp: str, principal: str, scope: str) -> JSON:
    return {"id": gid, "clientId": client_sp, "consentType": "Principal", "principalId": principal,
            "resourceId": resource_sp, "scope": scope}


def initiator_user(user: JSON, ip: str) -> JSON:
    return {"user": {"id": user["id"], "displayName": None, "userPrincipalName": user["userPrincipalName"],
                     "ipAddress": ip}, "app": None}


def initiator_app(name: str, spid: str) -> JSON:
    return {"user": None, "app": {"appId": None, "displayName": name, "servicePrincipalId": spid,
                                  "servicePrincipalName": None}}


def directory_audit(aid: str, *, when: str, activity: str, category: str, initiated_by: JSON,
                    targets: list[JSON], service: str = "Core Directory", operation: str = "Update",
                    result_reason: str = "") -> JSON:
    return {"id": f"Directory_{aid}", "category": category, "correlationId": guid("corr", aid),
            "result": "success", "resultReason": result_reason, "activityDisplayName": activity,
            "activityDateTime": when, "loggedByService": service, "operationType": operation,
            "initiatedBy": initiated_by, "targetResources": targets,
            "additionalDetails": [{"key": "UserType", "value": "Member"}]}


def target_user(user: JSON, props: list[tuple[str, Any, Any]]) -> JSON:
    """A directoryAudit target: modified properties as JSON-encoded old and new values, as Entra logs them."""
    modified: list[JSON] = [{"displayName": name, "oldValue": json.dumps([old]) if old is not None else "[]",
                 "newValue": json.dumps([new]) if new is not None else "[]"} for name, old, new in props]
    if props:
        modified.append({"displayName": "Included Updated Properties", "oldValue": None,
                         "newValue": json.dumps(", ".join(p[0] for p in props))})
    return {"id": user["id"], "displayName": None, "type": "User", "userPrincipalName": user["userPrincipalName"],
            "groupType": None, "modifiedProperties": modified}


def audit_record(rid: str, *, when: str, operation: str, user: str, ip: str, org: str, tenant_id: str,
                 parameters: list[tuple[str, str]], object_id: str, workload: str = "Exchange",
                 record_type: int = 1) -> JSON:
    """A unified audit log record as the Office 365 Management Activity API returns it (ExchangeAdmin = 1)."""
    return {"Id": rid, "RecordType": record_type, "CreationTime": when, "Operation": operation,
            "OrganizationId": tenant_id, "UserType": 2, "UserKey": user, "Workload": workload,
            "ResultStatus": "True", "ObjectId": object_id, "UserId": user, "ClientIP": ip,
            "Parameters": [{"Name": n, "Value": v} for n, v in parameters], "ExternalAccess": False,
            "OriginatingServer": "BY5PR01MB5601 (15.20.8182.016)", "OrganizationName": org,
            "AppId": EXO_APP_ID}


def risk_detection(did: str, user: JSON, *, when: str, event: str, level: str, ip: str, place: str,
                   state: str = "atRisk", source: str = "IdentityProtection", timing: str = "offline",
                   request_id: str | None = None) -> JSON:
    city, st, country, lat, lon = PLACES[place]
    return {"id": did, "requestId": request_id or guid("req", did), "correlationId": guid("corr", did),
            "riskEventType": event, "riskState": state, "riskLevel": level,
            "riskDetail": "none", "source": source, "detectionTimingType": timing, "activity": "signin",
            "tokenIssuerType": "AzureAD", "ipAddress": ip,
            "location": {"city": city, "state": st, "countryOrRegion": country,
                         "geoCoordinates": {"latitude": lat, "longitude": lon}},
            "activityDateTime": when, "detectedDateTime": when, "lastUpdatedDateTime": when,
            "userId": user["id"], "userDisplayName": user["displayName"],
            "userPrincipalName": user["userPrincipalName"], "additionalInfo": "[]"}


def alert(aid: str, user: JSON, *, when: str, title: str, description: str, severity: str, category: str,
          service: str, tenant_id: str, status: str = "new") -> JSON:
    """A security alert_v2 with the user as evidence."""
    local, _, domain = user["userPrincipalName"].partition("@")
    return {"id": aid, "providerAlertId": aid.split("_")[-1], "incidentId": str(int(hashlib.sha256(
        aid.encode()).hexdigest()[:6], 16)), "status": status, "severity": severity, "classification": None,
        "determination": None, "serviceSource": service, "detectionSource": service, "productName": {
            "microsoftDefenderForOffice365": "Microsoft Defender for Office 365",
            "azureAdIdentityProtection": "Microsoft Entra ID Protection"}.get(service, service),
        "title": title, "description": description, "category": category, "createdDateTime": when,
        "lastUpdateDateTime": when, "firstActivityDateTime": when, "lastActivityDateTime": when,
        "tenantId": tenant_id, "alertWebUrl": f"https://security.microsoft.com/alerts/{aid}?tid={tenant_id}",
        "evidence": [{"@odata.type": "#microsoft.graph.security.userEvidence", "createdDateTime": when,
                      "verdict": "suspicious", "remediationStatus": "none", "roles": [],
                      "userAccount": {"accountName": local, "domainName": domain, "userSid": None,
                                      "azureAdUserId": user["id"], "userPrincipalName": user["userPrincipalName"],
                                      "displayName": user["displayName"]}}]}


def ca_policy(pid: str, name: str, *, created: str, include_users: list[str] | None = None,
              exclude_users: list[str] | None = None, include_roles: list[str] | None = None,
              client_app_types: list[str] | None = None, grant_controls: list[str] | None = None,
              state: str = "enabled") -> JSON:
    return {"id": pid, "displayName": name, "state": state, "createdDateTime": created, "modifiedDateTime": created,
            "conditions": {"users": {"includeUsers": include_users or [], "excludeUsers": exclude_users or [],
                                     "includeGroups": [], "excludeGroups": [],
                                     "includeRoles": include_roles or [], "excludeRoles": []},
                           "applications": {"includeApplications": ["All"], "excludeApplications": []},
                           "clientAppTypes": client_app_types or ["all"], "platforms": None, "locations": None,
                           "signInRiskLevels": [], "userRiskLevels": []},
            "grantControls": {"operator": "OR", "builtInControls": grant_controls or ["mfa"],
                              "customAuthenticationFactors": [], "termsOfUse": []},
            "sessionControls": None}


def empty_planted() -> JSON:
    return {"inboxRules": [], "hiddenInboxRules": [], "sweepRules": [], "forwarding": None,
            "authenticationMethods": [], "oauth2PermissionGrants": [], "servicePrincipals": [], "mobileDevices": [],
            "mailboxPermissions": [], "recipientPermissions": [], "signIns": [], "directoryAudits": [],
            "auditRecords": [], "messageTraces": [], "ndrMessages": [], "alerts": [], "riskDetections": [],
            "blockedSender": False, "automaticReplies": False, "displayNameChanged": False, "legacyProtocols": []}


def keep_of(user: JSON, planted: JSON) -> JSON:
    """Everything of the user's own that is not planted: what remediation must leave alone."""
    mbx = user.get("mailbox") or {}
    bad_rules = set(planted["inboxRules"]) | set(planted["hiddenInboxRules"])
    bad_perm = {(p["user"], tuple(p["accessRights"])) for p in planted["mailboxPermissions"]}
    bad_sendas = {(p["trustee"], tuple(p["accessRights"])) for p in planted["recipientPermissions"]}
    fwd = None
    if planted["forwarding"] is None and (mbx.get("forwardingSmtpAddress") or mbx.get("forwardingAddress")):
        fwd = {k: mbx.get(k) for k in ("forwardingSmtpAddress", "forwardingAddress", "deliverToMailboxAndForward")}
    return {
        "inboxRules": [r["id"] for r in mbx.get("inboxRules", []) if r["id"] not in bad_rules],
        "sweepRules": [r["ruleId"] for r in mbx.get("sweepRules", []) if r["ruleId"] not in planted["sweepRules"]],
        "authenticationMethods": [m["id"] for m in user.get("authenticationMethods", [])
                                  if m["id"] not in planted["authenticationMethods"]],
        "mobileDevices": [d["id"] for d in mbx.get("mobileDevices", []) if d["id"] not in planted["mobileDevices"]],
        "oauth2PermissionGrants": [g["id"] for g in user.get("oauth2PermissionGrants", [])
                                   if g["id"] not in planted["oauth2PermissionGrants"]],
        "mailboxPermissions": [p for p in mbx.get("permissions", [])
                               if (p["user"], tuple(p["accessRights"])) not in bad_perm],
        "recipientPermissions": [p for p in mbx.get("recipientPermissions", [])
                                 if (p["trustee"], tuple(p["accessRights"])) not in bad_sendas],
        "forwarding": fwd,
    }


def truth_entry(user: JSON, verdict: str, planted: JSON, techniques: list[str], *,
                max_severity: str | None = None, accepted: list[str] | None = None, note: str | None = None) -> JSON:
    entry: JSON = {"id": user["id"], "verdict": verdict, "verdictsAccepted": accepted or [verdict],
                   "maxSeverity": max_severity or ("critical" if verdict == "compromised" else "low"),
                   "techniques": techniques, "planted": planted, "keep": keep_of(user, planted)}
    if note:
        entry["note"] = note
    return entry


def truth_lists(users: dict[str, JSON]) -> JSON:
    return {v: sorted(upn for upn, e in users.items() if e["verdict"] == v)
            for v in ("compromised", "suspicious", "clean")}


def user_object(uid: str, upn: str, display: str, *, job: str, department: str, office: str, created: str,
                mobile: str | None = None, custom_folders: tuple[str, ...] = (),
                folder_names: dict[str, str] | None = None, password_policies: str | None = None) -> JSON:
    """A member user with an Exchange Online mailbox and nothing else yet."""
    given, _, surname = display.partition(" ")
    return {
        "id": uid, "userPrincipalName": upn, "displayName": display, "givenName": given, "surname": surname,
        "mail": upn, "accountEnabled": True, "jobTitle": job, "department": department, "officeLocation": office,
        "mobilePhone": mobile, "businessPhones": [], "usageLocation": "US", "userType": "Member",
        "createdDateTime": created, "passwordPolicies": password_policies, "onPremisesSyncEnabled": None,
        "mailbox": {
            "forwardingSmtpAddress": None, "forwardingAddress": None, "deliverToMailboxAndForward": False,
            "folders": folders(uid, folder_names, custom_folders), "inboxRules": [], "sweepRules": [],
            "automaticRepliesSetting": {"status": "disabled", "externalAudience": "all",
                                        "internalReplyMessage": "", "externalReplyMessage": ""},
            "permissions": [], "recipientPermissions": [], "mobileDevices": [],
            "messages": {"inbox": [], "sentitems": [], "deleteditems": []},
            "casMailbox": cas_mailbox(),
        },
        "authenticationMethods": [password_method()], "oauth2PermissionGrants": [],
        "risk": {"riskLevel": "none", "riskState": "none", "riskDetail": "none", "riskLastUpdatedDateTime": None},
    }


class TenantBuilder:
    """Collects the objects of one hand-written tenant and wires mail, traces and sign-ins consistently."""

    def __init__(self, key: str, tenant_id: str, name: str, domains: list[str], clock: Clock | None = None) -> None:
        self.key = key
        self.tenant_id = tenant_id
        self.name = name
        self.domains = domains
        self.clock = clock or Clock()
        self.users: dict[str, JSON] = {}
        self.service_principals: list[JSON] = []
        self.sign_ins: list[JSON] = []
        self.directory_audits: list[JSON] = []
        self.message_traces: list[JSON] = []
        self.audit_records: list[JSON] = []
        self.blocked_senders: list[JSON] = []
        self.alerts: list[JSON] = []
        self.risk_detections: list[JSON] = []
        self.ca_policies: list[JSON] = []
        self.transport_rules: list[JSON] = []
        self._n = 0

    @property
    def org(self) -> str:
        return next((d for d in self.domains if d.endswith(".onmicrosoft.com")), self.domains[0])

    def seq(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}-{self._n}"

    def add_user(self, user: JSON) -> JSON:
        self.users[user["userPrincipalName"]] = user
        return user

    def user(self, upn: str) -> JSON:
        return self.users[upn]

    # ------------------------------------------------------------------ mail
    def send(self, sender: JSON, to: list[tuple[str, str]], subject: str, body: str, when: str, *,
             from_ip: str = "192.0.2.10", status: str = "delivered", in_sent_items: bool = True,
             deliver_internal: bool = True, tag: str = "") -> tuple[str, list[str]]:
        """Mail sent by a user: Sent Items (unless sent around it), one trace per recipient, internal delivery.
        Returns (internetMessageId, trace ids)."""
        key = self.seq(f"mail{tag}")
        imid = internet_message_id(self.domains[0], self.key, key)
        mbx = sender["mailbox"]
        if in_sent_items:
            mbx["messages"]["sentitems"].append(message(
                message_id(self.key, key, "sent"), folder=fid(mbx["folders"], "sentitems"), subject=subject,
                sender=(sender["mail"], sender["displayName"]), to=to, when=when, body=body, imid=imid))
        traces = []
        for i, (addr, _name) in enumerate(to):
            tid = guid(self.key, "trace", key, str(i))
            self.message_traces.append(message_trace(tid, sender=sender["mail"], to=addr, imid=imid, when=when,
                                                     subject=subject, from_ip=from_ip, status=status,
                                                     size=9000 + len(body) * 3))
            traces.append(tid)
            target = self.users.get(addr.lower())
            if deliver_internal and target is not None and status == "delivered":
                tm = target["mailbox"]
                tm["messages"]["inbox"].append(message(
                    message_id(self.key, key, addr), folder=fid(tm["folders"], "inbox"), subject=subject,
                    sender=(sender["mail"], sender["displayName"]), to=to, when=when, body=body, imid=imid,
                    is_read=False))
        return imid, traces

    def receive(self, target: JSON, sender: tuple[str, str], subject: str, body: str, when: str, *,
                folder: str = "inbox", is_read: bool = True, from_ip: str = "2001:db8:4::25",
                trace: bool = True, tag: str = "") -> str:
        """Mail from outside arriving in a folder (by well-known name or display name)."""
        key = self.seq(f"in{tag}")
        imid = internet_message_id(sender[0].split("@")[-1], self.key, key)
        mbx = target["mailbox"]
        folder_id_ = fid(mbx["folders"], folder)
        msg_key = folder if folder in mbx["messages"] else folder_id_
        if any(f.get("wellKnownName") == folder for f in mbx["folders"]):
            msg_key = folder
        mid = message_id(self.key, key)
        mbx["messages"].setdefault(msg_key, []).append(message(
            mid, folder=folder_id_, subject=subject, sender=sender, to=[(target["mail"], target["displayName"])],
            when=when, body=body, imid=imid, is_read=is_read))
        if trace:
            self.message_traces.append(message_trace(guid(self.key, "trace", key), sender=sender[0],
                                                     to=target["mail"], imid=imid, when=when, subject=subject,
                                                     from_ip=from_ip, to_ip="192.0.2.25"))
        return mid

    # ------------------------------------------------------------------ sign-ins
    def history(self, user: JSON, *, ip: str, place: str, hour: int, days: range, device: str = "win-edge",
                mobile_ip: str | None = None, skip_weekends: bool = True, ca_status: str = "success") -> None:
        """A month of ordinary sign-ins: weekday mornings from the office, some from the phone."""
        for d in days:
            at = self.clock.at(d, hour, (d * 7) % 50, (d * 13) % 60)
            if skip_weekends and at.weekday() >= 5:
                continue
            self.sign_ins.append(sign_in(guid(self.key, "signin", user["id"], str(d)), user,
                                         when=self.clock.iso(at), ip=ip, place=place, app="OfficeHome",
                                         app_id=OFFICE_HOME_APP_ID, device=device, ca_status=ca_status))
            if mobile_ip and d % 3 == 0:
                self.sign_ins.append(sign_in(guid(self.key, "signin-m", user["id"], str(d)), user,
                                             when=self.clock.iso(at + timedelta(hours=5, minutes=11)), ip=mobile_ip,
                                             place=place, app="Microsoft Outlook", app_id=OUTLOOK_APP_ID,
                                             client="Mobile Apps and Desktop clients", device="ios-outlook",
                                             ca_status=ca_status))

    def fixture(self, *, settings: JSON, truth: JSON) -> JSON:
        users = list(self.users.values())
        by_time = sorted(self.sign_ins, key=lambda s: s["createdDateTime"], reverse=True)
        return {
            "tenant": {"id": self.tenant_id, "displayName": self.name, "domains": list(self.domains),
                       "settings": settings},
            "users": users,
            "servicePrincipals": self.service_principals,
            "blockedSenders": self.blocked_senders,
            "signIns": by_time,
            "directoryAudits": sorted(self.directory_audits, key=lambda a: a["activityDateTime"], reverse=True),
            "messageTraces": sorted(self.message_traces, key=lambda t: t["receivedDateTime"], reverse=True),
            "auditRecords": sorted(self.audit_records, key=lambda r: r["CreationTime"]),
            "transportRules": self.transport_rules,
            "alerts": self.alerts,
            "riskDetections": self.risk_detections,
            "conditionalAccessPolicies": self.ca_policies,
            "scenarioTruth": truth,
        }


def transport_rule(guid_: str, name: str, *, priority: int, changed: str, description: str,
                   **conditions_and_actions: Any) -> JSON:
    """A Get-TransportRule object (PascalCase, as the cmdlet returns it)."""
    rule: JSON = {"Name": name, "Identity": name, "Guid": guid_, "State": "Enabled", "Mode": "Enforce",
                  "Priority": priority, "Comments": "", "Description": description, "WhenChanged": changed,
                  "FromScope": None, "SentToScope": None, "BlindCopyTo": [], "CopyTo": [], "RedirectMessageTo": [],
                  "AddToRecipients": [], "PrependSubject": None, "SetSCL": None, "DeleteMessage": False}
    rule.update(conditions_and_actions)
    return rule


def standard_transport_rules(key: str, domain: str, changed: str) -> list[JSON]:
    """The rules a typical small tenant has: an external-sender tag and a compliance copy (internal BCC)."""
    return [
        transport_rule(guid(key, "tr", "external"), "External sender warning", priority=0, changed=changed,
                       description="If the message:\n\tIs received from 'Outside the organization'\nTake the "
                                   "following actions:\n\tPrepend the subject of the message with '[EXTERNAL] '",
                       FromScope="NotInOrganization", PrependSubject="[EXTERNAL] "),
        transport_rule(guid(key, "tr", "compliance"), "Copy finance approvals to compliance", priority=1,
                       changed=changed, description="If the message:\n\tIncludes 'approval' in the subject\nTake the "
                                                    f"following actions:\n\tBlind carbon copy (Bcc) the message to "
                                                    f"'compliance@{domain}'",
                       SubjectContainsWords=["approval"], BlindCopyTo=[f"compliance@{domain}"]),
    ]
