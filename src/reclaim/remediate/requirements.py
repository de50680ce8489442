"""What ``remediate`` and ``undo`` need from a tenant, from the actions' own declarations.

``reclaim tenant check``, the plan's permission list and the table in docs/connect-a-real-tenant.md are all
made from :attr:`Action.requires <reclaim.remediate.actions.Action.requires>`: a new action brings its
requirements with it.
"""

from __future__ import annotations

from reclaim.m365.permissions import Capability, CommandRequirements, exchange_capability
from reclaim.m365.permissions import commands as _commands
from reclaim.remediate.actions import ACTIONS


def write_capabilities() -> tuple[Capability, ...]:
    """One capability per action and API (Graph, Exchange), in the procedure's order. An essential action's
    Graph part is required; its Exchange part (hidden rules), and every other action, is optional: missing, the
    step is reported as failed with the missing permission, never skipped silently."""
    out: list[Capability] = []
    for action in ACTIONS.values():
        need = action.requires
        if need.graph:
            # SharePoint REST's own permission is not in a Graph token (tenant check cannot see it): named here
            also = (f"; also SharePoint {need.sharepoint[0]}" + (", certificate credential only" if need.certificate
                                                                 else "")) if need.sharepoint else ""
            out.append(Capability(f"{action.title} ({action.name}{also})", need.graph, need.roles,
                                  action.essential))
        if need.cmdlets:
            out.append(exchange_capability(f"{action.title} ({action.name}, Exchange)", need.cmdlets,
                                           required=action.essential and not need.graph))
    return tuple(out)


def commands() -> tuple[CommandRequirements, ...]:
    """Every reclaim command that talks to a tenant and what it needs, the actions' writes included."""
    return _commands(write_capabilities())


__all__ = ["commands", "write_capabilities"]
