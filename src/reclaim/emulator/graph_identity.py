"""Graph: authentication methods, OAuth consent grants, service principals, domains, the MFA registration
report, Conditional Access policies and security defaults.

State: ``user["authenticationMethods"]`` (Graph objects with ``@odata.type``; the password method is
implicit, as every cloud user has one), ``user["oauth2PermissionGrants"]`` (delegated grants this user
consented to; ``principalId`` and ``resourceId`` are filled in on the wire), an optional top-level
``oauth2PermissionGrants`` list for tenant-wide (``AllPrincipals``) consents, ``servicePrincipals``,
``tenant.domains``, ``conditionalAccessPolicies`` and ``tenant.settings.securityDefaultsEnabled``.
A user is an administrator for the registration report when the fixture sets ``isAdmin: true`` or a
non-empty ``directoryRoles`` list.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from reclaim.emulator.backends import directory
from reclaim.emulator.graph import ROUTER, user_or_404
from reclaim.emulator.graph_audit import require_audit_log_read
from reclaim.emulator.licensing import require_p1
from reclaim.emulator.odata import page, select
from reclaim.emulator.odata_filter import apply_filter
from reclaim.emulator.wire import ApiError, ApiRequest, ApiResponse

JSON = dict[str, Any]

AUTH_READ = ("UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All")
AUTH_WRITE = ("UserAuthenticationMethod.ReadWrite.All",)
GRANT_READ = ("DelegatedPermissionGrant.Read.All", "DelegatedPermissionGrant.ReadWrite.All",
              "Directory.Read.All", "Directory.ReadWrite.All")
GRANT_WRITE = ("DelegatedPermissionGrant.ReadWrite.All", "Directory.ReadWrite.All")
SP_READ = ("Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All")
DOMAIN_READ = ("Domain.Read.All", "Domain.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All")
POLICY_READ = ("Policy.Read.All", "Policy.ReadWrite.ConditionalAccess")

PASSWORD_METHOD_ID = "28c10230-6103-485e-b985-444c60001490"  # noqa: S105 - a well-known method id
_ODATA = "#microsoft.graph."
#: URL segment of each per-type endpoint → the method's OData type (without the namespace).
METHOD_TYPES: dict[str, str] = {
    "passwordMethods": "passwordAuthenticationMethod",
    "phoneMethods": "phoneAuthenticationMethod",
    "microsoftAuthenticatorMethods": "microsoftAuthenticatorAuthenticationMethod",
    "emailMethods": "emailAuthenticationMethod",
    "fido2Methods": "fido2AuthenticationMethod",
    "softwareOathMethods": "softwareOathAuthenticationMethod",
    "temporaryAccessPassMethods": "temporaryAccessPassAuthenticationMethod",
    "windowsHelloForBusinessMethods": "windowsHelloForBusinessAuthenticationMethod",
    "platformCredentialMethods": "platformCredentialAuthenticationMethod",
}

#: Microsoft Graph's own application id (the usual resource of delegated grants).
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"


def require_advanced_query(req: ApiRequest) -> None:
    """Directory objects count only in an advanced query: ``$count=true`` needs ``ConsistencyLevel: eventual``."""
    if req.query.get("$count", "").lower() == "true" and (req.header("ConsistencyLevel") or "").lower() != "eventual":
        raise ApiError(400, "Request_BadRequest", "$count is not currently supported.")


def _directory_404(key: str) -> ApiError:
    return ApiError(404, "Request_ResourceNotFound",
                    f"Resource '{key}' does not exist or one of its queried reference-property objects are not "
                    "present.")


# ---------------------------------------------------------------------------------------- auth methods
def _odata_type(method: JSON) -> str:
    return str(method.get("@odata.type", "")).removeprefix(_ODATA).removeprefix("microsoft.graph.")


def _password_method(user: JSON) -> JSON:
    return {"@odata.type": _ODATA + "passwordAuthenticationMethod", "id": PASSWORD_METHOD_ID, "password": None,
            "createdDateTime": user.get("lastPasswordChangeDateTime") or user.get("createdDateTime")}


def _methods(user: JSON) -> list[JSON]:
    """Every method of the user, the password first (Graph always lists it for cloud users)."""
    stored: list[JSON] = user.get("authenticationMethods") or []
    out = [copy.deepcopy(m) for m in stored]
    if not any(_odata_type(m) == "passwordAuthenticationMethod" for m in out):
        out.insert(0, _password_method(user))
    return out


def _methods_context(req: ApiRequest, user: JSON, segment: str) -> str:
    return f"{req.base_url}/$metadata#users('{user['id']}')/authentication/{segment}"


@ROUTER.add("GET", "/users/{user}/authentication/methods", permissions=AUTH_READ, throttle="authMethods")
def list_methods(req: ApiRequest, user: str) -> ApiResponse:
    found = user_or_404(req, user)
    # No OData query options on this collection, and no paging: Graph returns every method.
    return ApiResponse(200, {"@odata.context": _methods_context(req, found, "methods"), "value": _methods(found)})


@ROUTER.add("GET", "/users/{user}/authentication/methods/{method}", permissions=AUTH_READ, throttle="authMethods")
def get_method(req: ApiRequest, user: str, method: str) -> ApiResponse:
    found = user_or_404(req, user)
    for m in _methods(found):
        if str(m.get("id", "")).lower() == method.lower():
            return ApiResponse(200, {"@odata.context": _methods_context(req, found, "methods") + "/$entity", **m})
    raise _method_not_found(method)


def _method_not_found(method: str) -> ApiError:
    return ApiError(404, "itemNotFound", f"The requested authentication method '{method}' was not found.")


def _typed(user: JSON, odata_type: str) -> list[JSON]:
    return [m for m in _methods(user) if _odata_type(m) == odata_type]


def _register_method_type(segment: str, odata_type: str) -> None:
    def list_typed(req: ApiRequest, user: str) -> ApiResponse:
        found = user_or_404(req, user)
        return ApiResponse(200, {"@odata.context": _methods_context(req, found, segment),
                                 "value": _typed(found, odata_type)})

    def get_typed(req: ApiRequest, user: str, method: str) -> ApiResponse:
        found = user_or_404(req, user)
        for m in _typed(found, odata_type):
            if str(m.get("id", "")).lower() == method.lower():
                return ApiResponse(200, {"@odata.context": _methods_context(req, found, segment) + "/$entity", **m})
        raise _method_not_found(method)

    def delete_typed(req: ApiRequest, user: str, method: str) -> ApiResponse:
        found = user_or_404(req, user)
        if odata_type == "passwordAuthenticationMethod":
            raise ApiError(400, "badRequest", "The password authentication method cannot be deleted.")
        stored: list[JSON] = found.setdefault("authenticationMethods", [])
        for m in stored:
            if _odata_type(m) == odata_type and str(m.get("id", "")).lower() == method.lower():
                directory.remove_authentication_method(found, m)
                return ApiResponse(204)
        # A method of another type under this endpoint does not exist here (Graph answers 404 too).
        raise _method_not_found(method)

    base = f"/users/{{user}}/authentication/{segment}"
    ROUTER.add("GET", base, permissions=AUTH_READ, throttle="authMethods")(list_typed)
    ROUTER.add("GET", base + "/{method}", permissions=AUTH_READ, throttle="authMethods")(get_typed)
    ROUTER.add("DELETE", base + "/{method}", permissions=AUTH_WRITE, throttle="authMethods")(delete_typed)


for _segment, _type in METHOD_TYPES.items():
    _register_method_type(_segment, _type)


# ---------------------------------------------------------------------------------------- registration report
#: OData method type → the ``methodsRegistered`` names of the report.
_REPORT_NAMES: dict[str, str] = {
    "emailAuthenticationMethod": "email",
    "microsoftAuthenticatorAuthenticationMethod": "microsoftAuthenticatorPush",
    "softwareOathAuthenticationMethod": "softwareOneTimePasscode",
    "fido2AuthenticationMethod": "passKeyDeviceBound",
    "windowsHelloForBusinessAuthenticationMethod": "windowsHelloForBusiness",
    "temporaryAccessPassAuthenticationMethod": "temporaryAccessPass",
    "platformCredentialAuthenticationMethod": "macOsSecureEnclaveKey",
}
_PHONE_NAMES = {"mobile": "mobilePhone", "alternateMobile": "alternateMobilePhone", "office": "officePhone"}
#: Methods that count as a second factor (email and a temporary access pass do not).
_MFA_NAMES = {"mobilePhone", "alternateMobilePhone", "officePhone", "microsoftAuthenticatorPush",
              "softwareOneTimePasscode", "passKeyDeviceBound", "windowsHelloForBusiness", "macOsSecureEnclaveKey"}
_SSPR_NAMES = {"email", "mobilePhone", "alternateMobilePhone", "officePhone", "microsoftAuthenticatorPush",
               "softwareOneTimePasscode"}
_PASSWORDLESS_NAMES = {"passKeyDeviceBound", "windowsHelloForBusiness", "macOsSecureEnclaveKey"}
_DEFAULT_ORDER = ("microsoftAuthenticatorPush", "softwareOneTimePasscode", "mobilePhone", "alternateMobilePhone",
                  "officePhone", "passKeyDeviceBound", "windowsHelloForBusiness", "macOsSecureEnclaveKey")


#: ``methodsRegistered`` names → v1.0's ``userDefaultAuthenticationMethod`` (the preferred second factor); methods
#: that enum has no member for (passkeys, Windows Hello) are not a preferred secondary method.
_PREFERRED: dict[str, str] = {"microsoftAuthenticatorPush": "push", "softwareOneTimePasscode": "oath",
                              "mobilePhone": "sms", "alternateMobilePhone": "voiceAlternateMobile",
                              "officePhone": "voiceOffice"}
#: ``lastUpdatedDateTime`` is not nullable: a user whose registration never changed shows when they were created.
_NEVER = "0001-01-01T00:00:00Z"


def _registered(user: JSON) -> list[str]:
    names: list[str] = []
    for m in user.get("authenticationMethods") or []:
        kind = _odata_type(m)
        name = _PHONE_NAMES.get(str(m.get("phoneType") or "mobile")) if kind == "phoneAuthenticationMethod" \
            else _REPORT_NAMES.get(kind)
        if name is not None and name not in names:
            names.append(name)
    return names


def registration_details(user: JSON) -> JSON:
    names = _registered(user)
    mfa = any(n in _MFA_NAMES for n in names)
    default = next((_PREFERRED[n] for n in _DEFAULT_ORDER if n in names and n in _PREFERRED), "none")
    return {
        "id": user["id"],
        "userPrincipalName": user.get("userPrincipalName"),
        "userDisplayName": user.get("displayName"),
        "userType": "guest" if user.get("userType") == "Guest" else "member",
        "isAdmin": bool(user.get("isAdmin")) or bool(user.get("directoryRoles")),
        "isSsprRegistered": any(n in _SSPR_NAMES for n in names),
        "isSsprEnabled": False,
        "isSsprCapable": False,
        "isMfaRegistered": mfa,
        "isMfaCapable": mfa and bool(user.get("accountEnabled", True)),
        "isPasswordlessCapable": any(n in _PASSWORDLESS_NAMES for n in names),
        "methodsRegistered": names,
        "isSystemPreferredAuthenticationMethodEnabled": False,
        "systemPreferredAuthenticationMethods": [],
        "userPreferredMethodForSecondaryAuthentication": default if mfa else "none",
        "lastUpdatedDateTime": user.get("registrationUpdatedDateTime") or user.get("createdDateTime") or _NEVER,
    }


_REPORT_FILTER = {"id", "userPrincipalName", "userDisplayName", "userType", "isAdmin", "isMfaRegistered",
                  "isMfaCapable", "isSsprRegistered", "isSsprCapable", "isPasswordlessCapable", "methodsRegistered"}


@ROUTER.add("GET", "/reports/authenticationMethods/userRegistrationDetails", throttle="reports")
def list_registration_details(req: ApiRequest) -> ApiResponse:
    require_audit_log_read(req)
    require_p1(req)
    rows = [registration_details(u) for u in req.state.users()]
    rows = apply_filter(rows, req.query.get("$filter"), allowed=_REPORT_FILTER)
    ctx = f"{req.base_url}/$metadata#reports/authenticationMethods/userRegistrationDetails"
    return ApiResponse(200, page(req, rows, page_size=100, max_top=999, context=ctx))


@ROUTER.add("GET", "/reports/authenticationMethods/userRegistrationDetails/{user}", throttle="reports")
def get_registration_details(req: ApiRequest, user: str) -> ApiResponse:
    require_audit_log_read(req)
    require_p1(req)
    found = next((u for u in req.state.users() if str(u.get("id", "")).lower() == user.lower()), None)
    if found is None:
        raise _directory_404(user)
    ctx = f"{req.base_url}/$metadata#reports/authenticationMethods/userRegistrationDetails/$entity"
    return ApiResponse(200, {"@odata.context": ctx, **select(registration_details(found), req)})


# ---------------------------------------------------------------------------------------- consent grants
def _graph_sp_id(req: ApiRequest) -> str:
    """The tenant's service principal of Microsoft Graph (from the fixture, else a stable id)."""
    for sp in req.state.data.get("servicePrincipals", []):
        if sp.get("appId") == GRAPH_APP_ID and sp.get("id"):
            return str(sp["id"])
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{req.state.tenant_id}/sp/{GRAPH_APP_ID}"))


def _grant_view(req: ApiRequest, grant: JSON, user: JSON | None) -> JSON:
    consent = grant.get("consentType") or ("Principal" if user is not None else "AllPrincipals")
    view: JSON = {
        "clientId": grant.get("clientId"),
        "consentType": consent,
        "id": grant.get("id"),
        "principalId": (user["id"] if user is not None else None) if consent == "Principal" else None,
        "resourceId": grant.get("resourceId") or _graph_sp_id(req),
        "scope": grant.get("scope", ""),
    }
    for k, v in grant.items():
        view.setdefault(k, copy.deepcopy(v))
    return view


def _all_grants(req: ApiRequest) -> Iterator[tuple[JSON, list[JSON], JSON | None]]:
    """``(grant, the list holding it, its user or None)`` for every grant of the tenant."""
    for user in req.state.users():
        held: list[JSON] = user.get("oauth2PermissionGrants") or []
        for grant in held:
            yield grant, held, user
    tenant_wide: list[JSON] = req.state.data.get("oauth2PermissionGrants") or []
    for grant in tenant_wide:
        yield grant, tenant_wide, None


_GRANT_FILTER = {"clientId", "principalId", "resourceId", "consentType", "id"}


@ROUTER.add("GET", "/users/{user}/oauth2PermissionGrants", permissions=GRANT_READ)
def list_user_grants(req: ApiRequest, user: str) -> ApiResponse:
    require_advanced_query(req)
    found = user_or_404(req, user)
    views = [_grant_view(req, g, found) for g in found.get("oauth2PermissionGrants") or []]
    views = apply_filter(views, req.query.get("$filter"), allowed=_GRANT_FILTER, resource="OAuth2PermissionGrant")
    return ApiResponse(200, page(req, views, page_size=100, max_top=999,
                                 context=f"{req.base_url}/$metadata#oauth2PermissionGrants"))


@ROUTER.add("GET", "/oauth2PermissionGrants", permissions=GRANT_READ)
def list_grants(req: ApiRequest) -> ApiResponse:
    require_advanced_query(req)
    views = [_grant_view(req, g, u) for g, _, u in _all_grants(req)]
    views = apply_filter(views, req.query.get("$filter"), allowed=_GRANT_FILTER, resource="OAuth2PermissionGrant")
    return ApiResponse(200, page(req, views, page_size=100, max_top=999,
                                 context=f"{req.base_url}/$metadata#oauth2PermissionGrants"))


@ROUTER.add("GET", "/oauth2PermissionGrants/{grant}", permissions=GRANT_READ)
def get_grant(req: ApiRequest, grant: str) -> ApiResponse:
    for g, _, u in _all_grants(req):
        if g.get("id") == grant:
            return ApiResponse(200, {"@odata.context": f"{req.base_url}/$metadata#oauth2PermissionGrants/$entity",
                                     **select(_grant_view(req, g, u), req)})
    raise _directory_404(grant)


@ROUTER.add("DELETE", "/oauth2PermissionGrants/{grant}", permissions=GRANT_WRITE)
def delete_grant(req: ApiRequest, grant: str) -> ApiResponse:
    for g, held, _ in _all_grants(req):
        if g.get("id") == grant:
            directory.remove_grant(held, g)
            return ApiResponse(204)
    raise _directory_404(grant)


# ---------------------------------------------------------------------------------------- service principals
#: Microsoft's own tenant, the owner of first-party applications such as Microsoft Graph.
MICROSOFT_TENANT_ID = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"


def _service_principals(req: ApiRequest) -> list[JSON]:
    """The fixture's service principals, plus Microsoft Graph's when the fixture leaves it out: every
    tenant has it, and delegated grants point at it as their ``resourceId``."""
    sps: list[JSON] = list(req.state.data.get("servicePrincipals", []))
    if not any(sp.get("appId") == GRAPH_APP_ID for sp in sps):
        sps.append({"id": _graph_sp_id(req), "appId": GRAPH_APP_ID, "displayName": "Microsoft Graph",
                    "appOwnerOrganizationId": MICROSOFT_TENANT_ID, "publisherName": "Microsoft Services",
                    "servicePrincipalNames": [GRAPH_APP_ID, "https://graph.microsoft.com"]})
    return sps


def _sp_view(sp: JSON) -> JSON:
    view = copy.deepcopy(sp)
    view.setdefault("accountEnabled", True)
    view.setdefault("appDisplayName", sp.get("displayName"))
    view.setdefault("servicePrincipalType", "Application")
    view.setdefault("appOwnerOrganizationId", None)
    view.setdefault("verifiedPublisher", {"displayName": None, "verifiedPublisherId": None, "addedDateTime": None})
    view.setdefault("publisherName", None)
    view.setdefault("replyUrls", [])
    view.setdefault("servicePrincipalNames", [sp["appId"]] if sp.get("appId") else [])
    view.setdefault("tags", [])
    return view


_SP_FILTER = {"id", "appId", "displayName", "servicePrincipalType", "accountEnabled", "appOwnerOrganizationId",
              "servicePrincipalNames", "tags", "publisherName"}


@ROUTER.add("GET", "/servicePrincipals", permissions=SP_READ)
def list_service_principals(req: ApiRequest) -> ApiResponse:
    require_advanced_query(req)
    views = [_sp_view(sp) for sp in _service_principals(req)]
    views = apply_filter(views, req.query.get("$filter"), allowed=_SP_FILTER, resource="ServicePrincipal")
    return ApiResponse(200, page(req, views, page_size=100, max_top=999,
                                 context=f"{req.base_url}/$metadata#servicePrincipals"))


def _sp_entity(req: ApiRequest, match: Callable[[JSON], bool], key: str) -> ApiResponse:
    for sp in _service_principals(req):
        if match(sp):
            return ApiResponse(200, {"@odata.context": f"{req.base_url}/$metadata#servicePrincipals/$entity",
                                     **select(_sp_view(sp), req)})
    raise _directory_404(key)


@ROUTER.add("GET", "/servicePrincipals\\(appId='{app}'\\)", permissions=SP_READ)
def get_service_principal_by_app_id(req: ApiRequest, app: str) -> ApiResponse:
    return _sp_entity(req, lambda sp: str(sp.get("appId", "")).lower() == app.lower(), app)


@ROUTER.add("GET", "/servicePrincipals/{sp}", permissions=SP_READ)
def get_service_principal(req: ApiRequest, sp: str) -> ApiResponse:
    return _sp_entity(req, lambda x: str(x.get("id", "")).lower() == sp.lower(), sp)


# ---------------------------------------------------------------------------------------- domains
def _domain_view(name: str, index: int) -> JSON:
    return {
        "authenticationType": "Managed",
        "availabilityStatus": None,
        "id": name,
        "isAdminManaged": True,
        "isDefault": index == 0,
        "isInitial": name.lower().endswith(".onmicrosoft.com"),
        "isRoot": True,
        "isVerified": True,
        "supportedServices": ["Email", "OfficeCommunicationsOnline"],
        "passwordValidityPeriodInDays": 2147483647,
        "passwordNotificationWindowInDays": 14,
        "state": None,
    }


@ROUTER.add("GET", "/domains", permissions=DOMAIN_READ)
def list_domains(req: ApiRequest) -> ApiResponse:
    require_advanced_query(req)
    views = [_domain_view(d, i) for i, d in enumerate(req.state.domains)]
    views = apply_filter(views, req.query.get("$filter"), allowed={"id", "isDefault", "isVerified", "isInitial"},
                         resource="Domain")
    return ApiResponse(200, page(req, views, page_size=100, max_top=999,
                                 context=f"{req.base_url}/$metadata#domains"))


@ROUTER.add("GET", "/domains/{domain}", permissions=DOMAIN_READ)
def get_domain(req: ApiRequest, domain: str) -> ApiResponse:
    for i, d in enumerate(req.state.domains):
        if d.lower() == domain.lower():
            return ApiResponse(200, {"@odata.context": f"{req.base_url}/$metadata#domains/$entity",
                                     **select(_domain_view(d, i), req)})
    raise _directory_404(domain)


# ---------------------------------------------------------------------------------------- policies
def _ca_view(policy: JSON) -> JSON:
    view = copy.deepcopy(policy)
    view.setdefault("templateId", None)
    view.setdefault("createdDateTime", None)
    view.setdefault("modifiedDateTime", None)
    view.setdefault("state", "enabled")
    view.setdefault("conditions", {})
    view.setdefault("grantControls", None)
    view.setdefault("sessionControls", None)
    return view


@ROUTER.add("GET", "/identity/conditionalAccess/policies", permissions=POLICY_READ, throttle="identityProtection")
def list_ca_policies(req: ApiRequest) -> ApiResponse:
    require_p1(req)
    views = [_ca_view(p) for p in req.state.data.get("conditionalAccessPolicies", [])]
    views = apply_filter(views, req.query.get("$filter"), allowed={"id", "displayName", "state"})
    return ApiResponse(200, page(req, views, page_size=100, max_top=999,
                                 context=f"{req.base_url}/$metadata#identity/conditionalAccess/policies"))


@ROUTER.add("GET", "/identity/conditionalAccess/policies/{policy}", permissions=POLICY_READ,
            throttle="identityProtection")
def get_ca_policy(req: ApiRequest, policy: str) -> ApiResponse:
    require_p1(req)
    for p in req.state.data.get("conditionalAccessPolicies", []):
        if str(p.get("id", "")).lower() == policy.lower():
            ctx = f"{req.base_url}/$metadata#identity/conditionalAccess/policies/$entity"
            return ApiResponse(200, {"@odata.context": ctx, **select(_ca_view(p), req)})
    raise _directory_404(policy)


@ROUTER.add("GET", "/policies/identitySecurityDefaultsEnforcementPolicy", permissions=POLICY_READ)
def get_security_defaults(req: ApiRequest) -> ApiResponse:
    enabled = bool(req.state.settings.get("securityDefaultsEnabled", False))
    body = {
        "@odata.context": f"{req.base_url}/$metadata#policies/identitySecurityDefaultsEnforcementPolicy/$entity",
        "id": "00000000-0000-0000-0000-000000000005",
        "displayName": "Security Defaults",
        "description": "Security defaults is a set of basic identity security mechanisms recommended by Microsoft. "
                       "When enabled, these recommendations will be automatically enforced in your organization. "
                       "Administrators and users will be better protected from common identity related attacks.",
        "isEnabled": enabled,
    }
    return ApiResponse(200, body)
