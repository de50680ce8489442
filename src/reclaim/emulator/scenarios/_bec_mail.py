"""bec-classic's mailbox audit trail: what the attacker read and sent from Alice's mailbox, and what Alice did.

* day -3 16:59, IMAP from the attacker's address (the IMAP sign-in's session): the whole Inbox synced
  (``MailItemsAccessed``, ``MailAccessType`` Sync).
* day -1 18:02-18:06, the attacker's browser session (OWA, from the attacker's address): the four finance
  messages hidden in RSS Feeds opened one by one (Bind, by internet message id).
* day -2 03:10 on, SMTP from the attacker's address: one ``Send`` record per phishing message.
* Alice's own, from the office: an invoice opened in her Inbox (Bind) and one of her "RE: Invoice
  reconciliation" replies sent. These are hers: attribution must leave them out.

Records are shaped as the Management Activity API returns them: ``MailItemsAccessed`` is
ExchangeItemAggregated (RecordType 50, ``ClientIPAddress``, ``Folders[].FolderItems[]``,
``OperationProperties`` MailAccessType), ``Send`` is ExchangeItem (RecordType 2, ``ClientIP``, ``Item``).
Every user gets a Microsoft 365 E5 licence (``licenseDetails``), whose Advanced Auditing plan records both.
"""

from __future__ import annotations

from typing import Any

from reclaim.emulator.scenarios._common import EXO_APP_ID, guid

JSON = dict[str, Any]

#: Microsoft 365 E5 and the service plans that decide what the audit log records.
E5_SKU = ("06ebc4ee-1bb5-47dd-8120-11324bc54e06", "SPE_E5")
E5_PLANS = (("efb87545-963c-4e0d-99df-69c6916d9eb0", "EXCHANGE_S_ENTERPRISE"),
            ("2f442157-a11f-46b9-ae5b-6e39ff4e5849", "M365_ADVANCED_AUDITING"),
            ("5dbe027f-2339-4123-9542-606e4d348a72", "SHAREPOINTENTERPRISE"))
OWA = "Client=OWA;Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0"
IMAP = "Client=REST;Client=RESTSystem;;"


def e5_licence(user: JSON) -> JSON:
    """A ``licenseDetails`` object for Microsoft 365 E5."""
    return {"id": guid("licence", user["id"]), "skuId": E5_SKU[0], "skuPartNumber": E5_SKU[1],
            "servicePlans": [{"servicePlanId": pid, "servicePlanName": name, "provisioningStatus": "Success",
                              "appliesTo": "User"} for pid, name in E5_PLANS]}


def _base(rid: str, *, when: str, operation: str, user: JSON, org: str, tenant_id: str, record_type: int,
          session: str, aad_session: str) -> JSON:
    upn = user["userPrincipalName"]
    return {"Id": rid, "RecordType": record_type, "CreationTime": when, "Operation": operation,
            "OrganizationId": tenant_id, "UserType": 0, "UserKey": user["id"], "Workload": "Exchange",
            "ResultStatus": "Succeeded", "UserId": upn, "ExternalAccess": False, "InternalLogonType": 0,
            "LogonType": 0, "MailboxGuid": guid("mbx", user["id"]), "MailboxOwnerUPN": upn,
            "OrganizationName": org, "OriginatingServer": "BY5PR01MB5601 (15.20.8182.016)", "SessionId": session,
            "AppAccessContext": {"AADSessionId": aad_session, "ClientAppId": EXO_APP_ID}}


def mail_items_accessed(rid: str, *, when: str, user: JSON, org: str, tenant_id: str, ip: str, client: str,
                        access: str, folder: str, messages: list[str], session: str, aad_session: str) -> JSON:
    r = _base(rid, when=when, operation="MailItemsAccessed", user=user, org=org, tenant_id=tenant_id,
              record_type=50, session=session, aad_session=aad_session)
    r.update({"ClientIPAddress": ip, "ClientInfoString": client, "OperationCount": max(1, len(messages)),
              "OperationProperties": [{"Name": "MailAccessType", "Value": access},
                                      {"Name": "IsThrottled", "Value": "False"}],
              "Folders": [{"Id": guid("folder", folder), "Path": "\\" + folder,
                           "FolderItems": [{"InternetMessageId": m, "SizeInBytes": 48_213} for m in messages]}]})
    return r


def send(rid: str, *, when: str, user: JSON, org: str, tenant_id: str, ip: str, client: str, imid: str,
         subject: str, session: str, aad_session: str) -> JSON:
    r = _base(rid, when=when, operation="Send", user=user, org=org, tenant_id=tenant_id, record_type=2,
              session=session, aad_session=aad_session)
    r.update({"ClientIP": ip, "ClientInfoString": client,
              "Item": {"Id": guid("item", rid), "InternetMessageId": imid, "Subject": subject,
                       "ParentFolder": {"Id": guid("folder", "Sent Items"), "Path": "\\Sent Items"},
                       "SizeInBytes": 9_412}})
    return r


def _imid(user: JSON, subject: str) -> str:
    for folder in (user.get("mailbox") or {}).get("messages", {}).values():
        for m in folder:
            if m.get("subject") == subject:
                return str(m["internetMessageId"])
    raise KeyError(subject)


def plant(k: str, clock: Any, *, alice: JSON, org: str, tenant_id: str, attacker_ip: str, office_ip: str,
          hidden_subjects: list[str], phish: list[tuple[str, str, str]], own_read: str,
          own_sent: tuple[str, str, str]) -> tuple[list[JSON], JSON]:
    """Alice's MailItemsAccessed and Send records; returns them and the answer key (attacker's and Alice's ids).

    ``phish``: (internet message id, subject, time) of each phishing message; ``own_sent`` one of Alice's own."""
    imap_s, imap_aad = guid(k, "session", "imap"), guid(k, "aad", "imap")
    web_s, web_aad = guid(k, "session", "owa"), guid(k, "aad", "owa")
    smtp_s, smtp_aad = guid(k, "session", "smtp"), guid(k, "aad", "smtp")
    own_s, own_aad = guid(k, "session", "alice"), guid(k, "aad", "alice")
    common: dict[str, Any] = {"user": alice, "org": org, "tenant_id": tenant_id}
    attacker: list[JSON] = [mail_items_accessed(
        guid(k, "mia", "imap-sync"), when=clock.days_ago(3, 16, 59, 2), ip=attacker_ip, client=IMAP,
        access="Sync", folder="Inbox", messages=[], session=imap_s, aad_session=imap_aad, **common)]
    for i, subject in enumerate(hidden_subjects):
        attacker.append(mail_items_accessed(
            guid(k, "mia", "owa", str(i)), when=clock.days_ago(1, 18, 2 + i), ip=attacker_ip, client=OWA,
            access="Bind", folder="RSS Feeds", messages=[_imid(alice, subject)], session=web_s,
            aad_session=web_aad, **common))
    for i, (imid, subject, when) in enumerate(phish):
        attacker.append(send(guid(k, "send", "phish", str(i)), when=when, ip=attacker_ip,
                             client="Client=SMTP", imid=imid, subject=subject, session=smtp_s, aad_session=smtp_aad,
                             **common))
    own = [mail_items_accessed(guid(k, "mia", "alice"), when=clock.days_ago(1, 16, 50), ip=office_ip, client=OWA,
                               access="Bind", folder="Inbox", messages=[_imid(alice, own_read)], session=own_s,
                               aad_session=own_aad, **common),
           send(guid(k, "send", "alice"), when=own_sent[2], ip=office_ip, client=OWA, imid=own_sent[0],
                subject=own_sent[1], session=own_s, aad_session=own_aad, **common)]
    truth = {"attacker": [r["Id"] for r in attacker], "own": [r["Id"] for r in own],
             "mailRead": sorted({m["InternetMessageId"] for r in attacker for f in r.get("Folders", [])
                                 for m in f["FolderItems"]}),
             "mailSent": len(phish)}
    return attacker + own, truth


__all__ = ["E5_PLANS", "E5_SKU", "e5_licence", "mail_items_accessed", "plant", "send"]
