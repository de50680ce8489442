"""Building blocks for OneDrive / SharePoint in scenarios: drives, items, sharing permissions and the
SharePoint unified-audit-log records that describe what was done to them.

Audit records follow the Office 365 Management Activity API schema (common + SharePoint base schema):
``RecordType`` 6 (SharePointFileOperation) or 14 (SharePointSharingOperation), ``Workload`` "OneDrive",
``ObjectId`` the file's full URL, ``SiteUrl``, ``SourceRelativeUrl`` (the folder, library-relative),
``SourceFileName``, ``ClientIP``, ``UserId``, ``UserAgent``; sharing records also ``TargetUserOrGroupName`` /
``TargetUserOrGroupType`` and ``EventData`` (``<Type>View</Type>`` ...), and for links ``UniqueSharingId``.
"""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]

FILE_OPERATION = 6
SHARING_OPERATION = 14


def site_url(upn: str, host: str = "contoso-my.sharepoint.com") -> str:
    return f"https://{host}/personal/{upn.replace('@', '_').replace('.', '_')}/"


class DriveBuilder:
    """One user's OneDrive: folders and files by path, permissions on them, and its audit records."""

    def __init__(self, user: JSON, drive_id: str, *, tenant_id: str) -> None:
        self.user = user
        self.upn = str(user["userPrincipalName"])
        self.site = site_url(self.upn)
        self.tenant_id = tenant_id
        self.drive: JSON = {"id": drive_id, "webUrl": self.site + "Documents", "items": [], "recycleBin": []}
        self.root: JSON = {"id": f"{drive_id}!root", "name": "root", "root": {}, "folder": {},
                           "webUrl": self.drive["webUrl"], "permissions": []}
        self.drive["items"].append(self.root)
        self._by_path: dict[str, JSON] = {"": self.root}
        user["drive"] = self.drive

    def folder(self, path: str, *, created: str) -> JSON:
        return self._add(path, created=created, facet={"folder": {}})

    def file(self, path: str, *, created: str, size: int = 48_213,
             mime: str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet") -> JSON:
        return self._add(path, created=created, facet={"file": {"mimeType": mime}, "size": size})

    def _add(self, path: str, *, created: str, facet: JSON) -> JSON:
        parent_path, _, name = path.rpartition("/")
        parent = self._by_path[parent_path]
        item: JSON = {"id": f"{self.drive['id']}!{len(self.drive['items'])}", "name": name,
                      "parentReference": {"id": parent["id"]}, "webUrl": f"{self.drive['webUrl']}/{path}",
                      "createdDateTime": created, "lastModifiedDateTime": created, **facet, "permissions": []}
        self.drive["items"].append(item)
        self._by_path[path] = item
        return item

    def item(self, path: str) -> JSON:
        return self._by_path[path]

    def delete(self, path: str, *, when: str) -> JSON:
        """Move an item to the recycle bin (as a FileDeleted does)."""
        item = self._by_path.pop(path)
        self.drive["items"].remove(item)
        item["deleted"] = {"state": "deleted"}
        item["deletedDateTime"] = when
        self.drive["recycleBin"].append(item)
        return item

    # -- permissions --------------------------------------------------------------------------------
    def link(self, path: str, pid: str, *, scope: str, kind: str, share: str, expires: str | None = None) -> JSON:
        """A sharing link (``scope`` anonymous / organization / users; ``kind`` view / edit)."""
        host = self.site.split("/personal/")[0]
        letter = {"view": "r", "edit": "w"}.get(kind, "r")
        perm: JSON = {"id": pid, "roles": ["write" if kind == "edit" else "read"], "shareId": share,
                      "hasPassword": False, "expirationDateTime": expires,
                      "link": {"scope": scope, "type": kind, "preventsDownload": False,
                               "webUrl": f"{host}/:x:/g/personal/{self.upn.replace('@', '_').replace('.', '_')}/"
                                         f"{letter}{share}"},
                      "grantedToIdentitiesV2": [], "grantedToIdentities": []}
        self.item(path)["permissions"].append(perm)
        return perm

    def grant(self, path: str, pid: str, *, email: str, name: str, roles: list[str], invited_by: JSON | None = None,
              external: bool) -> JSON:
        """Direct access for a person (an invitation: ``SharingInvitationCreated`` / ``SharingSet``)."""
        perm: JSON = {"id": pid, "roles": roles, "grantedToV2": {"user": {"displayName": name, "email": email},
                                                                 "siteUser": {"displayName": name, "email": email,
                                                                              "loginName": (
                                                                                  f"i:0#.f|membership|{email}"
                                                                                  if not external else
                                                                                  f"i:0#.f|membership|"
                                                                                  f"{email.replace('@', '_')}#ext#")}}}
        if external:
            perm["invitation"] = {"email": email, "signInRequired": True,
                                  "invitedBy": invited_by or {"user": {"email": self.upn}}}
        self.item(path)["permissions"].append(perm)
        return perm

    # -- audit records ------------------------------------------------------------------------------
    def record(self, rid: str, *, when: str, operation: str, path: str, ip: str, user_agent: str,
               record_type: int = FILE_OPERATION, target: str | None = None, target_type: str | None = None,
               event_data: str | None = None, sharing_id: str | None = None, by: str | None = None) -> JSON:
        folder, _, name = path.rpartition("/")
        relative = "Documents" + (f"/{folder}" if folder else "")
        record: JSON = {
            "Id": rid, "RecordType": record_type, "CreationTime": when, "Operation": operation,
            "OrganizationId": self.tenant_id, "UserType": 0, "UserKey": f"i:0h.f|membership|{by or self.upn}",
            "Workload": "OneDrive", "ClientIP": ip, "ObjectId": f"{self.site}{relative}/{name}",
            "UserId": by or self.upn, "EventSource": "SharePoint", "ItemType": "File" if "." in name else "Folder",
            "Site": self.drive["id"], "UserAgent": user_agent, "SiteUrl": self.site,
            "SourceFileExtension": name.rsplit(".", 1)[-1] if "." in name else None,
            "SourceFileName": name, "SourceRelativeUrl": relative,
        }
        if target is not None:
            record["TargetUserOrGroupName"] = target
            record["TargetUserOrGroupType"] = target_type or "Guest"
        if event_data is not None:
            record["EventData"] = event_data
        if sharing_id is not None:
            record["UniqueSharingId"] = sharing_id
        return record


__all__ = ["FILE_OPERATION", "SHARING_OPERATION", "DriveBuilder", "site_url"]
