"""The case store: cases, immutable evidence, findings, timeline, the hash-chained journal, sweep checkpoints."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import Engine, Table, event, func, insert, select, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from reclaim.store import _engine, _migrate, _seal
from reclaim.store._canonical import GENESIS_HASH, canonical_json, refuse_secrets, sha256_hex
from reclaim.store._schema import (
    IMMUTABLE_ROWS,
    CaseRow,
    EvidenceRow,
    FindingRow,
    JournalRow,
    NotCollectedRow,
    SweepCheckpointRow,
    TimelineRow,
    utc_iso,
)
from reclaim.store.errors import (
    CaseNotFound,
    EvidenceNotFound,
    EvidenceTampered,
    ImmutableRecord,
    JournalConflict,
    StoreError,
    StoreUnavailable,
)
from reclaim.store.models import (
    CASE_KINDS,
    CASE_STATUSES,
    FINDING_KINDS,
    FINDING_SCOPES,
    JOURNAL_STEPS,
    LEGACY_FINDING_KINDS,
    MEDIUM_RANK,
    SEVERITY_RANK,
    VERDICTS,
    Case,
    CaseDetail,
    CaseIntegrity,
    CaseListItem,
    ChainStatus,
    Evidence,
    EvidenceInfo,
    Finding,
    JournalEntry,
    NewEvidence,
    NewFinding,
    NewTimelineEvent,
    NotCollected,
    SweepCheckpoint,
    TimelineEvent,
)

T = TypeVar("T")

DEFAULT_BATCH = 500
_CASE_ID = re.compile(r"^c-(\d{8})-(\d{4,})$")
_CASE_ID_LOCK = 0x72636964  # "rcid": the advisory-lock space of case-id allocation on PostgreSQL


def _now() -> datetime:
    return datetime.now(UTC)


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _one_line(exc: BaseException) -> str:
    message = str(getattr(exc, "orig", None) or exc)
    return " ".join(message.split())[:300]


@dataclass(frozen=True, slots=True)
class _Payload:
    data: bytes
    content_type: str


def _payload(value: bytes | Any, content_type: str | None) -> _Payload:
    """Bytes (or bytearray / memoryview) are kept as received; any other value is stored as canonical JSON."""
    if isinstance(value, bytes | bytearray | memoryview):
        return _Payload(bytes(value), content_type or "application/octet-stream")
    return _Payload(canonical_json(value), content_type or "application/json")


class Store:
    """The case store behind one SQLAlchemy URL (``None``: ``RECLAIM_DB`` or the default SQLite file).

    Every method is its own transaction, unless called inside :meth:`transaction`, which makes everything
    in it one all-or-nothing write. Results are read models (:mod:`reclaim.store.models`), never ORM rows.
    A plain file path is accepted where a URL is. ``create=False`` refuses to create a missing SQLite file
    (for commands that only read).

    One Store may be shared by threads and asyncio tasks: each call opens its own session, and the transaction
    opened by :meth:`transaction` belongs to the thread / task (context) that opened it. The methods are
    synchronous and short; async callers with many writes batch them (``add_evidence_many``) or use
    ``asyncio.to_thread``.
    """

    def __init__(self, url: str | URL | os.PathLike[str] | None = None, *, create: bool = True) -> None:
        explicit = url is not None or bool(os.environ.get(_engine.ENV_VAR))
        self.url: URL = url if isinstance(url, URL) else _engine.resolve_url(url)
        self._path = _engine.sqlite_path(self.url)
        self.location = str(self._path) if self._path is not None else _engine.describe(self.url)
        # A SQLite file reclaim may read but not write (read-only media, a copy handed over for review) is
        # opened read-only: reading works, any write is refused by SQLite as one line.
        self.read_only = self._path is not None and _engine.sqlite_read_only(self._path)
        engine_url = _engine.read_only_sqlite_url(self._path) if self.read_only and self._path else self.url
        # The engine first: a URL whose driver is missing must not leave an empty file behind.
        self._engine: Engine = _engine.make_engine(engine_url, read_only=self.read_only)
        created = self._path is not None and not self._path.exists()
        if self._path is not None and not self.read_only:
            try:
                _engine.prepare_sqlite_file(self._path, create=create, default_location=not explicit)
            except BaseException:
                self._engine.dispose()
                raise
        self._write_engine = self._engine.execution_options(**{_engine.WRITE_OPTION: True})
        self._read_sessions = sessionmaker(bind=self._engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(bind=self._write_engine, expire_on_commit=False)
        for factory in (self._read_sessions, self._write_sessions):
            _refuse_bulk_changes(factory)
        self._current: ContextVar[Session | None] = ContextVar(f"reclaim-store-{id(self)}", default=None)
        try:
            self._init_schema()
        except BaseException:
            self._engine.dispose()
            if created and self._path is not None:
                # nothing half-written: a store that could not be set up leaves no file
                for leftover in (self._path, Path(f"{self._path}-wal"), Path(f"{self._path}-shm")):
                    leftover.unlink(missing_ok=True)
            raise
        if self._path is not None and not self.read_only:
            _engine.tighten_sqlite_files(self._path)

    # -- lifecycle -------------------------------------------------------------------------------------

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.location!r})"

    def _init_schema(self) -> None:
        with self._guard():
            _migrate.ensure_schema(self._engine, self._write_engine, location=self.location,
                                   read_only=self.read_only)

    # -- transactions ----------------------------------------------------------------------------------

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Database errors as one-line StoreErrors (exit 2), never a traceback."""
        try:
            yield
        except IntegrityError as exc:
            message = _one_line(exc)
            if "insert-only" in message:
                raise ImmutableRecord(message) from exc
            raise StoreError(f"the case store refused a write: {message}") from exc
        except DBAPIError as exc:
            raise StoreUnavailable(f"cannot use the case store {self.location}: {_one_line(exc)}",
                                   hint="check --db / RECLAIM_DB and the file's permissions") from exc
        except SQLAlchemyError as exc:
            raise StoreUnavailable(f"case store error ({self.location}): {_one_line(exc)}") from exc

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything written inside is committed together, or not at all (exception, crash, kill -9).

        Nested use joins a savepoint: an exception caught inside the outer block undoes only the inner one.
        On SQLite the transaction holds the database's write lock from its start: keep it short, and do not
        hold one across an ``await`` while another task of the same thread wants one (it would wait for the
        lock with the event loop blocked). Collect, then write.
        """
        outer = self._current.get()
        if outer is not None:
            with self._guard(), outer.begin_nested():
                yield
            return
        with self._guard():
            session = self._write_sessions()
            token = self._current.set(session)
            try:
                with session.begin():
                    yield
            finally:
                self._current.reset(token)
                session.close()

    @contextmanager
    def _session(self, *, write: bool) -> Iterator[Session]:
        current = self._current.get()
        if current is not None:
            if write:  # each method stays all-or-nothing even when the caller catches its error and goes on
                with self._guard(), current.begin_nested():
                    yield current
            else:
                with self._guard():
                    yield current
            return
        factory = self._write_sessions if write else self._read_sessions
        with self._guard(), factory() as session, session.begin():
            yield session

    # -- cases -----------------------------------------------------------------------------------------

    def create_case(self, kind: str, subject: str, *, tenant: str | None = None, since: datetime | None = None,
                    until: datetime | None = None, operator: str | None = None,
                    summary: dict[str, Any] | None = None, status: str = "open",
                    created_at: datetime | None = None) -> Case:
        """A new case with id ``c-YYYYMMDD-NNNN`` (UTC date of creation, a per-day counter from 0001)."""
        _check(kind, CASE_KINDS, "case kind")
        _check(status, CASE_STATUSES, "case status")
        if not subject:
            raise StoreError("a case needs a subject (a user's UPN or a tenant)")
        created = created_at or _now()
        with self._session(write=True) as session:
            for _attempt in range(5):
                case_id = self._next_case_id(session, created)
                row = CaseRow(id=case_id, created_at=created, updated_at=created, kind=kind, subject=subject,
                              subject_key=subject.casefold(), tenant=tenant, verdict=None, since=since,
                              until=until, status=status, operator=operator, summary=dict(summary or {}))
                try:
                    with session.begin_nested():
                        session.add(row)
                except IntegrityError:
                    continue  # another writer took the id (databases without SQLite's write lock)
                _seal.append(session, case_id, _seal.CASE, [(case_id, _seal.row_values(row))])
                return _case(row)
        raise StoreError("could not allocate a case id; try again")

    @staticmethod
    def _next_case_id(session: Session, created: datetime) -> str:
        day = created.astimezone(UTC)
        if session.get_bind().dialect.name == "postgresql":
            # One allocator per day at a time (until this transaction ends), like SQLite's write lock: without it,
            # writers on several machines keep computing the same next id and retrying.
            session.execute(text("SELECT pg_advisory_xact_lock(:space, :day)"),
                            {"space": _CASE_ID_LOCK, "day": int(f"{day:%Y%m%d}")})
        prefix = f"c-{day:%Y%m%d}-"
        ids = session.scalars(select(CaseRow.id).where(CaseRow.id.like(prefix + "%"))).all()
        numbers = [int(m.group(2)) for i in ids if (m := _CASE_ID.match(i))]
        return f"{prefix}{max(numbers, default=0) + 1:04d}"

    def get_case(self, case_id: str) -> Case:
        with self._session(write=False) as session:
            return _case(self._case_row(session, case_id))

    @staticmethod
    def _case_row(session: Session, case_id: str) -> CaseRow:
        row = session.get(CaseRow, case_id)
        if row is None:
            raise CaseNotFound(case_id)
        return row

    @staticmethod
    def _lock_case(session: Session, case_id: str) -> None:
        """Every write to a case starts here: the case row is locked until the transaction ends, so writers of
        one case (threads, processes, machines) take turns and the seal and the journal stay single chains."""
        if _seal.lock(session, case_id) is None:
            raise CaseNotFound(case_id)

    def _seal_case(self, session: Session, row: CaseRow) -> Case:
        session.flush()
        _seal.append(session, row.id, _seal.CASE, [(row.id, _seal.row_values(row))])
        return _case(row)

    def list_cases(self, *, kind: str | None = None, subject: str | None = None, tenant: str | None = None,
                   verdict: str | None = None, limit: int | None = None) -> list[CaseListItem]:
        """Cases, newest first, each with its count of findings of medium severity or above."""
        if kind is not None:
            _check(kind, CASE_KINDS, "case kind")
        if verdict is not None:
            _check(verdict, VERDICTS, "verdict")
        medium = (select(FindingRow.case_id, func.count().label("n")).where(FindingRow.severity_rank >= MEDIUM_RANK)
                  .group_by(FindingRow.case_id).subquery())
        total = select(FindingRow.case_id, func.count().label("n")).group_by(FindingRow.case_id).subquery()
        query = (select(CaseRow, func.coalesce(medium.c.n, 0), func.coalesce(total.c.n, 0))
                 .outerjoin(medium, medium.c.case_id == CaseRow.id)
                 .outerjoin(total, total.c.case_id == CaseRow.id)
                 .order_by(CaseRow.created_at.desc(), CaseRow.id.desc()))
        if kind is not None:
            query = query.where(CaseRow.kind == kind)
        if subject is not None:
            query = query.where(CaseRow.subject_key == subject.casefold())
        if tenant is not None:
            query = query.where(CaseRow.tenant == tenant)
        if verdict is not None:
            query = query.where(CaseRow.verdict == verdict)
        if limit is not None:
            query = query.limit(limit)
        with self._session(write=False) as session:
            return [CaseListItem(_case(row), int(n_medium), int(n_total))
                    for row, n_medium, n_total in session.execute(query)]

    def latest_case_for(self, subject: str, kind: str = "investigate", *, tenant: str | None = None) -> Case | None:
        """The newest case of ``kind`` about ``subject`` (case-insensitive, as UPNs are), or None."""
        query = (select(CaseRow).where(CaseRow.subject_key == subject.casefold(), CaseRow.kind == kind)
                 .order_by(CaseRow.created_at.desc(), CaseRow.id.desc()).limit(1))
        if tenant is not None:
            query = query.where(CaseRow.tenant == tenant)
        with self._session(write=False) as session:
            row = session.scalars(query).first()
            return None if row is None else _case(row)

    def set_verdict(self, case_id: str, verdict: str | None, *, summary: dict[str, Any] | None = None,
                    status: str | None = None) -> Case:
        """Record the verdict (and optionally replace the summary, set the status) of a case."""
        if verdict is not None:
            _check(verdict, VERDICTS, "verdict")
        if status is not None:
            _check(status, CASE_STATUSES, "case status")
        with self._session(write=True) as session:
            self._lock_case(session, case_id)
            row = self._case_row(session, case_id)
            row.verdict = verdict
            if summary is not None:
                row.summary = dict(summary)
            if status is not None:
                row.status = status
            row.updated_at = _now()
            return self._seal_case(session, row)

    def set_status(self, case_id: str, status: str, *, summary: dict[str, Any] | None = None) -> Case:
        _check(status, CASE_STATUSES, "case status")
        with self._session(write=True) as session:
            self._lock_case(session, case_id)
            row = self._case_row(session, case_id)
            row.status = status
            if summary is not None:
                row.summary = dict(summary)
            row.updated_at = _now()
            return self._seal_case(session, row)

    # -- evidence --------------------------------------------------------------------------------------

    def add_evidence(self, case_id: str, kind: str, source: str, request: dict[str, Any], payload: bytes | Any,
                     collected_at: datetime, *, content_type: str | None = None) -> Evidence:
        """Store one payload as received (bytes) or as canonical JSON (any other value), with its SHA-256.

        ``request`` says how it was obtained (``{"method": "GET", "url": ...}`` or ``{"cmdlet": ...,
        "parameters": {...}}``); values under secret-looking keys are refused.
        """
        row = EvidenceRow(**_evidence_values(case_id, NewEvidence(kind, source, request, payload, collected_at,
                                                                  content_type), _now()))
        with self._session(write=True) as session:
            self._lock_case(session, case_id)
            session.add(row)
            session.flush()
            _seal.append(session, case_id, "evidence", [(row.id, _seal.row_values(row))])
            return _evidence(row)

    def add_evidence_many(self, case_id: str, items: Iterable[NewEvidence], *,
                          batch_size: int = DEFAULT_BATCH) -> list[int]:
        """Store many payloads with batched multi-row inserts; ``items`` may be a generator (memory stays flat).

        Returns the new evidence ids in input order.
        """
        ids: list[int] = []
        table = cast(Table, EvidenceRow.__table__)
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        with self._session(write=True) as session:
            self._lock_case(session, case_id)
            for batch in _batches(items, batch_size):
                now = _now()
                rows = [_evidence_values(case_id, item, now) for item in batch]
                new_ids = session.execute(statement, rows).scalars().all()
                _seal.append(session, case_id, "evidence", zip(new_ids, rows, strict=True))
                ids.extend(new_ids)
        return ids

    def get_evidence(self, evidence_id: int, *, verify: bool = True) -> Evidence:
        """One piece of evidence with its payload; raises :class:`EvidenceTampered` if its hash no longer matches."""
        with self._session(write=False) as session:
            row = session.get(EvidenceRow, evidence_id)
            if row is None:
                raise EvidenceNotFound(evidence_id)
            evidence = _evidence(row)
        if verify and not evidence.verify():
            raise EvidenceTampered(evidence_id, evidence.sha256, sha256_hex(evidence.payload))
        return evidence

    def evidence(self, case_id: str) -> list[EvidenceInfo]:
        """The evidence of a case without payloads, each re-hashed (payloads are read one at a time)."""
        query = select(EvidenceRow).where(EvidenceRow.case_id == case_id).order_by(EvidenceRow.id)
        with self._session(write=False) as session:
            self._case_row(session, case_id)
            out: list[EvidenceInfo] = []
            for row in session.scalars(query.execution_options(yield_per=100)):
                out.append(EvidenceInfo(id=row.id, case_id=row.case_id, kind=row.kind, source=row.source,
                                        request=row.request, collected_at=row.collected_at,
                                        content_type=row.content_type, size=row.size, sha256=row.sha256,
                                        hash_ok=sha256_hex(row.payload) == row.sha256))
                session.expunge(row)
            return out

    def record_not_collected(self, case_id: str, kind: str, reason: str, detail: str | None = None, *,
                             subject: str | None = None) -> NotCollected:
        """What could not be collected or checked, and why (missing permission, licence, throttled, ...)."""
        if not kind or not reason:
            raise StoreError("a not-collected record needs a kind and a reason")
        with self._session(write=True) as session:
            self._lock_case(session, case_id)
            row = NotCollectedRow(case_id=case_id, kind=kind, reason=reason, detail=detail, subject=subject,
                                  recorded_at=_now())
            session.add(row)
            session.flush()
            _seal.append(session, case_id, "not_checked", [(row.id, _seal.row_values(row))])
            return _not_collected(row)

    def not_collected(self, case_id: str) -> list[NotCollected]:
        with self._session(write=False) as session:
            self._case_row(session, case_id)
            rows = session.scalars(select(NotCollectedRow).where(NotCollectedRow.case_id == case_id)
                                   .order_by(NotCollectedRow.id))
            return [_not_collected(row) for row in rows]

    # -- findings and timeline -------------------------------------------------------------------------

    def add_findings(self, case_id: str, findings: Iterable[NewFinding], *, batch_size: int = DEFAULT_BATCH) -> int:
        """Store findings (batched). Each evidence id must be evidence of the same case. Returns the count."""
        count = 0
        table = cast(Table, FindingRow.__table__)
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        with self._session(write=True) as session:
            self._lock_case(session, case_id)
            for batch in _batches(findings, batch_size):
                wanted = {i for f in batch for i in f.evidence_ids}
                if wanted:
                    found = set(session.scalars(select(EvidenceRow.id).where(
                        EvidenceRow.case_id == case_id, EvidenceRow.id.in_(wanted))))
                    if missing := wanted - found:
                        raise StoreError(f"findings cite evidence that is not in case {case_id}: "
                                         f"{sorted(missing)[:5]}")
                now = _now()
                rows = [self._finding_values(case_id, f, now) for f in batch]
                new_ids = session.execute(statement, rows).scalars().all()
                _seal.append(session, case_id, "finding", zip(new_ids, rows, strict=True))
                count += len(rows)
        return count

    @staticmethod
    def _finding_values(case_id: str, f: NewFinding, now: datetime) -> dict[str, Any]:
        _check(f.severity, SEVERITY_RANK.keys(), "severity")
        kind = LEGACY_FINDING_KINDS.get(f.kind, f.kind)
        _check(kind, FINDING_KINDS, "finding kind")
        _check(f.scope, FINDING_SCOPES, "finding scope")
        canonical_json(f.evidence)
        return {"case_id": case_id, "check_id": f.check_id, "severity": f.severity,
                "severity_rank": SEVERITY_RANK[f.severity], "kind": kind, "scope": f.scope, "title": f.title,
                "detail": f.detail,
                "artifact_type": f.artifact_type, "artifact_id": f.artifact_id, "evidence": dict(f.evidence),
                "evidence_ids": list(f.evidence_ids), "user": f.user, "recorded_at": now}

    def findings(self, case_id: str, *, min_severity: str = "info") -> list[Finding]:
        """Findings, most severe first."""
        _check(min_severity, SEVERITY_RANK.keys(), "severity")
        query = (select(FindingRow).where(FindingRow.case_id == case_id,
                                          FindingRow.severity_rank >= SEVERITY_RANK[min_severity])
                 .order_by(FindingRow.severity_rank.desc(), FindingRow.id))
        with self._session(write=False) as session:
            self._case_row(session, case_id)
            return [_finding(row) for row in session.scalars(query)]

    def add_timeline(self, case_id: str, events: Iterable[NewTimelineEvent], *,
                     batch_size: int = DEFAULT_BATCH) -> int:
        count = 0
        table = cast(Table, TimelineRow.__table__)
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        with self._session(write=True) as session:
            self._lock_case(session, case_id)
            for batch in _batches(events, batch_size):
                rows = [{"case_id": case_id, "time": e.time, "kind": e.kind, "summary": e.summary,
                         "artifact_type": e.artifact_type, "artifact_id": e.artifact_id, "source": e.source,
                         "evidence_id": e.evidence_id, "user": e.user} for e in batch]
                new_ids = session.execute(statement, rows).scalars().all()
                _seal.append(session, case_id, "timeline", zip(new_ids, rows, strict=True))
                count += len(rows)
        return count

    def timeline(self, case_id: str) -> list[TimelineEvent]:
        with self._session(write=False) as session:
            self._case_row(session, case_id)
            rows = session.scalars(select(TimelineRow).where(TimelineRow.case_id == case_id)
                                   .order_by(TimelineRow.time, TimelineRow.id))
            return [_timeline(row) for row in rows]

    # -- journal ---------------------------------------------------------------------------------------

    def append_journal(self, case_id: str, *, action_id: str, target: str, step: str, operator: str | None = None,
                       before_evidence_id: int | None = None, request: dict[str, Any] | None = None,
                       result: dict[str, Any] | None = None, verify: dict[str, Any] | None = None,
                       started_at: datetime | None = None, after_seq: int | None = None) -> JournalEntry:
        """Append one entry to the case's hash-chained journal.

        ``request`` / ``result`` / ``verify`` must already be redacted: a value under a secret-looking key
        (password, newPassword, secret, token, ...) other than :data:`REDACTED` is refused, as is any bearer
        token or JWT.

        ``after_seq``: append only if the journal still ends at that entry (0: still empty); otherwise raise
        :class:`JournalConflict` and write nothing. A writer that decided from the journal it read that a step
        is still to be done (``applying``) claims it this way: of several processes or machines that read the
        same journal, one appends, the others are told to read it again. Writers of one case take turns on the
        case row's lock, so the check and the append are one step.
        """
        _check(step, JOURNAL_STEPS, "journal step")
        for name, value in (("request", request), ("result", result), ("verify", verify)):
            refuse_secrets(value, name)
        with self._session(write=True) as session:
            self._lock_case(session, case_id)
            snapshot_sha256 = None
            if before_evidence_id is not None:
                owner = session.execute(select(EvidenceRow.case_id, EvidenceRow.sha256)
                                        .where(EvidenceRow.id == before_evidence_id)).first()
                if owner is None or owner[0] != case_id:
                    raise StoreError(f"journal entry cites evidence {before_evidence_id}, which is not in {case_id}")
                snapshot_sha256 = owner[1]
            last = session.execute(select(JournalRow.seq, JournalRow.entry_hash).where(JournalRow.case_id == case_id)
                                   .order_by(JournalRow.seq.desc()).limit(1)).first()
            seq, prev_hash = (1, GENESIS_HASH) if last is None else (last[0] + 1, last[1])
            if after_seq is not None and seq - 1 != after_seq:
                raise JournalConflict(case_id, after_seq, seq - 1)
            row = JournalRow(case_id=case_id, seq=seq, action_id=action_id, target=target, step=step,
                             before_evidence_id=before_evidence_id, before_evidence_sha256=snapshot_sha256,
                             request=request, result=result, verify=verify,
                             operator=operator, started_at=started_at, recorded_at=_now(), prev_hash=prev_hash,
                             entry_hash="")
            row.entry_hash = journal_hash(row)
            session.add(row)
            session.flush()
            _seal.append(session, case_id, "journal", [(row.id, _seal.row_values(row))])
            return _journal(row)

    def journal(self, case_id: str) -> list[JournalEntry]:
        with self._session(write=False) as session:
            self._case_row(session, case_id)
            rows = session.scalars(select(JournalRow).where(JournalRow.case_id == case_id).order_by(JournalRow.seq))
            return [_journal(row) for row in rows]

    def verify_chain(self, case_id: str) -> ChainStatus:
        """Re-compute every entry's hash and link, and re-hash the snapshots the entries cite; the first entry
        that does not match is ``first_bad_seq``. When the journal itself holds, the case's seal is checked too
        (:meth:`verify_case`): an altered case is not ok, ``reason`` "the case was altered: …"."""
        entries = self.journal(case_id)
        cited = {e.before_evidence_id for e in entries if e.before_evidence_id is not None}
        snapshots: dict[int, tuple[str, bool]] = {}
        with self._session(write=False) as session:
            for evidence_id in sorted(cited):
                row = session.get(EvidenceRow, evidence_id)
                if row is not None:
                    snapshots[evidence_id] = (row.sha256, sha256_hex(row.payload) == row.sha256)
                    session.expunge(row)
        status = chain_status(entries, snapshots)
        if status.ok and not (integrity := self.verify_case(case_id)).ok:
            status = replace(status, ok=False, reason=f"the case was {integrity.describe()}")
        return status

    # -- sweep checkpoints -----------------------------------------------------------------------------

    def get_checkpoint(self, case_id: str, tenant: str) -> SweepCheckpoint | None:
        with self._session(write=False) as session:
            row = session.get(SweepCheckpointRow, (case_id, tenant))
            return None if row is None else _checkpoint(row)

    def checkpoints(self, case_id: str) -> list[SweepCheckpoint]:
        with self._session(write=False) as session:
            rows = session.scalars(select(SweepCheckpointRow).where(SweepCheckpointRow.case_id == case_id)
                                   .order_by(SweepCheckpointRow.tenant))
            return [_checkpoint(row) for row in rows]

    def put_checkpoint(self, case_id: str, tenant: str, *, cursor: str | None, mailboxes_done: int,
                       results_pointer: str | None = None, state: dict[str, Any] | None = None) -> SweepCheckpoint:
        """Create or replace the checkpoint of one tenant of a sweep. Call it in the same :meth:`transaction`
        as the results it covers, so a resumed sweep neither skips nor repeats a mailbox."""
        canonical_json(state or {})
        with self._session(write=True) as session:
            self._case_row(session, case_id)
            row = session.get(SweepCheckpointRow, (case_id, tenant))
            if row is None:
                row = SweepCheckpointRow(case_id=case_id, tenant=tenant)
                session.add(row)
            row.cursor = cursor
            row.mailboxes_done = mailboxes_done
            row.results_pointer = results_pointer
            row.state = dict(state or {})
            row.updated_at = _now()
            session.flush()
            return _checkpoint(row)

    # -- everything about one case ---------------------------------------------------------------------

    def case_detail(self, case_id: str) -> CaseDetail:
        """The case with its findings, not-collected records, evidence (hash-checked), timeline and journal, and
        its seal re-computed (``integrity``)."""
        case = self.get_case(case_id)
        journal = self.journal(case_id)
        evidence = self.evidence(case_id)
        snapshots = {e.id: (e.sha256, e.hash_ok) for e in evidence}
        with self._session(write=False) as session:
            integrity = _seal.verify_case(session, case_id, payloads=False)  # payloads: re-hashed just above
        if bad := [e.id for e in evidence if not e.hash_ok]:
            problems = integrity.problems + tuple(f"evidence {i} does not match its SHA-256" for i in bad)
            integrity = replace(integrity, ok=False, problems=problems[:_seal.MAX_PROBLEMS])
        return CaseDetail(case=case, findings=self.findings(case_id), not_collected=self.not_collected(case_id),
                          evidence=evidence, timeline=self.timeline(case_id), journal=journal,
                          chain=chain_status(journal, snapshots), integrity=integrity)

    def verify_case(self, case_id: str) -> CaseIntegrity:
        """Re-compute the case's seal: every record it covers (verdict, evidence, findings, timeline, not-checked,
        journal) must still be there and unchanged, nothing added, and every evidence payload must match its
        SHA-256. Reads only (works on a read-only store)."""
        with self._session(write=False) as session:
            self._case_row(session, case_id)
            return _seal.verify_case(session, case_id)


# -- hashing the journal ---------------------------------------------------------------------------------


def journal_body(entry: JournalRow | JournalEntry) -> dict[str, Any]:
    """The fields of a journal entry that its hash covers (all but the row id and the hash itself)."""
    return {
        "case_id": entry.case_id, "seq": entry.seq, "action_id": entry.action_id, "target": entry.target,
        "step": entry.step, "before_evidence_id": entry.before_evidence_id,
        "before_evidence_sha256": entry.before_evidence_sha256, "request": entry.request,
        "result": entry.result, "verify": entry.verify, "operator": entry.operator,
        "started_at": None if entry.started_at is None else utc_iso(entry.started_at),
        "recorded_at": utc_iso(entry.recorded_at), "prev_hash": entry.prev_hash,
    }


def journal_hash(entry: JournalRow | JournalEntry) -> str:
    """SHA-256 (hex) of the canonical JSON of :func:`journal_body`, which includes ``prev_hash``."""
    return sha256_hex(canonical_json(journal_body(entry)))


def chain_status(entries: Sequence[JournalEntry],
                 snapshots: Mapping[int, tuple[str, bool]] | None = None) -> ChainStatus:
    """Check a journal (ordered by seq). ``snapshots`` maps evidence id → (stored SHA-256, payload matches it);
    when given, every cited before-state snapshot must be present, unchanged and intact."""
    prev = GENESIS_HASH
    for expected_seq, entry in enumerate(entries, start=1):
        problem = None
        if entry.seq != expected_seq:
            problem = f"expected entry {expected_seq}, found {entry.seq} (an entry is missing or duplicated)"
        elif entry.prev_hash != prev:
            problem = "does not point at the previous entry's hash"
        elif journal_hash(entry) != entry.entry_hash:
            problem = "its content does not match its hash"
        elif snapshots is not None and entry.before_evidence_id is not None:
            problem = _snapshot_problem(entry, snapshots)
        if problem is not None:
            return ChainStatus(ok=False, head_hash=entries[-1].entry_hash, length=len(entries),
                               first_bad_seq=min(entry.seq, expected_seq), reason=problem)
        prev = entry.entry_hash
    return ChainStatus(ok=True, head_hash=prev, length=len(entries))


def _snapshot_problem(entry: JournalEntry, snapshots: Mapping[int, tuple[str, bool]]) -> str | None:
    evidence_id = entry.before_evidence_id
    assert evidence_id is not None
    if evidence_id not in snapshots:
        return f"its before-state snapshot (evidence {evidence_id}) is gone"
    sha256, intact = snapshots[evidence_id]
    if sha256 != entry.before_evidence_sha256:
        return f"its before-state snapshot (evidence {evidence_id}) was replaced"
    if not intact:
        return f"its before-state snapshot (evidence {evidence_id}) does not match its SHA-256"
    return None


# -- helpers ---------------------------------------------------------------------------------------------


def _check(value: str, allowed: Iterable[str], what: str) -> None:
    allowed = sorted(allowed)
    if value not in allowed:
        raise StoreError(f"unknown {what} {value!r} (one of: {', '.join(allowed)})")


def _refuse_bulk_changes(factory: sessionmaker[Session]) -> None:
    @event.listens_for(factory, "do_orm_execute")
    def _on_execute(state: ORMExecuteState) -> None:
        if (state.is_update or state.is_delete) and any(m.class_ in IMMUTABLE_ROWS for m in state.all_mappers):
            raise ImmutableRecord("evidence and journal entries are insert-only; refusing an UPDATE/DELETE")


def _evidence_values(case_id: str, item: NewEvidence, now: datetime) -> dict[str, Any]:
    if not item.kind or not item.source:
        raise StoreError("evidence needs a kind and a source")
    refuse_secrets(item.request, "request")
    canonical_json(item.request)  # refuses what is not JSON
    payload = _payload(item.payload, item.content_type)
    return {"case_id": case_id, "kind": item.kind, "source": item.source, "request": dict(item.request),
            "collected_at": item.collected_at, "stored_at": now, "content_type": payload.content_type,
            "size": len(payload.data), "sha256": sha256_hex(payload.data), "payload": payload.data}


def _case(row: CaseRow) -> Case:
    return Case(id=row.id, created_at=row.created_at, updated_at=row.updated_at, kind=row.kind, subject=row.subject,
                tenant=row.tenant, verdict=row.verdict, since=row.since, until=row.until, status=row.status,
                operator=row.operator, summary=dict(row.summary or {}))


def _evidence(row: EvidenceRow) -> Evidence:
    return Evidence(id=row.id, case_id=row.case_id, kind=row.kind, source=row.source, request=row.request,
                    collected_at=row.collected_at, stored_at=row.stored_at, content_type=row.content_type,
                    sha256=row.sha256, payload=bytes(row.payload))


def _not_collected(row: NotCollectedRow) -> NotCollected:
    return NotCollected(id=row.id, case_id=row.case_id, kind=row.kind, reason=row.reason, detail=row.detail,
                        subject=row.subject, recorded_at=row.recorded_at)


def _finding(row: FindingRow) -> Finding:
    return Finding(id=row.id, case_id=row.case_id, check_id=row.check_id, severity=row.severity, kind=row.kind,
                   scope=row.scope, title=row.title, detail=row.detail, artifact_type=row.artifact_type,
                   artifact_id=row.artifact_id,
                   evidence=row.evidence, evidence_ids=tuple(int(i) for i in row.evidence_ids), user=row.user,
                   recorded_at=row.recorded_at)


def _timeline(row: TimelineRow) -> TimelineEvent:
    return TimelineEvent(id=row.id, case_id=row.case_id, time=row.time, kind=row.kind, summary=row.summary,
                         artifact_type=row.artifact_type, artifact_id=row.artifact_id, source=row.source,
                         evidence_id=row.evidence_id, user=row.user)


def _journal(row: JournalRow) -> JournalEntry:
    return JournalEntry(id=row.id, case_id=row.case_id, seq=row.seq, action_id=row.action_id, target=row.target,
                        step=row.step, before_evidence_id=row.before_evidence_id,
                        before_evidence_sha256=row.before_evidence_sha256, request=row.request,
                        result=row.result, verify=row.verify, operator=row.operator, started_at=row.started_at,
                        recorded_at=row.recorded_at, prev_hash=row.prev_hash, entry_hash=row.entry_hash)


def _checkpoint(row: SweepCheckpointRow) -> SweepCheckpoint:
    return SweepCheckpoint(case_id=row.case_id, tenant=row.tenant, cursor=row.cursor,
                           mailboxes_done=row.mailboxes_done, results_pointer=row.results_pointer,
                           state=dict(row.state or {}), updated_at=row.updated_at)
