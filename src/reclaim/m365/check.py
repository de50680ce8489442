"""``reclaim tenant check``: authenticate, read what the app was granted, say what each command can do.

Grants are read from the access tokens themselves: ``roles`` (application permissions), ``scp``
(delegated scopes, device code / Azure CLI) and ``wids`` (Entra directory role template ids). Two
cheap probes (one Graph read, one Exchange read) confirm the service agrees with the token.
Authentication failures and an unreachable endpoint raise (exit 3); everything else is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reclaim.m365.connection import Connection
from reclaim.m365.errors import AccessDenied, AuthenticationFailed, ExchangeNotFound, M365Error, Unreachable
from reclaim.m365.permissions import (
    EXCHANGE_MANAGE_AS_APP,
    ROLE_NAMES,
    CommandReadiness,
    CommandRequirements,
    Grants,
    assess,
    missing_grants,
)

__all__ = ["Probe", "TenantReport", "check_tenant", "grants_from_claims"]


@dataclass(frozen=True)
class Probe:
    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class TenantReport:
    tenant_id: str
    app_id: str | None
    credential: str
    endpoint: str
    graph_permissions: tuple[str, ...]
    exchange_permissions: tuple[str, ...]
    roles: tuple[str, ...]
    unknown_role_ids: tuple[str, ...]
    delegated: bool
    commands: tuple[CommandReadiness, ...]
    probes: tuple[Probe, ...] = field(default_factory=tuple)
    exchange_error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "tenantId": self.tenant_id,
            "appId": self.app_id,
            "credential": self.credential,
            "endpoint": self.endpoint,
            "delegated": self.delegated,
            "graphPermissions": list(self.graph_permissions),
            "exchangePermissions": list(self.exchange_permissions),
            "roles": list(self.roles),
            "unknownRoleIds": list(self.unknown_role_ids),
            "exchangeError": self.exchange_error,
            "probes": [{"name": p.name, "ok": p.ok, "detail": p.detail} for p in self.probes],
            "toGrant": dict(zip(("permissions", "roles"), missing_grants(self.commands), strict=True)),
            "commands": [
                {"command": c.command, "state": c.state, "summary": c.summary,
                 "missing": [{"capability": s.capability.name, "required": s.capability.required,
                              "missing": list(s.missing)} for s in c.statuses if not s.allowed]}
                for c in self.commands
            ],
        }


def grants_from_claims(*claim_sets: dict[str, Any]) -> tuple[Grants, tuple[str, ...]]:
    """Permissions and role names from token claims; also the role ids reclaim does not know."""
    permissions: set[str] = set()
    role_names: set[str] = set()
    unknown: set[str] = set()
    for claims in claim_sets:
        permissions.update(str(r) for r in claims.get("roles") or [])
        permissions.update(str(s) for s in str(claims.get("scp") or "").split() if s)
        for wid in claims.get("wids") or []:
            name = ROLE_NAMES.get(str(wid).lower()) or ROLE_NAMES.get(str(wid))
            if name:
                role_names.add(name)
            else:
                unknown.add(str(wid))
    return Grants(frozenset(permissions), frozenset(role_names)), tuple(sorted(unknown))


async def check_tenant(conn: Connection, required: tuple[CommandRequirements, ...]) -> TenantReport:
    settings = conn.settings
    graph_token = await conn.graph_token()  # AuthenticationFailed / Unreachable propagate: exit 3
    graph_claims = graph_token.claims()
    exchange_claims: dict[str, Any] = {}
    exchange_error: str | None = None
    try:
        exchange_claims = (await conn.exchange_token()).claims()
    except AuthenticationFailed as exc:
        exchange_error = str(exc)
    grants, unknown = grants_from_claims(graph_claims, exchange_claims)
    tenant_id = str(graph_claims.get("tid") or settings.tenant_id or "")
    probes = [await _probe_graph(conn)]
    if not exchange_error:
        probes.append(await _probe_exchange(conn))
        rbac = await _probe_mailbox_import_export(conn)
        probes.append(rbac)
        if rbac.ok:  # an Exchange RBAC role: no token carries it, only a call shows it
            grants = Grants(grants.permissions, grants.roles | {MAILBOX_IMPORT_EXPORT})
    graph_perms = sorted({str(r) for r in graph_claims.get("roles") or []}
                         | {s for s in str(graph_claims.get("scp") or "").split() if s})
    exo_perms = sorted({str(r) for r in exchange_claims.get("roles") or []}
                       | {s for s in str(exchange_claims.get("scp") or "").split() if s})
    credential = settings.credential.describe() if settings.credential else "custom token provider"
    return TenantReport(
        tenant_id=tenant_id,
        app_id=str(graph_claims.get("appid") or graph_claims.get("azp") or "") or None,
        credential=credential,
        endpoint=settings.endpoints.graph,
        graph_permissions=tuple(graph_perms),
        exchange_permissions=tuple(exo_perms),
        roles=tuple(sorted(grants.roles)),
        unknown_role_ids=unknown,
        delegated="scp" in graph_claims,
        commands=tuple(assess(grants, required)),
        probes=tuple(probes),
        exchange_error=exchange_error,
    )


async def _probe_graph(conn: Connection) -> Probe:
    try:
        await conn.graph.get("/users", {"$top": "1", "$select": "id"})
    except (AuthenticationFailed, Unreachable):
        raise
    except AccessDenied as exc:
        return Probe("Graph: list users", False, f"access denied (needs {exc.missing_permission or 'User.Read.All'})")
    except M365Error as exc:
        return Probe("Graph: list users", False, exc.message)
    return Probe("Graph: list users", True)


#: The Exchange RBAC role of the recoverable-items cmdlets (assigned to the app with New-ManagementRoleAssignment
#: -App): not an Entra role, so no token says whether the app holds it.
MAILBOX_IMPORT_EXPORT = "Mailbox Import Export"
_PROBE_IDENTITY = "reclaim-tenant-check-probe@invalid.invalid"


async def _probe_mailbox_import_export(conn: Connection) -> Probe:
    """``Get-RecoverableItems`` for a mailbox that does not exist: "not found" means the app has the cmdlet (the
    role), "not recognized as the name of a cmdlet" means it does not. No mailbox is read."""
    name = f"Exchange: Get-RecoverableItems ({MAILBOX_IMPORT_EXPORT} role)"
    try:
        await conn.exchange.invoke("Get-RecoverableItems", {"Identity": _PROBE_IDENTITY, "ResultSize": 1})
    except Unreachable:
        raise
    except ExchangeNotFound:
        return Probe(name, True)
    except M365Error as exc:
        return Probe(name, False, f"the app does not hold the {MAILBOX_IMPORT_EXPORT} role (restore-deleted-mail "
                     f"cannot restore hard-deleted mail): New-ManagementRoleAssignment -App <app id> -Role "
                     f"'{MAILBOX_IMPORT_EXPORT}' ({exc.message})")
    return Probe(name, True)


async def _probe_exchange(conn: Connection) -> Probe:
    name = "Exchange: Get-Mailbox"
    try:
        await conn.exchange.invoke("Get-Mailbox", {"ResultSize": 1})
    except Unreachable:
        raise
    except AuthenticationFailed as exc:
        return Probe(name, False, f"refused ({exc.message}); needs {EXCHANGE_MANAGE_AS_APP}")
    except AccessDenied as exc:
        return Probe(name, False, f"access denied (needs a role: {exc.missing_role or 'Exchange Administrator'})")
    except M365Error as exc:
        return Probe(name, False, exc.message)
    return Probe(name, True)
