"""SharePoint REST on a user's OneDrive site: the recycle bin (list, restore) and recycling a file.

Graph v1.0 cannot restore a OneDrive for Business item (``driveItem: restore`` is OneDrive Personal only), so
the recycle bin is reached through SharePoint REST on the site the drive lives in::

    site = OneDriveSite.of_drive(drive["webUrl"])           # https://contoso-my.sharepoint.com/personal/alice_…
    items = await conn.sharepoint.recycle_bin(site, leaf_name="Q3.xlsx")
    await conn.sharepoint.restore(site, items[0].id)

The token is for the site's host (``https://{tenant}-my.sharepoint.com/.default``), a second audience on the
same ``Pipeline`` (same retries, bounds and origin rule: the token is only sent to that host, or to the
practice tenant's base URL). SharePoint accepts app-only tokens only from a certificate credential; a token
got with a client secret is refused (401 "Unsupported app only token."), reported as such with what to do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from reclaim.m365._pipeline import Pipeline, Verify, origin
from reclaim.m365.auth import AccessToken
from reclaim.m365.boundary import parse_json
from reclaim.m365.errors import (
    AccessDenied,
    AuthenticationFailed,
    BadRequest,
    M365Error,
    NotFound,
    TransientError,
    UnexpectedShape,
)

__all__ = ["SHAREPOINT_PERMISSION", "OneDriveSite", "RecycleBinItem", "SharePointClient"]

JSON = dict[str, Any]

#: The SharePoint application permission (API "Office 365 SharePoint Online") restore needs.
SHAREPOINT_PERMISSION = "Sites.FullControl.All (SharePoint, application)"
_CERTIFICATE_HINT = ("SharePoint refuses app-only tokens got with a client secret: give the app a certificate "
                   "credential (`reclaim tenant add --certificate ...`)")
_HOST = re.compile(r"https://[a-z0-9-]+\.sharepoint\.com", re.IGNORECASE)
_ACCEPT = {"Accept": "application/json;odata=nometadata"}


@dataclass(frozen=True)
class OneDriveSite:
    """A OneDrive site: ``host`` (``https://contoso-my.sharepoint.com``, the token audience) and ``path``
    (``personal/alice_contoso_com``)."""

    host: str
    path: str

    @classmethod
    def of_drive(cls, web_url: str) -> OneDriveSite:
        """From the drive's ``webUrl`` (``{host}/personal/{user}/Documents``): the site is the library's parent."""
        parts = urlsplit(web_url)
        host = f"{parts.scheme}://{parts.netloc}".lower()
        path = parts.path.strip("/").rpartition("/")[0]
        if not _HOST.fullmatch(host) or not path:
            raise UnexpectedShape(f"a drive webUrl that is not a SharePoint site ({web_url[:120]!r})",
                                  what="drive.webUrl")
        return cls(host=host, path=path)

    @property
    def url(self) -> str:
        return f"{self.host}/{self.path}"

    @property
    def scope(self) -> str:
        return f"{self.host}/.default"

    def server_relative(self, dir_name: str, leaf: str) -> str:
        return "/" + "/".join(p.strip("/") for p in (dir_name, leaf) if p.strip("/"))


@dataclass(frozen=True)
class RecycleBinItem:
    id: str
    leaf_name: str
    dir_name: str
    deleted: str | None
    item_type: int

    @classmethod
    def from_json(cls, raw: JSON) -> RecycleBinItem:
        if not isinstance(raw.get("Id"), str):
            raise UnexpectedShape("a recycle bin item without an Id", what="RecycleBin")
        return cls(id=raw["Id"], leaf_name=str(raw.get("LeafName") or ""), dir_name=str(raw.get("DirName") or ""),
                   deleted=str(raw["DeletedDate"]) if raw.get("DeletedDate") else None,
                   item_type=int(raw.get("ItemType") or 0))


def sharepoint_error(response: httpx.Response, *, method: str, url: str) -> M365Error:
    """SharePoint's answers (``odata.error`` {code, message{value}}, or ``error_description`` on 401) → typed."""
    status = response.status_code
    code, message = "", ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        err = body.get("odata.error") or body.get("error")
        if isinstance(err, dict):
            code = str(err.get("code") or "")
            msg = err.get("message")
            message = str(msg.get("value") if isinstance(msg, dict) else msg or "")
        elif isinstance(body.get("error_description"), str):
            message = body["error_description"]
    rid = response.headers.get("request-id") or response.headers.get("SPRequestGuid")
    context: dict[str, Any] = {"status": status, "code": code or None, "method": method, "url": url,
                               "request_id": rid}
    text = message[:300] or f"SharePoint answered HTTP {status}"
    if status == 401:
        hint = _CERTIFICATE_HINT if "app only" in message.lower() else \
            "the token was refused; check the tenant and the app's SharePoint permissions"
        return AuthenticationFailed(text, hint=hint, **context)
    if status == 403:
        return AccessDenied(text, missing_permission=SHAREPOINT_PERMISSION, **context)
    if status == 404 or "System.ArgumentException" in code:
        return NotFound(text, **context)
    if status >= 500:
        return TransientError(text, **context)
    return BadRequest(text, **context)


class SharePointClient:
    """SharePoint REST on OneDrive sites over a shared ``Pipeline``. ``base_url``: the practice tenant's base URL
    (every site served under it); ``None``: each site's own host."""

    def __init__(self, pipeline: Pipeline, *, base_url: str | None = None) -> None:
        self.pipeline = pipeline
        self.base_url = base_url.rstrip("/") if base_url else None

    def api(self, site: OneDriveSite, path: str) -> str:
        return f"{self.base_url or site.host}/{site.path}/_api/{path}"

    async def _send(self, method: str, site: OneDriveSite, path: str, *, params: Mapping[str, str] | None = None,
                    verify: Verify | None = None) -> JSON | None:
        target = self.api(site, path)

        def errors(response: httpx.Response, token: AccessToken) -> M365Error:
            return sharepoint_error(response, method=method, url=target)

        response = await self.pipeline.send(method, target, scope=site.scope, allowed_origin=origin(target),
                                            errors=errors, params=params, headers=_ACCEPT, verify=verify)
        if response is None or not response.content:
            return None
        body = parse_json(response, what=path.split("(")[0], method=method)
        if not isinstance(body, dict):
            raise UnexpectedShape(f"a body that is {type(body).__name__}, not an object", what=path, method=method)
        return body

    async def recycle_bin(self, site: OneDriveSite, *, leaf_name: str | None = None) -> list[RecycleBinItem]:
        """The site collection's recycle bin (first and second stage), optionally one file name."""
        params = {"$filter": "LeafName eq '" + leaf_name.replace("'", "''") + "'"} if leaf_name is not None else None
        body = await self._send("GET", site, "site/RecycleBin", params=params) or {}
        value = body.get("value")
        if not isinstance(value, list):
            raise UnexpectedShape("a recycle bin answer without value", what="RecycleBin")
        return [RecycleBinItem.from_json(v) for v in value if isinstance(v, dict)]

    async def restore(self, site: OneDriveSite, item_id: str, *, verify: Verify | None = None) -> None:
        """Put a recycle bin item back where it was. ``NotFound`` when it is not (or no longer) in the bin."""
        await self._send("POST", site, f"site/RecycleBin('{quote(item_id, safe='-')}')/restore()", verify=verify)

    async def recycle_file(self, site: OneDriveSite, server_relative_url: str, *,
                           verify: Verify | None = None) -> str | None:
        """Move a file to the recycle bin; the new recycle bin item's id (``None`` when ``verify`` found it done)."""
        url = quote(server_relative_url.replace("'", "''"), safe="/ ")
        body = await self._send("POST", site, f"web/GetFileByServerRelativeUrl('{url}')/recycle()", verify=verify)
        if body is None:
            return None
        value = body.get("value")
        if not isinstance(value, str):
            raise UnexpectedShape("a recycle answer without the recycle bin id", what="recycle")
        return value
