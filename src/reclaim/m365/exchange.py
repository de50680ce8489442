"""Exchange Online admin API client (the REST endpoint behind ExchangeOnlineManagement v3).

``POST {base}/adminapi/beta/{tenantId}/InvokeCommand`` with
``{"CmdletInput": {"CmdletName": ..., "Parameters": {...}}}``; paging by re-posting the same body to
``@odata.nextLink``; warnings from ``@adminapi.warnings``; error text from ``error.details[].message``,
then ``error.innererror.internalException.message``, then ``error.message``. Throttling, retries and
token refresh are the shared pipeline's.

Which cmdlets may be re-sent after an unknown outcome: ``Get-*`` (reads), ``Set-*`` / ``Enable-*`` /
``Disable-*`` (setting a value twice gives the same state) and ``Remove-*`` (a second removal that
answers "not found" means the first one worked). ``New-*`` and others are never re-sent blindly.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from reclaim.m365._pipeline import TRANSIENT_STATUSES, Pipeline, Verify, origin
from reclaim.m365.auth import EXCHANGE_SCOPE, AccessToken
from reclaim.m365.boundary import PageWalk, parse_json
from reclaim.m365.errors import (
    AccessDenied,
    AuthenticationFailed,
    ExchangeError,
    ExchangeNotFound,
    M365Error,
    Throttled,
    TransientError,
    UnexpectedShape,
)
from reclaim.m365.exchange_models import (
    BlockedSender,
    CasMailbox,
    ExchangeObject,
    InboxRule,
    Mailbox,
    MailboxPermission,
    MobileDevice,
    RecipientPermission,
    SweepRule,
    TransportRule,
)
from reclaim.m365.permissions import EXCHANGE_MANAGE_AS_APP, exchange_roles_for
from reclaim.m365.throttle import parse_retry_after

__all__ = ["ANCHOR_SYSTEM_MAILBOX", "CmdletWarning", "ExchangeClient", "exchange_error"]

JSON = dict[str, Any]
T = TypeVar("T", bound=ExchangeObject)

log = logging.getLogger("reclaim.m365.exchange")

#: The system mailbox the admin API is anchored on for app-only calls.
ANCHOR_SYSTEM_MAILBOX = "SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}"

_NOT_FOUND_TYPES = ("ManagementObjectNotFoundException", "RecipientNotFoundException", "ObjectNotFoundException",
                    "MailboxNotFoundException", "ErrorItemNotFound")
_NOT_FOUND_CODES = {"NotFound", "ErrorItemNotFound", "ResourceNotFound", "ManagementObjectNotFound"}
_EXCEPTION_TYPE = re.compile(r"(?:^|\|)([A-Za-z_][\w.]*Exception)(?:\||$)")


@dataclass(frozen=True)
class CmdletWarning:
    cmdlet: str
    message: str


def exchange_error(status: int, body: Any, headers: Mapping[str, str], *, cmdlet: str | None, url: str) -> M365Error:
    """The typed error for an ``InvokeCommand`` error response."""
    error = body.get("error") if isinstance(body, dict) else None
    code: str | None = None
    text = ""
    exception_type: str | None = None
    request_id = next((v for k, v in headers.items() if k.lower() == "request-id"), None)
    if isinstance(error, dict):
        code = str(error["code"]) if error.get("code") is not None else None
        details = error.get("details")
        detail_messages = [str(d.get("message")) for d in details
                           if isinstance(d, dict) and d.get("message")] if isinstance(details, list) else []
        inner = _get_ci(error, "innererror")
        internal = _get_ci(inner, "internalException") if isinstance(inner, dict) else None
        if isinstance(inner, dict) and _get_ci(inner, "request-id"):
            request_id = str(_get_ci(inner, "request-id"))
        if detail_messages:
            text = detail_messages[0]
        elif isinstance(internal, dict) and internal.get("message"):
            text = str(internal["message"])
        else:
            text = str(error.get("message") or "")
        if isinstance(internal, dict) and internal.get("type"):
            exception_type = str(internal["type"]).rsplit(".", 1)[-1]
        if exception_type is None:
            for candidate in (*detail_messages, text):
                match = _EXCEPTION_TYPE.search(candidate)
                if match:
                    exception_type = match.group(1).rsplit(".", 1)[-1]
                    break
    message = _cmdlet_text(text) or f"HTTP {status}"
    context: dict[str, Any] = {"status": status, "code": code, "request_id": request_id, "method": "POST",
                               "url": url}
    if status == 401:
        return AuthenticationFailed("the Exchange admin API refused the access token", **context,
                                    hint="the app needs Exchange.ManageAsApp (Office 365 Exchange Online); "
                                         "run `reclaim tenant check`")
    if status == 403:
        roles = exchange_roles_for(cmdlet or "")
        return AccessDenied(f"access denied to {cmdlet or 'the Exchange admin API'}: {message}",
                            missing_permission=EXCHANGE_MANAGE_AS_APP, missing_role=" or ".join(roles[:2]),
                            **context)
    if status == 429:
        return Throttled("throttled", retry_after=parse_retry_after(headers.get("Retry-After")), **context)
    if status in TRANSIENT_STATUSES:
        return TransientError(f"the Exchange admin API failed (HTTP {status})", **context)
    if status == 404 or code in _NOT_FOUND_CODES or (exception_type and exception_type.endswith(_NOT_FOUND_TYPES)):
        return ExchangeNotFound(message, cmdlet=cmdlet, exception_type=exception_type, **context,
                                hint="the mailbox or object does not exist (any more)")
    return ExchangeError(message, cmdlet=cmdlet, exception_type=exception_type, **context)


def _get_ci(mapping: Any, key: str) -> Any:
    if not isinstance(mapping, dict):
        return None
    lkey = key.lower()
    for k, v in mapping.items():
        if str(k).lower() == lkey:
            return v
    return None


def _cmdlet_text(text: str) -> str:
    """``Ex6F9304|Microsoft...ManagementObjectNotFoundException|The operation couldn't ...`` → the last part."""
    text = text.strip()
    if "|" in text:
        text = text.rsplit("|", 1)[-1].strip() or text
    return text.splitlines()[0][:300] if text else ""


def _resendable(cmdlet: str) -> bool:
    verb = cmdlet.split("-", 1)[0].lower()
    return verb in {"get", "set", "enable", "disable", "remove"}


class ExchangeClient:
    """``InvokeCommand`` and typed wrappers for the cmdlets reclaim uses.

    ``tenant_id`` may be left out: it is then read from the access token's ``tid`` claim.
    """

    def __init__(self, pipeline: Pipeline, *, base_url: str = "https://outlook.office365.com",
                 tenant_id: str | None = None, scope: str = EXCHANGE_SCOPE, page_size: int = 1000,
                 on_warning: Callable[[CmdletWarning], None] | None = None) -> None:
        self.pipeline = pipeline
        self.base_url = base_url.rstrip("/")
        self.tenant_id = tenant_id
        self.scope = scope
        self.page_size = page_size
        self.on_warning = on_warning
        #: every warning the service sent (``@adminapi.warnings``), in order
        self.warnings: list[CmdletWarning] = []
        self._origin = origin(self.base_url)

    async def _tenant(self) -> str:
        if self.tenant_id is None:
            token = await self.pipeline.tokens.get_token(self.scope)
            tid = token.claims().get("tid")
            if not tid:
                raise AuthenticationFailed("cannot tell the tenant id from the access token",
                                           hint="configure --tenant-id")
            self.tenant_id = str(tid)
        return self.tenant_id

    async def iter_invoke(self, cmdlet: str, parameters: Mapping[str, Any] | None = None, *,
                          mailbox: str | None = None, idempotent: bool | None = None,
                          verify: Verify | None = None) -> AsyncIterator[JSON]:
        """The objects a cmdlet returns, page by page."""
        tenant = await self._tenant()
        url: str | None = f"{self.base_url}/adminapi/beta/{tenant}/InvokeCommand"
        body = {"CmdletInput": {"CmdletName": cmdlet, "Parameters": dict(parameters or {})}}
        headers = {"X-AnchorMailbox": f"APP:{ANCHOR_SYSTEM_MAILBOX}@{tenant}",
                   "Prefer": f"odata.maxpagesize={self.page_size}", "Accept": "application/json"}
        resend = idempotent if idempotent is not None else _resendable(cmdlet)
        removing = cmdlet.lower().startswith("remove-")
        key = mailbox if mailbox is not None else _mailbox_of(parameters)
        walk = PageWalk(cmdlet, self.pipeline.limits)
        while url is not None:
            target = url

            def errors(response: httpx.Response, token: AccessToken, target: str = target) -> M365Error:
                try:
                    payload = response.json()
                except (ValueError, RecursionError):
                    payload = None
                return exchange_error(response.status_code, payload, dict(response.headers), cmdlet=cmdlet,
                                      url=target)

            response = await self.pipeline.send("POST", target, scope=self.scope, allowed_origin=self._origin,
                                                 errors=errors, json=body, headers=headers, mailbox=key,
                                                 idempotent=resend, verify=verify, absent_ok=removing)
            if response is None:
                return
            if response.status_code == 204 or not response.content:
                if not cmdlet.lower().startswith("get-"):
                    return  # a write that returns nothing: its effect is read back by whoever made it
                raise UnexpectedShape("an empty body where the cmdlet's objects belong", what=cmdlet,
                                      status=response.status_code, method="POST", url=target)
            page = parse_json(response, what=cmdlet, method="POST")
            warnings = page.get("@adminapi.warnings") if isinstance(page, dict) else None
            for warning in warnings if isinstance(warnings, list) else ([warnings] if warnings else []):
                self._warn(CmdletWarning(cmdlet, str(warning)))
            items, url = walk.page(page, method="POST", url=target)
            for item in items:
                yield item

    def _warn(self, warning: CmdletWarning) -> None:
        self.warnings.append(warning)
        log.warning("%s: %s", warning.cmdlet, warning.message)
        if self.on_warning is not None:
            self.on_warning(warning)

    async def invoke(self, cmdlet: str, parameters: Mapping[str, Any] | None = None, *, mailbox: str | None = None,
                     idempotent: bool | None = None, verify: Verify | None = None) -> list[JSON]:
        """Run a cmdlet; every object it returns (all pages)."""
        return [item async for item in self.iter_invoke(cmdlet, parameters, mailbox=mailbox, idempotent=idempotent,
                                                         verify=verify)]

    async def _typed(self, model: type[T], cmdlet: str, parameters: Mapping[str, Any]) -> list[T]:
        return [model.from_raw(item) for item in await self.invoke(cmdlet, parameters)]

    # ---------------------------------------------------------------- mailboxes
    async def invoke_one(self, cmdlet: str, parameters: Mapping[str, Any]) -> JSON:
        """The one object a cmdlet returns for an ``-Identity`` that exists. A missing object is the cmdlet's
        error (``ManagementObjectNotFoundException``); an empty answer instead is unreadable, never "none"."""
        items = await self.invoke(cmdlet, parameters)
        if len(items) != 1:
            raise UnexpectedShape(f"{cmdlet} -Identity answered {len(items)} objects, not one", what=cmdlet,
                                  method="POST")
        return items[0]

    async def get_mailbox(self, identity: str) -> Mailbox:
        return Mailbox.from_raw(await self.invoke_one("Get-Mailbox", {"Identity": identity}))

    async def iter_mailboxes(self, *, result_size: str | int = "Unlimited") -> AsyncIterator[Mailbox]:
        async for item in self.iter_invoke("Get-Mailbox", {"ResultSize": result_size}):
            yield Mailbox.from_raw(item)

    async def set_mailbox_forwarding(self, identity: str, *, forwarding_smtp_address: str | None = None,
                                     forwarding_address: str | None = None,
                                     deliver_to_mailbox_and_forward: bool = False) -> None:
        """Set (or, with the defaults, clear) mailbox forwarding."""
        await self.invoke("Set-Mailbox", {"Identity": identity, "ForwardingSmtpAddress": forwarding_smtp_address,
                                          "ForwardingAddress": forwarding_address,
                                          "DeliverToMailboxAndForward": deliver_to_mailbox_and_forward},
                          mailbox=identity)

    # ---------------------------------------------------------------- inbox rules
    async def get_inbox_rules(self, mailbox: str, *, include_hidden: bool = True) -> list[InboxRule]:
        parameters: dict[str, Any] = {"Mailbox": mailbox}
        if include_hidden:
            parameters["IncludeHidden"] = True
        return await self._typed(InboxRule, "Get-InboxRule", parameters)

    async def disable_inbox_rule(self, mailbox: str, identity: str) -> None:
        await self.invoke("Disable-InboxRule", {"Mailbox": mailbox, "Identity": identity,
                                                "AlwaysDeleteOutlookRulesBlob": True})

    async def enable_inbox_rule(self, mailbox: str, identity: str) -> None:
        await self.invoke("Enable-InboxRule", {"Mailbox": mailbox, "Identity": identity,
                                               "AlwaysDeleteOutlookRulesBlob": True})

    async def remove_inbox_rule(self, mailbox: str, identity: str) -> None:
        await self.invoke("Remove-InboxRule", {"Mailbox": mailbox, "Identity": identity,
                                                "AlwaysDeleteOutlookRulesBlob": True})

    # ---------------------------------------------------------------- sweep rules
    async def get_sweep_rules(self, mailbox: str) -> list[SweepRule]:
        return await self._typed(SweepRule, "Get-SweepRule", {"Mailbox": mailbox})

    async def disable_sweep_rule(self, mailbox: str, identity: str) -> None:
        await self.invoke("Disable-SweepRule", {"Mailbox": mailbox, "Identity": identity})

    async def enable_sweep_rule(self, mailbox: str, identity: str) -> None:
        await self.invoke("Enable-SweepRule", {"Mailbox": mailbox, "Identity": identity})

    async def remove_sweep_rule(self, mailbox: str, identity: str) -> None:
        await self.invoke("Remove-SweepRule", {"Mailbox": mailbox, "Identity": identity})

    # ---------------------------------------------------------------- restricted senders
    async def get_blocked_senders(self, sender_address: str | None = None) -> list[BlockedSender]:
        parameters = {"SenderAddress": sender_address} if sender_address else {}
        return await self._typed(BlockedSender, "Get-BlockedSenderAddress", parameters)

    async def remove_blocked_sender(self, sender_address: str) -> None:
        await self.invoke("Remove-BlockedSenderAddress", {"SenderAddress": sender_address})

    # ---------------------------------------------------------------- delegates
    async def get_mailbox_permissions(self, identity: str) -> list[MailboxPermission]:
        return await self._typed(MailboxPermission, "Get-MailboxPermission",
                                 {"Identity": identity, "ResultSize": "Unlimited"})

    async def remove_mailbox_permission(self, identity: str, user: str, access_rights: list[str]) -> None:
        await self.invoke("Remove-MailboxPermission", {"Identity": identity, "User": user,
                                                        "AccessRights": access_rights})

    async def get_recipient_permissions(self, identity: str) -> list[RecipientPermission]:
        return await self._typed(RecipientPermission, "Get-RecipientPermission",
                                 {"Identity": identity, "ResultSize": "Unlimited"})

    async def remove_recipient_permission(self, identity: str, trustee: str, access_rights: list[str]) -> None:
        await self.invoke("Remove-RecipientPermission", {"Identity": identity, "Trustee": trustee,
                                                          "AccessRights": access_rights})

    # ---------------------------------------------------------------- devices and protocols
    async def get_mobile_devices(self, mailbox: str) -> list[MobileDevice]:
        return await self._typed(MobileDevice, "Get-MobileDevice", {"Mailbox": mailbox, "ResultSize": "Unlimited"})

    async def remove_mobile_device(self, identity: str) -> None:
        await self.invoke("Remove-MobileDevice", {"Identity": identity})

    async def get_cas_mailbox(self, identity: str) -> CasMailbox:
        return CasMailbox.from_raw(await self.invoke_one("Get-CASMailbox", {"Identity": identity}))

    async def set_cas_mailbox(self, identity: str, **switches: bool) -> None:
        """``set_cas_mailbox(upn, ImapEnabled=False, PopEnabled=False, SmtpClientAuthenticationDisabled=True)``."""
        allowed = {"ActiveSyncEnabled", "OWAEnabled", "PopEnabled", "ImapEnabled", "MAPIEnabled", "EwsEnabled",
                   "SmtpClientAuthenticationDisabled"}
        unknown = set(switches) - allowed
        if unknown:
            raise ValueError(f"unknown Set-CASMailbox switches: {', '.join(sorted(unknown))}")
        await self.invoke("Set-CASMailbox", {"Identity": identity, **switches}, mailbox=identity)

    # ---------------------------------------------------------------- tenant
    async def get_transport_rules(self) -> list[TransportRule]:
        return await self._typed(TransportRule, "Get-TransportRule", {"ResultSize": "Unlimited"})


def _mailbox_of(parameters: Mapping[str, Any] | None) -> str | None:
    """The mailbox a cmdlet works on (for the per-mailbox concurrency bound)."""
    if not parameters:
        return None
    for key in ("Mailbox", "Identity"):
        value = parameters.get(key)
        if isinstance(value, str) and "@" in value:
            return value.split("\\", 1)[0]
    return None
