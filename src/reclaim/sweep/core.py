"""Sweep every mailbox of one or more tenants with the mailbox checks, streaming into the case store.

Per tenant, the requests are:

- listed once: accepted domains, restricted senders (``Get-BlockedSenderAddress``), risky users and
  risk detections (paced: Identity Protection answers one request per second per tenant), transport
  rules, the tenant's OAuth grants and the service principals they name;
- the mailboxes in pages of ``Get-Mailbox`` (which also carry each mailbox's forwarding);
- per mailbox, the inbox rules through Graph ``$batch`` (20 mailboxes per envelope; throttled
  sub-requests are re-sent by the client), then the folders those rules move or copy mail to (Graph
  names them by id only; ``GET /users/{id}/mailFolders/{folderId}`` in ``$batch`` envelopes, each id
  once per mailbox, well-known names without a read) so that hiding rules are judged; with ``deep``,
  hidden rules (``Get-InboxRule -IncludeHidden``) and sweep rules (``Get-SweepRule``) through the
  Exchange admin API.

Streaming: the ``Get-Mailbox`` pages feed a bounded queue of 20-mailbox chunks; readers read a
chunk's rules and folders and hand them to the checks (for a big tenant in a helper process that
imports only the checks, :mod:`reclaim.detect.worker`), which hand the result to one writer; the
writer commits the results that arrive within ``write_interval`` (evidence as received, findings,
not-collected records and the checkpoint) in one transaction. Memory holds a few pages and the
bounded queues, whatever the tenant's size.

Resumable: chunk ``k`` holds mailboxes ``20k … 20k+19`` of the ``Get-Mailbox`` order. The checkpoint
(stored in the same transaction as the results it covers) keeps the prefix of finished chunks and
the finished chunks beyond it; ``--resume`` lists the mailboxes again and skips those chunks, so
their rules are not read again.

Which checks run is read from their metadata, never from a list: per mailbox, every check whose
``needs`` the sweep collects (:data:`COLLECTS`; ``deep`` adds hidden and sweep rules); once per tenant,
the same checks on the tenant-wide lists, keeping their tenant-scoped findings (a mail-flow rule, a
consent for every user), so those are reported once, not once per mailbox. Checks a sweep cannot run
(they need per-user evidence such as sign-ins or the audit log) are listed once for the whole sweep as
"not part of a sweep", with the evidence they need, never reported per mailbox as clean.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from reclaim.aio import gather_or_cancel
from reclaim.collect.collection import Collection, new_finding, reason_for
from reclaim.detect.artifacts import evidence_of
from reclaim.detect.engine import analyze
from reclaim.detect.evidence import NOT_IN_INPUT, EvidenceBundle, NotCollected
from reclaim.detect.fields import get
from reclaim.detect.lexicon import WELL_KNOWN
from reclaim.detect.model import Finding
from reclaim.detect.registry import Check, checks
from reclaim.detect.worker import CheckProcess, CheckProcessGone, analyze_many
from reclaim.m365 import (
    AuthenticationFailed,
    BatchRequest,
    Connection,
    ConnectionSettings,
    M365Error,
    NotFound,
    Throttled,
    Unreachable,
)
from reclaim.m365.boundary import PageWalk
from reclaim.m365.errors import UnexpectedShape
from reclaim.m365.throttle import Pacer
from reclaim.store import NewEvidence, NewFinding, Store
from reclaim.sweep.model import (
    FLAG_RANK,
    RANK,
    FlaggedFinding,
    FlaggedMailbox,
    NoProgress,
    SweepOptions,
    SweepProgress,
    SweepResult,
    TenantSweep,
)
from reclaim.text import article

JSON = dict[str, Any]

CHUNK = 20
#: The evidence kinds a sweep collects for every mailbox (the checks whose needs these meet run per mailbox).
COLLECTS = frozenset({"mailbox", "graph_rules", "folders", "accepted_domains", "blocked_senders", "risky_user",
                      "risk_detections", "oauth_grants", "service_principals"})
#: ... and with ``deep``: hidden rules (``Get-InboxRule -IncludeHidden``) and sweep rules.
DEEP_COLLECTS = frozenset({"exo_rules", "sweep_rules"})
#: The tenant-wide lists a sweep reads once (the checks whose needs these meet run once per tenant).
TENANT_COLLECTS = frozenset({"transport_rules", "accepted_domains", "oauth_grants", "service_principals",
                             "audit_config"})
#: The evidence kind a sweep stores a bundle field under, where it is not the field's own name (the sweep
#: lists every risky user of the tenant once; a bundle holds the user's own entry).
STORED_AS = {"risky_user": "risky_users"}
#: What a rule's destination folder is read for (its name says whether the rule hides mail). v1.0's mailFolder has
#: no ``wellKnownName`` (beta only): real Graph refuses it in ``$select`` with 400, so the name decides, as in
#: ``investigate``.
FOLDER_SELECT = "id,displayName,parentFolderId"
#: Destinations Graph may give by well-known name: resolved without a read.
_NAMED_FOLDERS = frozenset(WELL_KNOWN) | {"inbox", "sentitems", "drafts", "outbox", "msgfolderroot"}
NOT_IN_SWEEP = "not part of a sweep: it needs evidence only `reclaim investigate USER` collects"

Connect = Callable[[ConnectionSettings], Connection]


@dataclass(frozen=True)
class SweepTarget:
    """One tenant to sweep: its key in the case (config name, or ``endpoint``) and how to connect."""

    key: str
    settings: ConnectionSettings


def _met(check: Check, collected: frozenset[str]) -> bool:
    return all(set(need.split("|")) & collected for need in check.meta.needs)


def selected_checks(deep: bool) -> tuple[list[Check], list[JSON]]:
    """The checks a sweep runs per mailbox (those whose needs it collects), and the others with the reason."""
    collected = COLLECTS | (DEEP_COLLECTS if deep else frozenset())
    run: list[Check] = []
    skipped: list[JSON] = []
    for check in checks():
        meta = check.meta
        if meta.scope == "tenant" and _met(check, TENANT_COLLECTS):
            continue  # run once per tenant (tenant_checks)
        if _met(check, collected):
            run.append(check)
            continue
        lacking = sorted(k for need in meta.needs if not set(need.split("|")) & collected for k in need.split("|"))
        if _met(check, COLLECTS | DEEP_COLLECTS):
            reason = f"not part of this sweep: it needs {', '.join(lacking)}, read with --deep"
        else:
            reason = f"{NOT_IN_SWEEP} ({', '.join(lacking)})"
        skipped.append({"check": meta.id, "reason": reason})
    return run, skipped


def tenant_checks() -> list[Check]:
    """The checks a sweep runs once per tenant: those whose needs the tenant-wide lists meet and that find
    tenant-scoped things (their user- and mailbox-scoped findings come from the per-mailbox pass)."""
    return [c for c in checks() if c.meta.finds_tenant and _met(c, TENANT_COLLECTS)]


# -- tenant-wide context ---------------------------------------------------------------------------------


@dataclass
class _Tenant:
    """What was listed once for the tenant, indexed for the per-mailbox bundles."""

    domains: list[str] | NotCollected = NOT_IN_INPUT
    blocked: dict[str, list[JSON]] | NotCollected = NOT_IN_INPUT
    risky: dict[str, JSON] | NotCollected = NOT_IN_INPUT
    detections: dict[str, list[JSON]] | NotCollected = NOT_IN_INPUT
    grants: dict[str, list[JSON]] | NotCollected = NOT_IN_INPUT
    principals: dict[str, JSON] | NotCollected = NOT_IN_INPUT
    transport_rules: list[JSON] | NotCollected = NOT_IN_INPUT
    audit_config: JSON | NotCollected = NOT_IN_INPUT
    #: the lists as read (evidence rows, not-collected reasons, requests)
    read: Collection = field(default_factory=Collection)


def _now() -> datetime:
    return datetime.now(UTC)


def _addresses(mailbox: Mapping[str, Any]) -> set[str]:
    out: set[str] = set()
    for key in ("PrimarySmtpAddress", "UserPrincipalName", "WindowsEmailAddress"):
        value = mailbox.get(key)
        if isinstance(value, str) and "@" in value:
            out.add(value.lower())
    for value in mailbox.get("EmailAddresses") or []:
        if isinstance(value, str) and value.lower().startswith("smtp:"):
            out.add(value[5:].lower())
    return out


async def _read_tenant(conn: Connection, options: SweepOptions) -> _Tenant:
    t = _Tenant()
    pacer = Pacer(options.identity_protection_spacing)

    async def read(kind: str, source: str, request: JSON, fetch: Callable[[], Awaitable[Any]]) -> Any:
        payload = await t.read.fetch(kind, source, request, fetch)
        return NotCollected(t.read.missing[kind]) if kind in t.read.missing else payload

    async def graph_list(url: str, params: Mapping[str, str] | None = None, *, paced: bool = False) -> list[JSON]:
        if not paced:
            t.read.requests += 1
            return [x async for x in conn.graph.paged(url, params)]
        # every page waits its turn: these resources allow one request per second per tenant
        items: list[JSON] = []
        next_url: str | None = url
        walk = PageWalk(conn.graph.url(url).split("?")[0], conn.pipeline.limits)
        while next_url is not None:
            t.read.requests += 1
            async with pacer.slot():
                page = await conn.graph.get(next_url, params)
            got, next_url = walk.page(page, method="GET", url=conn.graph.url(next_url))
            items.extend(got)
            params = None
        return items

    async def exo(cmdlet: str, parameters: JSON) -> list[JSON]:
        t.read.requests += 1
        return await conn.exchange.invoke(cmdlet, parameters)

    async def domains() -> None:
        value = await read("accepted_domains", "graph", {"method": "GET", "url": "/domains"},
                           lambda: graph_list("/domains", {"$select": "id,isVerified,isDefault"}))
        t.domains = value if isinstance(value, NotCollected) else \
            [str(d["id"]).lower() for d in value if isinstance(d, dict) and d.get("id")]

    async def blocked() -> None:
        value = await read("blocked_senders", "exchange", {"cmdlet": "Get-BlockedSenderAddress", "parameters": {}},
                           lambda: exo("Get-BlockedSenderAddress", {}))
        if isinstance(value, NotCollected):
            t.blocked = value
            return
        index: dict[str, list[JSON]] = {}
        for item in value:
            address = str(item.get("SenderAddress") or item.get("senderAddress") or "").lower()
            if address:
                index.setdefault(address, []).append(item)
        t.blocked = index

    async def transport() -> None:
        params = {"ResultSize": "Unlimited"}
        value = await read("transport_rules", "exchange", {"cmdlet": "Get-TransportRule", "parameters": params},
                           lambda: exo("Get-TransportRule", params))
        t.transport_rules = value

    async def audit_config() -> None:
        async def fetch() -> JSON:
            found = await exo("Get-AdminAuditLogConfig", {})
            if len(found) != 1:  # the tenant's one config: an empty answer is unreadable, never "nothing set"
                raise UnexpectedShape(f"Get-AdminAuditLogConfig answered {len(found)} objects, not one",
                                      what="Get-AdminAuditLogConfig")
            return found[0]

        t.audit_config = await read("audit_config", "exchange",
                                    {"cmdlet": "Get-AdminAuditLogConfig", "parameters": {}}, fetch)

    async def identity_protection() -> None:
        value = await read("risky_users", "graph",
                           {"method": "GET", "url": "/identityProtection/riskyUsers", "params": {"$top": "500"}},
                           lambda: graph_list("/identityProtection/riskyUsers", {"$top": "500"}, paced=True))
        if isinstance(value, NotCollected):
            t.risky = value
        else:
            risky: dict[str, JSON] = {}
            for item in value:
                for key in ("id", "userPrincipalName"):
                    if item.get(key):
                        risky[str(item[key]).lower()] = item
            t.risky = risky
        value = await read("risk_detections", "graph",
                           {"method": "GET", "url": "/identityProtection/riskDetections"},
                           lambda: graph_list("/identityProtection/riskDetections", paced=True))
        if isinstance(value, NotCollected):
            t.detections = value
        else:
            detections: dict[str, list[JSON]] = {}
            for item in value:
                key = str(item.get("userId") or item.get("userPrincipalName") or "").lower()
                if key:
                    detections.setdefault(key, []).append(item)
            t.detections = detections

    async def grants() -> None:
        value = await read("oauth_grants", "graph", {"method": "GET", "url": "/oauth2PermissionGrants"},
                           lambda: graph_list("/oauth2PermissionGrants"))
        if isinstance(value, NotCollected):
            t.grants = t.principals = value
            return
        by_user: dict[str, list[JSON]] = {}
        for g in value:
            principal = str(g.get("principalId") or "").lower()
            by_user.setdefault(principal or "*", []).append(g)  # "*": AllPrincipals grants
        t.grants = by_user
        ids = sorted({str(g["clientId"]) for g in value if g.get("clientId")})

        async def fetch() -> list[JSON]:
            t.read.requests += (len(ids) + 19) // 20
            results = await conn.graph.batch([BatchRequest("GET", f"/servicePrincipals/{quote(i, safe='')}")
                                              for i in ids])
            found: list[JSON] = []
            for r in results:
                if r.ok and isinstance(r.body, dict):
                    found.append(r.body)
                elif r.error is not None and not isinstance(r.error, NotFound):
                    raise r.error
            return found

        sps = await read("service_principals", "graph",
                         {"method": "GET", "url": "/servicePrincipals/{id}", "ids": ids}, fetch)
        t.principals = sps if isinstance(sps, NotCollected) else {str(sp.get("id")): sp for sp in sps}

    await gather_or_cancel(domains(), blocked(), transport(), identity_protection(), grants(), audit_config())
    return t


def _tenant_findings(t: _Tenant, tenant: str) -> list[Finding]:
    """The tenant-scoped findings, once: the tenant checks on the tenant-wide lists (transport rules, the
    consents given for every user)."""
    transport: Any = t.transport_rules
    everyone: Any = t.grants if isinstance(t.grants, NotCollected) else t.grants.get("*", [])
    principals: Any = t.principals if isinstance(t.principals, NotCollected) else list(t.principals.values())
    config: Any = t.audit_config
    bundle = EvidenceBundle(transport_rules=transport, accepted_domains=t.domains, oauth_grants=everyone,
                            service_principals=principals, audit_config=config, mailbox_owner=tenant)
    return [f for f in analyze(bundle, selected=tenant_checks()).findings if f.scope == "tenant"]


# -- one chunk of mailboxes -------------------------------------------------------------------------------


def analyze_bundles(bundles: Sequence[EvidenceBundle], deep: bool) -> list[tuple[str, Finding]]:
    """The sweep's checks on each mailbox's bundle."""
    return analyze_many(bundles, _selected_ids(deep))


@functools.cache
def _selected_ids(deep: bool) -> tuple[str, ...]:
    return tuple(c.meta.id for c in selected_checks(deep)[0])


class _Checker:
    """Runs the checks of a chunk: in this process, or, for a big tenant, in one helper process.

    The checks are pure CPU; in a helper process they leave the event loop's process (and its GIL) to the
    requests and the store (a 10,000-mailbox sweep spends a third of its CPU in them). A small sweep keeps
    them here: starting a process costs more than it saves. The helper imports the checks only
    (:mod:`reclaim.detect.worker`); if it dies, the checks go on here."""

    def __init__(self, deep: bool, mode: bool | None, threshold: int) -> None:
        self.deep = deep
        self.mode = mode
        self.threshold = threshold
        self.helper: CheckProcess | None = None
        self._starting = asyncio.Lock()

    async def run(self, bundles: list[EvidenceBundle], listed: int) -> list[tuple[str, Finding]]:
        if not (self.mode if self.mode is not None else listed >= self.threshold):
            return analyze_bundles(bundles, self.deep)
        try:
            async with self._starting:
                if self.helper is None:
                    self.helper = await CheckProcess.start()
            return await self.helper.run(bundles, _selected_ids(self.deep))
        except (CheckProcessGone, OSError):
            self.mode = False  # the helper died (killed, out of memory) or could not start
            return analyze_bundles(bundles, self.deep)

    async def close(self) -> None:
        if self.helper is not None:
            await self.helper.close()
            self.helper = None


@dataclass
class _Chunk:
    index: int
    mailboxes: list[JSON]


@dataclass
class _Read:
    """What was read for one chunk: per mailbox the rules and folders (or why missing), and the raw answers."""

    chunk: _Chunk
    rules: dict[str, list[JSON] | NotCollected]
    raw: list[JSON]
    folders: dict[str, list[JSON] | NotCollected]
    raw_folders: list[JSON]
    exo: dict[str, Any]
    sweep: dict[str, Any]
    sent: int


@dataclass
class _ChunkResult:
    index: int
    size: int
    evidence: list[NewEvidence]
    findings: list[tuple[str, Finding]]
    not_collected: list[tuple[str, str, str]]  # (kind, reason, upn)
    incomplete: int = 0
    requests: int = 0


def rule_folder_ids(rules: Sequence[Mapping[str, Any]]) -> list[str]:
    """The folder ids Graph rules move or copy mail to, each once, in order (well-known names left out)."""
    out: dict[str, None] = {}
    for rule in rules:
        actions = get(rule, "actions")
        if not isinstance(actions, Mapping):
            continue
        for key in ("moveToFolder", "copyToFolder"):
            value = get(actions, key)
            if isinstance(value, str) and value.strip() and value.strip().lower() not in _NAMED_FOLDERS:
                out[value] = None
    return list(out)


def _upn(mailbox: Mapping[str, Any]) -> str:
    return str(mailbox.get("UserPrincipalName") or mailbox.get("PrimarySmtpAddress") or mailbox.get("Identity"))


def _uid(mailbox: Mapping[str, Any]) -> str:
    return str(mailbox.get("ExternalDirectoryObjectId") or _upn(mailbox))


class _TenantSweeper:
    def __init__(self, conn: Connection, store: Store, case_id: str, target: str, options: SweepOptions,
                 progress: SweepProgress, selected: Sequence[Check], checker: _Checker | None = None) -> None:
        self.conn = conn
        self.store = store
        self.case_id = case_id
        self.target = target
        self.options = options
        self.progress = progress
        self.selected = list(selected)
        self.checker = checker or _Checker(options.deep, False, 0)
        #: mailboxes listed so far (a big tenant's checks go to a helper process)
        self.listed = 0
        self.exchange_slots = asyncio.Semaphore(max(1, options.exchange_workers))
        self.tenant = _Tenant()
        #: set once the tenant-wide lists are read (the mailbox reads start before, the checks wait)
        self.tenant_ready = asyncio.Event()

        self.summary = TenantSweep(tenant=target)
        #: evidence ids of the tenant-wide lists of this run, by kind
        self.tenant_evidence: dict[str, int] = {}

    # -- reading ---------------------------------------------------------------------------------------

    async def _rules(self, chunk: _Chunk) -> tuple[dict[str, list[JSON] | NotCollected], list[JSON], int]:
        """Graph inbox rules of a chunk through one ``$batch``; per mailbox the rules or why they are missing."""
        requests = [BatchRequest("GET", f"/users/{quote(_uid(m), safe='@')}/mailFolders/inbox/messageRules",
                                 id=str(i + 1), mailbox=_upn(m), collection=True)
                    for i, m in enumerate(chunk.mailboxes)]
        sent = 1
        results = await self.conn.graph.batch(requests)
        out: dict[str, list[JSON] | NotCollected] = {}
        raw: list[JSON] = []
        for mailbox, result in zip(chunk.mailboxes, results, strict=True):
            upn = _upn(mailbox)
            raw.append({"mailbox": upn, "status": result.status, "body": result.body})
            if result.error is not None:
                if isinstance(result.error, AuthenticationFailed | Unreachable):
                    raise result.error
                out[upn] = NotCollected(reason_for(result.error))
                continue
            body = result.body if isinstance(result.body, dict) else {}
            rules = [r for r in body.get("value", []) if isinstance(r, dict)]
            link = body.get("@odata.nextLink")
            if link:  # more rules than one page: follow the link exactly as given
                sent += 1
                try:
                    rules.extend([r async for r in self.conn.graph.paged(str(link), mailbox=upn)])
                except (AuthenticationFailed, Unreachable):
                    raise
                except M365Error as exc:
                    out[upn] = NotCollected(reason_for(exc))
                    continue
            out[upn] = rules
        return out, raw, sent

    async def _folders(self, chunk: _Chunk, rules: Mapping[str, list[JSON] | NotCollected]
                       ) -> tuple[dict[str, list[JSON] | NotCollected], list[JSON], int]:
        """The folders the chunk's Graph rules move or copy to (ids only: Graph gives no name), through ``$batch``
        (``GET /users/{id}/mailFolders/{folderId}``, each id once per mailbox; well-known names need no read).

        Per mailbox the folders read (a deleted folder, 404, is left out: its rule's destination stays unknown)
        or why they are missing; the raw answers for the evidence; the envelopes sent."""
        requests: list[BatchRequest] = []
        wanted: list[tuple[str, str]] = []  # (upn, folder id) in request order
        out: dict[str, list[JSON] | NotCollected] = {}
        for mailbox in chunk.mailboxes:
            upn = _upn(mailbox)
            found = rules.get(upn)
            out[upn] = []
            if not isinstance(found, list):
                continue
            # '=' (base64 padding of Graph ids) kept as is: a $batch sub-request's URL is not always percent-decoded
            path = f"/users/{quote(_uid(mailbox), safe='@')}/mailFolders/"
            for folder_id in rule_folder_ids(found):
                wanted.append((upn, folder_id))
                requests.append(BatchRequest("GET", f"{path}{quote(folder_id, safe='=')}?$select={FOLDER_SELECT}",
                                             id=str(len(requests) + 1), mailbox=upn))
        if not requests:
            return out, [], 0
        results = await self.conn.graph.batch(requests)
        raw: list[JSON] = []
        for (upn, folder_id), result in zip(wanted, results, strict=True):
            raw.append({"mailbox": upn, "folder": folder_id, "status": result.status, "body": result.body})
            have = out[upn]
            if result.error is not None:
                if isinstance(result.error, AuthenticationFailed | Unreachable):
                    raise result.error
                if not isinstance(result.error, NotFound) and isinstance(have, list):
                    out[upn] = NotCollected(reason_for(result.error))
                continue
            if isinstance(have, list) and isinstance(result.body, dict):
                have.append(result.body)
        return out, raw, (len(requests) + CHUNK - 1) // CHUNK

    async def _exchange(self, cmdlet: str, upn: str, parameters: JSON) -> list[JSON] | NotCollected:
        async with self.exchange_slots:
            try:
                return await self.conn.exchange.invoke(cmdlet, parameters)
            except (AuthenticationFailed, Unreachable):
                raise
            except M365Error as exc:
                return NotCollected(reason_for(exc))

    async def _deep(self, chunk: _Chunk) -> tuple[dict[str, Any], dict[str, Any]]:
        upns = [_upn(m) for m in chunk.mailboxes]
        hidden = await gather_or_cancel(*(self._exchange("Get-InboxRule", u, {"Mailbox": u, "IncludeHidden": True})
                                        for u in upns))
        sweep = await gather_or_cancel(*(self._exchange("Get-SweepRule", u, {"Mailbox": u}) for u in upns))
        return dict(zip(upns, hidden, strict=True)), dict(zip(upns, sweep, strict=True))

    async def _graph(self, chunk: _Chunk) -> tuple[dict[str, list[JSON] | NotCollected], list[JSON],
                                                    dict[str, list[JSON] | NotCollected], list[JSON], int]:
        rules, raw, sent = await self._rules(chunk)
        folders, raw_folders, more = await self._folders(chunk, rules)
        return rules, raw, folders, raw_folders, sent + more

    async def read(self, chunk: _Chunk) -> _Read:
        """Everything a chunk's checks need from the service (the requests only; no checks)."""
        if self.options.deep:
            graph, deep = asyncio.ensure_future(self._graph(chunk)), asyncio.ensure_future(self._deep(chunk))
            await gather_or_cancel(graph, deep)
            (rules, raw, folders, raw_folders, sent), (exo, sweep) = graph.result(), deep.result()
            sent += 2 * len(chunk.mailboxes)
        else:
            rules, raw, folders, raw_folders, sent = await self._graph(chunk)
            exo, sweep = {}, {}
        return _Read(chunk, rules, raw, folders, raw_folders, exo, sweep, sent)

    async def check(self, read: _Read) -> _ChunkResult:
        """A chunk's evidence and the checks' findings (once the tenant-wide lists are read)."""
        await self.tenant_ready.wait()
        deep = self.options.deep
        chunk, rules, raw, folders, raw_folders = read.chunk, read.rules, read.raw, read.folders, read.raw_folders
        exo, sweep, sent = read.exo, read.sweep, read.sent
        t = self.tenant
        now = _now()
        upns = [_upn(m) for m in chunk.mailboxes]
        evidence = [
            NewEvidence(kind="mailbox", source="exchange", collected_at=now, payload=chunk.mailboxes,
                        request={"cmdlet": "Get-Mailbox", "parameters": {"ResultSize": "Unlimited"},
                                 "chunk": chunk.index}),
            NewEvidence(kind="graph_rules", source="graph", collected_at=now, payload=raw,
                        request={"method": "POST", "url": "/$batch", "chunk": chunk.index,
                                 "each": "GET /users/{id}/mailFolders/inbox/messageRules", "mailboxes": upns}),
        ]
        if raw_folders:
            evidence.append(NewEvidence(
                kind="folders", source="graph", collected_at=now, payload=raw_folders,
                request={"method": "POST", "url": "/$batch", "chunk": chunk.index,
                         "each": f"GET /users/{{id}}/mailFolders/{{folderId}}?$select={FOLDER_SELECT}"}))
        if deep:
            evidence.append(NewEvidence(
                kind="exo_rules", source="exchange", collected_at=now,
                payload={u: (v if isinstance(v, list) else {"notCollected": v.reason}) for u, v in exo.items()},
                request={"cmdlet": "Get-InboxRule", "parameters": {"IncludeHidden": True}, "mailboxes": upns}))
            evidence.append(NewEvidence(
                kind="sweep_rules", source="exchange", collected_at=now,
                payload={u: (v if isinstance(v, list) else {"notCollected": v.reason}) for u, v in sweep.items()},
                request={"cmdlet": "Get-SweepRule", "mailboxes": upns}))
        bundles: list[EvidenceBundle] = []
        missing: list[tuple[str, str, str]] = []
        incomplete = 0
        for mailbox in chunk.mailboxes:
            upn = _upn(mailbox)
            uid = _uid(mailbox).lower()
            graph_rules = rules.get(upn, NotCollected("not read"))
            exo_rules: Any = exo.get(upn, NOT_IN_INPUT) if deep else NOT_IN_INPUT
            sweep_rules: Any = sweep.get(upn, NOT_IN_INPUT) if deep else NOT_IN_INPUT
            for kind, value in (("graph_rules", graph_rules), ("exo_rules", exo_rules),
                                ("sweep_rules", sweep_rules)):
                if isinstance(value, NotCollected) and value is not NOT_IN_INPUT:
                    missing.append((kind, value.reason, upn))
            if isinstance(graph_rules, NotCollected) and (not deep or isinstance(exo_rules, NotCollected)):
                incomplete += 1
            own = _addresses(mailbox)
            blocked: Any = t.blocked if isinstance(t.blocked, NotCollected) else \
                [b for a in own for b in t.blocked.get(a, [])]
            risky: Any = t.risky if isinstance(t.risky, NotCollected) else \
                (t.risky.get(uid) or next((t.risky[a] for a in own if a in t.risky), None))
            detections: Any = t.detections if isinstance(t.detections, NotCollected) else \
                t.detections.get(uid, []) + [d for a in own for d in t.detections.get(a, [])]
            grants: Any = t.grants if isinstance(t.grants, NotCollected) else t.grants.get(uid, [])
            principals: Any = t.principals if isinstance(t.principals, NotCollected) else \
                [t.principals[c] for c in {str(g.get("clientId")) for g in grants} if c in t.principals]
            mailbox_folders = folders.get(upn, [])
            if isinstance(mailbox_folders, NotCollected):
                missing.append(("folders", mailbox_folders.reason, upn))
            bundles.append(EvidenceBundle(
                graph_rules=graph_rules, exo_rules=exo_rules, folders=mailbox_folders, sweep_rules=sweep_rules,
                mailbox=mailbox,
                accepted_domains=t.domains, blocked_senders=blocked, risky_user=risky, risk_detections=detections,
                oauth_grants=grants, service_principals=principals, mailbox_owner=upn, now=now))
        # tenant-scoped findings are reported once, by the tenant pass, never once per mailbox
        findings = [(u, f) for u, f in await self.checker.run(bundles, self.listed) if f.scope != "tenant"]
        return _ChunkResult(index=chunk.index, size=len(chunk.mailboxes), evidence=evidence, findings=findings,
                            not_collected=missing, incomplete=incomplete, requests=sent)

    # -- writing ---------------------------------------------------------------------------------------

    def _finding(self, upn: str | None, f: Finding, evidence_ids: Mapping[str, int]) -> NewFinding:
        # a bundle field's evidence, under the kind the sweep stored it as
        by_field = {k: [evidence_ids[STORED_AS.get(k, k)]] for k in evidence_of(f.artifact.type)
                    if STORED_AS.get(k, k) in evidence_ids}
        return new_finding(f, upn, by_field, extra={"tenant": self.target})

    def write(self, results: Sequence[_ChunkResult], done: set[int], state: JSON) -> None:
        """One transaction: the results' evidence, findings, not-collected records, and the checkpoint
        (one multi-row insert each, whatever the number of results)."""
        store = self.store
        with store.transaction():
            ids = iter(store.add_evidence_many(self.case_id, (e for r in results for e in r.evidence)))
            findings: list[NewFinding] = []
            for r in results:
                by_kind = dict(self.tenant_evidence)
                by_kind.update({e.kind: next(ids) for e in r.evidence})
                findings.extend(self._finding(u, f, by_kind) for u, f in r.findings)
                done.add(r.index)
            store.add_findings(self.case_id, findings)
            for r in results:
                for kind, reason, upn in r.not_collected:
                    store.record_not_collected(self.case_id, kind, reason, subject=upn)
            prefix = state.get("prefix", 0)
            while prefix in done:
                done.discard(prefix)
                prefix += 1
            state["prefix"] = prefix
            state["done"] = sorted(done)
            state["mailboxes"] = state.get("mailboxes", 0) + sum(r.size for r in results)
            store.put_checkpoint(self.case_id, self.target, cursor=str(prefix), mailboxes_done=state["mailboxes"],
                                 state=state)

    def _store_tenant(self, state: JSON) -> None:
        """The tenant-wide lists as evidence; on the first run also the tenant's findings."""
        with self.store.transaction():
            ids = self.store.add_evidence_many(self.case_id, self.tenant.read.evidence)
            self.tenant_evidence = {e.kind: i for e, i in zip(self.tenant.read.evidence, ids, strict=True)}
            if not state.get("tenantChecked"):
                for kind, reason in sorted(self.tenant.read.missing.items()):
                    self.store.record_not_collected(self.case_id, kind, reason, subject=self.target)
                self.store.add_findings(self.case_id, (self._finding(None, f, self.tenant_evidence)
                                                       for f in _tenant_findings(self.tenant, self.target)))
                state["tenantChecked"] = True
                self.store.put_checkpoint(self.case_id, self.target, cursor=str(state.get("prefix", 0)),
                                          mailboxes_done=int(state.get("mailboxes", 0)), state=state)

    # -- the run ---------------------------------------------------------------------------------------

    async def run(self) -> TenantSweep:
        started = time.perf_counter()
        summary = self.summary
        checkpoint = self.store.get_checkpoint(self.case_id, self.target)
        state: JSON = dict(checkpoint.state) if checkpoint is not None else {}
        if state.get("deep", self.options.deep) != self.options.deep:
            state = {**state, "deep": self.options.deep}
        state["deep"] = self.options.deep
        skip = set(range(int(state.get("prefix", 0)))) | {int(i) for i in state.get("done", [])}
        done: set[int] = {int(i) for i in state.get("done", [])}
        summary.resumed = int(state.get("mailboxes", 0))
        if summary.resumed:
            self.progress.advanced(self.target, summary.resumed)

        async def tenant_wide() -> None:
            self.tenant = await _read_tenant(self.conn, self.options)
            summary.requests += self.tenant.read.requests
            summary.not_collected = dict(self.tenant.read.missing)
            await asyncio.to_thread(self._store_tenant, state)
            self.tenant_ready.set()

        workers = max(1, self.options.workers)
        # Up to two pages of Get-Mailbox wait for the workers, so the next page is read while the current one
        # is checked (pages come one after the other: a listing that waited for the checks would add its
        # round trips to theirs).
        ahead = max(workers * 2, 2 * self.conn.exchange.page_size // CHUNK)
        chunks: asyncio.Queue[_Chunk | None] = asyncio.Queue(maxsize=ahead)
        # Reading and checking are separate stages: a reader hands its chunk over and reads the next one,
        # instead of holding one of the requests in flight while the checks run (they run one chunk at a time
        # when they are in the helper process; two checkers keep it busy while the next chunk is sent over).
        reads: asyncio.Queue[_Read | None] = asyncio.Queue(maxsize=workers * 2)
        results: asyncio.Queue[_ChunkResult | None] = asyncio.Queue(maxsize=workers * 4)
        checkers = 2

        async def produce() -> None:
            listed = 0
            pending: list[JSON] = []
            index = 0
            try:
                async for item in self.conn.exchange.iter_invoke("Get-Mailbox", {"ResultSize": "Unlimited"}):
                    listed += 1
                    self.listed = listed
                    pending.append(item)
                    if listed % 200 == 0:
                        self.progress.listed(self.target, listed, False)
                    if len(pending) == CHUNK:
                        if index not in skip:
                            await chunks.put(_Chunk(index, pending))
                        index += 1
                        pending = []
                if pending and index not in skip:
                    await chunks.put(_Chunk(index, pending))
            finally:
                summary.mailboxes = listed
                summary.requests += max(1, (listed + self.conn.exchange.page_size - 1) // self.conn.exchange.page_size)
                self.progress.listed(self.target, listed, True)
                for _ in range(workers):
                    await chunks.put(None)

        async def work() -> None:
            while (chunk := await chunks.get()) is not None:
                await reads.put(await self.read(chunk))

        async def read_all() -> None:
            await gather_or_cancel(produce(), *(work() for _ in range(workers)))
            for _ in range(checkers):
                await reads.put(None)

        async def check() -> None:
            while (read := await reads.get()) is not None:
                await results.put(await self.check(read))

        async def write() -> None:
            loop_done = False
            loop = asyncio.get_running_loop()
            last = -self.options.write_interval
            while not loop_done:
                item = await results.get()
                if item is None:
                    return
                group = [item]
                # results that come within the interval since the last commit join this one (up to a group)
                due = last + self.options.write_interval
                while len(group) < self.options.write_group:
                    if results.empty():
                        if loop.time() >= due:
                            break
                        try:
                            nxt = await asyncio.wait_for(results.get(), max(0.0, due - loop.time()))
                        except TimeoutError:
                            break
                    else:
                        nxt = results.get_nowait()
                    if nxt is None:
                        loop_done = True
                        break
                    group.append(nxt)
                last = loop.time()
                await asyncio.to_thread(self.write, group, done, state)
                for r in group:
                    summary.checked += r.size
                    summary.incomplete += r.incomplete
                    summary.requests += r.requests
                    self.progress.advanced(self.target, r.size)

        writer = asyncio.ensure_future(write())
        try:
            await gather_or_cancel(tenant_wide(), read_all(), *(check() for _ in range(checkers)))
            await results.put(None)
            await writer
        except BaseException:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer
            raise
        finally:
            summary.seconds = time.perf_counter() - started
        return summary


# -- the sweep --------------------------------------------------------------------------------------------


async def sweep(targets: Sequence[SweepTarget], store: Store, *, options: SweepOptions | None = None,
                progress: SweepProgress | None = None, resume: str | None = None,
                connect: Connect | None = None) -> SweepResult:
    """Sweep every target tenant concurrently (each with its own connection and limits) into one case.

    ``resume``: a sweep case to continue from its checkpoints. A tenant that fails (cannot connect,
    throttled beyond the retry budget) is reported as such; the others go on.
    """
    options = options or SweepOptions()
    progress = progress or NoProgress()
    connect = connect or (lambda settings: Connection.open(settings))
    selected, not_in_sweep = selected_checks(options.deep)
    keys = [t.key for t in targets]
    if resume is not None:
        case = store.get_case(resume)
        if case.kind != "sweep":
            raise _bad(f"case {resume} is {article(case.kind)} {case.kind} case, not a sweep")
        previous = case.summary.get("tenants") or []
        if sorted(previous) != sorted(keys):
            raise _bad(f"case {resume} swept {', '.join(previous) or 'no tenant'}, not {', '.join(keys)}",
                       hint="resume with the same --tenant / --endpoint as the first run")
        if bool(case.summary.get("deep")) != options.deep:
            raise _bad(f"case {resume} was a {'deep' if case.summary.get('deep') else 'standard'} sweep",
                       hint="resume with the same --deep setting")
        case_id = case.id
        store.set_status(case_id, "open")
    else:
        subject = keys[0] if len(keys) == 1 else f"{len(keys)} tenants"
        case_id = store.create_case("sweep", subject, tenant=",".join(keys),
                                    summary={"tenants": keys, "deep": options.deep}).id
    progress.started(case_id, resume is not None)
    started = time.perf_counter()

    async def one(target: SweepTarget) -> TenantSweep:
        summary = TenantSweep(tenant=target.key)
        settings = target.settings
        # The sweep's own bound is its workers: let the connection start there (it still halves on a 429)
        # instead of creeping up from its default one success at a time, and stay there: more requests in
        # flight than that only queue (a chunk's folder envelopes follow its rules), and every connection
        # more costs client CPU (httpx scans its whole pool for every queued request).
        wanted = min(settings.max_concurrency, max(settings.initial_concurrency, options.workers))
        try:
            async with connect(settings.with_options(initial_concurrency=wanted, max_concurrency=wanted)) as conn:
                sweeper = _TenantSweeper(conn, store, case_id, target.key, options, progress, selected, checker)
                summary = sweeper.summary
                return await sweeper.run()
        except Throttled as exc:
            summary.status, summary.error = "interrupted", exc.one_line()
        except M365Error as exc:
            summary.status, summary.error = "failed", exc.one_line()
        return summary

    checker = _Checker(options.deep, options.checks_in_process, options.checks_in_process_from)
    try:
        tenants = list(await asyncio.gather(*(one(t) for t in targets)))
    except (asyncio.CancelledError, KeyboardInterrupt):
        store.set_status(case_id, "interrupted")
        raise
    finally:
        await checker.close()
    result = SweepResult(case_id=case_id, deep=options.deep, tenants=tenants, flagged=flagged(store, case_id),
                         not_in_sweep=not_in_sweep, seconds=time.perf_counter() - started)
    verdict = "compromised" if any(RANK[f.worst] >= RANK["high"] for f in result.flagged) else \
        ("suspicious" if result.flagged else "clean")
    status = {"complete": "complete", "interrupted": "interrupted", "failed": "failed"}[result.status]
    summary = {**result.to_json(), "tenants": keys, "tenantResults": [t.to_json() for t in tenants],
               "flagged": len(result.flagged)}
    summary.pop("notInSweep", None)
    summary["notInSweep"] = not_in_sweep
    store.set_verdict(case_id, verdict if result.status == "complete" else None, summary=summary)
    store.set_status(case_id, status)
    return result


def flagged(store: Store, case_id: str) -> list[FlaggedMailbox]:
    """Mailboxes with findings of medium or more, from the store (so a resumed sweep reports them all)."""
    by_user: dict[tuple[str, str], list[FlaggedFinding]] = {}
    for f in store.findings(case_id, min_severity="medium"):
        tenant = str(f.evidence.get("tenant") or "")
        by_user.setdefault((tenant, f.user or f"(tenant {tenant})"), []).append(
            FlaggedFinding(f.check_id, f.severity, f.title, f.artifact_type, f.artifact_id))
    out = [FlaggedMailbox(tenant=t, user=u, worst=max((x.severity for x in fs), key=lambda s: RANK[s]),
                          findings=tuple(fs)) for (t, u), fs in by_user.items()]
    out.sort(key=lambda m: (-RANK[m.worst], m.tenant, m.user))
    assert all(RANK[m.worst] >= FLAG_RANK for m in out)
    return out


def _bad(message: str, hint: str | None = None) -> Exception:
    from reclaim.errors import BadInput

    return BadInput(message, hint=hint)


__all__ = ["CHUNK", "COLLECTS", "DEEP_COLLECTS", "SweepTarget", "flagged", "selected_checks", "sweep", "tenant_checks"]
