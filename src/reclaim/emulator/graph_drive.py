"""Graph: OneDrive and SharePoint drives, drive items, sharing permissions, SharePoint tenant settings.

State (the fixture format, docs/fixture-format.md "drive"): ``users[].drive`` and ``sites[].drive`` are
``{"id", "webUrl", "items": [driveItem], "recycleBin": [driveItem]}``. Items are a flat list linked by
``parentReference.id`` (the root carries ``"root": {}``; one is made when the fixture has none); each item
may carry ``permissions``: Graph ``permission`` objects (``id, roles, link{scope, type, webUrl},
grantedToV2, grantedToIdentitiesV2, invitation, expirationDateTime``). Deleted items sit in the drive's
``recycleBin`` (with ``deleted`` and their old ``parentReference``).

Behaviour, as documented on learn.microsoft.com (driveitem-get, permission-list, permission-get,
permission-delete, drive-get, sharepointsettings-get):

- reading needs Files.Read.All, Files.ReadWrite.All, Sites.Read.All, Sites.ReadWrite.All or
  Sites.FullControl.All (application); deleting a permission Files.ReadWrite.All, Sites.ReadWrite.All or
  Sites.FullControl.All. Otherwise 403 ``accessDenied``.
- ``GET /users/{id}/drive`` for a user without a OneDrive answers 404 ``ResourceNotFound`` "User's mysite
  not found."; an unknown item or permission 404 ``itemNotFound``.
- listing an item's permissions returns its own and those it inherits from its folders, the inherited
  ones with ``inheritedFrom`` (an ``itemReference``). "Only sharing permissions that aren't inherited can
  be deleted. The inheritedFrom property must be null": deleting an inherited one is refused (400
  ``invalidRequest``); so is deleting the owner's permission (403 ``accessDenied``). A deleted link is gone:
  its URL never works again (a new link gets a new URL).
- items by path: ``/drives/{d}/root:/Folder/file.docx:`` and ``.../file.docx:/permissions``.
- the OneDrive for Business recycle bin has no Graph v1.0 API (``driveItem: restore`` is "only available
  for OneDrive Personal"; ``site.recycleBin`` is beta and lists only). The emulator keeps the recycle bin
  in the state (audit records of FileDeleted point into it); SharePoint REST on the user's site lists and
  restores it (``sharepoint_rest``), as the real service does.
- throttling: class ``sharepoint`` (throttle.py).
"""

from __future__ import annotations

import copy
from typing import Any

from reclaim.emulator.graph import ROUTER
from reclaim.emulator.odata import page, select
from reclaim.emulator.wire import ApiError, ApiRequest, ApiResponse

JSON = dict[str, Any]

FILES_READ = ("Files.Read.All", "Files.ReadWrite.All", "Sites.Read.All", "Sites.ReadWrite.All",
              "Sites.FullControl.All")
FILES_WRITE = ("Files.ReadWrite.All", "Sites.ReadWrite.All", "Sites.FullControl.All")
SP_SETTINGS_READ = ("SharePointTenantSettings.Read.All", "SharePointTenantSettings.ReadWrite.All")
_THROTTLE = "sharepoint"

#: Fixture keys of an item that are not driveItem properties on the wire.
_NOT_ITEM_PROPERTIES = {"permissions"}


# ---------------------------------------------------------------------------------------- state helpers
def _drives(req: ApiRequest) -> list[tuple[JSON, JSON]]:
    """Every drive with its owner (a user or a site)."""
    data = req.state.data
    out: list[tuple[JSON, JSON]] = []
    for owner in [*data.get("users", []), *data.get("sites", [])]:
        drive = owner.get("drive")
        if isinstance(drive, dict):
            out.append((drive, owner))
    return out


def _drive_or_404(req: ApiRequest, drive_id: str) -> tuple[JSON, JSON]:
    for drive, owner in _drives(req):
        if str(drive.get("id", "")).lower() == drive_id.lower():
            return drive, owner
    raise ApiError(404, "itemNotFound", "The resource could not be found.")


def _user_drive_or_404(req: ApiRequest, user_key: str) -> tuple[JSON, JSON]:
    user = req.state.find_user(user_key)
    if user is None:
        raise ApiError(404, "ResourceNotFound", f"Resource '{user_key}' does not exist or one of its queried "
                       "reference-property objects are not present.")
    drive = user.get("drive")
    if not isinstance(drive, dict):
        raise ApiError(404, "ResourceNotFound", "User's mysite not found.")
    return drive, user


def _by_id(drive: JSON) -> dict[str, JSON]:
    return {str(i["id"]): i for i in drive["items"]}


def _item_or_404(drive: JSON, item_id: str) -> JSON:
    if item_id.lower() == "root":
        return _root(drive)
    found = _by_id(drive).get(item_id)
    if found is None:
        raise ApiError(404, "itemNotFound", "The resource could not be found.")
    return found


def _root(drive: JSON) -> JSON:
    return next(i for i in drive["items"] if isinstance(i.get("root"), dict))


def _ancestors(drive: JSON, item: JSON) -> list[JSON]:
    """The item's folders, nearest first (the root last)."""
    index = _by_id(drive)
    out: list[JSON] = []
    seen = {str(item["id"])}
    parent = (item.get("parentReference") or {}).get("id")
    while parent is not None and str(parent) not in seen:
        found = index.get(str(parent))
        if found is None:
            break
        out.append(found)
        seen.add(str(parent))
        parent = (found.get("parentReference") or {}).get("id")
    return out


def _path(drive: JSON, item: JSON) -> str:
    """``/drive/root:`` for the root, ``/drive/root:/Folder`` for what sits in Folder (Graph's parent path)."""
    names = [str(a.get("name")) for a in reversed(_ancestors(drive, item)) if not isinstance(a.get("root"), dict)]
    return "/drive/root:" + "".join(f"/{n}" for n in names)


def _item_view(req: ApiRequest, drive: JSON, item: JSON) -> JSON:
    view = {k: copy.deepcopy(v) for k, v in item.items() if k not in _NOT_ITEM_PROPERTIES}
    if not isinstance(item.get("root"), dict):
        parent = dict(view.get("parentReference") or {})
        parent.update({"driveId": drive["id"], "driveType": drive["driveType"], "path": _path(drive, item)})
        view["parentReference"] = parent
    else:
        view["parentReference"] = {"driveId": drive["id"], "driveType": drive["driveType"]}
    if isinstance(view.get("folder"), dict):
        view["folder"]["childCount"] = sum(1 for i in drive["items"]
                                           if (i.get("parentReference") or {}).get("id") == item["id"])
    if item.get("permissions") and not isinstance(item.get("root"), dict):
        view.setdefault("shared", {"scope": _widest_scope(item["permissions"])})
    return select(view, req)


def _widest_scope(permissions: list[JSON]) -> str:
    scopes = {str((p.get("link") or {}).get("scope") or "users") for p in permissions}
    for scope in ("anonymous", "organization"):
        if scope in scopes:
            return scope
    return "users"


def _permissions(drive: JSON, item: JSON) -> list[JSON]:
    """The item's own permissions and, with ``inheritedFrom``, those of its folders."""
    out = [copy.deepcopy(p) for p in item.get("permissions", [])]
    for folder in _ancestors(drive, item):
        ref = {"driveId": drive["id"], "driveType": drive["driveType"], "id": folder["id"],
               "path": _path(drive, folder) + ("" if isinstance(folder.get("root"), dict) else f"/{folder['name']}")}
        for p in folder.get("permissions", []):
            inherited = copy.deepcopy(p)
            inherited["inheritedFrom"] = ref
            out.append(inherited)
    return out


def _by_path(drive: JSON, path: str) -> JSON:
    item = _root(drive)
    for name in (p for p in path.strip("/").split("/") if p):
        child = next((i for i in drive["items"] if (i.get("parentReference") or {}).get("id") == item["id"]
                      and str(i.get("name", "")).casefold() == name.casefold()), None)
        if child is None:
            raise ApiError(404, "itemNotFound", "The resource could not be found.")
        item = child
    return item


def _drive_view(req: ApiRequest, drive: JSON, owner: JSON) -> JSON:
    view: JSON = {"@odata.context": f"{req.base_url}/$metadata#drives/$entity", "id": drive["id"],
                  "driveType": drive["driveType"], "name": drive.get("name") or "OneDrive", "webUrl": drive["webUrl"]}
    if "userPrincipalName" in owner:
        view["owner"] = {"user": {"id": owner.get("id"), "displayName": owner.get("displayName"),
                                  "email": owner.get("mail") or owner.get("userPrincipalName")}}
    return view


def _ctx(req: ApiRequest, drive: JSON, suffix: str) -> str:
    return f"{req.base_url}/$metadata#drives('{drive['id']}')/{suffix}"


# ---------------------------------------------------------------------------------------- drives
@ROUTER.add("GET", "/users/{user}/drive", permissions=FILES_READ, throttle=_THROTTLE)
def get_user_drive(req: ApiRequest, user: str) -> ApiResponse:
    drive, owner = _user_drive_or_404(req, user)
    return ApiResponse(200, _drive_view(req, drive, owner))


@ROUTER.add("GET", "/drives/{drive}", permissions=FILES_READ, throttle=_THROTTLE)
def get_drive(req: ApiRequest, drive: str) -> ApiResponse:
    found, owner = _drive_or_404(req, drive)
    return ApiResponse(200, _drive_view(req, found, owner))


@ROUTER.add("GET", "/sites/{site}/drive", permissions=FILES_READ, throttle=_THROTTLE)
def get_site_drive(req: ApiRequest, site: str) -> ApiResponse:
    for owner in req.state.data.get("sites", []):
        if str(owner.get("id", "")).lower() == site.lower() and isinstance(owner.get("drive"), dict):
            return ApiResponse(200, _drive_view(req, owner["drive"], owner))
    raise ApiError(404, "itemNotFound", "The resource could not be found.")


# ---------------------------------------------------------------------------------------- items
def _item_response(req: ApiRequest, drive: JSON, item: JSON) -> ApiResponse:
    return ApiResponse(200, {"@odata.context": _ctx(req, drive, "items/$entity"), **_item_view(req, drive, item)})


def _children(req: ApiRequest, drive: JSON, item: JSON) -> ApiResponse:
    if not isinstance(item.get("folder"), dict) and not isinstance(item.get("root"), dict):
        return ApiResponse(200, {"@odata.context": _ctx(req, drive, "items"), "value": []})
    kids = [_item_view(req, drive, i) for i in drive["items"]
            if (i.get("parentReference") or {}).get("id") == item["id"]]
    return ApiResponse(200, page(req, kids, page_size=200, max_top=1000, context=_ctx(req, drive, "items")))


@ROUTER.add("GET", "/drives/{drive}/items/{item}", permissions=FILES_READ, throttle=_THROTTLE)
def get_item(req: ApiRequest, drive: str, item: str) -> ApiResponse:
    found, _ = _drive_or_404(req, drive)
    return _item_response(req, found, _item_or_404(found, item))


@ROUTER.add("GET", "/users/{user}/drive/items/{item}", permissions=FILES_READ, throttle=_THROTTLE)
def get_user_item(req: ApiRequest, user: str, item: str) -> ApiResponse:
    found, _ = _user_drive_or_404(req, user)
    return _item_response(req, found, _item_or_404(found, item))


@ROUTER.add("GET", "/drives/{drive}/root", permissions=FILES_READ, throttle=_THROTTLE)
def get_root(req: ApiRequest, drive: str) -> ApiResponse:
    found, _ = _drive_or_404(req, drive)
    return _item_response(req, found, _root(found))


@ROUTER.add("GET", "/drives/{drive}/items/{item}/children", permissions=FILES_READ, throttle=_THROTTLE)
def list_children(req: ApiRequest, drive: str, item: str) -> ApiResponse:
    found, _ = _drive_or_404(req, drive)
    return _children(req, found, _item_or_404(found, item))


@ROUTER.add("GET", "/drives/{drive}/root/children", permissions=FILES_READ, throttle=_THROTTLE)
def list_root_children(req: ApiRequest, drive: str) -> ApiResponse:
    found, _ = _drive_or_404(req, drive)
    return _children(req, found, _root(found))


@ROUTER.add("GET", "/drives/{drive}/root:(?P<path>/[^:]*):?", permissions=FILES_READ, throttle=_THROTTLE)
def get_item_by_path(req: ApiRequest, drive: str, path: str) -> ApiResponse:
    found, _ = _drive_or_404(req, drive)
    return _item_response(req, found, _by_path(found, path))


@ROUTER.add("GET", "/users/{user}/drive/root:(?P<path>/[^:]*):?", permissions=FILES_READ, throttle=_THROTTLE)
def get_user_item_by_path(req: ApiRequest, user: str, path: str) -> ApiResponse:
    found, _ = _user_drive_or_404(req, user)
    return _item_response(req, found, _by_path(found, path))


# ---------------------------------------------------------------------------------------- permissions
def _list_permissions(req: ApiRequest, drive: JSON, item: JSON) -> ApiResponse:
    return ApiResponse(200, page(req, _permissions(drive, item), page_size=200, max_top=1000,
                                 context=_ctx(req, drive, f"items('{item['id']}')/permissions")))


@ROUTER.add("GET", "/drives/{drive}/items/{item}/permissions", permissions=FILES_READ, throttle=_THROTTLE)
def list_permissions(req: ApiRequest, drive: str, item: str) -> ApiResponse:
    found, _ = _drive_or_404(req, drive)
    return _list_permissions(req, found, _item_or_404(found, item))


@ROUTER.add("GET", "/drives/{drive}/root:(?P<path>/[^:]*):/permissions", permissions=FILES_READ,
            throttle=_THROTTLE)
def list_permissions_by_path(req: ApiRequest, drive: str, path: str) -> ApiResponse:
    found, _ = _drive_or_404(req, drive)
    return _list_permissions(req, found, _by_path(found, path))


def _permission_or_404(drive: JSON, item: JSON, perm: str) -> JSON:
    for p in _permissions(drive, item):
        if str(p.get("id")) == perm:
            return p
    raise ApiError(404, "itemNotFound", "The resource could not be found.")


@ROUTER.add("GET", "/drives/{drive}/items/{item}/permissions/{perm}", permissions=FILES_READ, throttle=_THROTTLE)
def get_permission(req: ApiRequest, drive: str, item: str, perm: str) -> ApiResponse:
    found, _ = _drive_or_404(req, drive)
    target = _item_or_404(found, item)
    body = _permission_or_404(found, target, perm)
    return ApiResponse(200, {"@odata.context": _ctx(req, found, f"items('{target['id']}')/permissions/$entity"),
                             **select(body, req)})


@ROUTER.add("DELETE", "/drives/{drive}/items/{item}/permissions/{perm}", permissions=FILES_WRITE,
            throttle=_THROTTLE)
def delete_permission(req: ApiRequest, drive: str, item: str, perm: str) -> ApiResponse:
    found, _ = _drive_or_404(req, drive)
    target = _item_or_404(found, item)
    current = _permission_or_404(found, target, perm)
    if current.get("inheritedFrom") is not None:
        raise ApiError(400, "invalidRequest", "Cannot delete an inherited permission: remove it from the item it "
                       "is inherited from.")
    if "owner" in (current.get("roles") or []):
        raise ApiError(403, "accessDenied", "The owner's permission cannot be removed.")
    target["permissions"] = [p for p in target["permissions"] if str(p.get("id")) != perm]
    return ApiResponse(204)


# ---------------------------------------------------------------------------------------- SharePoint settings
#: sharepointSettings defaults (Graph v1.0): a new tenant allows "Anyone" links.
_SP_DEFAULTS: JSON = {"sharingCapability": "externalUserAndGuestSharing", "sharingDomainRestrictionMode": "none",
                      "sharingAllowedDomainList": [], "sharingBlockedDomainList": [],
                      "isResharingByExternalUsersEnabled": False, "deletedUserPersonalSiteRetentionPeriodInDays": 30}


@ROUTER.add("GET", "/admin/sharepoint/settings", permissions=SP_SETTINGS_READ, throttle=_THROTTLE)
def get_sharepoint_settings(req: ApiRequest) -> ApiResponse:
    settings = {**_SP_DEFAULTS, **(req.state.settings.get("sharepoint") or {})}
    return ApiResponse(200, {"@odata.context": f"{req.base_url}/$metadata#admin/sharepoint/settings/$entity",
                             **select(copy.deepcopy(settings), req)})
