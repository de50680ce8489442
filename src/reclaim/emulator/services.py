"""Every operation the emulator serves, registered in one place.

One mechanism, as in moto (each service's ``urls.py`` lists its paths): an operation registers itself with a
decorator on its service's table (SharePoint REST operations on ``sharepoint_rest.OPERATIONS`` with
``@operation(method, pattern, permissions=...)``, Graph resources on ``graph.ROUTER`` with ``@ROUTER.add(method, path,
permissions=..., throttle=...)``, Exchange cmdlets on ``exchange_cmdlets.CMDLETS`` with ``@cmdlet(name,
parameters=...)``), and the modules that register are imported here, explicitly, in this order (earlier
routes win a tie). ``app.py`` imports this module; nothing else needs to. A module added to the emulator
that registers operations is added to one of these lists (``tests/emulator/test_structure.py`` checks that
none is forgotten).
"""

from __future__ import annotations

from types import ModuleType

from reclaim.emulator import (
    exchange_audit,
    exchange_devices,
    exchange_mailbox,
    exchange_org,
    exchange_permissions,
    exchange_recoverable,
    exchange_rules,
    graph_audit,
    graph_delta,
    graph_directory,
    graph_drive,
    graph_identity,
    graph_mail,
    graph_messages,
    graph_users,
    sharepoint_rest,
)

#: Modules that register Graph v1.0 resources on ``graph.ROUTER``.
GRAPH_RESOURCES: tuple[ModuleType, ...] = (
    graph_audit, graph_delta, graph_directory, graph_drive, graph_identity, graph_mail, graph_messages,
    graph_users,
    sharepoint_rest,
)

#: Modules that register Exchange admin API cmdlets on ``exchange_cmdlets.CMDLETS``.
EXCHANGE_CMDLETS: tuple[ModuleType, ...] = (
    exchange_mailbox, exchange_rules, exchange_permissions, exchange_devices, exchange_org, exchange_audit,
    exchange_recoverable,
)

#: Modules that register SharePoint REST operations (``@operation``) on a OneDrive site.
SHAREPOINT_REST: tuple[ModuleType, ...] = (sharepoint_rest,)
