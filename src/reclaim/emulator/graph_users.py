"""Graph: users (list, get by id or UPN, PATCH), revokeSignInSessions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

from reclaim.emulator.backends import directory
from reclaim.emulator.graph import ROUTER, user_or_404
from reclaim.emulator.graph_identity import require_advanced_query
from reclaim.emulator.odata import page, select
from reclaim.emulator.odata_filter import apply_filter
from reclaim.emulator.wire import ApiError, ApiRequest, ApiResponse

JSON = dict[str, Any]

USER_READ = ("User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All")

#: Properties Graph returns for a user when no $select is given.
DEFAULT_USER_PROPERTIES = ("businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
                           "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id")

#: Collection-valued user properties: Graph returns ``[]`` for them, never null.
_COLLECTION_PROPERTIES = ("businessPhones", "otherMails", "imAddresses", "proxyAddresses", "identities")

#: Properties ``$filter`` on users may use (the directory's supported subset reclaim needs).
_USER_FILTER = {"id", "userPrincipalName", "mail", "accountEnabled", "displayName", "givenName", "surname",
                "userType", "otherMails", "proxyAddresses", "onPremisesSyncEnabled", "createdDateTime"}

#: Fixture-only keys that are not user properties on the wire.
_NOT_USER_PROPERTIES = {"mailbox", "authenticationMethods", "oauth2PermissionGrants", "risk", "passwordProfile",
                        "drive"}


def user_view(user: JSON, req: ApiRequest) -> JSON:
    """The user as Graph returns it: the default property set, or what ``$select`` asks for."""
    public = {k: v for k, v in user.items() if k not in _NOT_USER_PROPERTIES}
    for collection in _COLLECTION_PROPERTIES:
        public.setdefault(collection, [])
    if req.query.get("$select"):
        return select(public, req)
    return {k: public.get(k) for k in DEFAULT_USER_PROPERTIES}


@ROUTER.add("GET", "/users", permissions=USER_READ)
def list_users(req: ApiRequest) -> ApiResponse:
    require_advanced_query(req)
    users = apply_filter(req.state.users(), req.query.get("$filter"), allowed=_USER_FILTER,
                         resource="User")
    # views are built for the requested page only (10,000 users, 100 per page: not 10,000 views a page)
    body = page(req, _UserViews(users, req), page_size=100, max_top=999,
                context=f"{req.base_url}/$metadata#users")
    return ApiResponse(200, body)


class _UserViews(Sequence[JSON]):
    """``[user_view(u, req) for u in users]``, computed only for the items read."""

    def __init__(self, users: list[JSON], req: ApiRequest) -> None:
        self._users, self._req = users, req

    def __len__(self) -> int:
        return len(self._users)

    @overload
    def __getitem__(self, index: int) -> JSON: ...
    @overload
    def __getitem__(self, index: slice) -> list[JSON]: ...
    def __getitem__(self, index: int | slice) -> JSON | list[JSON]:
        if isinstance(index, slice):
            return [user_view(u, self._req) for u in self._users[index]]
        return user_view(self._users[index], self._req)


@ROUTER.add("GET", "/users/{user}", permissions=USER_READ)
def get_user(req: ApiRequest, user: str) -> ApiResponse:
    found = user_or_404(req, user)
    body = {"@odata.context": f"{req.base_url}/$metadata#users/$entity", **user_view(found, req)}
    return ApiResponse(200, body)


#: PATCH-able properties and the permissions that allow writing each.
_WRITABLE: dict[str, tuple[str, ...]] = {
    "accountEnabled": ("User.EnableDisableAccount.All", "User.ReadWrite.All", "Directory.ReadWrite.All"),
    "passwordProfile": ("User-PasswordProfile.ReadWrite.All", "User.ReadWrite.All", "Directory.ReadWrite.All"),
    "displayName": ("User.ReadWrite.All", "Directory.ReadWrite.All"),
    "mobilePhone": ("User.ReadWrite.All", "Directory.ReadWrite.All"),
    "otherMails": ("User.ReadWrite.All", "Directory.ReadWrite.All"),
    "businessPhones": ("User.ReadWrite.All", "Directory.ReadWrite.All"),
    "passwordPolicies": ("User.ReadWrite.All", "Directory.ReadWrite.All"),
}


@ROUTER.add("PATCH", "/users/{user}")
def patch_user(req: ApiRequest, user: str) -> ApiResponse:
    found = user_or_404(req, user)
    body = req.body
    if not isinstance(body, dict) or not body:
        raise ApiError(400, "Request_BadRequest", "Invalid request body: a JSON object with properties is required.")
    for key in body:
        allowed = _WRITABLE.get(key)
        if allowed is None:
            raise ApiError(400, "Request_BadRequest",
                           f"Property '{key}' is read-only or not supported for update by this emulator.")
        if not req.claims.has_any(allowed):
            raise ApiError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
    # Sensitive properties: app-only callers also need a directory role (User Administrator or higher).
    if ("accountEnabled" in body or "passwordProfile" in body) and not req.claims.has_role(
            "User Administrator", "Privileged Authentication Administrator"):
        raise ApiError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
    if "passwordProfile" in body:
        profile = body["passwordProfile"]
        if not isinstance(profile, dict) or not isinstance(profile.get("password"), str):
            raise ApiError(400, "Request_BadRequest", "passwordProfile.password is required.")
        if found.get("onPremisesSyncEnabled"):
            raise ApiError(400, "Request_BadRequest",
                           "Unable to update the specified properties for on-premises mastered Directory Sync "
                           "objects or objects currently undergoing migration.")
        if not _complex_enough(profile["password"]):
            raise ApiError(400, "Request_BadRequest",
                           "The specified password does not comply with password complexity requirements. "
                           "Please provide a different password.")
    if "accountEnabled" in body and not isinstance(body["accountEnabled"], bool):
        raise ApiError(400, "Request_BadRequest", "Invalid value specified for property 'accountEnabled'.")
    directory.update_user(found, body, req.clock.now())  # the password itself is never stored
    return ApiResponse(204)


def _complex_enough(password: str) -> bool:
    """Entra's rule: 8–256 characters and 3 of 4 classes (lower, upper, digit, symbol)."""
    if not 8 <= len(password) <= 256:
        return False
    classes = [any(c.islower() for c in password), any(c.isupper() for c in password),
               any(c.isdigit() for c in password), any(not c.isalnum() for c in password)]
    return sum(classes) >= 3


@ROUTER.add("POST", "/users/{user}/revokeSignInSessions",
            permissions=("User.RevokeSessions.All", "User.ReadWrite.All", "Directory.ReadWrite.All"))
def revoke_sessions(req: ApiRequest, user: str) -> ApiResponse:
    found = user_or_404(req, user)
    directory.revoke_sessions(found, req.clock.now())
    # Documented as 204; the service actually answers 200 {"value": true}.
    return ApiResponse(200, {"@odata.context": f"{req.base_url}/$metadata#Edm.Boolean", "value": True})
