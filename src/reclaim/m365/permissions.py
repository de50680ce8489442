"""What reclaim needs from a tenant: Graph application permissions and Entra roles, in one place.

Three tables, used by ``reclaim tenant check``, by ``AccessDenied`` hints (Graph's 403 never names
the missing permission) and by docs/connect-a-real-tenant.md:

- ``GRAPH_ROUTES``: Graph request (method + path pattern) → the permissions that allow it, least
  privileged first.
- ``EXCHANGE_CMDLETS``: Exchange admin API cmdlet → the Entra roles that allow it (plus the
  application permission ``Exchange.ManageAsApp`` for every cmdlet).
- :func:`commands`: reclaim command → the capabilities it uses, each required or optional (an optional
  capability that is missing makes a check "not checked: reason", never a silent "clean"). The writes of
  ``remediate`` and ``undo`` are not listed here: each remediation action declares what it needs, and
  :func:`reclaim.remediate.requirements.commands` passes them in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = [
    "EXCHANGE_CMDLETS",
    "EXCHANGE_MANAGE_AS_APP",
    "GRAPH_ROUTES",
    "READ_COMMANDS",
    "ROLE_NAMES",
    "ROLE_TEMPLATE_IDS",
    "Capability",
    "CommandReadiness",
    "CommandRequirements",
    "Grants",
    "assess",
    "commands",
    "exchange_capability",
    "exchange_roles_for",
    "graph_permissions_for",
    "graph_route_for",
    "missing_grants",
    "render_markdown",
]

EXCHANGE_MANAGE_AS_APP = "Exchange.ManageAsApp"

#: Entra built-in directory roles: display name → role template id (the ``wids`` claim of a token).
ROLE_TEMPLATE_IDS: dict[str, str] = {
    "Global Administrator": "62e90394-69f5-4237-9190-012177145e10",
    "Global Reader": "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
    "Exchange Administrator": "29232cdf-9323-42fd-ade2-1d097af3e4de",
    "Exchange Recipient Administrator": "31392ffb-586c-42d1-9346-e59415a2cc4e",
    "User Administrator": "fe930be7-5e62-47db-91af-98c3a49a38b1",
    "Privileged Authentication Administrator": "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
    "Authentication Administrator": "c4e39bd9-1100-46d3-8c65-fb160da0071f",
    "Security Administrator": "194ae4cb-b126-40b2-bd5b-6091b380977d",
    "Security Operator": "5f2222b1-57c3-48ba-8ad5-d4759f1fde6f",
    "Security Reader": "5d6b6bb7-de71-4623-b4af-96380a352509",
    "Helpdesk Administrator": "729827e3-9c14-49f7-bb1b-9608f156bbb8",
    "Compliance Administrator": "17315797-102d-40b4-93e0-432062caca18",
    "Reports Reader": "4a5d8f65-41da-4de4-8968-e035b65339cf",
    "Directory Readers": "88d8e3e3-8f55-4a1e-953a-9b9898b8876b",
    "Privileged Role Administrator": "e8611ab8-c189-46e8-94e1-60213ab1f814",
}
#: Role template id → display name.
ROLE_NAMES: dict[str, str] = {v: k for k, v in ROLE_TEMPLATE_IDS.items()}

# Sets of roles, by what they allow. Global Administrator allows everything and is never required.
_USER_ADMIN = ("User Administrator", "Privileged Authentication Administrator")
_AUTH_ADMIN = ("Authentication Administrator", "Privileged Authentication Administrator")
# Exchange app-only RBAC: the documented roles (office-docs-powershell app-only-auth-powershell-v2.md).
_EXO_WRITE = ("Exchange Administrator",)
_EXO_READ = ("Exchange Administrator", "Global Reader", "Security Reader")
#: Get-InboxRule -IncludeHidden is refused to Global Reader.
_EXO_READ_HIDDEN = ("Exchange Administrator",)


@dataclass(frozen=True)
class GraphRoute:
    method: str
    pattern: re.Pattern[str]
    #: any one of these allows the request; the first is the least privileged
    permissions: tuple[str, ...]
    #: app-only callers also need one of these Entra roles (sensitive properties, other admins)
    roles: tuple[str, ...] = ()
    #: the tenant licence the data needs ("Entra ID P1" / "Entra ID P2")
    licence: str | None = None


def _route(method: str, template: str, *permissions: str, roles: tuple[str, ...] = (),
           licence: str | None = None) -> GraphRoute:
    regex = "^" + re.sub(r"\{\w+\}", r"[^/]+", template) + "/?$"
    return GraphRoute(method, re.compile(regex, re.IGNORECASE), permissions, roles, licence)


_MAILBOX_READ = ("MailboxSettings.Read", "MailboxSettings.ReadWrite")
_MAIL_READ = ("Mail.ReadBasic.All", "Mail.Read", "Mail.ReadWrite")
_FILES_READ = ("Files.Read.All", "Files.ReadWrite.All", "Sites.Read.All", "Sites.ReadWrite.All",
               "Sites.FullControl.All")
_USER_READ = ("User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All")

#: Graph v1.0 requests reclaim makes → the application permissions that allow them (least first).
GRAPH_ROUTES: tuple[GraphRoute, ...] = (
    _route("GET", "/users", *_USER_READ),
    _route("GET", "/users/{id}", *_USER_READ),
    _route("PATCH", "/users/{id}", "User.EnableDisableAccount.All", "User-PasswordProfile.ReadWrite.All",
           "User.ReadWrite.All", "Directory.ReadWrite.All", roles=_USER_ADMIN),
    _route("POST", "/users/{id}/revokeSignInSessions", "User.RevokeSessions.All", "User.ReadWrite.All",
           "Directory.ReadWrite.All"),
    _route("GET", "/users/{id}/mailFolders/{id}/messageRules", *_MAILBOX_READ),
    _route("GET", "/users/{id}/mailFolders/{id}/messageRules/{id}", *_MAILBOX_READ),
    _route("POST", "/users/{id}/mailFolders/{id}/messageRules", "MailboxSettings.ReadWrite"),
    _route("PATCH", "/users/{id}/mailFolders/{id}/messageRules/{id}", "MailboxSettings.ReadWrite"),
    _route("DELETE", "/users/{id}/mailFolders/{id}/messageRules/{id}", "MailboxSettings.ReadWrite"),
    _route("GET", "/users/{id}/mailFolders", *_MAIL_READ),
    _route("GET", "/users/{id}/mailFolders/{id}", *_MAIL_READ),
    _route("GET", "/users/{id}/mailFolders/{id}/childFolders", *_MAIL_READ),
    _route("GET", "/users/{id}/mailFolders/{id}/messages", *_MAIL_READ),
    _route("GET", "/users/{id}/messages", *_MAIL_READ),
    _route("GET", "/users/{id}/mailboxSettings", *_MAILBOX_READ),
    _route("PATCH", "/users/{id}/mailboxSettings", "MailboxSettings.ReadWrite"),
    _route("GET", "/users/{id}/authentication/methods", "UserAuthenticationMethod.Read.All",
           "UserAuthenticationMethod.ReadWrite.All"),
    _route("DELETE", "/users/{id}/authentication/{id}/{id}", "UserAuthenticationMethod.ReadWrite.All",
           roles=_AUTH_ADMIN),
    _route("GET", "/users/{id}/licenseDetails", "LicenseAssignment.Read.All", *_USER_READ),
    _route("GET", "/users/{id}/oauth2PermissionGrants", "DelegatedPermissionGrant.Read.All",
           "DelegatedPermissionGrant.ReadWrite.All", "Directory.Read.All"),
    _route("DELETE", "/oauth2PermissionGrants/{id}", "DelegatedPermissionGrant.ReadWrite.All"),
    _route("GET", "/servicePrincipals", "Application.Read.All", "Directory.Read.All"),
    _route("GET", "/servicePrincipals/{id}", "Application.Read.All", "Directory.Read.All"),
    _route("GET", "/auditLogs/signIns", "AuditLog.Read.All", licence="Entra ID P1"),
    _route("GET", "/auditLogs/directoryAudits", "AuditLog.Read.All"),
    _route("GET", "/identityProtection/riskyUsers", "IdentityRiskyUser.Read.All", "IdentityRiskyUser.ReadWrite.All",
           licence="Entra ID P2"),
    _route("GET", "/identityProtection/riskyUsers/{id}", "IdentityRiskyUser.Read.All",
           "IdentityRiskyUser.ReadWrite.All", licence="Entra ID P2"),
    _route("POST", "/identityProtection/riskyUsers/confirmCompromised", "IdentityRiskyUser.ReadWrite.All",
           licence="Entra ID P2"),
    _route("POST", "/identityProtection/riskyUsers/dismiss", "IdentityRiskyUser.ReadWrite.All",
           licence="Entra ID P2"),
    _route("GET", "/identityProtection/riskDetections", "IdentityRiskEvent.Read.All", licence="Entra ID P2"),
    _route("GET", "/admin/exchange/tracing/messageTraces", "ExchangeMessageTrace.Read.All"),
    _route("GET", "/security/alerts_v2", "SecurityAlert.Read.All", "SecurityAlert.ReadWrite.All"),
    _route("POST", "/security/auditLog/queries", "AuditLogsQuery.Read.All"),
    _route("GET", "/security/auditLog/queries/{id}", "AuditLogsQuery.Read.All"),
    _route("GET", "/security/auditLog/queries/{id}/records", "AuditLogsQuery.Read.All"),
    _route("GET", "/reports/authenticationMethods/userRegistrationDetails", "AuditLog.Read.All",
           licence="Entra ID P1"),
    _route("GET", "/identity/conditionalAccess/policies", "Policy.Read.All", licence="Entra ID P1"),
    _route("GET", "/policies/identitySecurityDefaultsEnforcementPolicy", "Policy.Read.All"),
    _route("GET", "/domains", "Domain.Read.All", "Directory.Read.All"),
    _route("GET", "/users/{id}/drive", *_FILES_READ),
    _route("GET", "/drives/{id}/root:/.+", *_FILES_READ),
    _route("GET", "/drives/{id}/items/{id}", *_FILES_READ),
    _route("GET", "/drives/{id}/items/{id}/permissions", *_FILES_READ),
    _route("GET", "/drives/{id}/items/{id}/permissions/{id}", *_FILES_READ),
    _route("DELETE", "/drives/{id}/items/{id}/permissions/{id}", "Files.ReadWrite.All", "Sites.ReadWrite.All",
           "Sites.FullControl.All"),
    _route("GET", "/admin/sharepoint/settings", "SharePointTenantSettings.Read.All",
           "SharePointTenantSettings.ReadWrite.All"),
)

#: Exchange admin API cmdlets reclaim runs → the Entra roles that allow them (app-only also needs
#: the application permission ``Exchange.ManageAsApp``).
EXCHANGE_CMDLETS: dict[str, tuple[str, ...]] = {
    "Get-Mailbox": _EXO_READ,
    "Get-InboxRule": _EXO_READ,
    "Get-SweepRule": _EXO_READ,
    "Get-BlockedSenderAddress": ("Exchange Administrator", "Security Administrator", "Security Reader",
                                 "Global Reader"),
    "Get-MailboxPermission": _EXO_READ,
    "Get-RecipientPermission": _EXO_READ,
    "Get-MobileDevice": _EXO_READ,
    "Get-CASMailbox": _EXO_READ,
    "Get-TransportRule": ("Exchange Administrator", "Global Reader", "Security Reader"),
    "Set-Mailbox": _EXO_WRITE,
    "Disable-InboxRule": _EXO_WRITE,
    "Enable-InboxRule": _EXO_WRITE,
    "Remove-InboxRule": _EXO_WRITE,
    "Disable-SweepRule": _EXO_WRITE,
    "Remove-SweepRule": _EXO_WRITE,
    "Remove-BlockedSenderAddress": ("Exchange Administrator", "Security Administrator"),
    "Remove-MailboxPermission": _EXO_WRITE,
    "Remove-RecipientPermission": _EXO_WRITE,
    "Remove-MobileDevice": _EXO_WRITE,
    "Set-CASMailbox": _EXO_WRITE,
    # Exchange RBAC role "Mailbox Import Export" (not an Entra role: assigned to the app with
    # New-ManagementRoleAssignment -App), on top of the write role
    "Get-RecoverableItems": ("Mailbox Import Export",),
    "Restore-RecoverableItems": ("Mailbox Import Export",),
}


def graph_permissions_for(method: str, url: str) -> tuple[str, ...]:
    """The permissions that allow a Graph request (least privileged first); ``()`` if unknown."""
    route = graph_route_for(method, url)
    return route.permissions if route is not None else ()


def graph_route_for(method: str, url: str) -> GraphRoute | None:
    """The known Graph route of a request (absolute URL or path below the version root)."""
    path = url.split("?", 1)[0]
    if "/v1.0/" in path:
        path = "/" + path.split("/v1.0/", 1)[1]
    elif "/beta/" in path:
        path = "/" + path.split("/beta/", 1)[1]
    if not path.startswith("/"):
        path = "/" + path
    for route in GRAPH_ROUTES:
        if route.method == method.upper() and route.pattern.match(path):
            return route
    return None


def exchange_roles_for(cmdlet: str) -> tuple[str, ...]:
    """The Entra roles that allow a cmdlet (``Exchange Administrator`` for any cmdlet not listed)."""
    for name, roles in EXCHANGE_CMDLETS.items():
        if name.lower() == cmdlet.lower():
            return roles
    return ("Exchange Administrator",)


# --------------------------------------------------------------------------- commands

@dataclass(frozen=True)
class Capability:
    """One thing a command does against the tenant, and what allows it.

    Allowed when the app holds any of ``permissions`` (or ``permissions`` is empty) and, if ``roles``
    is not empty, any of ``roles`` (Global Administrator always counts).
    """

    name: str
    permissions: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    required: bool = True


@dataclass(frozen=True)
class CommandRequirements:
    command: str
    summary: str
    capabilities: tuple[Capability, ...]


def _graph(name: str, *permissions: str, roles: tuple[str, ...] = (), required: bool = True) -> Capability:
    return Capability(name, permissions, roles, required)


#: Delegated (device code) counterpart of Exchange.ManageAsApp, as ExchangeOnlineManagement uses it.
EXCHANGE_MANAGE_DELEGATED = "Exchange.Manage"


def _exo(name: str, roles: tuple[str, ...], *, required: bool = True) -> Capability:
    return Capability(name, (EXCHANGE_MANAGE_AS_APP, EXCHANGE_MANAGE_DELEGATED), roles, required)


_READS: tuple[Capability, ...] = (
    _graph("read users", *_USER_READ),
    _graph("read inbox rules (Graph)", *_MAILBOX_READ),
    _graph("read mail folders and messages (NDRs, Sent Items)", *_MAIL_READ, required=False),
    _graph("read mailbox settings (automatic replies)", *_MAILBOX_READ, required=False),
    _graph("read authentication methods", "UserAuthenticationMethod.Read.All",
           "UserAuthenticationMethod.ReadWrite.All", required=False),
    _graph("read OAuth consent grants", "DelegatedPermissionGrant.Read.All", "DelegatedPermissionGrant.ReadWrite.All",
           "Directory.Read.All", required=False),
    _graph("read service principals (consented apps)", "Application.Read.All", "Directory.Read.All", required=False),
    _graph("read sign-in and directory audit logs", "AuditLog.Read.All", required=False),
    _graph("read risky users", "IdentityRiskyUser.Read.All", "IdentityRiskyUser.ReadWrite.All", required=False),
    _graph("read message trace", "ExchangeMessageTrace.Read.All", required=False),
    _graph("read security alerts", "SecurityAlert.Read.All", "SecurityAlert.ReadWrite.All", required=False),
    _graph("read OneDrive items and their sharing permissions", *_FILES_READ, required=False),
    _graph("read SharePoint sharing settings", "SharePointTenantSettings.Read.All",
           "SharePointTenantSettings.ReadWrite.All", required=False),
    _exo("read mailbox forwarding, sweep rules, delegates, devices, protocols (Exchange)", _EXO_READ,
         required=False),
    _exo("read hidden inbox rules (Exchange Get-InboxRule -IncludeHidden)", _EXO_READ_HIDDEN, required=False),
    _exo("read restricted senders (Exchange)", EXCHANGE_CMDLETS["Get-BlockedSenderAddress"], required=False),
)

def exchange_capability(name: str, cmdlets: Iterable[str], *, required: bool = False) -> Capability:
    """What running ``cmdlets`` takes: ``Exchange.ManageAsApp`` and a role that allows every one of them."""
    allowed: list[str] | None = None
    for cmdlet in cmdlets:
        roles = exchange_roles_for(cmdlet)
        allowed = list(roles) if allowed is None else [r for r in allowed if r in roles]
    return _exo(name, tuple(allowed or ("Exchange Administrator",)), required=required)


def commands(writes: tuple[Capability, ...]) -> tuple[CommandRequirements, ...]:
    """Every reclaim command that talks to a tenant, and what it needs (``report`` works offline); ``writes``
    are the remediation actions' own requirements."""
    return (
        CommandRequirements("investigate", "read-only: collect evidence about one account", _READS),
        CommandRequirements("remediate", "contain and clean one account (reads first, then writes)",
                            _READS[:2] + writes),
        *READ_COMMANDS,
        CommandRequirements("undo", "restore what remediate changed, where the platform allows", _READS[:2] + writes),
        CommandRequirements("report", "render a case from the local store (no tenant access)", ()),
    )


#: The read-only commands besides investigate (their requirements do not depend on the actions).
READ_COMMANDS: tuple[CommandRequirements, ...] = (
    CommandRequirements("sweep", "the same checks across every mailbox of the tenant", (
        _graph("read users", *_USER_READ),
        _graph("read inbox rules (Graph)", *_MAILBOX_READ),
        _exo("read mailbox forwarding (Exchange)", _EXO_READ),
        _exo("read hidden inbox rules (Exchange Get-InboxRule -IncludeHidden)", _EXO_READ_HIDDEN, required=False),
        _exo("read restricted senders (Exchange)", EXCHANGE_CMDLETS["Get-BlockedSenderAddress"], required=False),
        _graph("read message trace", "ExchangeMessageTrace.Read.All", required=False),
        _graph("read risky users", "IdentityRiskyUser.Read.All", "IdentityRiskyUser.ReadWrite.All", required=False),
    )),
    CommandRequirements("hunt", "tenant-wide search for an attacker's indicators", (
        _graph("read users", *_USER_READ),
        _graph("read sign-in and directory audit logs", "AuditLog.Read.All"),
        _graph("read message trace", "ExchangeMessageTrace.Read.All", required=False),
        _graph("search the unified audit log", "AuditLogsQuery.Read.All", required=False),
        _graph("read inbox rules (Graph)", *_MAILBOX_READ, required=False),
    )),
    CommandRequirements("verify", "re-read what remediate changed: did every change hold?", (
        *_READS[:2],
        _exo("read mailbox forwarding, sweep rules, delegates, devices, protocols (Exchange)", _EXO_READ,
             required=False),
        _exo("read hidden inbox rules (Exchange Get-InboxRule -IncludeHidden)", _EXO_READ_HIDDEN, required=False),
        _exo("read restricted senders (Exchange)", EXCHANGE_CMDLETS["Get-BlockedSenderAddress"], required=False),
    )),
)


# --------------------------------------------------------------------------- assessment

@dataclass(frozen=True)
class Grants:
    """What an app holds: application permissions (token ``roles``), delegated scopes (``scp``) and
    Entra directory roles (``wids`` → names)."""

    permissions: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()

    def allows(self, capability: Capability) -> bool:
        return not self.missing(capability)

    def missing(self, capability: Capability) -> list[str]:
        """What is missing for ``capability``: one entry per unmet condition, as "A or B"."""
        out: list[str] = []
        if capability.permissions and not self.permissions & set(capability.permissions):
            out.append(_alternatives(capability.permissions, "permission"))
        if capability.roles and "Global Administrator" not in self.roles \
                and not self.roles & set(capability.roles):
            out.append(_alternatives(capability.roles, "role"))
        return out


def _alternatives(names: Iterable[str], kind: str) -> str:
    items = list(names)
    return f"{kind} {items[0]}" if len(items) == 1 else f"{kind} {items[0]} (or {', '.join(items[1:])})"


@dataclass(frozen=True)
class CapabilityStatus:
    capability: Capability
    missing: tuple[str, ...]

    @property
    def allowed(self) -> bool:
        return not self.missing


@dataclass(frozen=True)
class CommandReadiness:
    command: str
    summary: str
    statuses: tuple[CapabilityStatus, ...] = field(default_factory=tuple)

    @property
    def can_run(self) -> bool:
        return all(s.allowed for s in self.statuses if s.capability.required)

    @property
    def complete(self) -> bool:
        return all(s.allowed for s in self.statuses)

    @property
    def state(self) -> str:
        """``ready`` / ``partial`` (runs; some checks or actions are skipped) / ``blocked``."""
        if not self.can_run:
            return "blocked"
        return "ready" if self.complete else "partial"


def assess(grants: Grants, required: Iterable[CommandRequirements]) -> list[CommandReadiness]:
    """For each command: can it run with these grants, and what is missing."""
    return [CommandReadiness(cmd.command, cmd.summary,
                             tuple(CapabilityStatus(c, tuple(grants.missing(c))) for c in cmd.capabilities))
            for cmd in required]


def render_markdown(required: Iterable[CommandRequirements]) -> str:
    """The per-command requirements as a Markdown table (docs/connect-a-real-tenant.md embeds it)."""
    lines = ["| command | what it does | Graph application permission (least privileged first) | Entra role "
             "| required |", "|---|---|---|---|---|"]
    for cmd in required:
        if not cmd.capabilities:
            lines.append(f"| `{cmd.command}` | {cmd.summary} | none | none | |")
            continue
        for i, cap in enumerate(cmd.capabilities):
            name = f"`{cmd.command}`" if i == 0 else ""
            permissions = " or ".join(f"`{p}`" for p in cap.permissions) or "-"
            roles = " or ".join(cap.roles) or "-"
            need = "required" if cap.required else "optional: skipped and reported if missing"
            lines.append(f"| {name} | {cap.name} | {permissions} | {roles} | {need} |")
    return "\n".join(lines) + "\n"


def missing_grants(readiness: Iterable[CommandReadiness]) -> tuple[list[str], list[str]]:
    """What to grant so every listed command is ``ready``: the least privileged permission and role of
    each unmet capability (deduplicated, in order of appearance)."""
    permissions: list[str] = []
    roles: list[str] = []
    for cmd in readiness:
        for status in cmd.statuses:
            if status.allowed:
                continue
            cap = status.capability
            for item in status.missing:
                if item.startswith("permission ") and cap.permissions[0] not in permissions:
                    permissions.append(cap.permissions[0])
                if item.startswith("role ") and cap.roles[0] not in roles:
                    roles.append(cap.roles[0])
    return permissions, roles
