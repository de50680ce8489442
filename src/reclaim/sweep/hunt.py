"""Blast radius: take a case's indicators (or ones given by hand) and find them across the tenant.

Indicators (:class:`Indicators`), from a stored investigation (:func:`indicators_from_case`: the
findings' evidence of medium severity or more, and the case's evidence payloads) or from
``--ioc kind:value`` (:func:`parse_iocs`):

- ``ip``: attacker IPs → other users' sign-ins from them (``/auditLogs/signIns?$filter=ipAddress eq``);
- ``address`` / ``domain``: forwarding and redirect destinations → mailboxes forwarding there
  (``Get-Mailbox`` pages) and inbox rules forwarding or redirecting there (``$batch``); several users
  sending mail to one destination is a campaign;
- ``rule``: rule names and keyword sets → look-alike inbox rules;
- ``app``: OAuth application ids → the same app consented by other users;
- ``subject``: phishing subjects sent from the account → internal recipients in the message trace.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from reclaim.aio import gather_or_cancel
from reclaim.collect.collection import reason_for
from reclaim.detect.correlate import normalise_ip
from reclaim.detect.registry import meta_of
from reclaim.errors import BadInput
from reclaim.m365 import AuthenticationFailed, BatchRequest, Connection, M365Error, Unreachable
from reclaim.store import NewEvidence, NewFinding, Store
from reclaim.text import article

JSON = dict[str, Any]

IOC_KINDS = ("ip", "address", "domain", "app", "rule", "subject")
_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_FORWARD_KEYS = ("forwardto", "redirectto", "forwardasattachmentto")
#: Keywords a look-alike rule must share with an indicator's keyword set.
MIN_SHARED_KEYWORDS = 2
TRACE_SLICE = timedelta(days=10)
TRACE_MAX_AGE = timedelta(days=90)


@dataclass(frozen=True)
class Indicators:
    ips: frozenset[str] = frozenset()
    addresses: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()
    rule_names: frozenset[str] = frozenset()
    keyword_sets: tuple[frozenset[str], ...] = ()
    app_ids: frozenset[str] = frozenset()
    subjects: frozenset[str] = frozenset()
    #: the compromised account the indicators come from (excluded from the hits), if known
    source: str | None = None
    source_case: str | None = None
    since: datetime | None = None

    def merged(self, other: Indicators) -> Indicators:
        """Both sets of indicators (the source and window of ``self``)."""
        return Indicators(ips=self.ips | other.ips, addresses=self.addresses | other.addresses,
                          domains=self.domains | other.domains, rule_names=self.rule_names | other.rule_names,
                          keyword_sets=self.keyword_sets + other.keyword_sets, app_ids=self.app_ids | other.app_ids,
                          subjects=self.subjects | other.subjects, source=self.source,
                          source_case=self.source_case, since=self.since)

    def empty(self) -> bool:
        return not (self.ips or self.addresses or self.domains or self.rule_names or self.keyword_sets
                    or self.app_ids or self.subjects)

    def to_json(self) -> JSON:
        return {"ips": sorted(self.ips), "addresses": sorted(self.addresses), "domains": sorted(self.domains),
                "ruleNames": sorted(self.rule_names), "keywordSets": [sorted(k) for k in self.keyword_sets],
                "appIds": sorted(self.app_ids), "subjects": sorted(self.subjects), "source": self.source,
                "sourceCase": self.source_case}


def parse_iocs(values: Sequence[str], *, since: datetime | None = None) -> Indicators:
    """``ip:192.0.2.7``, ``address:x@evil.example``, ``domain:evil.example``, ``app:<appId>``,
    ``rule:<name>``, ``subject:<text>``."""
    found: dict[str, set[str]] = {k: set() for k in IOC_KINDS}
    for raw in values:
        kind, sep, value = raw.partition(":")
        kind, value = kind.strip().lower(), value.strip()
        if not sep or kind not in found or not value:
            raise BadInput(f"--ioc {raw!r} is not KIND:VALUE", hint=f"KIND is one of {', '.join(IOC_KINDS)}, "
                                                                     "e.g. ip:192.0.2.7 or address:x@evil.example")
        if kind == "ip":
            value = normalise_ip(value) or value
            try:  # a typo would hunt for nothing and report "no one else is hit"
                value = str(ipaddress.ip_address(value))
            except ValueError:
                raise BadInput(f"--ioc {raw!r}: {value!r} is not an IP address") from None
        elif kind == "address":
            if not _EMAIL.fullmatch(value):
                raise BadInput(f"--ioc {raw!r}: {value!r} is not an e-mail address")
            value = value.lower()
        elif kind == "domain":
            value = value.lower().lstrip("@")
        found[kind].add(value)
    domains = found["domain"] | {a.rsplit("@", 1)[1] for a in found["address"]}
    return Indicators(ips=frozenset(found["ip"]), addresses=frozenset(found["address"]), domains=frozenset(domains),
                      rule_names=frozenset(found["rule"]), app_ids=frozenset(found["app"]),
                      subjects=frozenset(found["subject"]), since=since)


# -- indicators from a case ------------------------------------------------------------------------------


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


def _forward_targets(actions: Any) -> set[str]:
    out: set[str] = set()
    if not isinstance(actions, Mapping):
        return out
    for key, value in actions.items():
        if str(key).replace("_", "").lower() in _FORWARD_KEYS:
            for text in _strings(value):
                out.update(a.lower() for a in _EMAIL.findall(text))
    return out


def _keywords(conditions: Any) -> frozenset[str]:
    words: set[str] = set()
    if isinstance(conditions, Mapping):
        for key, value in conditions.items():
            if "contains" in str(key).lower():
                words.update(w.strip().lower() for w in _strings(value) if w.strip())
    return frozenset(words)


def indicators_from_case(store: Store, case_id: str) -> Indicators:
    """The indicators of a stored investigation: what its findings of medium or more point at."""
    case = store.get_case(case_id)
    if case.kind != "investigate":
        raise BadInput(f"case {case_id} is {article(case.kind)} {case.kind} case",
                       hint="hunt from an investigation case")
    tenant_domains: set[str] = set()
    trace: list[JSON] = []
    for info in store.evidence(case_id):
        if info.kind in ("accepted_domains", "message_trace"):
            payload = store.get_evidence(info.id).json()
            if info.kind == "accepted_domains" and isinstance(payload, list):
                tenant_domains.update(str(d).lower() for d in payload)
            elif isinstance(payload, list):
                trace.extend(p for p in payload if isinstance(p, dict))
    ips: set[str] = set()
    addresses: set[str] = set()
    names: set[str] = set()
    keyword_sets: set[frozenset[str]] = set()
    apps: set[str] = set()
    subjects: set[str] = set()
    for f in store.findings(case_id, min_severity="medium"):
        if f.kind != "compromise":
            continue
        e = f.evidence
        for key in ("ipAddress", "setFromIP", "clientIP"):
            if (ip := normalise_ip(str(e.get(key) or ""))) is not None:
                ips.add(ip)
        ips.update(ip for x in e.get("fromIPs") or [] if (ip := normalise_ip(str(x))))
        for event in e.get("auditEvents") or []:
            if isinstance(event, Mapping) and (ip := normalise_ip(str(event.get("clientIP") or ""))):
                ips.add(ip)
        for d in e.get("detections") or []:
            if isinstance(d, Mapping) and (ip := normalise_ip(str(d.get("ip") or ""))):
                ips.add(ip)
        try:
            declared = meta_of(f.check_id).indicators
        except KeyError:  # a finding of a check this version no longer has
            declared = ()
        for kind, key in declared:
            value = e.get(key)
            if value in (None, "", [], {}):
                continue
            if kind == "address":
                addresses.update(a.lower() for text in _strings(value) for a in _EMAIL.findall(text))
            elif kind == "rule":
                names.add(str(value))
            elif kind == "keywords" and (words := _keywords(value)):
                keyword_sets.add(words)
            elif kind == "app":
                apps.add(str(value))
            elif kind == "subject":
                subjects.update(_strings(value))
            elif kind == "ip":
                ips.update(ip for text in _strings(value) if (ip := normalise_ip(text)))
    external = {a for a in addresses if a.rsplit("@", 1)[1] not in tenant_domains}
    return Indicators(ips=frozenset(ips), addresses=frozenset(external),
                      domains=frozenset(a.rsplit("@", 1)[1] for a in external), rule_names=frozenset(names),
                      keyword_sets=tuple(sorted(keyword_sets, key=sorted)), app_ids=frozenset(apps),
                      subjects=frozenset(subjects), source=case.subject, source_case=case.id, since=case.since)


# -- hunting ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """One user matched by one indicator."""

    user: str
    indicator: str  # ip | address | domain | rule | app | subject
    value: str
    what: str  # signIn | mailboxForwarding | inboxRule | oauth2PermissionGrant | messageTrace
    severity: str
    title: str
    detail: JSON = field(default_factory=dict)

    def to_json(self) -> JSON:
        return {"user": self.user, "indicator": self.indicator, "value": self.value, "artifact": self.what,
                "severity": self.severity, "title": self.title, "detail": self.detail}


@dataclass
class HuntResult:
    case_id: str
    indicators: Indicators
    hits: list[Hit]
    #: forwarding destinations reached by several users (a campaign indicator): destination -> users
    campaigns: dict[str, list[str]]
    not_collected: dict[str, str]
    requests: int = 0
    seconds: float = 0.0

    def users(self) -> dict[str, list[Hit]]:
        out: dict[str, list[Hit]] = {}
        for h in self.hits:
            out.setdefault(h.user, []).append(h)
        return out

    def to_json(self) -> JSON:
        users = [{"user": u, "worst": _worst(hs),
                  "hits": [h.to_json() for h in hs]} for u, hs in sorted(self.users().items())]
        return {"case": self.case_id, "kind": "hunt", "indicators": self.indicators.to_json(), "users": users,
                "campaigns": [{"destination": d, "users": us} for d, us in sorted(self.campaigns.items())],
                "notCollected": [{"kind": k, "reason": v} for k, v in sorted(self.not_collected.items())],
                "requests": self.requests, "seconds": round(self.seconds, 3)}


def _object_id(mailbox: Mapping[str, Any]) -> str:
    return str(mailbox.get("ExternalDirectoryObjectId") or mailbox.get("UserPrincipalName"))


def _worst(hits: Sequence[Hit]) -> str:
    rank = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
    return max((h.severity for h in hits), key=lambda s: rank[s])


class _Hunter:
    def __init__(self, conn: Connection, ind: Indicators, since: datetime, until: datetime) -> None:
        self.conn = conn
        self.ind = ind
        self.since = since
        self.until = until
        self.hits: list[Hit] = []
        self.missing: dict[str, str] = {}
        self.evidence: list[NewEvidence] = []
        self.requests = 0
        self.mailboxes: list[JSON] = []
        #: forwarding destination -> users (mailbox forwarding and rules), for campaigns
        self.destinations: dict[str, set[str]] = {}
        self.source = (ind.source or "").lower()

    def _keep(self, kind: str, request: JSON, payload: Any) -> None:
        self.evidence.append(NewEvidence(kind=kind, source="exchange" if "cmdlet" in request else "graph",
                                         request=request, payload=payload, collected_at=datetime.now(UTC)))

    async def _guard(self, kind: str, job: Any) -> None:
        try:
            await job
        except (AuthenticationFailed, Unreachable):
            raise
        except M365Error as exc:
            self.missing[kind] = reason_for(exc)

    def _hit(self, user: str, indicator: str, value: str, what: str, severity: str, title: str,
             **detail: Any) -> None:
        if user.lower() == self.source:
            return
        self.hits.append(Hit(user.lower(), indicator, value, what, severity, title, detail))

    def _matches_destination(self, address: str) -> tuple[str, str] | None:
        a = address.lower()
        if a in self.ind.addresses:
            return "address", a
        domain = a.rsplit("@", 1)[-1]
        if domain in self.ind.domains:
            return "domain", domain
        return None

    async def sign_ins(self) -> None:
        for ip in sorted(self.ind.ips):
            params = {"$filter": f"ipAddress eq '{ip}' and createdDateTime ge {self.since:%Y-%m-%dT%H:%M:%SZ}",
                      "$top": "1000"}
            self.requests += 1
            items = [x async for x in self.conn.graph.paged("/auditLogs/signIns", params)]
            self._keep("sign_ins", {"method": "GET", "url": "/auditLogs/signIns", "params": params}, items)
            by_user: dict[str, list[JSON]] = {}
            for s in items:
                upn = str(s.get("userPrincipalName") or s.get("userId") or "")
                if upn:
                    by_user.setdefault(upn, []).append(s)
            for upn, sign_ins in sorted(by_user.items()):
                ok = [s for s in sign_ins if int((s.get("status") or {}).get("errorCode") or 0) == 0]
                severity = "high" if ok else "medium"
                what = f"{len(ok)} successful" if ok else f"{len(sign_ins)} failed"
                self._hit(upn, "ip", ip, "signIn", severity, f"{what} sign-in(s) from the attacker's IP {ip}",
                          signIns=[s.get("id") for s in sign_ins[:20]], successful=len(ok), total=len(sign_ins))

    async def mailboxes_and_rules(self) -> None:
        """Mailbox forwarding (Get-Mailbox pages) and inbox rules ($batch) of every mailbox."""
        self.requests += 1
        self.mailboxes = [m async for m in self.conn.exchange.iter_invoke("Get-Mailbox", {"ResultSize": "Unlimited"})]
        for m in self.mailboxes:
            upn = str(m.get("UserPrincipalName") or m.get("PrimarySmtpAddress"))
            for key in ("ForwardingSmtpAddress", "ForwardingAddress"):
                for address in _EMAIL.findall(str(m.get(key) or "")):
                    self.destinations.setdefault(address.lower(), set()).add(upn.lower())
                    match = self._matches_destination(address)
                    if match:
                        self._keep("mailbox", {"cmdlet": "Get-Mailbox", "identity": upn}, m)
                        self._hit(upn, match[0], match[1], "mailboxForwarding", "high",
                                  f"the mailbox forwards all mail to {address.lower()}",
                                  deliverToMailboxAndForward=bool(m.get("DeliverToMailboxAndForward")))
        if not (self.ind.addresses or self.ind.domains or self.ind.rule_names or self.ind.keyword_sets):
            return
        chunks = [self.mailboxes[i:i + 20] for i in range(0, len(self.mailboxes), 20)]
        slots = asyncio.Semaphore(16)

        async def one(chunk: list[JSON]) -> None:
            async with slots:
                self.requests += 1
                results = await self.conn.graph.batch([BatchRequest(
                    "GET", f"/users/{quote(_object_id(m), safe='@')}/mailFolders/inbox/messageRules",
                    mailbox=str(m.get("UserPrincipalName")), collection=True) for m in chunk])
            for m, r in zip(chunk, results, strict=True):
                upn = str(m.get("UserPrincipalName"))
                if r.error is not None:
                    self.missing.setdefault("graph_rules", f"{upn}: {reason_for(r.error)}")
                    continue
                for rule in (r.body or {}).get("value", []) if isinstance(r.body, dict) else []:
                    self._rule(upn, rule)

        await gather_or_cancel(*(one(c) for c in chunks))

    def _rule(self, upn: str, rule: JSON) -> None:
        name = str(rule.get("displayName") or "")
        kept = False
        for address in sorted(_forward_targets(rule.get("actions"))):
            self.destinations.setdefault(address, set()).add(upn.lower())
            match = self._matches_destination(address)
            if match:
                kept = True
                self._hit(upn, match[0], match[1], "inboxRule", "high",
                          f'inbox rule "{name}" forwards or redirects mail to {address}', rule=rule.get("id"),
                          name=name)
        words = _keywords(rule.get("conditions"))
        shared = max((len(words & k) for k in self.ind.keyword_sets), default=0)
        same_name = name in self.ind.rule_names
        if shared >= MIN_SHARED_KEYWORDS or (same_name and shared):
            kept = True
            self._hit(upn, "rule", name, "inboxRule", "medium",
                      f'inbox rule "{name}" looks like the attacker\'s (same name or {shared} shared keywords)',
                      rule=rule.get("id"), name=name, sharedKeywords=shared, sameName=same_name)
        if kept:
            self._keep("graph_rules", {"method": "GET", "url": f"/users/{upn}/mailFolders/inbox/messageRules"},
                       rule)

    async def grants(self) -> None:
        for app_id in sorted(self.ind.app_ids):
            params = {"$filter": f"appId eq '{app_id}'"}
            self.requests += 1
            sps = [x async for x in self.conn.graph.paged("/servicePrincipals", params)]
            for sp in sps:
                sp_id = str(sp.get("id"))
                gparams = {"$filter": f"clientId eq '{sp_id}'"}
                self.requests += 1
                grants = [x async for x in self.conn.graph.paged("/oauth2PermissionGrants", gparams)]
                self._keep("oauth_grants", {"method": "GET", "url": "/oauth2PermissionGrants", "params": gparams},
                           grants)
                for g in grants:
                    principal = str(g.get("principalId") or "")
                    user = self._user_of(principal) if principal else "all users (AllPrincipals)"
                    self._hit(user, "app", app_id, "oauth2PermissionGrant", "high",
                              f'the same application "{sp.get("displayName") or app_id}" was consented '
                              f"({g.get('scope')})", grant=g.get("id"), principalId=principal or None)

    def _user_of(self, object_id: str) -> str:
        for m in self.mailboxes:
            if str(m.get("ExternalDirectoryObjectId") or "").lower() == object_id.lower():
                return str(m.get("UserPrincipalName"))
        return object_id

    async def recipients(self) -> None:
        """Internal recipients of the attacker's mail (the phishing subjects), from the message trace."""
        if not self.ind.subjects:
            return
        domains = {str(m.get("PrimarySmtpAddress") or "").rsplit("@", 1)[-1].lower() for m in self.mailboxes}
        domains.discard("")
        start = max(self.since, self.until - TRACE_MAX_AGE + timedelta(minutes=5))
        cursor = start
        wanted = {s.lower() for s in self.ind.subjects}
        while cursor < self.until:
            end = min(cursor + TRACE_SLICE, self.until)
            flt = f"receivedDateTime ge {cursor:%Y-%m-%dT%H:%M:%SZ} and receivedDateTime le {end:%Y-%m-%dT%H:%M:%SZ}"
            if self.ind.source:
                flt = f"senderAddress eq '{self.ind.source}' and " + flt
            params = {"$filter": flt, "$top": "5000"}
            self.requests += 1
            items = [x async for x in self.conn.graph.paged("/admin/exchange/tracing/messageTraces", params)]
            matching = [t for t in items if str(t.get("subject") or "").lower() in wanted]
            if matching:
                self._keep("message_trace", {"method": "GET", "url": "/admin/exchange/tracing/messageTraces",
                                             "params": params}, matching)
            by_recipient: dict[str, list[JSON]] = {}
            for t in matching:
                rcpt = str(t.get("recipientAddress") or "").lower()
                if rcpt.rsplit("@", 1)[-1] in domains:
                    by_recipient.setdefault(rcpt, []).append(t)
            for rcpt, msgs in sorted(by_recipient.items()):
                self._hit(rcpt, "subject", str(msgs[0].get("subject")), "messageTrace", "low",
                          f"received the attacker's mail \"{msgs[0].get('subject')}\" "
                          f"from {msgs[0].get('senderAddress')}", messages=[m.get("id") for m in msgs[:20]])
            cursor = end

    async def run(self) -> None:
        await self._guard("mailboxes", self.mailboxes_and_rules())
        await gather_or_cancel(self._guard("sign_ins", self.sign_ins()), self._guard("oauth_grants", self.grants()),
                               self._guard("message_trace", self.recipients()))


async def hunt(conn: Connection, store: Store, indicators: Indicators, *, since: datetime | None = None,
               until: datetime | None = None) -> HuntResult:
    """Find the indicators across the tenant; store a ``hunt`` case with the evidence and one finding per hit."""
    if indicators.empty():
        raise BadInput("no indicators to hunt for",
                       hint="the case has no findings of medium or more with IPs, addresses, rules or apps; "
                            "give some with --ioc")
    started = time.perf_counter()
    until = until or datetime.now(UTC)
    since = since or indicators.since or until - timedelta(days=30)
    hunter = _Hunter(conn, indicators, since, until)
    await hunter.run()
    campaigns = {d: sorted(us) for d, us in hunter.destinations.items()
                 if len(us | ({hunter.source} if d in indicators.addresses and hunter.source else set())) >= 2
                 and hunter._matches_destination(d) is not None}
    for dest, users in campaigns.items():
        for h in hunter.hits:
            if h.what in ("mailboxForwarding", "inboxRule") and h.indicator in ("address", "domain") \
                    and h.user in users:
                h.detail["campaign"] = dest
    tenant = await conn.tenant_id()
    subject = indicators.source or "indicators"
    with store.transaction():
        case = store.create_case("hunt", subject, tenant=tenant, since=since, until=until,
                                 summary={"indicators": indicators.to_json(), "sourceCase": indicators.source_case})
        ids = store.add_evidence_many(case.id, hunter.evidence)
        for kind, reason in sorted(hunter.missing.items()):
            store.record_not_collected(case.id, kind, reason)
        store.add_findings(case.id, (NewFinding(
            check_id=f"hunt-{h.indicator}", severity=h.severity, title=h.title, kind="compromise",
            artifact_type=h.what, artifact_id=str(h.detail.get("rule") or h.detail.get("grant") or h.value),
            evidence={"indicator": h.indicator, "value": h.value, **json.loads(json.dumps(h.detail, default=str))},
            evidence_ids=tuple(ids), user=h.user) for h in hunter.hits))
        result = HuntResult(case_id=case.id, indicators=indicators, hits=hunter.hits, campaigns=campaigns,
                            not_collected=hunter.missing, requests=hunter.requests,
                            seconds=time.perf_counter() - started)
        verdict = "compromised" if any(h.severity in ("high", "critical") for h in hunter.hits) else \
            ("suspicious" if hunter.hits else "clean")
        store.set_verdict(case.id, verdict, summary={**result.to_json(), "users": len(result.users())})
        store.set_status(case.id, "complete")
    return result


__all__ = ["IOC_KINDS", "Hit", "HuntResult", "Indicators", "hunt", "indicators_from_case", "parse_iocs"]
