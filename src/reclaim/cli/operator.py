"""Who is acting: the name the remediation journal and the report give the operator.

In order: ``--operator``, ``RECLAIM_OPERATOR``, ``operator = "..."`` in the config file, else the account the
tenant connection is signed in as (a delegated token's ``upn`` / ``preferred_username``; with an app-only
credential, the app: ``app "reclaim-ir" (<appId>)``). The local login name (often ``root`` in a container)
is never used: it says nothing about who acted in the tenant.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import typer

from reclaim.text import visible_line

if TYPE_CHECKING:
    from reclaim.m365 import Connection

__all__ = ["OPERATOR_ENV", "OPERATOR_OPTION", "configured_operator", "operator_for", "signed_in_as"]

OPERATOR_ENV = "RECLAIM_OPERATOR"
OPERATOR_OPTION: str | None = typer.Option(
    None, "--operator", envvar=OPERATOR_ENV, show_envvar=True, metavar="NAME",
    help="Who is acting, as the journal and the report name them (default: `operator` in the config file, else "
         "the account the tenant connection signs in as).")
_CAP = 200


def configured_operator(flag: str | None) -> str | None:
    """``--operator`` / ``RECLAIM_OPERATOR`` (typer reads both into ``flag``), else the config file's."""
    if flag and flag.strip():
        return visible_line(flag.strip())[:_CAP]
    from reclaim.config import Config

    configured = Config.load().operator
    return visible_line(configured)[:_CAP] if configured else None


def signed_in_as(claims: Mapping[str, Any]) -> str | None:
    """The account an access token was issued to: the user of a delegated token, or the app of an app-only one."""
    for key in ("upn", "preferred_username", "unique_name", "email"):
        value = claims.get(key)
        if isinstance(value, str) and value.strip():
            return visible_line(value.strip())[:_CAP]
    app_id = claims.get("appid") or claims.get("azp")
    name = claims.get("app_displayname")
    if isinstance(app_id, str) and app_id:
        label = f'app "{name}" ({app_id})' if isinstance(name, str) and name else f"app {app_id}"
        return visible_line(label)[:_CAP]
    return None


async def operator_for(conn: Connection, flag: str | None) -> str:
    """The operator for a run on ``conn``: configured, else whom the connection signs in as."""
    chosen = configured_operator(flag)
    if chosen:
        return chosen
    signed_in = signed_in_as((await conn.graph_token()).claims())
    tenant = conn.settings.name or conn.settings.tenant_id
    if signed_in:
        return signed_in
    return f"the credential of tenant {tenant}" if tenant else "the tenant connection's credential"
