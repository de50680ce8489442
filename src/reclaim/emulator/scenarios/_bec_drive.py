"""bec-classic's OneDrive: what the attacker shared and took from Alice's files, and what must stay.

* Alice's own, older shares (before the attack, from the office): a company-wide link to "Q4 accruals.xlsx"
  (day -20), an "Anyone" view link to the offsite photos (day -12), direct access for Ben to the Finance
  folder (day -40). All must be left alone (and listed).
* day -3 17:34-17:52, from the attacker's address: an "Anyone" edit link to "Bank details - vendors.xlsx",
  an "Anyone" view link to "W-9 Contoso.pdf", and an invitation for the attacker's mailbox
  (invoices.contoso@mailvault.example) to the "Payments" folder. 17:38-17:46: 42 files of Finance/Archive
  downloaded (mass download), three opened, "Vendor bank change log.xlsx" deleted.
* Ben has his own "Anyone" link in his own OneDrive (a colleague's share: never touched from Alice's case).
"""

from __future__ import annotations

from typing import Any

from reclaim.emulator.scenarios._common import guid
from reclaim.emulator.scenarios._drive import SHARING_OPERATION, DriveBuilder

JSON = dict[str, Any]

ATTACKER_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0"
OFFICE_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Edg/120.0"
ARCHIVE_FILES = 42


def plant(k: str, clock: Any, *, alice: JSON, ben: JSON, tenant_id: str, attacker_ip: str, attacker_mail: str,
          office_ip: str) -> tuple[list[JSON], JSON]:
    """Build Alice's and Ben's drives; return the SharePoint audit records and the answer key."""
    d = DriveBuilder(alice, "b!" + guid(k, "drive", "alice").replace("-", "")[:24], tenant_id=tenant_id)
    old = clock.days_ago(200, 10)
    for folder in ("Finance", "Finance/Archive", "Finance/Payments", "Team", "Personal"):
        d.folder(folder, created=old)
    d.file("Finance/Q4 accruals.xlsx", created=clock.days_ago(25, 17))
    d.file("Finance/Bank details - vendors.xlsx", created=clock.days_ago(90, 15))
    d.file("Finance/Vendor bank change log.xlsx", created=clock.days_ago(60, 15))
    d.file("Finance/Payments/W-9 Contoso.pdf", created=clock.days_ago(120, 15), mime="application/pdf")
    d.file("Finance/Payments/Payment run 2026-11.xlsx", created=clock.days_ago(30, 15))
    d.file("Team/Offsite photos.zip", created=clock.days_ago(14, 9), mime="application/zip", size=88_104_221)
    archive = [f"Finance/Archive/Invoice INV-{20400 + n}.pdf" for n in range(ARCHIVE_FILES)]
    for n, path in enumerate(archive):
        d.file(path, created=clock.days_ago(150 - n * 2, 15), mime="application/pdf")

    records: list[JSON] = []
    ip_a = f"{attacker_ip}"

    def rec(name: str, **kw: Any) -> JSON:
        r = d.record(guid(k, "sp", name), **kw)
        records.append(r)
        return r

    # Alice's own shares, before the attack, from the office
    own_company = d.link("Finance/Q4 accruals.xlsx", guid(k, "perm", "alice-company"), scope="organization",
                         kind="view", share="EcQ4accrualsOrgView01")
    rec("alice-company", when=clock.days_ago(20, 17, 2), operation="CompanyLinkCreated",
        path="Finance/Q4 accruals.xlsx", ip=office_ip, user_agent=OFFICE_UA, record_type=SHARING_OPERATION,
        event_data="<Type>View</Type>", sharing_id=own_company["shareId"])
    own_anon = d.link("Team/Offsite photos.zip", guid(k, "perm", "alice-photos"), scope="anonymous", kind="view",
                      share="EcOffsitePhotosAnon02", expires=clock.days_ago(-16, 0))
    rec("alice-photos", when=clock.days_ago(12, 9, 40), operation="AnonymousLinkCreated",
        path="Team/Offsite photos.zip", ip=office_ip, user_agent=OFFICE_UA, record_type=SHARING_OPERATION,
        event_data="<Type>View</Type>", sharing_id=own_anon["shareId"])
    ben_grant = d.grant("Finance", guid(k, "perm", "ben-finance"), email=ben["mail"], name=ben["displayName"],
                        roles=["read"], external=False)

    # the attacker's shares
    anon_edit = d.link("Finance/Bank details - vendors.xlsx", guid(k, "perm", "attacker-anon-edit"),
                       scope="anonymous", kind="edit", share="EbAnkDetailsVendorsEd")
    rec("attacker-anon-edit", when=clock.days_ago(3, 17, 34, 12), operation="AnonymousLinkCreated",
        path="Finance/Bank details - vendors.xlsx", ip=ip_a, user_agent=ATTACKER_UA,
        record_type=SHARING_OPERATION, event_data="<Type>Edit</Type>", sharing_id=anon_edit["shareId"])
    anon_view = d.link("Finance/Payments/W-9 Contoso.pdf", guid(k, "perm", "attacker-anon-view"),
                       scope="anonymous", kind="view", share="EW9ContosoAnonView003")
    rec("attacker-anon-view", when=clock.days_ago(3, 17, 35, 40), operation="AnonymousLinkCreated",
        path="Finance/Payments/W-9 Contoso.pdf", ip=ip_a, user_agent=ATTACKER_UA,
        record_type=SHARING_OPERATION, event_data="<Type>View</Type>", sharing_id=anon_view["shareId"])
    invite = d.grant("Finance/Payments", guid(k, "perm", "attacker-invite"), email=attacker_mail,
                     name="Invoices", roles=["read"], external=True)
    rec("attacker-invite", when=clock.days_ago(3, 17, 36, 5), operation="SharingInvitationCreated",
        path="Finance/Payments", ip=ip_a, user_agent=ATTACKER_UA, record_type=SHARING_OPERATION,
        target=attacker_mail, target_type="Guest", event_data="<PermissionsGranted>Read</PermissionsGranted>")
    rec("attacker-sharingset", when=clock.days_ago(3, 17, 36, 6), operation="SharingSet",
        path="Finance/Payments", ip=ip_a, user_agent=ATTACKER_UA, record_type=SHARING_OPERATION,
        target=attacker_mail, target_type="Guest", event_data="<PermissionsGranted>Read</PermissionsGranted>")

    # what the attacker opened, downloaded and deleted
    for n, path in enumerate(("Finance/Bank details - vendors.xlsx", "Finance/Payments/Payment run 2026-11.xlsx",
                              "Finance/Q4 accruals.xlsx")):
        rec(f"attacker-open-{n}", when=clock.days_ago(3, 17, 33, 10 + n * 9), operation="FileAccessed", path=path,
            ip=ip_a, user_agent=ATTACKER_UA)
    for n, path in enumerate(archive):
        rec(f"attacker-dl-{n}", when=clock.days_ago(3, 17, 38 + n // 6, (n * 7) % 60), operation="FileDownloaded",
            path=path, ip=ip_a, user_agent=ATTACKER_UA)
    rec("attacker-delete", when=clock.days_ago(3, 17, 51, 30), operation="FileDeleted",
        path="Finance/Vendor bank change log.xlsx", ip=ip_a, user_agent=ATTACKER_UA)
    d.delete("Finance/Vendor bank change log.xlsx", when=clock.days_ago(3, 17, 51, 30))

    # Alice's ordinary work the week before (benign look-alikes: her own opens and downloads)
    for n, day in enumerate((9, 6, 4)):
        rec(f"alice-open-{n}", when=clock.days_ago(day, 16, 20), operation="FileAccessed",
            path="Finance/Q4 accruals.xlsx", ip=office_ip, user_agent=OFFICE_UA)
        rec(f"alice-dl-{n}", when=clock.days_ago(day, 16, 25), operation="FileDownloaded",
            path="Finance/Payments/Payment run 2026-11.xlsx", ip=office_ip, user_agent=OFFICE_UA)

    # Ben's own "Anyone" link in his own OneDrive: a colleague's share, not Alice's case
    b = DriveBuilder(ben, "b!" + guid(k, "drive", "ben").replace("-", "")[:24], tenant_id=tenant_id)
    b.folder("Campaigns", created=old)
    b.file("Campaigns/Spring launch deck.pptx", created=clock.days_ago(15, 14),
           mime="application/vnd.openxmlformats-officedocument.presentationml.presentation")
    ben_link = b.link("Campaigns/Spring launch deck.pptx", guid(k, "perm", "ben-anon"), scope="anonymous",
                      kind="view", share="EbSpringLaunchDeck004")
    records.append(b.record(guid(k, "sp", "ben-anon"), when=clock.days_ago(10, 14, 5),
                            operation="AnonymousLinkCreated", path="Campaigns/Spring launch deck.pptx",
                            ip=office_ip, user_agent=OFFICE_UA, record_type=SHARING_OPERATION,
                            event_data="<Type>View</Type>", sharing_id=ben_link["shareId"]))

    truth: JSON = {
        "driveId": d.drive["id"],
        "plantedShares": [anon_edit["id"], anon_view["id"], invite["id"]],
        "keepShares": [own_company["id"], own_anon["id"], ben_grant["id"]],
        "colleagueShares": {ben["userPrincipalName"]: [ben_link["id"]]},
        "downloaded": sorted(archive),
        "opened": ["Finance/Bank details - vendors.xlsx", "Finance/Payments/Payment run 2026-11.xlsx",
                   "Finance/Q4 accruals.xlsx"],
        "deleted": ["Finance/Vendor bank change log.xlsx"],
        "massDownload": True,
    }
    return records, truth


__all__ = ["ARCHIVE_FILES", "plant"]
