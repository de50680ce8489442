"""``reclaim analyze logs``: read exports, run the checks per user, attribute the attacker's sessions.

1. :func:`load`: every file (folders walked, zip files opened) recognised by content and read into DuckDB
   (:mod:`reclaim.logs.engine`); a file given by name that is not a known export is an error, one of another
   format inside a folder or zip is skipped and listed.
2. What every user's evidence shares (tenant-wide changes, directory audits, failed sign-ins by address) is
   read once (:class:`Shared`); then the records the checks read (the audit operations they judge, sign-ins)
   come out of DuckDB one user at a time, in the checks' shape (:mod:`reclaim.logs.canonical`), and each
   user's evidence runs through the same checks as ``investigate`` (:func:`reclaim.detect.engine.analyze`).
3. The attacker's sessions come from that user's findings' indicators; every record of them (any workload) is
   asked of DuckDB and attributed (:mod:`reclaim.detect.attribution`).
4. Each user's analysis, records and attacker activity go to a :class:`Sink` (the case store) at once: memory
   holds one user's records, not the input's.
"""

from __future__ import annotations

import hashlib
import tempfile
import zipfile
from collections import ChainMap, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import duckdb

from reclaim.detect import attribution
from reclaim.detect.engine import Analysis, analyze
from reclaim.detect.evidence import (
    AUDIT_OPERATIONS,
    TENANT_AUDIT_OPERATIONS,
    TENANT_DIRECTORY_ACTIVITIES,
    EvidenceBundle,
    NotCollected,
    Window,
)
from reclaim.detect.fields import items, mappings, text
from reclaim.detect.model import Finding
from reclaim.errors import BadInput
from reclaim.logs.canonical import convert, login_as_sign_in
from reclaim.logs.engine import LogDB
from reclaim.logs.formats import Format, Unrecognised, recognise

#: audit operations the checks read, besides those investigate collects (evidence.AUDIT_OPERATIONS)
READ_OPERATIONS: frozenset[str] = frozenset(op.casefold() for op in (
    *AUDIT_OPERATIONS, *TENANT_AUDIT_OPERATIONS, "Set-CASMailbox", "Add-MailboxFolderPermission",
    "Set-MailboxFolderPermission", "Add-MailboxPermission", "Add-RecipientPermission", "UpdateInboxRules",
    "Consent to application.", "Add delegated permission grant.", "Add app role assignment grant to user.",
    "Add member to role.", "Add eligible member to role.", "Add service principal credentials.",
    "Update application – Certificates and secrets management ", "Update application.",
    "Add application.", "Update user.", "User registered security info.",
    "User registered all required security info.", "User deleted security info.", "Disable Strong Authentication.",
    "Set-MsolUser", "Update StsRefreshTokenValidFrom Timestamp.",
    "Set-OwaMailboxPolicy", "New-ManagementRoleAssignment", "Set-AdminAuditLogConfig", "UserLoggedIn",
    "UserLoginFailed"))
LOGIN_OPERATIONS = frozenset({"userloggedin", "userloginfailed"})
#: (file shown, records read from it, its size in bytes), after each file; skipped files have 0 records
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class FileResult:
    """One input file: its format and record count, or why it was skipped."""

    path: str
    format: str | None
    records: int
    skipped: str | None = None
    sha256: str | None = None
    size: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "format": self.format, "records": self.records, "skipped": self.skipped}


@dataclass
class LogAnalysis:
    files: list[FileResult]
    records: int
    analyses: list[Analysis]
    touched: dict[str, attribution.Touched]
    records_by_id: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    span: tuple[datetime | None, datetime | None] = (None, None)
    domains: tuple[str, ...] = ()

    @property
    def findings(self) -> list[tuple[str, Finding]]:
        return [(a.user, f) for a in self.analyses for f in a.findings]

    def not_checked(self) -> list[dict[str, Any]]:
        """Each check not run, once, with its reason and how many users it was not run for."""
        seen: dict[tuple[str, str], int] = defaultdict(int)
        for a in self.analyses:
            for nc in a.not_checked:
                seen[(nc.check, nc.reason)] += 1
        return [{"check": c, "reason": r, "users": n} for (c, r), n in sorted(seen.items())]


# -- input --------------------------------------------------------------------------------------------

def _walk(path: Path, label: str, stack: ExitStack, explicit: bool) -> Iterator[tuple[Path, str, bool]]:
    """(file on disk, name shown, named explicitly) for a file, a folder (recursively) or a zip file."""
    if path.is_dir():
        for child in sorted(p for p in path.rglob("*") if p.is_file()):
            yield from _walk(child, f"{label}/{child.relative_to(path).as_posix()}", stack, False)
        return
    if not path.exists():
        raise BadInput(f"{label}: no such file or folder")
    if zipfile.is_zipfile(path):
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise BadInput(f"{label}: broken zip file ({exc})") from None
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="reclaim-zip-")))
        with archive:
            for info in archive.infolist():
                name = info.filename
                if info.is_dir() or name.startswith("/") or ".." in Path(name).parts:
                    continue
                target = folder / name
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    with archive.open(info) as src, target.open("wb") as dst:
                        while chunk := src.read(1 << 20):
                            dst.write(chunk)
                except (zipfile.BadZipFile, OSError, EOFError) as exc:
                    raise BadInput(f"{label}!{name}: cannot be extracted ({exc})") from None
                yield from _walk(target, f"{label}!{name}", stack, False)
        return
    yield path, label, explicit


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def load(paths: Sequence[Path], db: LogDB, stack: ExitStack, progress: Progress | None = None) -> list[FileResult]:
    """Read every file into ``db``. Raises :class:`BadInput` naming the first unknown or broken file."""
    results: list[FileResult] = []
    for given in paths:
        for path, label, explicit in _walk(given, str(given), stack, True):
            found = recognise(path)
            size = path.stat().st_size
            if isinstance(found, Unrecognised):
                if explicit or found.broken:
                    raise BadInput(f"{label}: {found.reason}",
                                   hint="give Purview/Search-UnifiedAuditLog CSV, Management Activity API, "
                                        "Sentinel, Graph sign-in/directory audit or CloudAppEvents exports")
                results.append(FileResult(label, None, 0, skipped=found.reason, size=size))
                if progress is not None:
                    progress(label, 0, size)
                continue
            try:
                count = db.add(path, found, label)
            except duckdb.Error as exc:
                first = str(exc).strip().splitlines()[0][:200]
                raise BadInput(f"{label}: broken {found.format.value} export ({first})") from None
            results.append(FileResult(label, found.format.value, count, sha256=_sha256(path), size=size))
            if progress is not None:
                progress(label, count, size)
    if not any(r.format for r in results):
        raise BadInput("no audit, sign-in or directory log export among the files given",
                       hint="skipped: " + "; ".join(f"{r.path}: {r.skipped}" for r in results)[:300])
    return results


# -- analysis -----------------------------------------------------------------------------------------

Pulled = tuple[str, dict[str, Any]]
"""(kind, record in the checks' shape, before sign-in conversion)."""

_READ_SQL = ("(kind = 'signIn' OR (kind = 'auditRecord' AND lower(op) IN ({marks})))")


def _canon(fmt: str, kind: str, rid: str | None, raw: str) -> tuple[str, Pulled] | None:
    """(key, (kind, record)): the record in the checks' shape under its own id (a hash of it when it has none)."""
    record = convert(Format(fmt), raw, rid)
    if record is None:
        return None
    key = rid or "sha256:" + hashlib.sha256(raw.encode()).hexdigest()[:32]
    return key, (kind, {**record, ("Id" if kind == "auditRecord" else "id"): key})


def _pulled(rows: Iterable[tuple[Any, ...]]) -> dict[str, Pulled]:
    """Records (fmt, kind, id, raw) in the checks' shape by key, duplicates once (the first kept)."""
    out: dict[str, Pulled] = {}
    for fmt, kind, rid, raw in rows:
        got = _canon(fmt, kind, rid, raw)
        if got is not None and got[0] not in out:
            out[got[0]] = got[1]
    return out


def _as_sign_in(kind: str, record: dict[str, Any]) -> dict[str, Any] | None:
    """The record as the sign-in checks read it (unified audit logins converted); ``None`` if not a sign-in."""
    if kind == "signIn":
        return record
    if kind == "auditRecord" and (text(record, "Operation") or "").casefold() in LOGIN_OPERATIONS:
        return login_as_sign_in(record)
    return None


def _failed(sign_in: Mapping[str, Any]) -> bool:
    code = (sign_in.get("status") or {}).get("errorCode") if isinstance(sign_in.get("status"), dict) else 0
    return code not in (0, "0", None)


def _targets(audit: Mapping[str, Any]) -> set[str]:
    found = {text(audit, "userPrincipalName")}
    for t in mappings(items(audit, "targetResources")):
        found.add(text(t, "userPrincipalName"))
    user = (audit.get("initiatedBy") or {}).get("user") if isinstance(audit.get("initiatedBy"), dict) else None
    if isinstance(user, Mapping):
        found.add(text(user, "userPrincipalName"))
    return {f.casefold() for f in found if f}


@dataclass
class Shared:
    """What every user's evidence shares, read once: tenant-wide changes, directory audits (by the users they
    concern), failed sign-ins (by address: a spray shows in each sprayed user's bundle). Small next to the input:
    the records of a user come from DuckDB one user at a time."""

    tenant_audit: list[dict[str, Any]] = field(default_factory=list)
    tenant_dir: list[dict[str, Any]] = field(default_factory=list)
    dir_audits: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    failures_by_ip: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    known: dict[str, Pulled] = field(default_factory=dict)
    """Every shared record by key (findings name them; attribution reads them)."""

    @classmethod
    def read(cls, db: LogDB) -> Shared:
        out = cls()
        tenant_ops = sorted(o.casefold() for o in TENANT_AUDIT_OPERATIONS)
        tenant_acts = {a.casefold().rstrip(".") for a in TENANT_DIRECTORY_ACTIVITIES}
        marks = ", ".join("?" for _ in tenant_ops)
        tenant = _pulled(db.stream("SELECT fmt, kind, id, raw FROM recs WHERE kind = 'auditRecord' AND "
                                   f"lower(op) IN ({marks}) ORDER BY t NULLS LAST", tenant_ops))
        for key, (kind, record) in tenant.items():
            if (text(record, "Operation") or "").casefold() in tenant_ops:
                out.tenant_audit.append(record)
                out.known[key] = (kind, record)
        directory = _pulled(db.stream("SELECT fmt, kind, id, raw FROM recs WHERE kind = 'directoryAudit' "
                                      "ORDER BY t NULLS LAST"))
        for key, (kind, record) in directory.items():
            out.known[key] = (kind, record)
            for user in _targets(record):
                out.dir_audits[user].append(record)
            if (text(record, "activityDisplayName") or "").casefold().rstrip(".") in tenant_acts:
                out.tenant_dir.append(record)
        failures = _pulled(db.stream("SELECT fmt, kind, id, raw FROM recs WHERE failed AND (kind = 'signIn' OR "
                                     "(kind = 'auditRecord' AND lower(op) = 'userloginfailed')) "
                                     "ORDER BY t NULLS LAST"))
        for key, (kind, record) in failures.items():
            sign_in = _as_sign_in(kind, record)
            if sign_in is not None and _failed(sign_in) and (ip := text(sign_in, "ipAddress")):
                out.failures_by_ip[ip].append(sign_in)
                out.known[key] = (kind, record)
        return out


def user_records(db: LogDB) -> Iterator[tuple[str, dict[str, Pulled]]]:
    """(user, the user's records the checks read by key, oldest first), one user at a time, users in order:
    DuckDB sorts (spilling beyond its memory limit); Python holds one user's records."""
    ops = sorted(READ_OPERATIONS)
    sql = (f"SELECT usr, fmt, kind, id, raw FROM recs WHERE usr IS NOT NULL AND "
           f"{_READ_SQL.format(marks=', '.join('?' for _ in ops))} ORDER BY usr, t NULLS LAST")
    current: str | None = None
    group: list[tuple[Any, ...]] = []
    for usr, *row in db.stream(sql, ops):
        if usr != current:
            if current is not None:
                yield current, _pulled(group)
            current, group = usr, []
        group.append(tuple(row))
    if current is not None:
        yield current, _pulled(group)


def bundle(user: str, mine: Mapping[str, Pulled], shared: Shared, domains: Sequence[str],
           span: tuple[datetime | None, datetime | None]) -> EvidenceBundle:
    """The evidence bundle of one user: their records, and what every user shares."""
    audit: list[dict[str, Any]] = []
    own: list[dict[str, Any]] = []
    for kind, record in mine.values():
        sign_in = _as_sign_in(kind, record)
        if sign_in is not None:
            own.append(sign_in)
        elif kind == "auditRecord":
            audit.append(record)
    ips = {text(s, "ipAddress") for s in own}
    others = [f for ip in ips if ip for f in shared.failures_by_ip.get(ip, []) if f not in own]
    accepted: list[str] | NotCollected = list(domains) if domains else NotCollected(
        "no --domain given: the tenant's accepted domains are not in audit exports")
    now = span[1] or datetime.now(UTC)
    return EvidenceBundle(
        audit_records=audit, tenant_audit_records=shared.tenant_audit,
        sign_ins=own + others if (own or others) else NotCollected("no sign-in of this user in the logs"),
        directory_audits=shared.dir_audits.get(user, []), tenant_directory_audits=shared.tenant_dir,
        accepted_domains=accepted, mailbox_owner=user, now=now, window=Window(span[0], now))


def _users(db: LogDB, shared: Shared) -> Iterator[tuple[str, dict[str, Pulled]]]:
    """Every user with a record the checks read (their own, or a directory audit about them), in order."""
    dir_only = sorted(set(shared.dir_audits))
    i = 0
    for user, mine in user_records(db):
        while i < len(dir_only) and dir_only[i] < user:
            yield dir_only[i], {}
            i += 1
        if i < len(dir_only) and dir_only[i] == user:
            i += 1
        yield user, mine
    for user in dir_only[i:]:
        yield user, {}


def _record_ids(value: Any, known: Mapping[str, Any]) -> list[str]:
    """Record ids named anywhere in a finding's evidence, in order."""
    out: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, str):
            if v in known and v not in out:
                out.append(v)
        elif isinstance(v, Mapping):
            for x in v.values():
                walk(x)
        elif isinstance(v, list | tuple):
            for x in v:
                walk(x)

    walk(value)
    return out


def with_records(finding: Finding, known: Mapping[str, Any]) -> Finding:
    """The finding with ``evidence.records``: the ids of the records it rests on."""
    ids = _record_ids([finding.artifact.id, dict(finding.evidence)], known)
    if not ids or finding.evidence.get("records") == ids:
        return finding
    return replace(finding, evidence={**finding.evidence, "records": ids})


def attribute_user(db: LogDB, user: str, findings: Sequence[Finding],
                   records: Mapping[str, Mapping[str, Any]]) -> attribution.Touched | None:
    """What the attacker's sessions touched for one user (every record of them, any workload), from the
    findings' indicators (``records``: the records the findings rest on, by id); ``None`` when nothing."""
    sessions = attribution.indicators(findings, records)
    if not sessions:
        return None
    rows = _session_rows(db, user, sessions)
    # the sessions seen from the attacker's addresses are the attacker's too (one step)
    more = {s for _, _, _, _, session, aad in rows for s in (session, aad) if s} - sessions.session_ids
    if more:
        sessions = attribution.Sessions(sessions.ips, sessions.session_ids | frozenset(more), sessions.user_agents)
        rows = _session_rows(db, user, sessions)
    converted = [record for fmt, _, rid, raw, _, _ in rows if (record := convert(Format(fmt), raw, rid))]
    touched = attribution.summarise(converted, sessions)
    return touched or None


def _session_rows(db: LogDB, user: str, sessions: attribution.Sessions) -> list[tuple[Any, ...]]:
    ips, sids = sorted(sessions.ips) or [""], sorted(sessions.session_ids) or [""]
    sql = (f"SELECT DISTINCT ON (id) fmt, kind, id, raw, session, aad FROM recs WHERE usr = ? AND ("
           f"ip IN ({', '.join('?' for _ in ips)}) OR session IN ({', '.join('?' for _ in sids)}) "
           f"OR aad IN ({', '.join('?' for _ in sids)}))")
    return db.query(sql, [user, *ips, *sids, *sids])


class Sink(Protocol):
    """Takes each user's analysis as soon as it is made (the case store), so that none is held for long."""

    def start(self, files: Sequence[FileResult], span: tuple[datetime | None, datetime | None],
              domains: Sequence[str]) -> None: ...

    def user(self, analysis: Analysis, records: Mapping[str, Pulled],
             touched: attribution.Touched | None) -> None: ...


def run(paths: Sequence[Path], *, domains: Sequence[str] = (), progress: Progress | None = None,
        threads: int | None = None, sink: Sink | None = None) -> LogAnalysis:
    """Read, check and attribute, one user at a time. With a ``sink``, each user's analysis and records go to
    it as they are made and the analyses returned carry no timeline (the sink has it)."""
    with ExitStack() as stack:
        db = stack.enter_context(LogDB(threads=threads))
        files = load(paths, db, stack, progress)
        total_row = db.query("SELECT count(DISTINCT coalesce(id, md5(raw))), min(t), max(t) FROM recs")[0]
        span = (_aware(total_row[1]), _aware(total_row[2]))
        if sink is not None:
            sink.start(files, span, tuple(domains))
        shared = Shared.read(db)
        analyses: list[Analysis] = []
        touched: dict[str, attribution.Touched] = {}
        referenced: dict[str, Pulled] = {}
        tenant_seen: set[tuple[str, str]] = set()
        for user, mine in _users(db, shared):
            if "@" not in user:
                continue
            known = ChainMap(mine, shared.known)
            a = analyze(bundle(user, mine, shared, domains, span))
            fixed = []
            for f in a.findings:
                key = (f.check, f.artifact.id)
                if f.scope == "tenant":  # a tenant-wide change is one finding, not one per user it concerns
                    if key in tenant_seen:
                        continue
                    tenant_seen.add(key)
                fixed.append(with_records(f, known))
            refs = {str(rid): known[str(rid)] for f in fixed for rid in f.evidence.get("records") or []
                    if str(rid) in known}
            referenced.update(refs)
            got = attribute_user(db, user, fixed, {k: v[1] for k, v in refs.items()}) if fixed else None
            if got is not None:
                touched[user] = got
                fixed += attribution.findings(got, user)
            a = replace(a, findings=tuple(fixed))
            if sink is not None:
                sink.user(a, mine, got)
                a = replace(a, timeline=())
            analyses.append(a)
        return LogAnalysis(files=files, records=int(total_row[0]), analyses=analyses, touched=touched,
                           records_by_id=referenced, span=span, domains=tuple(domains))


def _aware(value: Any) -> datetime | None:
    return value.replace(tzinfo=UTC) if isinstance(value, datetime) else None


def _artifact(finding: Finding, pulled: Mapping[str, tuple[str, dict[str, Any]]]) -> dict[str, str]:
    """The record the finding is about (its own type and id); the first record it rests on otherwise."""
    if finding.artifact.type in ("auditRecord", "signIn", "directoryAudit"):
        return finding.artifact.to_json()
    for rid in finding.evidence.get("records") or []:
        if rid in pulled:
            return {"type": pulled[rid][0], "id": rid}
    return finding.artifact.to_json()


def document(result: LogAnalysis, case_id: str | None = None) -> dict[str, Any]:
    """The ``analyze logs --json`` document."""
    findings = []
    for user, f in result.findings:
        findings.append({"check": f.check, "severity": f.severity.value, "title": f.title, "user": user,
                         "artifact": _artifact(f, result.records_by_id),
                         "records": list(f.evidence.get("records") or []), "evidence": dict(f.evidence)})
    findings.sort(key=lambda f: (-_RANK[str(f["severity"])], str(f["user"]), str(f["check"])))
    out: dict[str, Any] = {
        "records": result.records, "files": [f.to_json() for f in result.files],
        "users": [{"user": a.user, "verdict": a.verdict.name.value, "because": a.verdict.because}
                  for a in result.analyses],
        "findings": findings, "notChecked": result.not_checked(),
        "touched": {u: t.to_json() for u, t in result.touched.items()},
    }
    if case_id is not None:
        out["case"] = case_id
    return out


_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


__all__ = ["READ_OPERATIONS", "FileResult", "LogAnalysis", "Sink", "bundle", "document", "load", "run", "with_records"]
