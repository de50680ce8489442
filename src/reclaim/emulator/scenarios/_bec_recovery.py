"""bec-classic's mail to recover: what the attacker deleted, and the user's own deletions that must stay.

* day -3 17:33, from the attacker's address (browser session): Microsoft's "New app connected to your account"
  notice moved to Deleted Items (``MoveToDeletedItems``), and day -2 09:15 a vendor's "please confirm the bank
  change by phone" soft-deleted from the Inbox (``SoftDelete``: it sits in Recoverable Items, Deletions).
* day -2 09:16, same session: a bank's "callback confirmation" hard-deleted (``HardDelete``: in Purges,
  ``mailbox.purgedItems``, which Graph cannot reach; only ``Restore-RecoverableItems`` brings it back).
* Alice's own deletions, from the office: a parking notice soft-deleted on day -1 (inside the suspicious window,
  familiar address) and a lunch menu moved to Deleted Items on day -12. Both must stay deleted.
* RSS Feeds also holds a real feed item from day -9 (before the hiding rule): it must stay there.

The answer key (``scenarioTruth.users[alice].recovery``) lists, by internet message id, what restore-deleted-mail
brings back (and to which folder), what it leaves, and what restore-hidden-mail must leave in RSS Feeds.
"""

from __future__ import annotations

from typing import Any

from reclaim.emulator.scenarios._common import fid, guid, message, message_id
from reclaim.emulator.state import _folder_id

JSON = dict[str, Any]


def _deletion(k: str, clock: Any, *, name: str, when: str, operation: str, alice: JSON, ip: str, org: str,
              tenant_id: str, msg: JSON, source: tuple[str, str], session: str,
              dest: tuple[str, str] | None = None) -> JSON:
    """A mailbox audit record (ExchangeItemGroup, RecordType 3) as the Management Activity API returns it."""
    record: JSON = {
        "Id": guid(k, "ual", "alice", "del", name), "RecordType": 3, "CreationTime": when, "Operation": operation,
        "OrganizationId": tenant_id, "UserType": 0, "UserKey": alice["id"], "Workload": "Exchange",
        "ResultStatus": "Succeeded", "ObjectId": "", "UserId": alice["userPrincipalName"], "ClientIP": ip,
        "ClientIPAddress": ip, "ClientInfoString": "Client=OWA;Action=ViaProxy", "LogonType": 0,
        "ExternalAccess": False, "InternalLogonType": 0, "MailboxOwnerUPN": alice["userPrincipalName"],
        "MailboxGuid": guid(k, "mbx", "alice"), "OrganizationName": org, "SessionId": session,
        "CrossMailboxOperation": False,
        "Folder": {"Id": source[0], "Path": f"\\{source[1]}"},
        "AffectedItems": [{"Id": msg["id"], "InternetMessageId": msg["internetMessageId"],
                           "Subject": msg["subject"],
                           "ParentFolder": {"Id": source[0], "Name": source[1], "Path": f"\\{source[1]}"}}],
    }
    if dest is not None:
        record["DestFolder"] = {"Id": dest[0], "Path": f"\\{dest[1]}"}
    return record


def plant(k: str, clock: Any, *, alice: JSON, tenant_id: str, org: str, attacker_ip: str, office_ip: str,
          vendor: tuple[str, str]) -> tuple[list[JSON], JSON]:
    """Put the deleted messages in Alice's mailbox; return the audit records and the answer key."""
    mbx = alice["mailbox"]
    folders = mbx["folders"]
    inbox = (fid(folders, "inbox"), "Inbox")
    deleted = (fid(folders, "deleteditems"), "Deleted Items")
    deletions_id = _folder_id(alice["id"], "recoverableitemsdeletions")
    to = [(alice["mail"], "Alice Wu")]

    def put(name: str, folder_key: str, folder: str, subject: str, sender: tuple[str, str], when: str,
            body: str) -> JSON:
        mid = message_id(k, "alice", "deleted", name)
        msg = message(mid, folder=folder, subject=subject, sender=sender, to=to, when=when, body=body,
                      imid=f"<{name}.{guid(k, 'imid', name)[:8]}@{sender[0].split('@')[-1]}>", is_read=True)
        mbx["messages"].setdefault(folder_key, []).append(msg)
        return msg

    notice = put("app-notice", "deleteditems", deleted[0], "New app(s) connected to your Microsoft account",
                 ("account-security-noreply@accountprotection.microsoft.com", "Microsoft account team"),
                 clock.days_ago(3, 17, 6, 40), "Outlook Secure Access was connected to your account. If this "
                 "wasn't you, review your apps.")
    callback = put("bank-callback", "recoverableitemsdeletions", deletions_id,
                   "Please confirm the bank change by phone", vendor, clock.days_ago(2, 9, 2),
                   "We received a request to change your remittance bank account. Please call us to confirm.")
    parking = put("parking", "recoverableitemsdeletions", deletions_id, "Seattle HQ parking update",
                  ("facilities@contoso.com", "Facilities"), clock.days_ago(1, 8, 0),
                  "Level 2 of the garage is closed on Friday.")
    lunch = put("lunch", "deleteditems", deleted[0], "Cafeteria menu this week",
                ("facilities@contoso.com", "Facilities"), clock.days_ago(12, 8, 0), "Soup of the day: tomato.")
    feed = put("rss-item", fid(folders, "RSS Feeds"), fid(folders, "RSS Feeds"),
               "Northwind Traders blog: spring catalogue", ("blog@northwind-traders.example", "Northwind blog"),
               clock.days_ago(9, 6, 0), "Our new catalogue is online.")
    purged = message(message_id(k, "alice", "deleted", "purged"), folder=inbox[0],
                     subject="Wire transfer callback confirmation", sender=("treasury@woodgrovebank.example",
                                                                           "Woodgrove Bank"),
                     to=to, when=clock.days_ago(2, 8, 40), body="Please call us back to confirm the new payee.",
                     imid=f"<callback-2.{guid(k, 'imid', 'purged')[:8]}@woodgrovebank.example>")
    purged.update({"lastParentFolderId": inbox[0], "deletedDateTime": clock.days_ago(2, 9, 16, 2)})
    mbx.setdefault("purgedItems", []).append(purged)
    attacker = f"{attacker_ip}"
    records = [
        _deletion(k, clock, name="notice", when=clock.days_ago(3, 17, 33, 5), operation="MoveToDeletedItems",
                  alice=alice, ip=attacker, org=org, tenant_id=tenant_id, msg=notice, source=inbox, dest=deleted,
                  session=guid(k, "session", "attacker-web")),
        _deletion(k, clock, name="callback", when=clock.days_ago(2, 9, 15, 40), operation="SoftDelete",
                  alice=alice, ip=attacker, org=org, tenant_id=tenant_id, msg=callback, source=inbox,
                  session=guid(k, "session", "attacker-web")),
        _deletion(k, clock, name="purged", when=clock.days_ago(2, 9, 16, 2), operation="HardDelete",
                  alice=alice, ip=attacker, org=org, tenant_id=tenant_id, msg=purged, source=inbox,
                  session=guid(k, "session", "attacker-web")),
        _deletion(k, clock, name="parking", when=clock.days_ago(1, 16, 30), operation="SoftDelete",
                  alice=alice, ip=office_ip, org=org, tenant_id=tenant_id, msg=parking, source=inbox,
                  session=guid(k, "session", "alice-office")),
        _deletion(k, clock, name="lunch", when=clock.days_ago(12, 12, 5), operation="MoveToDeletedItems",
                  alice=alice, ip=office_ip, org=org, tenant_id=tenant_id, msg=lunch, source=inbox, dest=deleted,
                  session=guid(k, "session", "alice-office-old")),
    ]
    truth = {
        "restored": {notice["internetMessageId"]: "inbox", callback["internetMessageId"]: "inbox",
                     purged["internetMessageId"]: "inbox"},
        "purged": [purged["internetMessageId"]],
        "keepDeleted": [parking["internetMessageId"], lunch["internetMessageId"]],
        "keepInRss": [feed["internetMessageId"]],
        "auditRecords": [r["Id"] for r in records[:3]],
    }
    return records, truth
