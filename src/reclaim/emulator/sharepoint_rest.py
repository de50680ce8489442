"""SharePoint REST on a user's OneDrive site: the recycle bin (list, restore) and recycling a file.

The OneDrive for Business recycle bin has no Graph v1.0 API (``driveItem: restore`` is OneDrive Personal
only), so reclaim restores through SharePoint REST on the user's site, as the SharePoint docs give it
(SP.RecycleBinItem.restore, SP.Site.recycleBin, SP.Web.recycleBin, SP.File.recycle):

- ``GET  {site}/_api/site/RecycleBin`` and ``{site}/_api/web/RecycleBin`` (``$filter`` on ``LeafName``,
  ``DirName``, ``Title``, ``ItemType``, ``ItemState``; ``$top``) list ``SP.RecycleBinItem`` objects (``Id``,
  ``LeafName``, ``DirName``, ``Title``, ``ItemType`` 1 = file, ``ItemState`` 1 = first stage, ``DeletedDate``,
  ``DeletedByEmail``, ``Size``);
- ``POST {site}/_api/site/RecycleBin('{id}')/restore()`` puts the item back where it was (answers 200 with
  ``{"odata.null": true}`` under nometadata); an id not in the bin is the SharePoint error
  ``-2147024809, System.ArgumentException`` "Value does not fall within the expected range." (what
  Restore-PnPRecycleBinItem surfaces for it);
- ``POST {site}/_api/web/GetFileByServerRelativeUrl('{url}')/recycle()`` moves a file to the recycle bin and
  answers the new recycle bin item's id (``{"value": "<guid>"}``).

Errors are SharePoint's ``odata.error`` (``code`` "hresult, exception", ``message`` {``lang``, ``value``}).
The token checks (audience = the site's host, certificate-only app tokens) are in ``http_sharepoint``.
Permissions (SharePoint's own application permissions, the token's ``roles``): reading needs
Sites.Read.All or more, restoring and recycling Sites.ReadWrite.All, Sites.Manage.All or
Sites.FullControl.All; otherwise 403 ``System.UnauthorizedAccessException``.

Recycle bin ids are GUIDs derived from the drive, the item and its deletion time (stable over a reset); an
item restored and recycled again gets a new one, as in SharePoint.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from reclaim.emulator.state import TenantState

JSON = dict[str, Any]

SITES_READ = ("Sites.Read.All", "Sites.ReadWrite.All", "Sites.Manage.All", "Sites.FullControl.All")
SITES_WRITE = ("Sites.ReadWrite.All", "Sites.Manage.All", "Sites.FullControl.All")
_NAMESPACE = uuid.UUID("6f1d8a7e-2c4b-4f7a-9a51-0d6c3b7e9a10")


class SpError(Exception):
    """A SharePoint REST error: HTTP status, ``code`` ("hresult, exception type") and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> JSON:
        return {"odata.error": {"code": self.code, "message": {"lang": "en-US", "value": self.message}}}


def access_denied() -> SpError:
    return SpError(403, "-2147024891, System.UnauthorizedAccessException",
                   "Access denied. You do not have permission to perform this action or access this resource.")


@dataclass
class SpRequest:
    method: str
    #: below ``{site}/_api/``, e.g. ``site/RecycleBin('…')/restore()``
    path: str
    query: dict[str, str]
    permissions: frozenset[str]
    #: the user's OneDrive (``users[].drive``) and its owner
    drive: JSON
    owner: JSON
    state: TenantState
    now: str


Handler = Callable[[SpRequest, re.Match[str]], tuple[int, Any]]


@dataclass(frozen=True)
class Operation:
    method: str
    pattern: re.Pattern[str]
    permissions: tuple[str, ...]
    handler: Handler


#: Every SharePoint REST operation served (registered with ``@operation``; listed in ``services``).
OPERATIONS: list[Operation] = []


def operation(method: str, pattern: str, *, permissions: tuple[str, ...]) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        OPERATIONS.append(Operation(method, re.compile(pattern, re.IGNORECASE), permissions, handler))
        return handler
    return register


def dispatch(req: SpRequest) -> tuple[int, Any]:
    """(status, body) for one request below ``_api/``; ``SpError`` for SharePoint's errors."""
    known = False
    for op in OPERATIONS:
        match = op.pattern.fullmatch(req.path)
        if match is None:
            continue
        known = True
        if op.method != req.method:
            continue
        if not any(p in req.permissions for p in op.permissions):
            raise access_denied()
        return op.handler(req, match)
    if known:
        raise SpError(405, "-1, Microsoft.SharePoint.Client.ClientServiceException",
                      "The HTTP method '" + req.method + "' cannot be used to access the resource.")
    raise SpError(404, "-1, Microsoft.SharePoint.Client.InvalidClientQueryException",
                  "The expression \"" + req.path + "\" is not valid.")


# ---------------------------------------------------------------------------------------------- state
def site_path(drive: JSON) -> str:
    """``personal/alice_contoso_com`` from the drive's ``webUrl`` (the site is the library's parent)."""
    url = str(drive.get("webUrl", ""))
    path = url.split("://", 1)[-1].partition("/")[2]
    return path.rstrip("/").rpartition("/")[0]


def site_host(drive: JSON) -> str:
    """``https://contoso-my.sharepoint.com``: the audience a token for this site carries."""
    url = str(drive.get("webUrl", ""))
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.partition('/')[0]}".lower()


def find_site(state: TenantState, path: str) -> tuple[JSON, JSON] | None:
    """The user whose OneDrive lives at ``personal/{path}``."""
    for user in state.users():
        drive = user.get("drive")
        if isinstance(drive, dict) and site_path(drive).lower() == f"personal/{path}".lower():
            return drive, user
    return None


def bin_id(drive: JSON, item: JSON) -> str:
    """Derived, never stored (reads do not change the dump): the drive, the item and when it was deleted."""
    return str(uuid.uuid5(_NAMESPACE, f"{drive['id']}|{item['id']}|{item.get('deletedDateTime')}"))


def _library_path(drive: JSON) -> str:
    url = str(drive.get("webUrl", ""))
    return url.split("://", 1)[-1].partition("/")[2].rstrip("/")


def _dir_name(drive: JSON, item: JSON) -> str:
    index = {str(i["id"]): i for i in drive["items"]}
    names: list[str] = []
    parent = (item.get("parentReference") or {}).get("id")
    while parent is not None and str(parent) in index:
        found = index[str(parent)]
        if isinstance(found.get("root"), dict):
            break
        names.append(str(found.get("name")))
        parent = (found.get("parentReference") or {}).get("id")
    return "/".join([_library_path(drive), *reversed(names)])


def _bin_view(drive: JSON, owner: JSON, item: JSON) -> JSON:
    return {
        "Id": bin_id(drive, item), "LeafName": item.get("name"), "Title": item.get("name"),
        "DirName": _dir_name(drive, item), "ItemType": 1 if "file" in item else 5, "ItemState": 1,
        "DeletedDate": item.get("deletedDateTime"), "Size": str(item.get("size", 0)),
        "DeletedByEmail": item.get("deletedByEmail") or owner.get("userPrincipalName"),
        "AuthorEmail": owner.get("userPrincipalName"),
    }


_FILTER_TERM = re.compile(r"\s*(\w+)\s+eq\s+(?:'((?:[^']|'')*)'|(\d+))\s*", re.IGNORECASE)


def _filter(text: str) -> Callable[[JSON], bool]:
    """The ``$filter`` reclaim and PnP send: ``Prop eq 'x'`` / ``Prop eq 1`` joined by ``and``."""
    terms: list[tuple[str, str]] = []
    for part in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        match = _FILTER_TERM.fullmatch(part)
        if match is None:
            raise SpError(400, "-1, Microsoft.SharePoint.Client.InvalidClientQueryException",
                          "The expression \"" + text + "\" is not valid.")
        value = match.group(2).replace("''", "'") if match.group(2) is not None else match.group(3)
        terms.append((match.group(1), value))
    return lambda view: all(str(view.get(k)) == v for k, v in terms)


@operation("GET", r"(?:site|web)/RecycleBin", permissions=SITES_READ)
def list_bin(req: SpRequest, match: re.Match[str]) -> tuple[int, Any]:
    views = [_bin_view(req.drive, req.owner, item) for item in req.drive["recycleBin"]]
    if "$filter" in req.query:
        keep = _filter(req.query["$filter"])
        views = [v for v in views if keep(v)]
    if "$top" in req.query and req.query["$top"].isdigit():
        views = views[:int(req.query["$top"])]
    return 200, {"value": views}


def _in_bin(req: SpRequest, rid: str) -> JSON:
    for item in req.drive["recycleBin"]:
        if bin_id(req.drive, item).lower() == rid.lower():
            found: JSON = item
            return found
    raise SpError(400, "-2147024809, System.ArgumentException", "Value does not fall within the expected range.")


@operation("GET", r"(?:site|web)/RecycleBin\('(?P<id>[^']*)'\)", permissions=SITES_READ)
def get_bin_item(req: SpRequest, match: re.Match[str]) -> tuple[int, Any]:
    return 200, _bin_view(req.drive, req.owner, _in_bin(req, match["id"]))


@operation("POST", r"(?:site|web)/RecycleBin\('(?P<id>[^']*)'\)/restore\(\)", permissions=SITES_WRITE)
def restore(req: SpRequest, match: re.Match[str]) -> tuple[int, Any]:
    item = _in_bin(req, match["id"])
    index = {str(i["id"]) for i in req.drive["items"]}
    root = next(str(i["id"]) for i in req.drive["items"] if isinstance(i.get("root"), dict))
    parent = str((item.get("parentReference") or {}).get("id") or root)
    if parent not in index:
        raise SpError(400, "-2146232832, Microsoft.SharePoint.SPException",
                      "To restore this item, first restore the folder it was in.")
    item.setdefault("parentReference", {"id": parent})
    if any(str(i.get("name", "")).lower() == str(item.get("name", "")).lower()
           and str((i.get("parentReference") or {}).get("id", "")) == parent for i in req.drive["items"]):
        raise SpError(400, "-2130575257, Microsoft.SharePoint.SPException",
                      f"A file with this name \"{item.get('name')}\" already exists.")
    req.drive["recycleBin"].remove(item)
    for key in ("deleted", "deletedDateTime", "deletedByEmail"):
        item.pop(key, None)
    item["lastModifiedDateTime"] = req.now
    req.drive["items"].append(item)
    return 200, {"odata.null": True}


@operation("POST", r"web/GetFileByServerRelativeUrl\('(?P<url>(?:[^']|'')*)'\)/recycle\(\)", permissions=SITES_WRITE)
def recycle(req: SpRequest, match: re.Match[str]) -> tuple[int, Any]:
    wanted = unquote(match["url"].replace("''", "'")).strip("/").lower()
    for item in req.drive["items"]:
        if isinstance(item.get("root"), dict) or "file" not in item:
            continue
        path = f"{_dir_name(req.drive, item)}/{item.get('name')}".lower()
        if path == wanted:
            req.drive["items"].remove(item)
            item["deleted"] = {"state": "deleted"}
            item["deletedDateTime"] = req.now
            req.drive["recycleBin"].append(item)
            return 200, {"value": bin_id(req.drive, item)}
    raise SpError(404, "-2130575338, Microsoft.SharePoint.SPException",
                  "The file /" + match["url"] + " does not exist.")
