"""``reclaim analyze logs``: read exports, run the checks per user, attribute the attacker's sessions.

1. :func:`load`: every file (folders walked, zip files opened) recognised by content and read into DuckDB
   (:mod:`reclaim.logs.engine`); a file given by name that is not a known export is an error, one of another
   format inside a folder or zip is skipped and listed.
2. The records the checks read (the audit operations they judge, sign-ins, directory changes) are taken out of
   DuckDB, put in the checks' shape (:mod:`reclaim.logs.canonical`), and each user's evidence runs through the
   same checks as ``investigate`` (:func:`reclaim.detect.engine.analyze`).
3. The attacker's sessions come from the findings' indicators; every record of them (any workload) is asked
   of DuckDB and attributed (:mod:`reclaim.detect.attribution`).
"""

from __future__ import annotations

import hashlib
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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

def _pull(db: LogDB) -> dict[str, tuple[str, dict[str, Any]]]:
    """The records the checks read: id → (kind, record in the checks' shape), duplicates once."""
    ops = sorted(READ_OPERATIONS)
    marks = ", ".join("?" for _ in ops)
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    sql = (f"SELECT fmt, kind, id, raw FROM recs WHERE kind <> 'auditRecord' OR lower(op) IN ({marks}) "
           "ORDER BY t NULLS LAST")
    for fmt, kind, rid, raw in db.stream(sql, ops):
        record = convert(Format(fmt), raw, rid)
        if record is None:
            continue
        key = rid or "sha256:" + hashlib.sha256(raw.encode()).hexdigest()[:32]
        if key not in out:
            out[key] = (kind, {**record, ("Id" if kind == "auditRecord" else "id"): key})
    return out


def _targets(audit: Mapping[str, Any]) -> set[str]:
    found = {text(audit, "userPrincipalName")}
    for t in mappings(items(audit, "targetResources")):
        found.add(text(t, "userPrincipalName"))
    user = (audit.get("initiatedBy") or {}).get("user") if isinstance(audit.get("initiatedBy"), dict) else None
    if isinstance(user, Mapping):
        found.add(text(user, "userPrincipalName"))
    return {f.casefold() for f in found if f}


def bundles(pulled: Mapping[str, tuple[str, dict[str, Any]]], domains: Sequence[str],
            span: tuple[datetime | None, datetime | None]) -> dict[str, EvidenceBundle]:
    """One evidence bundle per user from the pulled records."""
    audit: dict[str, list[dict[str, Any]]] = defaultdict(list)
    tenant_audit: list[dict[str, Any]] = []
    sign_ins: dict[str, list[dict[str, Any]]] = defaultdict(list)
    failures_by_ip: dict[str, list[dict[str, Any]]] = defaultdict(list)
    dir_audits: dict[str, list[dict[str, Any]]] = defaultdict(list)
    tenant_dir: list[dict[str, Any]] = []
    tenant_ops = {o.casefold() for o in TENANT_AUDIT_OPERATIONS}
    tenant_acts = {a.casefold().rstrip(".") for a in TENANT_DIRECTORY_ACTIVITIES}
    for kind, record in pulled.values():
        if kind == "auditRecord":
            user = (text(record, "UserId") or "").casefold()
            op = (text(record, "Operation") or "").casefold()
            if op in LOGIN_OPERATIONS:
                record = login_as_sign_in(record)
                kind = "signIn"
            else:
                if user:
                    audit[user].append(record)
                if op in tenant_ops:
                    tenant_audit.append(record)
                continue
        if kind == "signIn":
            user = (text(record, "userPrincipalName") or "").casefold()
            if user:
                sign_ins[user].append(record)
            code = (record.get("status") or {}).get("errorCode") if isinstance(record.get("status"), dict) else 0
            if code not in (0, "0", None) and (ip := text(record, "ipAddress")):
                failures_by_ip[ip].append(record)
        else:
            for user in _targets(record):
                dir_audits[user].append(record)
            if (text(record, "activityDisplayName") or "").casefold().rstrip(".") in tenant_acts:
                tenant_dir.append(record)
    accepted: list[str] | NotCollected = list(domains) if domains else NotCollected(
        "no --domain given: the tenant's accepted domains are not in audit exports")
    now = span[1] or datetime.now(UTC)
    out: dict[str, EvidenceBundle] = {}
    for user in sorted(set(audit) | set(sign_ins) | set(dir_audits)):
        if "@" not in user:
            continue
        own = sign_ins.get(user, [])
        ips = {text(s, "ipAddress") for s in own}
        others = [f for ip in ips if ip for f in failures_by_ip.get(ip, []) if f not in own]
        out[user] = EvidenceBundle(
            audit_records=audit.get(user, []), tenant_audit_records=tenant_audit,
            sign_ins=own + others if (own or others) else NotCollected("no sign-in of this user in the logs"),
            directory_audits=dir_audits.get(user, []), tenant_directory_audits=tenant_dir,
            accepted_domains=accepted, mailbox_owner=user, now=now, window=Window(span[0], now))
    return out


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


def attribute(db: LogDB, findings: Sequence[tuple[str, Finding]],
              pulled: Mapping[str, tuple[str, dict[str, Any]]]) -> dict[str, attribution.Touched]:
    """Per user: what the attacker's sessions touched (every record of them, any workload)."""
    records = {k: v[1] for k, v in pulled.items()}
    by_user: dict[str, list[Finding]] = defaultdict(list)
    for user, f in findings:
        by_user[user].append(f)
    out: dict[str, attribution.Touched] = {}
    for user, fs in by_user.items():
        sessions = attribution.indicators(fs, records)
        if not sessions:
            continue
        rows = _session_rows(db, user, sessions)
        # the sessions seen from the attacker's addresses are the attacker's too (one step)
        more = {s for _, _, _, _, session, aad in rows for s in (session, aad) if s} - sessions.session_ids
        if more:
            sessions = attribution.Sessions(sessions.ips, sessions.session_ids | frozenset(more), sessions.user_agents)
            rows = _session_rows(db, user, sessions)
        converted = [record for fmt, _, rid, raw, _, _ in rows if (record := convert(Format(fmt), raw, rid))]
        touched = attribution.summarise(converted, sessions)
        if touched:
            out[user] = touched
    return out


def _session_rows(db: LogDB, user: str, sessions: attribution.Sessions) -> list[tuple[Any, ...]]:
    ips, sids = sorted(sessions.ips) or [""], sorted(sessions.session_ids) or [""]
    sql = (f"SELECT DISTINCT ON (id) fmt, kind, id, raw, session, aad FROM recs WHERE usr = ? AND ("
           f"ip IN ({', '.join('?' for _ in ips)}) OR session IN ({', '.join('?' for _ in sids)}) "
           f"OR aad IN ({', '.join('?' for _ in sids)}))")
    return db.query(sql, [user, *ips, *sids, *sids])


def run(paths: Sequence[Path], *, domains: Sequence[str] = (), progress: Progress | None = None,
        threads: int | None = None) -> LogAnalysis:
    """Read, check and attribute; nothing is stored (see :mod:`reclaim.logs.case`)."""
    with ExitStack() as stack:
        db = stack.enter_context(LogDB(threads=threads))
        files = load(paths, db, stack, progress)
        total_row = db.query("SELECT count(DISTINCT coalesce(id, md5(raw))), min(t), max(t) FROM recs")[0]
        span = (_aware(total_row[1]), _aware(total_row[2]))
        pulled = _pull(db)
        analyses: list[Analysis] = []
        tenant_seen: set[tuple[str, str]] = set()
        for _user, bundle in bundles(pulled, domains, span).items():
            a = analyze(bundle)
            fixed = []
            for f in a.findings:
                key = (f.check, f.artifact.id)
                if f.scope == "tenant":  # a tenant-wide change is one finding, not one per user it concerns
                    if key in tenant_seen:
                        continue
                    tenant_seen.add(key)
                fixed.append(with_records(f, pulled))
            analyses.append(replace(a, findings=tuple(fixed)))
        touched = attribute(db, [(a.user, f) for a in analyses for f in a.findings], pulled)
        for i, a in enumerate(analyses):
            if a.user in touched:
                analyses[i] = replace(a, findings=a.findings + tuple(attribution.findings(touched[a.user], a.user)))
        return LogAnalysis(files=files, records=int(total_row[0]), analyses=analyses, touched=touched,
                           records_by_id=dict(pulled), span=span, domains=tuple(domains))


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


def iter_records(result: LogAnalysis) -> Iterable[tuple[str, dict[str, Any]]]:
    return result.records_by_id.values()


__all__ = ["READ_OPERATIONS", "FileResult", "LogAnalysis", "bundles", "document", "load", "run", "with_records"]
