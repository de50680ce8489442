"""The boundary to Microsoft 365: credentials, Graph, the Exchange admin API, typed errors.

Build a ``Connection`` at the edge (the CLI) and pass its ``graph`` / ``exchange`` clients in::

    from reclaim.m365 import Connection, ConnectionSettings

    async with Connection.open(ConnectionSettings.for_endpoint(url)) as conn:
        async for user in conn.graph.paged("/users", {"$select": "id,userPrincipalName"}):
            rules = await conn.exchange.get_inbox_rules(user["userPrincipalName"])
"""

from reclaim.m365.auth import EXCHANGE_SCOPE, GRAPH_SCOPE, AccessToken, TokenProvider
from reclaim.m365.connection import Connection, ConnectionSettings, Endpoints
from reclaim.m365.credentials import CredentialSpec
from reclaim.m365.errors import (
    AccessDenied,
    AuthenticationFailed,
    BadRequest,
    ExchangeError,
    ExchangeNotFound,
    LicenseRequired,
    M365Error,
    MailboxNotEnabled,
    NotFound,
    Throttled,
    TransientError,
    Unreachable,
)
from reclaim.m365.exchange import CmdletWarning, ExchangeClient
from reclaim.m365.graph import BatchRequest, BatchResult, GraphClient
from reclaim.m365.throttle import RetryPolicy

__all__ = [
    "EXCHANGE_SCOPE",
    "GRAPH_SCOPE",
    "AccessDenied",
    "AccessToken",
    "AuthenticationFailed",
    "BadRequest",
    "BatchRequest",
    "BatchResult",
    "CmdletWarning",
    "Connection",
    "ConnectionSettings",
    "CredentialSpec",
    "Endpoints",
    "ExchangeClient",
    "ExchangeError",
    "ExchangeNotFound",
    "GraphClient",
    "LicenseRequired",
    "M365Error",
    "MailboxNotEnabled",
    "NotFound",
    "RetryPolicy",
    "Throttled",
    "TokenProvider",
    "TransientError",
    "Unreachable",
]
