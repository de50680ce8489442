"""What changed in a tenant since the watch's watermark: the users to read again, from three logs.

- the unified audit log (Graph ``POST /security/auditLog/queries``, then its ``records``): inbox rules created
  or changed (``New-InboxRule``, ``Set-InboxRule``, ``UpdateInboxRules`` ...), forwarding set
  (``Set-Mailbox``), mailbox permissions and delegates added, automatic replies, and the tenant-wide admin
  changes (transport rules, audit settings);
- the directory audit log (``GET /auditLogs/directoryAudits?$filter=activityDateTime ge ...``): security info
  (MFA methods) registered, consent given, app roles and credentials added;
- Identity Protection (``GET /identityProtection/riskyUsers?$filter=riskLastUpdatedDateTime ge ...``): users
  whose risk changed.

Each record names a user (the mailbox a cmdlet changed, the mailbox whose rules were updated, the target of a
directory change, the risky user) or the tenant (a transport rule, a consent for everyone). A record is acted
on once: its key is kept with the watermark while it is inside the look-back window.

A log that could not be read is reported in ``missing`` (never taken as "nothing changed"): the cycle then says
"not checked" and keeps the old watermark, so the next cycle reads the same window again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reclaim.detect.evidence import AUDIT_OPERATIONS, TENANT_AUDIT_OPERATIONS, TENANT_DIRECTORY_ACTIVITIES
from reclaim.m365 import Connection, M365Error
from reclaim.m365.boundary import PageWalk

JSON = dict[str, Any]

#: Mailbox deletions are the users' own daily activity, not a change to watch for: left out.
_NOT_WATCHED = frozenset({"SoftDelete", "HardDelete", "MoveToDeletedItems"})
#: Unified audit log operations that name a mailbox to read again.
MAILBOX_OPERATIONS: tuple[str, ...] = tuple(o for o in AUDIT_OPERATIONS if o not in _NOT_WATCHED)
#: ... and those that change the tenant (its tenant-wide lists are read again).
WATCH_OPERATIONS: tuple[str, ...] = MAILBOX_OPERATIONS + tuple(
    o for o in TENANT_AUDIT_OPERATIONS if o not in MAILBOX_OPERATIONS)
#: Directory activities that name a user to read again (a new sign-in method is how an attacker stays in).
USER_DIRECTORY_ACTIVITIES: tuple[str, ...] = (
    "User registered security info", "User changed default security info", "Admin registered security info",
    "User registered all required security info",
)
WATCH_DIRECTORY_ACTIVITIES: tuple[str, ...] = USER_DIRECTORY_ACTIVITIES + TENANT_DIRECTORY_ACTIVITIES

SOURCES = ("unified audit log", "directory audits", "risky users")


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Changes:
    """The users (UPNs, or the identity the log gives) and whether the tenant itself changed."""

    users: set[str] = field(default_factory=set)
    tenant: bool = False
    #: key of each record acted on → its time (kept with the watermark while inside the look-back)
    keys: dict[str, str] = field(default_factory=dict)
    #: log → why it could not be read
    missing: dict[str, str] = field(default_factory=dict)
    records: int = 0
    requests: int = 0
    #: the event loop's time of the risky-users read (Identity Protection allows one request per second per
    #: tenant: the sweep that follows waits for its turn)
    identity_protection_at: float | None = None

    @property
    def quiet(self) -> bool:
        return not self.users and not self.tenant and not self.missing


def _mailbox_of(record: JSON) -> str | None:
    """The mailbox a unified audit log record is about."""
    owner = record.get("MailboxOwnerUPN")
    if isinstance(owner, str) and owner:
        return owner
    for p in record.get("Parameters") or []:
        if isinstance(p, dict) and str(p.get("Name", "")).lower() in ("identity", "mailbox") and p.get("Value"):
            return str(p["Value"])
    object_id = str(record.get("ObjectId") or "")
    if object_id:
        # "NAMPR.../Microsoft Exchange Hosted Organizations/contoso.onmicrosoft.com/<mailbox>\\<rule>"
        return object_id.split("\\")[0].rsplit("/", 1)[-1] or None
    user = record.get("UserId")
    return str(user) if isinstance(user, str) and "@" in user else None


def _directory_users(audit: JSON) -> set[str]:
    out: set[str] = set()
    for target in audit.get("targetResources") or []:
        if isinstance(target, dict) and str(target.get("type", "")).lower() == "user":
            key = target.get("userPrincipalName") or target.get("id")
            if key:
                out.add(str(key))
    initiated = (audit.get("initiatedBy") or {}).get("user") or {}
    if audit.get("activityDisplayName") in TENANT_DIRECTORY_ACTIVITIES and initiated.get("userPrincipalName"):
        out.add(str(initiated["userPrincipalName"]))  # who consented (the consent itself is tenant-wide)
    return out


class ChangeReader:
    """Reads the three logs over ``[start, end]`` for one tenant, skipping records in ``handled``."""

    def __init__(self, conn: Connection, start: datetime, end: datetime, handled: Mapping[str, str], *,
                 audit_wait: float = 600.0) -> None:
        self.conn = conn
        self.start, self.end = start, end
        self.handled = handled
        self.audit_wait = audit_wait
        self.out = Changes()

    def _take(self, key: str, when: Any) -> bool:
        """Whether a record is new to the watch (and remember it)."""
        if key in self.handled or key in self.out.keys:
            return False
        self.out.keys[key] = str(when or stamp(self.end))
        self.out.records += 1
        return True

    async def _list(self, url: str, params: Mapping[str, str]) -> list[JSON]:
        items: list[JSON] = []
        next_url: str | None = url
        next_params: Mapping[str, str] | None = params
        walk = PageWalk(self.conn.graph.url(url).split("?")[0], self.conn.pipeline.limits)
        while next_url is not None:
            self.out.requests += 1
            page = await self.conn.graph.get(next_url, next_params)
            got, next_url = walk.page(page, method="GET", url=self.conn.graph.url(next_url))
            items.extend(got)
            next_params = None  # the link carries the query
        return items

    async def audit_log(self) -> None:
        body = {"displayName": "reclaim watch: changes since the watermark",
                "filterStartDateTime": stamp(self.start), "filterEndDateTime": stamp(self.end),
                "operationFilters": list(WATCH_OPERATIONS)}
        self.out.requests += 1
        created = await self.conn.graph.request("POST", "/security/auditLog/queries", json=body, idempotent=True)
        if not isinstance(created, dict) or "id" not in created:
            raise M365Error("the audit log query was not created")
        query = str(created["id"])
        status = str(created.get("status", ""))
        loop = asyncio.get_running_loop()
        deadline, delay = loop.time() + self.audit_wait, 1.0
        while status not in ("succeeded", "failed", "cancelled"):
            if loop.time() >= deadline:
                raise M365Error(f"the unified audit log query {query} was still running after {self.audit_wait:g} s")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 15.0)
            self.out.requests += 1
            status = str((await self.conn.graph.get(f"/security/auditLog/queries/{query}")).get("status", ""))
        if status != "succeeded":
            raise M365Error(f"the unified audit log query {query} ended as {status}")
        for item in await self._list(f"/security/auditLog/queries/{query}/records", {}):
            record = item["auditData"] if isinstance(item.get("auditData"), dict) else item
            if not self._take(f"ual:{record.get('Id') or item.get('id')}", record.get("CreationTime")):
                continue
            if record.get("Operation") in TENANT_AUDIT_OPERATIONS and record.get("Operation") not in MAILBOX_OPERATIONS:
                self.out.tenant = True
                continue
            mailbox = _mailbox_of(record)
            if mailbox:
                self.out.users.add(mailbox)

    async def directory_audits(self) -> None:
        names = " or ".join(f"activityDisplayName eq '{a}'" for a in WATCH_DIRECTORY_ACTIVITIES)
        params = {"$filter": f"({names}) and activityDateTime ge {stamp(self.start)}"}
        for audit in await self._list("/auditLogs/directoryAudits", params):
            if not self._take(f"dir:{audit.get('id')}", audit.get("activityDateTime")):
                continue
            if audit.get("activityDisplayName") in TENANT_DIRECTORY_ACTIVITIES:
                self.out.tenant = True
            self.out.users |= _directory_users(audit)

    async def risky_users(self) -> None:
        params = {"$filter": f"riskLastUpdatedDateTime ge {stamp(self.start)}"}
        found = await self._list("/identityProtection/riskyUsers", params)
        self.out.identity_protection_at = asyncio.get_running_loop().time()
        for risky in found:
            when = risky.get("riskLastUpdatedDateTime")
            if self._take(f"risk:{risky.get('id')}:{when}", when):
                self.out.users.add(str(risky.get("userPrincipalName") or risky.get("id")))

    async def read(self) -> Changes:
        async def guarded(name: str, run: Callable[[], Awaitable[None]]) -> None:
            try:
                await run()
            except M365Error as exc:
                self.out.missing[name] = exc.one_line()

        await asyncio.gather(guarded("unified audit log", self.audit_log),
                             guarded("directory audits", self.directory_audits),
                             guarded("risky users", self.risky_users))
        return self.out
