"""Investigate one user: collect the evidence concurrently, store it, run the checks, store the case.

Collection runs in two stages so the whole job costs a handful of round-trips:

1. everything addressable by the user's UPN, at once: the user, rules (Graph and Exchange with
   ``-IncludeHidden``), sweep rules, mailbox, folders, settings, delegates, devices, protocols,
   methods, grants, sign-ins, risk, restricted senders, message trace (≤ 10-day slices), Sent Items,
   5.1.8 NDRs, the unified audit log query, transport rules, alerts, policies, registration details;
2. what needs stage-1 answers: directory audits (by object id), the grants' service principals,
   folders that rules point at but the folder list did not include, risk detections (Identity
   Protection allows one request per second per tenant), audit-log records once the query is done.

Every payload is stored as evidence with its request, collection time and SHA-256. A payload that
could not be collected becomes ``NotCollected(reason)`` in the bundle and a not-collected row in the
case — never an empty list.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from reclaim.aio import gather_or_cancel
from reclaim.collect.audit_trust import AUDIT_SEARCH_CAP, MIN_WINDOW, SearchLog, coverage
from reclaim.collect.collection import ABSENT, ATTRIBUTION_KINDS, Collection, attribute, new_finding, reason_for
from reclaim.detect import attribution
from reclaim.detect import drive as drive_evidence
from reclaim.detect.engine import Analysis, analyze
from reclaim.detect.evidence import (
    AUDIT_OPERATIONS,
    DRIVE_AUDIT_OPERATIONS,
    TENANT_AUDIT_OPERATIONS,
    TENANT_DIRECTORY_ACTIVITIES,
    EvidenceBundle,
)
from reclaim.errors import BadInput, CannotConnect
from reclaim.m365 import AuthenticationFailed, Connection, M365Error, NotFound, Unreachable
from reclaim.m365.errors import UnexpectedShape
from reclaim.m365.throttle import IDENTITY_PROTECTION_SPACING, Pacer
from reclaim.store import Store
from reclaim.store.models import NewEvidence, NewTimelineEvent

JSON = dict[str, Any]

USER_SELECT = ("id,userPrincipalName,mail,displayName,accountEnabled,passwordPolicies,createdDateTime,"
               "onPremisesSyncEnabled,mobilePhone,otherMails,signInSessionsValidFromDateTime,"
               "lastPasswordChangeDateTime,userType")
MESSAGE_SELECT = "id,subject,sentDateTime,receivedDateTime,internetMessageId,toRecipients,from,bodyPreview"
#: Graph's message trace answers at most 10 days per query.
TRACE_SLICE = timedelta(days=10)
#: and looks back at most 90 days.
TRACE_MAX_AGE = timedelta(days=90)

#: What a user's account did with mail, beyond the mailbox changes of ``AUDIT_OPERATIONS``: what attribution
#: needs to say what the attacker read, sent and moved.
ACTIVITY_OPERATIONS: tuple[str, ...] = ("MailItemsAccessed", "Send", "SendAs", "SendOnBehalf", "Move")

#: Default investigation window.
DEFAULT_SINCE = timedelta(days=30)
#: Sign-ins are read this much further back than the window: the user's usual countries and addresses come
#: from before the suspicious activity (the service keeps what its retention allows: 30 days with Entra P1).
SIGN_IN_BASELINE = timedelta(days=30)

Progress = Callable[[str], None]

@dataclass
class Investigation:
    """The result of ``investigate``: the stored case and what the checks concluded."""

    case_id: str
    user: JSON
    analysis: Analysis
    bundle: EvidenceBundle
    evidence_ids: dict[str, list[int]] = field(default_factory=dict)
    requests: int = 0
    actors: list[Investigation] = field(default_factory=list)
    """The accounts that made the tenant-scoped changes, each investigated as a user (see ``follow_actors``)."""
    coverage: JSON = field(default_factory=dict)
    """What the audit searches really covered and what was not available, and why (``audit_trust.coverage``)."""
    touched: attribution.Touched | None = None
    """What the attacker's sessions touched (None: no attacker session found in the audit records)."""

    def to_json(self) -> JSON:
        """The ``investigate --json`` document of DESIGN.md (plus reclaim's extra keys)."""
        body = self.analysis.to_json()
        followed = {a.upn.casefold(): a for a in self.actors}
        for actor in body["tenant"]["actors"]:
            if (done := followed.get(str(actor.get("user") or "").casefold())) is not None:
                actor["investigation"] = {"case": done.case_id, "verdict": done.analysis.verdict.name.value,
                                          "because": done.analysis.verdict.because}
        user = {k: self.user.get(k) for k in ("id", "userPrincipalName", "displayName", "mail", "accountEnabled")}
        return {"user": user, "verdict": body.pop("verdict"), "case": self.case_id, **body,
                "coverage": self.coverage, "touched": self.touched.to_json() if self.touched else None}

    @property
    def upn(self) -> str:
        return str(self.user.get("userPrincipalName") or self.analysis.user)


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``7d`` / ``30d`` / ``12h`` / ``2026-11-01`` (a date or ISO timestamp, UTC) → the window's start."""
    now = now or datetime.now(UTC)
    raw = text.strip()
    if raw[:-1].isdigit() and raw[-1:].lower() in ("d", "h"):
        amount = int(raw[:-1])
        delta = timedelta(days=amount) if raw[-1].lower() == "d" else timedelta(hours=amount)
        if delta <= timedelta(0) or delta > timedelta(days=180):
            raise BadInput(f"--since {text!r} is out of range", hint="use 1d to 180d")
        return now - delta
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"--since {text!r} is not a duration or a date",
                       hint="use 7d, 30d, 12h or a date like 2026-11-01") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment >= now:
        raise BadInput(f"--since {text!r} is in the future")
    return moment


class _Collector:
    """Runs the requests of one investigation and records each payload or the reason it is missing."""

    def __init__(self, conn: Connection, upn: str, since: datetime, until: datetime, progress: Progress | None,
                 audit_wait: float, spacing: float, audit_cap: int = AUDIT_SEARCH_CAP) -> None:
        self.conn = conn
        self.upn = upn
        self.path_user = quote(upn, safe="@")
        self.since = since
        self.until = until
        self.progress = progress
        self.audit_wait = audit_wait
        self.out = Collection()
        self.paced = Pacer(spacing)
        self.audit_cap = audit_cap
        self.searches: list[SearchLog] = []

    # -- plumbing ------------------------------------------------------------------------------------

    async def _run(self, kind: str, source: str, request: JSON, fetch: Callable[[], Awaitable[Any]],
                   *, absent: Any = ABSENT) -> Any:
        """Fetch one artifact through the collection (payload or the reason it is missing)."""
        payload = await self.out.fetch(kind, source, request, fetch, absent=absent)
        if self.progress is not None and kind in self.out.values:
            self.progress(kind)
        return payload

    async def _list(self, url: str, params: Mapping[str, str] | None = None, *, mailbox: str | None = None,
                    headers: Mapping[str, str] | None = None) -> list[JSON]:
        self.out.requests += 1
        if url.startswith(("/identityProtection/", "/identity/conditionalAccess/")):
            async with self.paced.slot():
                return [item async for item in self.conn.graph.paged(url, params, headers=headers)]
        return [item async for item in self.conn.graph.paged(url, params, mailbox=mailbox, headers=headers)]

    async def _get(self, url: str, params: Mapping[str, str] | None = None, *, mailbox: str | None = None) -> JSON:
        self.out.requests += 1
        return await self.conn.graph.get(url, params, mailbox=mailbox)

    async def _exo(self, cmdlet: str, parameters: Mapping[str, Any]) -> list[JSON]:
        self.out.requests += 1
        return await self.conn.exchange.invoke(cmdlet, parameters)

    def graph(self, kind: str, url: str, params: Mapping[str, str] | None = None, *, mailbox: bool = False,
              absent: Any = ..., headers: Mapping[str, str] | None = None) -> Awaitable[Any]:
        request = {"method": "GET", "url": url, "params": dict(params or {})}
        box = self.upn if mailbox else None
        return self._run(kind, "graph", request, lambda: self._list(url, params, mailbox=box, headers=headers),
                         absent=absent)

    def exchange(self, kind: str, cmdlet: str, parameters: Mapping[str, Any], *,
                 single: bool = False) -> Awaitable[Any]:
        request = {"cmdlet": cmdlet, "parameters": dict(parameters)}

        async def fetch() -> Any:
            items = await self._exo(cmdlet, parameters)
            if single and len(items) != 1:
                # the user's own mailbox, the tenant's one config: an empty answer is unreadable, never "none"
                raise UnexpectedShape(f"{cmdlet} answered {len(items)} objects, not one", what=cmdlet)
            return items[0] if single else items

        return self._run(kind, "exchange", request, fetch)

    # -- stage 1 -------------------------------------------------------------------------------------

    async def user(self) -> JSON | None:
        url = f"/users/{self.path_user}"
        params = {"$select": USER_SELECT}
        request = {"method": "GET", "url": url, "params": params}
        try:
            user = await self._get(url, params)
        except NotFound:
            raise BadInput(f"no user {self.upn!r} in this tenant",
                           hint="check the user principal name (reclaim investigate alice@contoso.com)") from None
        except (AuthenticationFailed, Unreachable):
            raise
        except M365Error as exc:
            self.out.lack("user", reason_for(exc))
            return None
        self.out.record("user", "graph", request, user)
        return user

    async def domains(self) -> None:
        async def fetch() -> list[str]:
            items = await self._list("/domains", {"$select": "id,isVerified,isDefault"})
            return [str(d["id"]).lower() for d in items if d.get("id")]

        await self._run("accepted_domains", "graph", {"method": "GET", "url": "/domains"}, fetch)

    async def folders(self) -> None:
        await self.graph("folders", f"/users/{self.path_user}/mailFolders",
                         {"includeHiddenFolders": "true", "$top": "250"}, mailbox=True)

    async def mailbox_settings(self) -> None:
        url = f"/users/{self.path_user}/mailboxSettings"
        await self._run("mailbox_settings", "graph", {"method": "GET", "url": url},
                        lambda: self._get(url, mailbox=self.upn))

    def _since(self) -> str:
        return self.since.strftime("%Y-%m-%dT%H:%M:%SZ")

    def _until(self) -> str:
        return self.until.strftime("%Y-%m-%dT%H:%M:%SZ")

    async def sign_ins(self) -> None:
        """The window's sign-ins and, before them, the baseline the user's usual places come from."""
        upn = self.upn.replace("'", "''")
        start = (self.since - SIGN_IN_BASELINE).strftime("%Y-%m-%dT%H:%M:%SZ")
        await self.graph("sign_ins", "/auditLogs/signIns",
                         {"$filter": f"userPrincipalName eq '{upn}' and createdDateTime ge {start}", "$top": "1000"})

    async def risky_user(self) -> None:
        upn = self.upn.replace("'", "''")

        async def fetch() -> JSON | None:
            items = await self._list("/identityProtection/riskyUsers", {"$filter": f"userPrincipalName eq '{upn}'"})
            return items[0] if items else None

        await self._run("risky_user", "graph", {"method": "GET", "url": "/identityProtection/riskyUsers",
                                                "params": {"$filter": f"userPrincipalName eq '{upn}'"}}, fetch)

    async def message_trace(self) -> None:
        """Mail the user sent, in ≤ 10-day slices (Graph's limit), within the last 90 days."""
        start = max(self.since, self.until - TRACE_MAX_AGE + timedelta(minutes=5))
        slices: list[tuple[datetime, datetime]] = []
        cursor = start
        while cursor < self.until:
            end = min(cursor + TRACE_SLICE, self.until)
            slices.append((cursor, end))
            cursor = end
        sender = self.upn.replace("'", "''")

        def params(a: datetime, b: datetime) -> dict[str, str]:
            return {"$filter": f"senderAddress eq '{sender}' and receivedDateTime ge {a:%Y-%m-%dT%H:%M:%SZ} "
                               f"and receivedDateTime le {b:%Y-%m-%dT%H:%M:%SZ}", "$top": "5000"}

        async def fetch() -> list[JSON]:
            parts = await gather_or_cancel(*(self._list("/admin/exchange/tracing/messageTraces", params(a, b))
                                             for a, b in slices))
            seen: set[str] = set()
            merged: list[JSON] = []
            for part in parts:
                for item in part:
                    key = str(item.get("id") or item)
                    if key not in seen:
                        seen.add(key)
                        merged.append(item)
            return merged

        request = {"method": "GET", "url": "/admin/exchange/tracing/messageTraces",
                   "slices": [params(a, b) for a, b in slices]}
        await self._run("message_trace", "graph", request, fetch)

    async def sent_items(self) -> None:
        await self.graph("sent_items", f"/users/{self.path_user}/mailFolders/sentitems/messages",
                         {"$filter": f"sentDateTime ge {self._since()}", "$orderby": "sentDateTime desc",
                          "$select": MESSAGE_SELECT, "$top": "1000"}, mailbox=True)

    async def ndr_messages(self) -> None:
        await self.graph("ndr_messages", f"/users/{self.path_user}/mailFolders/inbox/messages",
                         {"$search": '"5.1.8"', "$select": MESSAGE_SELECT, "$top": "250"}, mailbox=True)

    async def audit_records(self) -> None:
        """The unified audit log's events that date rules, forwarding, delegates, auto-replies and deletions."""
        await self._audit_query("audit_records", f"reclaim: mailbox events of {self.upn}",
                                {"operationFilters": list(AUDIT_OPERATIONS), "userPrincipalNameFilters": [self.upn]})

    async def drive_audit_records(self) -> None:
        """The user's OneDrive / SharePoint activity: shares made, files opened, downloaded, deleted."""
        await self._audit_query("drive_audit_records", f"reclaim: OneDrive and SharePoint activity of {self.upn}",
                                {"operationFilters": list(DRIVE_AUDIT_OPERATIONS),
                                 "userPrincipalNameFilters": [self.upn]})

    async def activity_audit_records(self) -> None:
        """What the user's account did with mail: read (MailItemsAccessed), sent, moved and deleted. Attribution
        tells the attacker's part of it from the user's own (what the attacker touched)."""
        await self._audit_query("activity_audit_records", f"reclaim: mail read and sent by {self.upn}",
                                {"operationFilters": list(ACTIVITY_OPERATIONS),
                                 "userPrincipalNameFilters": [self.upn]})

    async def license_details(self) -> None:
        """The user's licences: which audit record types exist for them (MailItemsAccessed needs Audit Premium,
        or an Audit Standard mailbox that audits it) and how far back the audit log goes."""
        await self.graph("license_details", f"/users/{self.path_user}/licenseDetails")

    async def user_drive(self) -> None:
        url = f"/users/{self.path_user}/drive"

        async def fetch() -> JSON:
            try:
                return await self._get(url)
            except NotFound:
                # Graph: 404 "User's mysite not found." for a user whose OneDrive was never provisioned
                raise M365Error("the user has no OneDrive (never provisioned, or no SharePoint licence)") from None

        await self._run("drive", "graph", {"method": "GET", "url": url}, fetch)

    async def sharepoint_settings(self) -> None:
        url = "/admin/sharepoint/settings"
        await self._run("sharepoint_settings", "graph", {"method": "GET", "url": url}, lambda: self._get(url))

    async def drive_items(self) -> None:
        """The items the sharing records name, with their permissions as they are now (stage 2)."""
        drive = self.out.values.get("drive")
        records = self.out.values.get("drive_audit_records")
        if not isinstance(drive, dict) or not drive.get("id"):
            self.out.lack("drive_items", self.out.missing.get("drive", "the user's OneDrive was not read"))
            return
        if not isinstance(records, list):
            self.out.lack("drive_items", self.out.missing.get("drive_audit_records",
                                                              "the OneDrive audit records were not read"))
            return
        root = drive.get("webUrl")
        paths = sorted({drive_evidence.drive_path(r, str(root) if root else None) for r in records
                        if isinstance(r, dict) and drive_evidence.operation(r) in drive_evidence.SHARE_SCOPES})
        base = f"/drives/{quote(str(drive['id']), safe='!')}"

        async def one(path: str) -> JSON:
            try:
                item = await self._get(f"{base}/root:/{quote(path)}:")
            except NotFound:
                return {"drivePath": path, "missing": True}
            permissions = await self._list(f"{base}/items/{quote(str(item['id']), safe='!')}/permissions")
            return {**item, "drivePath": path, "permissions": permissions}

        async def fetch() -> list[JSON]:
            return list(await gather_or_cancel(*(one(p) for p in paths)))

        await self._run("drive_items", "graph", {"method": "GET", "url": f"{base}/root:/{{path}}:/permissions",
                                                 "paths": paths}, fetch)

    async def tenant_audit_records(self) -> None:
        """Tenant-wide admin changes by anyone (transport rules, audit settings): who made a tenant finding."""
        await self._audit_query("tenant_audit_records", "reclaim: tenant-wide admin changes",
                                {"operationFilters": list(TENANT_AUDIT_OPERATIONS)})

    async def _audit_query(self, kind: str, name: str, filters: JSON) -> None:
        """One unified audit log search (asynchronous on the service): create, poll, read its records.

        A search stops at a fixed number of records without saying so: a window whose search returns that many
        is split in two until every window returns fewer (down to :data:`MIN_WINDOW`, then reported as
        incomplete in the coverage section). The records of all windows are merged, each once."""
        log = SearchLog(kind, self.since, self.until, tuple(filters.get("operationFilters") or ()))
        request: JSON = {"method": "POST", "url": "/security/auditLog/queries",
                   "body": {"displayName": name, "filterStartDateTime": self._since(),
                            "filterEndDateTime": self._until(), **filters}}

        async def window(start: datetime, end: datetime) -> list[JSON]:
            records = await self._audit_search(name, filters, start, end)
            if len(records) < self.audit_cap:
                log.windows.append((start, end, len(records)))
                return records
            if end - start <= MIN_WINDOW:
                log.truncated.append((start, end))
                return records
            log.splits += 1
            middle = start + (end - start) / 2
            halves = await gather_or_cancel(window(start, middle), window(middle, end))
            return [r for half in halves for r in half]

        async def fetch() -> list[JSON]:
            seen: set[str] = set()
            merged: list[JSON] = []
            for record in await window(self.since, self.until):
                key = str(record.get("Id") or record)
                if key not in seen:
                    seen.add(key)
                    merged.append(record)
            log.records = len(merged)
            request["windows"] = [{"start": f"{a:%Y-%m-%dT%H:%M:%SZ}", "end": f"{b:%Y-%m-%dT%H:%M:%SZ}",
                                   "records": n} for a, b, n in sorted(log.windows)]
            self.searches.append(log)
            return merged

        await self._run(kind, "graph", request, fetch)

    async def _audit_search(self, name: str, filters: JSON, start: datetime, end: datetime) -> list[JSON]:
        body = {"displayName": name, "filterStartDateTime": f"{start:%Y-%m-%dT%H:%M:%SZ}",
                "filterEndDateTime": f"{end:%Y-%m-%dT%H:%M:%SZ}", **filters}
        self.out.requests += 1
        # Creating an audit-log search changes nothing in the tenant (a duplicate is only a second
        # search): safe to re-send after a reset or a 5xx, instead of losing the audit checks.
        created = await self.conn.graph.request("POST", "/security/auditLog/queries", json=body, idempotent=True)
        if not created or "id" not in created:
            raise M365Error("the audit log query was not created")
        query_id = str(created["id"])
        status = str(created.get("status", ""))
        deadline = asyncio.get_running_loop().time() + self.audit_wait
        delay = 0.5
        while status not in ("succeeded", "failed", "cancelled"):
            if asyncio.get_running_loop().time() >= deadline:
                raise M365Error(f"the unified audit log query {query_id} was still running after "
                                f"{self.audit_wait:g} s; re-run with a longer --audit-wait")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
            status = str((await self._get(f"/security/auditLog/queries/{query_id}")).get("status", ""))
        if status != "succeeded":
            raise M365Error(f"the unified audit log query {query_id} ended as {status}")
        records = await self._list(f"/security/auditLog/queries/{query_id}/records")
        # Graph wraps each unified-audit-log record; its auditData is the record itself.
        return [r["auditData"] if isinstance(r.get("auditData"), dict) else r for r in records]

    async def tenant_directory_audits(self) -> None:
        """Directory changes to the tenant by anyone: consent for every user, app roles, domain federation."""
        names = " or ".join(f"activityDisplayName eq '{a}'" for a in TENANT_DIRECTORY_ACTIVITIES)
        await self.graph("tenant_directory_audits", "/auditLogs/directoryAudits",
                         {"$filter": f"({names}) and activityDateTime ge {self._since()}"})

    async def alerts(self) -> None:
        await self.graph("alerts", "/security/alerts_v2", {"$filter": f"createdDateTime ge {self._since()}"})

    async def security_defaults(self) -> None:
        url = "/policies/identitySecurityDefaultsEnforcementPolicy"
        await self._run("security_defaults", "graph", {"method": "GET", "url": url}, lambda: self._get(url))

    async def registration_details(self) -> None:
        upn = self.upn.replace("'", "''")

        async def fetch() -> JSON | None:
            items = await self._list("/reports/authenticationMethods/userRegistrationDetails",
                                     {"$filter": f"userPrincipalName eq '{upn}'"})
            return items[0] if items else None

        await self._run("registration_details", "graph",
                        {"method": "GET", "url": "/reports/authenticationMethods/userRegistrationDetails",
                         "params": {"$filter": f"userPrincipalName eq '{upn}'"}}, fetch)

    async def stage_one(self) -> JSON | None:
        u = self.path_user
        mbx = {"Mailbox": self.upn}
        ident = {"Identity": self.upn}
        jobs: list[Awaitable[Any]] = [
            self.domains(),
            self.graph("graph_rules", f"/users/{u}/mailFolders/inbox/messageRules", mailbox=True),
            self.folders(),
            self.mailbox_settings(),
            self.graph("auth_methods", f"/users/{u}/authentication/methods"),
            self.graph("oauth_grants", f"/users/{u}/oauth2PermissionGrants"),
            self.graph("member_of", f"/users/{u}/transitiveMemberOf", {"$select": "id,displayName"}),
            self.sign_ins(),
            self.risky_user(),
            self.message_trace(),
            self.sent_items(),
            self.ndr_messages(),
            self.audit_records(),
            self.drive_audit_records(),
            self.activity_audit_records(),
            self.license_details(),
            self.user_drive(),
            self.sharepoint_settings(),
            self.alerts(),
            self.graph("ca_policies", "/identity/conditionalAccess/policies"),
            self.security_defaults(),
            self.registration_details(),
            self.exchange("exo_rules", "Get-InboxRule", {**mbx, "IncludeHidden": True}),
            self.exchange("sweep_rules", "Get-SweepRule", mbx),
            self.exchange("mailbox", "Get-Mailbox", ident, single=True),
            self.exchange("mailbox_permissions", "Get-MailboxPermission", ident),
            self.exchange("recipient_permissions", "Get-RecipientPermission", ident),
            self.exchange("mobile_devices", "Get-MobileDevice", mbx),
            self.exchange("cas_mailbox", "Get-CASMailbox", ident, single=True),
            self.exchange("blocked_senders", "Get-BlockedSenderAddress", {}),
            self.exchange("transport_rules", "Get-TransportRule", {}),
            self.exchange("audit_config", "Get-AdminAuditLogConfig", {}, single=True),
            self.exchange("audit_bypass", "Get-MailboxAuditBypassAssociation", ident),
            self.tenant_audit_records(),
            self.tenant_directory_audits(),
        ]
        user_task = asyncio.ensure_future(self.user())
        others = asyncio.ensure_future(gather_or_cancel(*jobs))
        try:
            user = await user_task
        except BaseException:
            others.cancel()
            await asyncio.gather(others, return_exceptions=True)
            raise
        await others
        return user

    # -- stage 2 -------------------------------------------------------------------------------------

    async def stage_two(self, user: JSON | None) -> None:
        jobs: list[Awaitable[Any]] = [self.risk_detections(), self.service_principals(), self.rule_folders(),
                                      self.drive_items()]
        if user is not None and user.get("id"):
            uid = str(user["id"]).replace("'", "''")
            jobs.append(self.graph("directory_audits", "/auditLogs/directoryAudits",
                                   {"$filter": f"targetResources/any(t: t/id eq '{uid}') and "
                                               f"activityDateTime ge {self._since()}"}))
        else:
            self.out.lack("directory_audits", self.out.missing.get("user", "the user object was not read"))
        await gather_or_cancel(*jobs)

    async def risk_detections(self) -> None:
        upn = self.upn.replace("'", "''")
        await self.graph("risk_detections", "/identityProtection/riskDetections",
                         {"$filter": f"userPrincipalName eq '{upn}'"})

    async def service_principals(self) -> None:
        grants = self.out.values.get("oauth_grants")
        if not isinstance(grants, list):
            self.out.lack("service_principals", "the OAuth grants were not read")
            return
        ids = sorted({str(g["clientId"]) for g in grants if isinstance(g, dict) and g.get("clientId")})

        async def fetch() -> list[JSON]:
            found = await gather_or_cancel(*(self._one_sp(i) for i in ids))
            return [sp for sp in found if sp is not None]

        await self._run("service_principals", "graph",
                        {"method": "GET", "url": "/servicePrincipals/{id}", "ids": ids}, fetch)

    async def _one_sp(self, sp_id: str) -> JSON | None:
        try:
            return await self._get(f"/servicePrincipals/{quote(sp_id, safe='')}")
        except NotFound:
            return None

    async def rule_folders(self) -> None:
        """Folders that rules move or copy to but the folder list did not show (child folders)."""
        folders = self.out.values.get("folders")
        rules = self.out.values.get("graph_rules")
        if not isinstance(folders, list) or not isinstance(rules, list):
            return
        known = {str(f.get("id")) for f in folders if isinstance(f, dict)}
        wanted: set[str] = set()
        for rule in rules:
            actions = rule.get("actions") if isinstance(rule, dict) else None
            if isinstance(actions, dict):
                for key in ("moveToFolder", "copyToFolder"):
                    value = actions.get(key)
                    if isinstance(value, str) and value and value not in known:
                        wanted.add(value)
        for folder_id in sorted(wanted):
            try:
                folder = await self._get(f"/users/{self.path_user}/mailFolders/{quote(folder_id, safe='')}",
                                         {"$select": "id,displayName,parentFolderId"}, mailbox=self.upn)
            except NotFound:
                continue
            except M365Error as exc:
                self.out.lack("folders", reason_for(exc))
                return
            folders.append(folder)


async def investigate(conn: Connection, store: Store, user: str, *, since: datetime | None = None,
                      until: datetime | None = None, progress: Progress | None = None,
                      audit_wait: float = 30.0,
                      identity_protection_spacing: float = IDENTITY_PROTECTION_SPACING,
                      audit_cap: int = AUDIT_SEARCH_CAP) -> Investigation:
    """Collect, store and analyse the evidence about ``user``; returns the stored case.

    ``identity_protection_spacing`` paces Identity Protection / Conditional Access requests (one per
    second per tenant on the real service); an emulator with throttling turned off may use 0. ``audit_cap``:
    the most records one audit search returns (a search that reaches it is split into smaller windows).
    """
    until = until or datetime.now(UTC)
    since = since or (until - DEFAULT_SINCE)
    collector = _Collector(conn, user, since, until, progress, audit_wait, identity_protection_spacing, audit_cap)
    found = await collector.stage_one()
    await collector.stage_two(found)
    collected = collector.out
    if found is not None and not found.get("userPrincipalName"):
        found = {**found, "userPrincipalName": user}
    user_obj: JSON = found or {"userPrincipalName": user}
    upn = str(user_obj.get("userPrincipalName") or user)
    if not collected.values.keys() - {"user"}:
        reasons = sorted(set(collected.missing.values()))
        raise CannotConnect(f"nothing about {upn} could be collected: {'; '.join(reasons)[:300]}",
                            hint="run `reclaim tenant check` to see which permissions are missing")
    bundle = collected.bundle(since=since, until=until, owner=upn)
    analysis = analyze(bundle)
    analysis, touched = attribute(analysis, collected.values, upn)
    if touched:
        collected.evidence.append(NewEvidence(kind="attacker_activity", source="reclaim",
                                              request={"user": upn, "from": list(ATTRIBUTION_KINDS)},
                                              payload=touched.to_json(), collected_at=datetime.now(UTC)))
    covered = coverage(collected.values, collected.missing, collector.searches, upn=upn, since=since, until=until)
    tenant = await conn.tenant_id()
    with store.transaction():
        case = store.create_case("investigate", upn, tenant=tenant, since=since, until=until)
        evidence_ids = collected.store_evidence(store, case.id, subject=upn)
        store.add_findings(case.id, (new_finding(f, upn, evidence_ids) for f in analysis.findings))
        store.add_timeline(case.id, (NewTimelineEvent(time=e.time, kind=e.kind, summary=e.summary,
                                                      artifact_type=e.artifact.type if e.artifact else None,
                                                      artifact_id=e.artifact.id if e.artifact else None,
                                                      source=e.check, user=upn)
                                     for e in analysis.timeline))
        summary = case_summary(analysis, user_obj, collected.requests)
        summary["coverage"] = covered
        summary["touched"] = {upn: touched.to_json()} if touched else {}
        store.set_verdict(case.id, analysis.verdict.name.value, summary=summary)
    return Investigation(case_id=case.id, user=user_obj, analysis=analysis, bundle=bundle,
                         evidence_ids=evidence_ids, requests=collected.requests, coverage=covered,
                         touched=touched if touched else None)


def actors_to_follow(result: Investigation) -> list[str]:
    """Who made the tenant-scoped changes and is a user of this tenant other than the subject: the accounts
    to investigate next (an attacker who changes a tenant does it as an administrator)."""
    subject = result.upn.casefold()
    out: dict[str, str] = {}
    for actor in result.analysis.actors():
        upn = str(actor.get("user") or "").strip()
        if "@" in upn and upn.casefold() != subject:
            out.setdefault(upn.casefold(), upn)
    return list(out.values())


async def follow_actors(conn: Connection, store: Store, result: Investigation, *, since: datetime | None = None,
                        until: datetime | None = None, progress: Progress | None = None, audit_wait: float = 30.0,
                        identity_protection_spacing: float = IDENTITY_PROTECTION_SPACING,
                        audit_cap: int = AUDIT_SEARCH_CAP) -> Investigation:
    """Investigate, each as a user with a case of their own, the accounts that made the tenant-scoped changes
    found about ``result``'s user. One level deep: the actors' own tenant findings are not followed again."""
    followed: list[Investigation] = []
    for upn in actors_to_follow(result):
        followed.append(await investigate(conn, store, upn, since=since, until=until, progress=progress,
                                          audit_wait=audit_wait,
                                          identity_protection_spacing=identity_protection_spacing,
                                          audit_cap=audit_cap))
    result.actors = followed
    return result


def case_summary(analysis: Analysis, user: JSON, requests: int) -> JSON:
    """What an investigation case records besides its rows: the verdicts, what was not checked, the window."""
    body = analysis.to_json()
    return {"verdict": analysis.verdict.name.value, "because": analysis.verdict.because,
            "notChecked": body["notChecked"],
            "suspiciousWindow": body["suspiciousWindow"],
            "tenant": {k: v for k, v in body["tenant"].items() if k != "findings"},
            "user": {k: user.get(k) for k in ("id", "userPrincipalName", "displayName")},
            "requests": requests}


__all__ = ["DEFAULT_SINCE", "Investigation", "actors_to_follow", "case_summary", "follow_actors", "investigate",
           "parse_since", "reason_for"]
