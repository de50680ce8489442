"""Graph: a user's group memberships (``transitiveMemberOf``, ``memberOf``) and licences (``licenseDetails``).

Groups live in the fixture's top-level ``groups`` section as Graph group objects plus a fixture-only
``members`` list of user ids (or UPNs); nested groups (a group id among ``members``) are followed for
``transitiveMemberOf``. A user's licences are the fixture's ``users[].licenseDetails`` (Graph ``licenseDetails``
objects: ``id``, ``skuId``, ``skuPartNumber``, ``servicePlans``); a user without them has none, as Graph answers
an unlicensed user with an empty collection.
"""

from __future__ import annotations

from typing import Any

from reclaim.emulator.graph import ROUTER, user_or_404
from reclaim.emulator.graph_users import USER_READ
from reclaim.emulator.odata import page
from reclaim.emulator.wire import ApiRequest, ApiResponse

JSON = dict[str, Any]

GROUP_READ = (*USER_READ, "GroupMember.Read.All", "Group.Read.All")
#: user-list-licensedetails: LicenseAssignment.Read.All, User.Read.All, Directory.Read.All (or their write forms)
LICENSE_READ = ("LicenseAssignment.Read.All", "LicenseAssignment.ReadWrite.All", *USER_READ)


def _group_view(group: JSON) -> JSON:
    view = {k: v for k, v in group.items() if k != "members"}
    return {"@odata.type": "#microsoft.graph.group", **view}


def _memberships(req: ApiRequest, user: JSON, *, transitive: bool) -> list[JSON]:
    groups: list[JSON] = [g for g in req.state.data.get("groups", []) if isinstance(g, dict)]
    keys = {str(user.get("id", "")).lower(), str(user.get("userPrincipalName", "")).lower()}
    found: dict[str, JSON] = {}
    frontier = set(keys)
    while frontier:
        nxt: set[str] = set()
        for group in groups:
            gid = str(group.get("id", ""))
            members = {str(m).lower() for m in group.get("members", [])}
            if gid not in found and members & frontier:
                found[gid] = group
                nxt.add(gid.lower())
        frontier = nxt if transitive else set()
    return [_group_view(g) for g in found.values()]


@ROUTER.add("GET", "/users/{user}/transitiveMemberOf", permissions=GROUP_READ)
def transitive_member_of(req: ApiRequest, user: str) -> ApiResponse:
    found = user_or_404(req, user)
    return ApiResponse(200, page(req, _memberships(req, found, transitive=True), page_size=100, max_top=999,
                                 context=f"{req.base_url}/$metadata#directoryObjects"))


@ROUTER.add("GET", "/users/{user}/memberOf", permissions=GROUP_READ)
def member_of(req: ApiRequest, user: str) -> ApiResponse:
    found = user_or_404(req, user)
    return ApiResponse(200, page(req, _memberships(req, found, transitive=False), page_size=100, max_top=999,
                                 context=f"{req.base_url}/$metadata#directoryObjects"))


@ROUTER.add("GET", "/users/{user}/licenseDetails", permissions=LICENSE_READ)
def license_details(req: ApiRequest, user: str) -> ApiResponse:
    found = user_or_404(req, user)
    items = [dict(d) for d in found.get("licenseDetails") or [] if isinstance(d, dict)]
    return ApiResponse(200, page(req, items, page_size=100, max_top=999,
                                 context=f"{req.base_url}/$metadata#users('{found['id']}')/licenseDetails"))
