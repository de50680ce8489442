"""The case store's tables (SQLAlchemy 2 ORM, typed).

Private: callers use :class:`reclaim.store.Store` and the read models of :mod:`reclaim.store.models`.

Evidence and journal entries are insert-only. Three layers refuse changes to them: a mapper event
(``before_update`` / ``before_delete``) for objects, a session event for ``update()`` / ``delete()``
statements (installed by the Store on its sessions), and triggers in the database itself (SQLite and
PostgreSQL; created by the Alembic migrations in :mod:`reclaim.store.migrations`).
None of that stops someone with the file and a SQLite shell; the SHA-256 of each payload and the hash
chain of the journal make such an edit visible.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, mapped_column
from sqlalchemy.types import TypeDecorator

from reclaim.store.errors import ImmutableRecord, StoreError

SCHEMA_VERSION = 4


def utc_iso(value: datetime) -> str:
    """A timestamp as fixed-width ISO 8601 UTC with microseconds (sorts as text, round-trips exactly)."""
    if value.tzinfo is None:
        raise StoreError("naive datetime: the case store needs timezone-aware timestamps")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_utc_iso(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as fixed-width ISO 8601 UTC text.

    Text rather than a DATETIME column: every backend round-trips it to the microsecond (MySQL's
    DATETIME would drop them and break the journal's hashes) and it sorts correctly as text.
    """

    impl = String(27)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> str | None:
        return None if value is None else utc_iso(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> datetime | None:
        return None if value is None else parse_utc_iso(value)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


class SchemaVersionRow(Base):
    __tablename__ = "schema_version"

    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    applied_at: Mapped[datetime]


class CaseRow(Base):
    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(320))
    subject_key: Mapped[str] = mapped_column(String(320))  # lower-cased subject, for lookups
    tenant: Mapped[str | None] = mapped_column(String(256))
    verdict: Mapped[str | None] = mapped_column(String(16))
    since: Mapped[datetime | None]
    until: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16))
    operator: Mapped[str | None] = mapped_column(String(256))
    summary: Mapped[dict[str, Any]]
    # the head and length of the case's seal (reclaim.store._seal), written with every record of the case
    seal_head: Mapped[str | None] = mapped_column(String(64))
    seal_length: Mapped[int | None]

    __table_args__ = (Index("ix_cases_subject_kind", "subject_key", "kind", "created_at"),)


class EvidenceRow(Base):
    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(32))
    request: Mapped[dict[str, Any]]
    collected_at: Mapped[datetime]
    stored_at: Mapped[datetime]
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    payload: Mapped[bytes] = mapped_column(LargeBinary)


class NotCollectedRow(Base):
    __tablename__ = "not_collected"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(String(320))
    recorded_at: Mapped[datetime]


class FindingRow(Base):
    __tablename__ = "findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    check_id: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    severity_rank: Mapped[int]  # info 0 … critical 4, for "≥ medium" queries
    kind: Mapped[str] = mapped_column(String(16))  # compromise | exposure | context
    scope: Mapped[str] = mapped_column(String(16), server_default="user")  # user | mailbox | tenant
    title: Mapped[str] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    artifact_type: Mapped[str | None] = mapped_column(String(64))
    artifact_id: Mapped[str | None] = mapped_column(String(512))
    evidence: Mapped[dict[str, Any]]
    evidence_ids: Mapped[list[Any]]
    user: Mapped[str | None] = mapped_column(String(320))
    recorded_at: Mapped[datetime]


class TimelineRow(Base):
    __tablename__ = "timeline"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    time: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text)
    artifact_type: Mapped[str | None] = mapped_column(String(64))
    artifact_id: Mapped[str | None] = mapped_column(String(512))
    source: Mapped[str | None] = mapped_column(String(64))
    evidence_id: Mapped[int | None] = mapped_column(ForeignKey("evidence.id"))
    user: Mapped[str | None] = mapped_column(String(320))


class JournalRow(Base):
    __tablename__ = "journal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    seq: Mapped[int]
    action_id: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(512))
    step: Mapped[str] = mapped_column(String(16))
    before_evidence_id: Mapped[int | None] = mapped_column(ForeignKey("evidence.id"))
    # The snapshot's SHA-256, copied in and covered by entry_hash: rewriting the snapshot (payload and its
    # hash together) then breaks the journal chain too.
    before_evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    request: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    verify: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    operator: Mapped[str | None] = mapped_column(String(256))
    started_at: Mapped[datetime | None]
    recorded_at: Mapped[datetime]
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("case_id", "seq", name="uq_journal_case_seq"),)


class SweepCheckpointRow(Base):
    __tablename__ = "sweep_checkpoints"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(256), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(Text)
    mailboxes_done: Mapped[int]
    results_pointer: Mapped[str | None] = mapped_column(Text)
    state: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class SealRow(Base):
    __tablename__ = "seal"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True)
    record_type: Mapped[str] = mapped_column(String(16))
    records: Mapped[list[Any]]  # [[record id, record hash], ...]
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


IMMUTABLE_ROWS: tuple[type[Base], ...] = (EvidenceRow, JournalRow, SealRow)


def _refuse_change(mapper: Mapper[Any], connection: Connection, target: Base) -> None:
    raise ImmutableRecord(f"{type(target).__tablename__} rows are insert-only; refusing to change or delete one")


for _row in IMMUTABLE_ROWS:
    event.listen(_row, "before_update", _refuse_change)
    event.listen(_row, "before_delete", _refuse_change)

