"""Exchange admin API: ``POST /adminapi/beta/{tenant}/InvokeCommand``, the REST behind ExchangeOnlineManagement v3.

Wire format (reference/m365-api.md section B, checked against captured responses of the real service):

- request body ``{"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {...}}}``;
- success ``{"@odata.context": ".../$metadata#Collection(Exchange.GenericHashTable)",
  "adminapi.warnings@odata.type": "#Collection(String)", "@adminapi.warnings": [...], "value": [...]}``,
  objects in PascalCase with ``@odata.type`` / ``@data.type`` annotations as the service writes them;
- paging: ``Prefer: odata.maxpagesize=N`` (≤ 1000), ``@odata.nextLink`` = the same endpoint with an opaque
  ``$skiptoken``; the client re-POSTs the same body to it;
- errors: ``{"error": {"code": "NotFound", "message": "Error executing cmdlet", "details": [{"code": "Client",
  "target": "", "message": "Ex6F9304|Microsoft.Exchange...ManagementObjectNotFoundException|The operation
  couldn't be performed because object 'x' couldn't be found on '...'."}], "innererror": {"message", "type",
  "stacktrace", "internalexception": {"message", "type", "stacktrace"}}}, "@adminapi.warnings": []}``.
  The service writes the key ``internalexception`` in lower case (PowerShell clients read it case-insensitively).

The binder is ``exchange_binding.py``; the cmdlet table, errors and lookups ``exchange_cmdlets.py``; the cmdlets,
by noun, ``exchange_mailbox``, ``exchange_rules``, ``exchange_permissions``, ``exchange_devices``,
``exchange_org`` and ``exchange_audit`` (listed in ``services.py``); the PascalCase views ``exchange_objects.py``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from reclaim.emulator import exchange_recoverable
from reclaim.emulator.exchange_cmdlets import CMDLETS, CmdletContext, ExoError, cmdlet_not_found
from reclaim.emulator.wire import ApiRequest, ApiResponse

if TYPE_CHECKING:
    from reclaim.emulator.runtime import Runtime

JSON = dict[str, Any]

#: Largest page the service sends, whatever ``Prefer: odata.maxpagesize`` asks for.
MAX_PAGE_SIZE = 1000

#: The application permission every app-only caller needs (Office 365 Exchange Online).
MANAGE_AS_APP = "Exchange.ManageAsApp"
#: Directory roles that may run read cmdlets (Global Administrator is implied by ``has_role``).
READ_ROLES: tuple[str, ...] = ("Exchange Administrator", "Global Reader", "Security Reader")
#: Directory roles that may run write cmdlets and ``Get-InboxRule -IncludeHidden``.
WRITE_ROLES: tuple[str, ...] = ("Exchange Administrator",)

#: The media type of the service's answers (large numbers such as RuleIdentity stay JSON numbers).
CONTENT_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
_WARNINGS_TYPE = "#Collection(String)"
_ODATA_EXCEPTION = "Microsoft.Exchange.Admin.OData.Core.ODataServiceException"
_STACK = ("   at Microsoft.Exchange.AdminApi.CommandInvocation.CommandInvocation.InvokeCommand("
          "QueryContext queryContext, CmdletInvokeInputType cmdletInvokeInputType)")


def error_body(code: str, message: str, request_id: str) -> dict[str, Any]:
    """An error the service answers before any cmdlet runs (token, tenant, body, throttling)."""
    return {
        "error": {
            "code": code,
            "message": message,
            "innererror": {"message": message, "type": _ODATA_EXCEPTION, "stacktrace": "",
                           "request-id": request_id},
        },
        "adminapi.warnings@odata.type": _WARNINGS_TYPE,
        "@adminapi.warnings": [],
    }


def cmdlet_error_body(err: ExoError) -> JSON:
    """The error of a cmdlet that ran (or was refused): the text a person needs is in ``details``."""
    detail = f"{err.error_id}|{err.exception_type}|{err.text}"
    return {
        "error": {
            "code": err.code,
            "message": err.message,
            "details": [{"code": "Client", "target": "", "message": detail}],
            "innererror": {
                "message": err.message,
                "type": _ODATA_EXCEPTION,
                "stacktrace": _STACK,
                "internalexception": {"message": err.text, "type": err.exception_type, "stacktrace": ""},
            },
        },
        "adminapi.warnings@odata.type": _WARNINGS_TYPE,
        "@adminapi.warnings": list(err.warnings),
    }


def _fail(err: ExoError) -> ApiResponse:
    return ApiResponse(err.status, cmdlet_error_body(err), dict(err.headers))


def _plain_fail(status: int, code: str, message: str, request_id: str,
                headers: dict[str, str] | None = None) -> ApiResponse:
    return ApiResponse(status, error_body(code, message, request_id), dict(headers or {}))


async def invoke(req: ApiRequest, runtime: Runtime, *, tenant: str,
                 latency: Callable[[], Awaitable[None]] | None = None) -> ApiResponse:
    """Answer one ``InvokeCommand`` request (the token has been checked by the app)."""
    early = _precheck(req, tenant)
    if isinstance(early, ApiResponse):
        if latency is not None:
            await latency()
        return early
    name, parameters = early
    cmdlet = CMDLETS.get(name.lower())
    if name.lower() in exchange_recoverable.CMDLET_NAMES and not exchange_recoverable.allowed(
            req.state.find_app(req.claims.app_id)):
        cmdlet = None  # a cmdlet of a role the caller does not hold does not exist for it
    if cmdlet is None:
        if latency is not None:
            await latency()
        return _fail(cmdlet_not_found(name))
    denied = _authorise(req, cmdlet.name, cmdlet.write, parameters)
    if denied is not None:
        if latency is not None:
            await latency()
        return _fail(denied)
    throttle = runtime.throttle
    app_id = req.claims.app_id
    rejection = throttle.admit(kind="exchange", app_id=app_id, mailbox=None, write=cmdlet.write)
    if rejection is not None:
        if latency is not None:
            await latency()
        headers = dict(rejection.headers)
        if rejection.retry_after is not None:
            headers["Retry-After"] = _fmt_seconds(rejection.retry_after)
        return _plain_fail(429, rejection.code, rejection.message, req.request_id, headers)
    try:
        if latency is not None:
            await latency()
        return _run(req, cmdlet.name, parameters)
    finally:
        throttle.release(kind="exchange", app_id=app_id, mailbox=None)


def _precheck(req: ApiRequest, tenant: str) -> ApiResponse | tuple[str, JSON]:
    """Tenant, application permission and body shape; the cmdlet name and its parameters when all is well."""
    st = req.state
    known = {st.tenant_id.lower(), *(d.lower() for d in st.domains)}
    if tenant.lower() not in known or req.claims.tenant_id.lower() != st.tenant_id.lower():
        return _plain_fail(401, "Unauthorized",
                           f"The tenant '{tenant}' in the request URL is not the tenant of the access token.",
                           req.request_id, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
    if MANAGE_AS_APP not in req.claims.permissions:
        # Exchange refuses an app token without the Exchange.ManageAsApp role claim as an invalid token.
        return _plain_fail(401, "Unauthorized",
                           f"The access token has no '{MANAGE_AS_APP}' application permission of Office 365 "
                           "Exchange Online.", req.request_id,
                           {"WWW-Authenticate": 'Bearer error="invalid_token"'})
    body = req.body
    cmdlet_input = body.get("CmdletInput") if isinstance(body, dict) else None
    name = cmdlet_input.get("CmdletName") if isinstance(cmdlet_input, dict) else None
    if not isinstance(cmdlet_input, dict) or not isinstance(name, str) or not name.strip():
        return _plain_fail(400, "BadRequest",
                           "The request body must be {\"CmdletInput\": {\"CmdletName\": \"...\", "
                           "\"Parameters\": {...}}}.", req.request_id)
    parameters = cmdlet_input.get("Parameters")
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, dict):
        return _plain_fail(400, "BadRequest", "CmdletInput.Parameters must be a JSON object.", req.request_id)
    return name.strip(), parameters


def _authorise(req: ApiRequest, name: str, write: bool, parameters: JSON) -> ExoError | None:
    """The directory role check Exchange applies to app-only callers."""
    claims = req.claims
    if not claims.has_role(*READ_ROLES):
        return ExoError(
            403, "Forbidden", "Microsoft.Exchange.Configuration.Tasks.CmdletAccessDeniedException",
            f"[FailureCategory=AuthZ-CmdletAccessDeniedException] The role assigned to application "
            f"{claims.app_id} isn't supported in this scenario. Please check online documentation for "
            "assigning correct Directory Roles to Azure AD Application for EXO App-Only Authentication.",
            message="Error executing cmdlet")
    if write and not claims.has_role(*WRITE_ROLES):
        return ExoError(403, "Forbidden", "Microsoft.Exchange.Configuration.Tasks.CmdletAccessDeniedException",
                        f"User is not allowed to call {name}", message=f"User is not allowed to call {name}")
    hidden = next((v for k, v in parameters.items() if k.lower() == "includehidden"), None)
    if name == "Get-InboxRule" and hidden not in (None, False, "false", "False", "$false") \
            and not claims.has_role(*WRITE_ROLES):
        return ExoError(403, "Forbidden", "Microsoft.Exchange.Configuration.Tasks.CmdletAccessDeniedException",
                        "User is not allowed to call Get-InboxRule with parameter 'IncludeHidden'",
                        message="User is not allowed to call Get-InboxRule")
    return None


def _run(req: ApiRequest, name: str, parameters: JSON) -> ApiResponse:
    ctx = CmdletContext(state=req.state, now=req.clock.now())
    fingerprint = _fingerprint(name, parameters)
    try:
        offset = _skiptoken_offset(req, fingerprint)
        with req.state.lock:
            result = CMDLETS[name.lower()].handler(ctx, parameters)
    except ExoError as err:
        return _fail(err)
    size, applied = _page_size(req)
    chunk = [_select(item() if callable(item) else item, req.query.get("$select"))
             for item in result[offset: offset + size]]
    body: JSON = {
        "@odata.context": req.base_url.rsplit("/InvokeCommand", 1)[0]
        + "/$metadata#Collection(Exchange.GenericHashTable)",
        "adminapi.warnings@odata.type": _WARNINGS_TYPE,
        "@adminapi.warnings": list(ctx.warnings) if offset == 0 else [],
        "value": chunk,
    }
    if offset + size < len(result):
        token = _encode_skiptoken(offset + size, fingerprint)
        select = req.query.get("$select")
        query = f"$select={select}&" if select else ""
        body["@odata.nextLink"] = f"{req.base_url}?{query}$skiptoken={token}"
    headers = {"Content-Type": CONTENT_TYPE}
    if applied is not None:
        headers["Preference-Applied"] = f"odata.maxpagesize={applied}"
    return ApiResponse(200, body, headers)


def _page_size(req: ApiRequest) -> tuple[int, int | None]:
    """The page size the server uses and the ``odata.maxpagesize`` it applied (if the client asked)."""
    requested: int | None = None
    prefer = req.header("prefer") or req.header("x-prefer") or ""
    for part in prefer.split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "odata.maxpagesize":
            try:
                requested = int(value.strip())
            except ValueError:
                requested = None
    size = MAX_PAGE_SIZE if requested is None or requested < 1 else min(requested, MAX_PAGE_SIZE)
    forced = req.state.settings.get("exchangePageSize")
    if isinstance(forced, int) and not isinstance(forced, bool) and forced >= 1:
        size = min(size, forced)
    return size, (size if requested is not None else None)


def _fingerprint(name: str, parameters: JSON) -> str:
    canonical = json.dumps([name.lower(), parameters], sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _encode_skiptoken(offset: int, fingerprint: str) -> str:
    raw = json.dumps({"o": offset, "f": fingerprint}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _skiptoken_offset(req: ApiRequest, fingerprint: str) -> int:
    token = req.query.get("$skiptoken")
    if token is None:
        return 0
    invalid = ExoError(400, "BadRequest", "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
                       "The $skiptoken is invalid or does not belong to this request: re-POST the same body "
                       "to the @odata.nextLink as given.", error_id="", message="Invalid skip token")
    try:
        state = json.loads(base64.urlsafe_b64decode(token.encode() + b"==").decode())
        offset = int(state["o"])
        owner = str(state["f"])
    except (ValueError, KeyError, TypeError):
        raise invalid from None
    if offset < 0 or owner != fingerprint:
        raise invalid
    return offset


def _select(item: JSON, select: str | None) -> JSON:
    """``$select=A,B`` on the URL: only those properties (and their annotations)."""
    if not select:
        return item
    wanted = {p.strip().lower() for p in select.split(",") if p.strip()}
    return {k: v for k, v in item.items() if k.split("@", 1)[0].lower() in wanted}


def _fmt_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"
