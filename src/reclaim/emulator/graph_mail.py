"""Graph: mail folders, inbox rules (``messageRule``), messages and mailbox settings.

State lives under ``user["mailbox"]`` (see state.py). Inbox rules carry a fixture-only ``hidden``
flag: hidden rules are what Exchange shows only with ``Get-InboxRule -IncludeHidden``; Graph never
returns them, and a request for one by id is answered as if it did not exist. The ``hidden`` key itself
never reaches the wire.
"""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from reclaim.emulator import audit_trail
from reclaim.emulator.backends import mailbox as mailboxes
from reclaim.emulator.graph import ROUTER, mailbox_user_or_404
from reclaim.emulator.graph_messages import locate, message_view, preference_headers
from reclaim.emulator.odata import page, select
from reclaim.emulator.odata_filter import (
    apply_orderby,
    check_allowed,
    evaluate,
    parse_filter,
    parse_orderby,
    properties,
)
from reclaim.emulator.state import RECOVERABLE_FOLDERS, iso
from reclaim.emulator.wire import ApiError, ApiRequest, ApiResponse

JSON = dict[str, Any]

SETTINGS_READ = ("MailboxSettings.Read", "MailboxSettings.ReadWrite")
SETTINGS_WRITE = ("MailboxSettings.ReadWrite",)
MAIL_READ = ("Mail.Read", "Mail.ReadBasic.All", "Mail.ReadBasic", "Mail.ReadWrite")
#: Mail folders are mail data: mailbox-settings permissions do not reach them.
FOLDER_READ = MAIL_READ
#: Fixture-only keys of a folder / rule that Graph does not have.
_FOLDER_FIXTURE_KEYS = {"wellKnownName"}
_RULE_FIXTURE_KEYS = {"hidden"}

#: Writable messageRule properties (Graph's messageRule type).
_RULE_PROPERTIES = {"displayName", "sequence", "isEnabled", "conditions", "actions", "exceptions",
                    "hasError", "isReadOnly"}

#: Properties a message ``$filter`` may use.
_MESSAGE_FILTER_PROPERTIES = {"receivedDateTime", "sentDateTime", "createdDateTime", "lastModifiedDateTime",
                              "subject", "isRead", "hasAttachments", "importance", "from/emailAddress/address",
                              "sender/emailAddress/address", "internetMessageId", "conversationId"}

_NOT_FOUND = "The specified object was not found in the store."


def _not_found() -> ApiError:
    return ApiError(404, "ErrorItemNotFound", _NOT_FOUND)


def _root_id(user: JSON, req: ApiRequest) -> str:
    return req.state.folder_id(user, "msgfolderroot") or ""


# ---------------------------------------------------------------------------------------- folders
def _folder_view(user: JSON, folder: JSON, req: ApiRequest) -> JSON:
    state = req.state
    fid = str(folder["id"])
    root = _root_id(user, req)
    folders: list[JSON] = user["mailbox"]["folders"]
    is_root = fid == root
    parent = folder.get("parentFolderId") or ("" if is_root else root)
    messages = state.folder_messages(user, fid)
    view = {k: v for k, v in folder.items() if k not in _FOLDER_FIXTURE_KEYS}
    view.update({
        "id": fid,
        "displayName": folder.get("displayName"),
        "parentFolderId": parent,
        "childFolderCount": sum(1 for f in folders if _parent_of(f, root) == fid and f is not folder),
        "unreadItemCount": sum(1 for m in messages if not m.get("isRead", False)),
        "totalItemCount": len(messages),
        "isHidden": bool(folder.get("isHidden", False)),
    })
    return view


def _parent_of(folder: JSON, root: str) -> str | None:
    if folder.get("id") == root:
        return None
    return str(folder.get("parentFolderId") or root)


def _include_hidden(req: ApiRequest) -> bool:
    return req.query.get("includeHiddenFolders", "").lower() == "true"


def _folder_or_404(req: ApiRequest, user: JSON, key: str) -> JSON:
    folder = req.state.folder(user, key)
    if folder is None:
        raise _not_found()
    return folder


def _children(req: ApiRequest, user: JSON, parent_id: str) -> list[JSON]:
    root = _root_id(user, req)
    out = []
    for f in user["mailbox"]["folders"]:
        if _parent_of(f, root) != parent_id:
            continue
        if f.get("isHidden") and not _include_hidden(req):
            continue
        out.append(_folder_view(user, f, req))
    return out


@ROUTER.add("GET", "/users/{user}/mailFolders", permissions=FOLDER_READ, throttle="outlook")
def list_folders(req: ApiRequest, user: str) -> ApiResponse:
    found = mailbox_user_or_404(req, user)
    items = _children(req, found, _root_id(found, req))
    return ApiResponse(200, page(req, items, page_size=10, max_top=1000,
                                 context=f"{req.base_url}/$metadata#users('{found['id']}')/mailFolders"))


@ROUTER.add("GET", "/users/{user}/mailFolders/{folder}", permissions=FOLDER_READ, throttle="outlook")
def get_folder(req: ApiRequest, user: str, folder: str) -> ApiResponse:
    found = mailbox_user_or_404(req, user)
    view = _folder_view(found, _folder_or_404(req, found, folder), req)
    body = {"@odata.context": f"{req.base_url}/$metadata#users('{found['id']}')/mailFolders/$entity",
            **select(view, req)}
    return ApiResponse(200, body)


@ROUTER.add("GET", "/users/{user}/mailFolders/{folder}/childFolders", permissions=FOLDER_READ, throttle="outlook")
def list_child_folders(req: ApiRequest, user: str, folder: str) -> ApiResponse:
    found = mailbox_user_or_404(req, user)
    parent = _folder_or_404(req, found, folder)
    items = _children(req, found, str(parent["id"]))
    ctx = f"{req.base_url}/$metadata#users('{found['id']}')/mailFolders('{parent['id']}')/childFolders"
    return ApiResponse(200, page(req, items, page_size=10, max_top=1000, context=ctx))


# ---------------------------------------------------------------------------------------- rules
def _inbox_rules(req: ApiRequest, user: JSON, folder: str) -> list[JSON]:
    """The inbox's rule list (the live list). Rules exist on the Inbox only."""
    target = _folder_or_404(req, user, folder)
    if target.get("wellKnownName") != "inbox":
        raise ApiError(400, "ErrorInvalidRequest", "Message rules are supported on the Inbox folder only.")
    rules: list[JSON] = user["mailbox"].setdefault("inboxRules", [])
    return rules


def _rule_view(rule: JSON) -> JSON:
    view = {k: copy.deepcopy(v) for k, v in rule.items() if k not in _RULE_FIXTURE_KEYS}
    view.setdefault("conditions", {})
    view.setdefault("actions", {})
    view.setdefault("exceptions", {})
    view.setdefault("isEnabled", True)
    view.setdefault("hasError", False)
    view.setdefault("isReadOnly", False)
    return view


def _visible_rule(user: JSON, rule_id: str) -> JSON:
    """A rule Graph can see, by its id (the same lookup Exchange uses; Graph has no names, no hidden rules)."""
    try:
        return mailboxes.find_rule(user, rule_id, include_hidden=False, by_name=False)
    except LookupError:
        raise _not_found() from None


def _rules_context(req: ApiRequest, user: JSON, folder: str) -> str:
    return f"{req.base_url}/$metadata#users('{user['id']}')/mailFolders('{folder}')/messageRules"


def _check_rule_body(body: Any, *, creating: bool) -> JSON:
    if not isinstance(body, dict):
        raise ApiError(400, "ErrorInvalidRequest", "The request body must be a messageRule object.")
    for key in body:
        if key.startswith("@odata.") or key == "id":
            continue
        if key not in _RULE_PROPERTIES:
            raise ApiError(400, "RequestBodyRead",
                           f"The property '{key}' does not exist on type 'microsoft.graph.messageRule'. Make sure "
                           "to only use property names that are defined by the type or mark the type as open type.")
    if creating:
        if not isinstance(body.get("displayName"), str) or not body["displayName"].strip():
            raise ApiError(400, "ErrorInvalidRequest", "The DisplayName property is required for a rule.")
        if not isinstance(body.get("sequence"), int) or isinstance(body.get("sequence"), bool):
            raise ApiError(400, "ErrorInvalidRequest", "The Sequence property is required for a rule.")
    if "sequence" in body and (not isinstance(body["sequence"], int) or isinstance(body["sequence"], bool)
                               or body["sequence"] < 1):
        raise ApiError(400, "ErrorInvalidRequest", "The Sequence property must be a positive integer.")
    if "isEnabled" in body and not isinstance(body["isEnabled"], bool):
        raise ApiError(400, "RequestBodyRead", "Cannot convert the literal to the expected type 'Edm.Boolean'.")
    for key in ("conditions", "actions", "exceptions"):
        if key in body and body[key] is not None and not isinstance(body[key], dict):
            raise ApiError(400, "RequestBodyRead", f"The property '{key}' must be an object.")
    return body


@ROUTER.add("GET", "/users/{user}/mailFolders/{folder}/messageRules", permissions=SETTINGS_READ, throttle="outlook")
def list_rules(req: ApiRequest, user: str, folder: str) -> ApiResponse:
    found = mailbox_user_or_404(req, user)
    _inbox_rules(req, found, folder)
    visible = mailboxes.inbox_rules(found, include_hidden=False)
    # Graph returns every rule in one response (no server-side paging for messageRules).
    return ApiResponse(200, {"@odata.context": _rules_context(req, found, folder),
                             "value": [select(_rule_view(r), req) for r in visible]})


@ROUTER.add("GET", "/users/{user}/mailFolders/{folder}/messageRules/{rule}", permissions=SETTINGS_READ,
            throttle="outlook")
def get_rule(req: ApiRequest, user: str, folder: str, rule: str) -> ApiResponse:
    found = mailbox_user_or_404(req, user)
    _inbox_rules(req, found, folder)
    target = _visible_rule(found, rule)
    return ApiResponse(200, {"@odata.context": _rules_context(req, found, folder) + "/$entity",
                             **select(_rule_view(target), req)})


@ROUTER.add("POST", "/users/{user}/mailFolders/{folder}/messageRules", permissions=SETTINGS_WRITE,
            throttle="outlook")
def create_rule(req: ApiRequest, user: str, folder: str) -> ApiResponse:
    found = mailbox_user_or_404(req, user)
    _inbox_rules(req, found, folder)
    body = _check_rule_body(req.body, creating=True)
    rule = mailboxes.create_rule(found, display_name=body["displayName"], sequence=body["sequence"],
                                 is_enabled=body.get("isEnabled", True), conditions=body.get("conditions"),
                                 actions=body.get("actions"), exceptions=body.get("exceptions"))
    audit_trail.mailbox_rules_updated(req.state, req.clock.now(), found, caller=req.claims.app_id)
    return ApiResponse(201, {"@odata.context": _rules_context(req, found, folder) + "/$entity", **_rule_view(rule)})


@ROUTER.add("PATCH", "/users/{user}/mailFolders/{folder}/messageRules/{rule}", permissions=SETTINGS_WRITE,
            throttle="outlook")
def update_rule(req: ApiRequest, user: str, folder: str, rule: str) -> ApiResponse:
    found = mailbox_user_or_404(req, user)
    _inbox_rules(req, found, folder)
    target = _visible_rule(found, rule)
    body = _check_rule_body(req.body, creating=False)
    mailboxes.update_rule(target, body)  # {"isEnabled": false} is what Disable-InboxRule does
    audit_trail.mailbox_rules_updated(req.state, req.clock.now(), found, caller=req.claims.app_id)
    return ApiResponse(200, {"@odata.context": _rules_context(req, found, folder) + "/$entity",
                             **_rule_view(target)})


@ROUTER.add("DELETE", "/users/{user}/mailFolders/{folder}/messageRules/{rule}", permissions=SETTINGS_WRITE,
            throttle="outlook")
def delete_rule(req: ApiRequest, user: str, folder: str, rule: str) -> ApiResponse:
    found = mailbox_user_or_404(req, user)
    _inbox_rules(req, found, folder)
    mailboxes.remove_rule(found, _visible_rule(found, rule))
    return ApiResponse(204)


# ---------------------------------------------------------------------------------------- messages
_message_view = message_view  # one view of a message, in graph_messages.py


def _search_terms(raw: str) -> tuple[str | None, str]:
    text = raw.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    prop, sep, value = text.partition(":")
    if sep and prop.lower() in ("subject", "body", "from", "to"):
        return prop.lower(), value.strip().strip('"').lower()
    return None, text.lower()


def _address(value: Any) -> str:
    if isinstance(value, dict):
        email = value.get("emailAddress") or {}
        return f"{email.get('name', '')} {email.get('address', '')}".lower()
    return ""


def _matches_search(msg: JSON, prop: str | None, term: str) -> bool:
    body = msg.get("body")
    body_text = str(body.get("content", "")) if isinstance(body, dict) else str(body or "")
    fields = {
        "subject": str(msg.get("subject") or "").lower(),
        "body": (body_text + " " + str(msg.get("bodyPreview") or "")).lower(),
        "from": _address(msg.get("from")) + " " + _address(msg.get("sender")),
        "to": " ".join(_address(r) for r in msg.get("toRecipients") or []),
    }
    if prop is not None:
        return term in fields[prop]
    return any(term in fields[k] for k in ("subject", "body", "from"))


def _query_messages(req: ApiRequest, messages: list[JSON]) -> list[JSON]:
    filter_text = req.query.get("$filter")
    orderby_text = req.query.get("$orderby")
    search_text = req.query.get("$search")
    if search_text is not None:
        if filter_text:
            raise ApiError(400, "SearchWithFilter", "The query parameter '$filter' is not supported with '$search'.")
        if orderby_text:
            raise ApiError(400, "SearchWithOrderBy", "The query parameter '$orderBy' is not supported with '$search'.")
        prop, term = _search_terms(search_text)
        found = [m for m in messages if _matches_search(m, prop, term)]
        return apply_orderby(found, "receivedDateTime desc")
    items = messages
    if filter_text:
        expr = parse_filter(filter_text)
        check_allowed(expr, _MESSAGE_FILTER_PROPERTIES)
        if orderby_text:
            ordered = [name.lower() for name, _ in parse_orderby(orderby_text)]
            filtered: list[str] = []
            for name in properties(expr):
                if name.lower() not in filtered:
                    filtered.append(name.lower())
            if filtered[: len(ordered)] != ordered:
                raise ApiError(400, "InefficientFilter", "The restriction or sort order is too complex for this "
                               "operation.")
        items = [m for m in items if evaluate(expr, m)]
    return apply_orderby(items, orderby_text or "receivedDateTime desc")


def _messages_page(req: ApiRequest, messages: list[JSON], context: str) -> ApiResponse:
    items = [_message_view(m, req) for m in _query_messages(req, messages)]
    return ApiResponse(200, page(req, items, page_size=10, max_top=1000, context=context), preference_headers(req))


@ROUTER.add("GET", "/users/{user}/mailFolders/{folder}/messages", permissions=MAIL_READ, throttle="outlook")
def list_folder_messages(req: ApiRequest, user: str, folder: str) -> ApiResponse:
    found = mailbox_user_or_404(req, user)
    target = _folder_or_404(req, found, folder)
    messages = req.state.folder_messages(found, str(target["id"]))
    ctx = f"{req.base_url}/$metadata#users('{found['id']}')/mailFolders('{folder}')/messages"
    return _messages_page(req, messages, ctx)


@ROUTER.add("GET", "/users/{user}/mailFolders/{folder}/messages/{message}", permissions=MAIL_READ,
            throttle="outlook")
def get_folder_message(req: ApiRequest, user: str, folder: str, message: str) -> ApiResponse:
    found = mailbox_user_or_404(req, user)
    target = _folder_or_404(req, found, folder)
    located = locate(found, message)
    state = req.state
    if located is None or state.folder_id(found, located[0]) != str(target["id"]):
        raise _not_found()
    ctx = f"{req.base_url}/$metadata#users('{found['id']}')/mailFolders('{folder}')/messages/$entity"
    return ApiResponse(200, {"@odata.context": ctx, **select(_message_view(located[2], req), req)},
                       preference_headers(req))


@ROUTER.add("GET", "/users/{user}/messages", permissions=MAIL_READ, throttle="outlook")
def list_messages(req: ApiRequest, user: str) -> ApiResponse:
    found = mailbox_user_or_404(req, user)
    # the mailbox's message folders only: Recoverable Items is reached by its well-known folder name
    state = req.state
    recoverable = {state.folder_id(found, wkn) for wkn, _name, _parent in RECOVERABLE_FOLDERS}
    everything = [m for key, items in found["mailbox"].get("messages", {}).items()
                  if state.folder_id(found, key) not in recoverable for m in items]
    return _messages_page(req, everything, f"{req.base_url}/$metadata#users('{found['id']}')/messages")


@ROUTER.add("GET", "/users/{user}/messages/{message}", permissions=MAIL_READ, throttle="outlook")
def get_message(req: ApiRequest, user: str, message: str) -> ApiResponse:
    found = mailbox_user_or_404(req, user)
    located = locate(found, message)
    if located is None:
        raise _not_found()
    return ApiResponse(200, {"@odata.context": f"{req.base_url}/$metadata#users('{found['id']}')/messages/$entity",
                             **select(_message_view(located[2], req), req)}, preference_headers(req))


# ---------------------------------------------------------------------------------------- mailboxSettings
#: Settings stored under ``mailbox["mailboxSettings"]`` (optional in fixtures) and their defaults.
_SETTINGS_DEFAULTS: JSON = {
    "timeZone": "UTC",
    "dateFormat": "M/d/yyyy",
    "timeFormat": "h:mm tt",
    "userPurpose": "user",
    "delegateMeetingMessageDeliveryOptions": "sendToDelegateAndInformationToPrincipal",
    "language": {"locale": "en-US", "displayName": "English (United States)"},
    "workingHours": {
        "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
        "startTime": "08:00:00.0000000",
        "endTime": "17:00:00.0000000",
        "timeZone": {"name": "UTC"},
    },
}
_WRITABLE_SETTINGS = {"automaticRepliesSetting", "timeZone", "dateFormat", "timeFormat", "language",
                      "workingHours", "delegateMeetingMessageDeliveryOptions"}
_AUTO_REPLY_STATUSES = ("disabled", "alwaysEnabled", "scheduled")
_AUDIENCES = ("none", "contactsOnly", "all")


def _auto_replies(req: ApiRequest, mailbox: JSON) -> JSON:
    now = req.clock.now().replace(minute=0, second=0, microsecond=0)
    setting = {
        "status": "disabled",
        "externalAudience": "all",
        "internalReplyMessage": "",
        "externalReplyMessage": "",
        "scheduledStartDateTime": {"dateTime": iso(now).replace("Z", ".0000000"), "timeZone": "UTC"},
        "scheduledEndDateTime": {"dateTime": iso(now + timedelta(days=1)).replace("Z", ".0000000"),
                                 "timeZone": "UTC"},
    }
    setting.update(copy.deepcopy(mailbox.get("automaticRepliesSetting") or {}))
    return setting


def _settings_view(req: ApiRequest, user: JSON) -> JSON:
    mailbox = user["mailbox"]
    view: JSON = copy.deepcopy(_SETTINGS_DEFAULTS)
    view["archiveFolder"] = req.state.folder_id(user, "archive") or ""
    view["automaticRepliesSetting"] = _auto_replies(req, mailbox)
    view.update(copy.deepcopy(mailbox.get("mailboxSettings") or {}))
    return view


def _settings_context(req: ApiRequest, user: JSON) -> str:
    return f"{req.base_url}/$metadata#users('{user['id']}')/mailboxSettings"


@ROUTER.add("GET", "/users/{user}/mailboxSettings", permissions=SETTINGS_READ, throttle="outlook")
def get_mailbox_settings(req: ApiRequest, user: str) -> ApiResponse:
    found = mailbox_user_or_404(req, user)
    view = _settings_view(req, found)
    if req.query.get("$select"):
        wanted = {p.strip().lower() for p in req.query["$select"].split(",")}
        view = {k: v for k, v in view.items() if k.lower() in wanted}
    return ApiResponse(200, {"@odata.context": _settings_context(req, found), **view})


@ROUTER.add("GET", "/users/{user}/mailboxSettings/{setting}", permissions=SETTINGS_READ, throttle="outlook")
def get_mailbox_setting(req: ApiRequest, user: str, setting: str) -> ApiResponse:
    """One property of the settings, e.g. ``mailboxSettings/automaticRepliesSetting``."""
    found = mailbox_user_or_404(req, user)
    view = _settings_view(req, found)
    key = next((k for k in view if k.lower() == setting.lower()), None)
    if key is None:
        raise ApiError(400, "BadRequest", f"Resource not found for the segment '{setting}'.")
    value = view[key]
    context = f"{_settings_context(req, found)}/{key}"
    if isinstance(value, dict):
        return ApiResponse(200, {"@odata.context": context, **value})
    return ApiResponse(200, {"@odata.context": context, "value": value})


@ROUTER.add("PATCH", "/users/{user}/mailboxSettings", permissions=SETTINGS_WRITE, throttle="outlook")
def patch_mailbox_settings(req: ApiRequest, user: str) -> ApiResponse:
    found = mailbox_user_or_404(req, user)
    body = req.body
    if not isinstance(body, dict) or not body:
        raise ApiError(400, "ErrorInvalidRequest", "The request body must be a mailboxSettings object.")
    for key in body:
        if key.startswith("@odata."):
            continue
        if key not in _WRITABLE_SETTINGS:
            raise ApiError(400, "RequestBodyRead",
                           f"The property '{key}' does not exist on type 'microsoft.graph.mailboxSettings' or is "
                           "read-only.")
    mailbox = found["mailbox"]
    changed: JSON = {}
    if "automaticRepliesSetting" in body:
        patch = body["automaticRepliesSetting"]
        if not isinstance(patch, dict):
            raise ApiError(400, "RequestBodyRead", "automaticRepliesSetting must be an object.")
        if "status" in patch and patch["status"] not in _AUTO_REPLY_STATUSES:
            raise ApiError(400, "ErrorInvalidParameter",
                           f"The value '{patch['status']}' is not valid for automaticRepliesSetting.status.")
        if "externalAudience" in patch and patch["externalAudience"] not in _AUDIENCES:
            raise ApiError(400, "ErrorInvalidParameter",
                           f"The value '{patch['externalAudience']}' is not valid for externalAudience.")
        mailboxes.update_settings(found, patch, {})
        changed["automaticRepliesSetting"] = _auto_replies(req, mailbox)
    others = {k: v for k, v in body.items() if k in _WRITABLE_SETTINGS and k != "automaticRepliesSetting"}
    if others:
        mailboxes.update_settings(found, None, others)
        changed.update(copy.deepcopy(others))
    return ApiResponse(200, {"@odata.context": _settings_context(req, found), **changed})
