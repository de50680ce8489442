"""The drives of the state (``users[].drive``, ``sites[].drive``): defaults filled in at load.

Kept apart from ``graph_drive`` (the wire) so the state can normalise drives without importing handlers.
"""

from __future__ import annotations

import base64
from typing import Any

JSON = dict[str, Any]


def permission_id(principal: str) -> str:
    """A SharePoint-looking permission id (base64 of the claim), stable for one principal."""
    return base64.urlsafe_b64encode(f"i:0#.f|membership|{principal}".encode()).decode().rstrip("=")


def normalise_drive(drive: JSON, owner: JSON) -> None:
    """Defaults a fixture may leave out: the drive id, a root item with the owner's permission, item ids and
    parents, empty permission lists and recycle bin (at load, so reads never change the dump)."""
    owner_name = str(owner.get("userPrincipalName") or owner.get("name") or owner.get("id") or "site")
    drive.setdefault("id", "b!" + base64.urlsafe_b64encode(f"drive|{owner_name}".encode()).decode().rstrip("="))
    slug = owner_name.replace("@", "_").replace(".", "_")
    web = f"{owner['webUrl']}/Shared Documents" if owner.get("webUrl") else \
        f"https://contoso-my.sharepoint.com/personal/{slug}/Documents"
    drive.setdefault("webUrl", web)
    drive.setdefault("driveType", "business" if "userPrincipalName" in owner else "documentLibrary")
    items: list[JSON] = drive.setdefault("items", [])
    drive.setdefault("recycleBin", [])
    root = next((i for i in items if isinstance(i.get("root"), dict)), None)
    if root is None:
        root = {"id": f"{drive['id']}-root", "name": "root", "root": {}, "folder": {"childCount": 0},
                "webUrl": drive["webUrl"], "permissions": []}
        items.insert(0, root)
    if "userPrincipalName" in owner and not any("owner" in (p.get("roles") or []) for p in root.get("permissions", [])):
        root.setdefault("permissions", []).insert(0, {
            "id": permission_id(str(owner["userPrincipalName"])), "roles": ["owner"], "shareId": None,
            "grantedToV2": {"user": {"id": owner.get("id"), "displayName": owner.get("displayName"),
                                     "email": owner.get("mail") or owner.get("userPrincipalName")},
                            "siteUser": {"displayName": owner.get("displayName"),
                                         "loginName": f"i:0#.f|membership|{owner['userPrincipalName']}"}}})
    for n, item in enumerate(items):
        item.setdefault("id", f"{drive['id']}-{n}")
        item.setdefault("permissions", [])
        if item is not root:
            item.setdefault("parentReference", {"id": root["id"]})
    for item in drive["recycleBin"]:
        item.setdefault("permissions", [])


def normalise_drives(data: JSON) -> None:
    for owner in [*data.get("users", []), *data.get("sites", [])]:
        drive = owner.get("drive")
        if isinstance(drive, dict):
            normalise_drive(drive, owner)
