"""Graph: moving messages between folders, and the ids Outlook items carry (regular and immutable).

Real behaviour this module keeps (learn.microsoft.com/graph/api/message-move, /graph/outlook-immutable-id):

- ``POST /users/{id}/messages/{id}/move`` (and ``.../mailFolders/{id}/messages/{id}/move``) with
  ``{"destinationId": "<folder id or well-known name>"}`` answers ``201 Created`` with the message in its new
  folder. Its regular id **changes** with every move: an id read before the move no longer finds the message.
- ``Prefer: IdType="ImmutableId"`` on a request makes every message id in its answer the immutable id, which
  stays the same for the item's lifetime in the mailbox (moves included); the answer then carries
  ``Preference-Applied: IdType="ImmutableId"``. Both kinds of id are accepted in request URLs.
- The destination may be any folder of the mailbox by id, or a well-known name (``inbox``, ``deleteditems``,
  ``recoverableitemsdeletions`` — the soft-deleted items a user can recover, ...). Moving needs the
  application permission ``Mail.ReadWrite``; a mailbox folder that does not exist is ``ErrorItemNotFound``.

State: messages live in ``mailbox["messages"][<folder key>]`` (state.py). The immutable id is kept under the
fixture-only key ``immutableId`` (drawn once, from the message's first id, so a fixture loads the same way
every time); it never reaches the wire as a property.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from reclaim.emulator.graph import ROUTER, mailbox_user_or_404
from reclaim.emulator.odata import select
from reclaim.emulator.state import iso
from reclaim.emulator.wire import ApiError, ApiRequest, ApiResponse

JSON = dict[str, Any]

MAIL_WRITE = ("Mail.ReadWrite",)
#: Fixture-only keys of a message: never serialised.
MESSAGE_FIXTURE_KEYS = frozenset({"immutableId"})
IMMUTABLE_PREFERENCE = 'IdType="ImmutableId"'


def wants_immutable(req: ApiRequest) -> bool:
    """The request asked for immutable ids (``Prefer: IdType="ImmutableId"``; other preferences may follow)."""
    prefer = req.header("prefer") or ""
    return any(p.strip().replace(" ", "").lower() == 'idtype="immutableid"' for p in prefer.split(","))


def immutable_id(msg: JSON) -> str:
    """The message's immutable id, drawn from its first regular id (stable across loads of one fixture)."""
    found = msg.get("immutableId")
    if not found:
        digest = hashlib.sha256(f"immutable/{msg.get('id')}".encode()).digest()[:30]
        found = "AAkALg" + base64.urlsafe_b64encode(digest).decode().rstrip("=")
        msg["immutableId"] = found
    return str(found)


def wire_id(msg: JSON, req: ApiRequest) -> str:
    return immutable_id(msg) if wants_immutable(req) else str(msg.get("id"))


def preference_headers(req: ApiRequest) -> dict[str, str]:
    return {"Preference-Applied": IMMUTABLE_PREFERENCE} if wants_immutable(req) else {}


def strip_fixture_keys(view: JSON, msg: JSON, req: ApiRequest) -> JSON:
    """A message view as the wire shows it: fixture-only keys gone, the id the request asked for."""
    for key in MESSAGE_FIXTURE_KEYS:
        view.pop(key, None)
    if wants_immutable(req):
        view["id"] = immutable_id(msg)
    return view


def locate(user: JSON, message: str) -> tuple[str, list[JSON], JSON] | None:
    """The folder key, the folder's list and the message, found by regular or immutable id."""
    for key, items in (user.get("mailbox") or {}).get("messages", {}).items():
        for msg in items:
            if msg.get("id") == message or msg.get("immutableId") == message:
                return key, items, msg
    # an immutable id of a message never read with one: derive and compare (the id is a pure function)
    for key, items in (user.get("mailbox") or {}).get("messages", {}).items():
        for msg in items:
            if "immutableId" not in msg and message.startswith("AAkALg") and immutable_id(msg) == message:
                return key, items, msg
    return None


def _new_id(msg: JSON, folder_id: str) -> str:
    """A fresh regular id (Exchange ids encode the folder; a move gives the item a new one)."""
    seed = f"{msg.get('id')}/{folder_id}/{msg.get('immutableId')}".encode()
    digest = hashlib.sha256(seed).digest()[:36]
    return "AAMkAG" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _destination(req: ApiRequest, user: JSON) -> JSON:
    body = req.body
    if not isinstance(body, dict):
        raise ApiError(400, "ErrorInvalidRequest", "The request body must be a JSON object with destinationId.")
    for key in body:
        if key != "destinationId" and not key.startswith("@odata."):
            raise ApiError(400, "RequestBodyRead", f"The parameter '{key}' in the request payload is not a valid "
                           "parameter for the operation 'move'.")
    dest = body.get("destinationId")
    if not isinstance(dest, str) or not dest.strip():
        raise ApiError(400, "ErrorInvalidRequest", "The destinationId parameter is required.")
    folder = req.state.folder(user, dest)
    if folder is None:
        raise ApiError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
    return folder


def move_message(req: ApiRequest, user: JSON, message: str, *, source_folder: str | None = None) -> JSON:
    """Move one message; returns it as stored (new regular id, same immutable id)."""
    found = locate(user, message)
    state = req.state
    if found is None or (source_folder is not None
                         and state.folder_id(user, found[0]) != state.folder_id(user, source_folder)):
        raise ApiError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
    _key, items, msg = found
    folder = _destination(req, user)
    fid = str(folder["id"])
    immutable_id(msg)  # drawn before the regular id changes: it belongs to the item, not to the id
    items.remove(msg)
    messages: dict[str, list[JSON]] = user["mailbox"].setdefault("messages", {})
    dest_key = str(folder.get("wellKnownName") or fid)
    messages.setdefault(dest_key, []).append(msg)
    msg["id"] = _new_id(msg, fid)
    msg["parentFolderId"] = fid
    msg["lastModifiedDateTime"] = iso(req.clock.now())
    return msg


#: Permissions that read whole messages; Mail.ReadBasic.All reads them without their bodies.
_FULL_MAIL_READ = ("Mail.Read", "Mail.ReadWrite")
_BODY_PROPERTIES = ("body", "bodyPreview", "uniqueBody")


def message_view(msg: JSON, req: ApiRequest) -> JSON:
    view = dict(msg)  # shallow: views are only serialised, never written
    if not req.claims.has_any(_FULL_MAIL_READ):
        for key in _BODY_PROPERTIES:
            view.pop(key, None)
    view.setdefault("isRead", False)
    view.setdefault("hasAttachments", False)
    return strip_fixture_keys(view, msg, req)


def _answer(req: ApiRequest, user: JSON, msg: JSON) -> ApiResponse:
    view = message_view(msg, req)
    body = {"@odata.context": f"{req.base_url}/$metadata#users('{user['id']}')/messages/$entity",
            **select(view, req)}
    return ApiResponse(201, body, preference_headers(req))


@ROUTER.add("POST", "/users/{user}/messages/{message}/move", permissions=MAIL_WRITE, throttle="outlook")
def move(req: ApiRequest, user: str, message: str) -> ApiResponse:
    found = mailbox_user_or_404(req, user)
    return _answer(req, found, move_message(req, found, message))


@ROUTER.add("POST", "/users/{user}/mailFolders/{folder}/messages/{message}/move", permissions=MAIL_WRITE,
            throttle="outlook")
def move_from_folder(req: ApiRequest, user: str, folder: str, message: str) -> ApiResponse:
    found = mailbox_user_or_404(req, user)
    if req.state.folder(found, folder) is None:
        raise ApiError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
    return _answer(req, found, move_message(req, found, message, source_folder=folder))
