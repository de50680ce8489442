"""The case seal: one hash chain per case over everything the case holds.

Every write to a case appends one entry to the case's seal, in the same transaction: the case's own state
(verdict, status, summary, each time it changes), and each batch of evidence, not-checked records, findings,
timeline events or journal entries. An entry lists the records it covers, each as ``[id, record hash]`` with
``record hash = SHA-256(canonical_json(the record's sealed fields))``, and is chained:
``entry_hash = SHA-256(canonical_json({case_id, seq, record_type, records, prev_hash}))``. The case row keeps the
chain's head and length.

:func:`verify_case` recomputes it all and re-hashes every evidence payload. A record deleted, added or changed
(a finding downgraded, a verdict set back to clean, evidence rewritten together with its SHA-256), journal
entries cut off the end, the seal itself cut or edited: each is a problem, and the case is "altered". Someone
able to rewrite the whole store consistently could re-seal it: the head printed in the report is the anchor to
compare against.

The sealed fields of each record type are listed here and never change for a record type (a later column is not
covered until a new record type says so), so the migration that sealed existing cases stays valid.
Sweep checkpoints are progress markers, overwritten as a sweep goes on, and are not sealed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from reclaim.store._canonical import GENESIS_HASH, canonical_json, sha256_hex
from reclaim.store._schema import (
    CaseRow,
    EvidenceRow,
    FindingRow,
    JournalRow,
    NotCollectedRow,
    SealRow,
    TimelineRow,
    utc_iso,
)
from reclaim.store.models import CaseIntegrity

CASE = "case"


def _table(row: type[Any]) -> Table:
    table = row.__table__
    assert isinstance(table, Table)
    return table


# record type → (table, the fields its hash covers)
RECORDS: dict[str, tuple[Table, tuple[str, ...]]] = {
    CASE: (_table(CaseRow), ("id", "created_at", "kind", "subject", "tenant", "verdict", "since", "until",
                             "status", "operator", "summary")),
    "evidence": (_table(EvidenceRow), ("id", "case_id", "kind", "source", "request", "collected_at", "stored_at",
                                       "content_type", "size", "sha256")),
    "not_checked": (_table(NotCollectedRow), ("id", "case_id", "kind", "reason", "detail", "subject",
                                              "recorded_at")),
    "finding": (_table(FindingRow), ("id", "case_id", "check_id", "severity", "severity_rank", "kind", "scope",
                                     "title", "detail", "artifact_type", "artifact_id", "evidence", "evidence_ids",
                                     "user", "recorded_at")),
    "timeline": (_table(TimelineRow), ("id", "case_id", "time", "kind", "summary", "artifact_type", "artifact_id",
                                       "source", "evidence_id", "user")),
    "journal": (_table(JournalRow), ("id", "case_id", "seq", "action_id", "target", "step", "before_evidence_id",
                                     "before_evidence_sha256", "request", "result", "verify", "operator",
                                     "started_at", "recorded_at", "prev_hash", "entry_hash")),
}
WHAT = {CASE: "the case's verdict, status or summary", "evidence": "evidence", "not_checked": "a not-checked record",
        "finding": "a finding", "timeline": "a timeline event", "journal": "a journal entry"}
_CASES = _table(CaseRow)
_SEAL = _table(SealRow)
MAX_PROBLEMS = 20


def _jsonable(value: Any) -> Any:
    return utc_iso(value) if isinstance(value, datetime) else value


def record_hash(record_type: str, values: Mapping[str, Any]) -> str:
    """The hash of one record, from a mapping of column name → value (as written, or as read back)."""
    _, fields = RECORDS[record_type]
    body = {name: _jsonable(values.get(name)) for name in fields}
    body["_type"] = record_type
    return sha256_hex(canonical_json(body))


def row_values(row: Any) -> dict[str, Any]:
    """Column values of an ORM row."""
    return {c.key: getattr(row, c.key) for c in row.__table__.columns}


def entry_hash(case_id: str, seq: int, record_type: str, records: Sequence[Sequence[Any]], prev: str) -> str:
    return sha256_hex(canonical_json({"case_id": case_id, "seq": seq, "record_type": record_type,
                                      "records": [list(r) for r in records], "prev_hash": prev}))


def lock(db: Session | Connection, case_id: str) -> tuple[str | None, int | None] | None:
    """Lock the case row for this transaction and return (seal head, seal length); None when there is no case.

    PostgreSQL: ``SELECT … FOR NO KEY UPDATE`` (writers of one case queue here, even on several machines; it does
    not conflict with the key-share locks that inserts of the case's records take). SQLite: the transaction
    already holds the database's write lock.
    """
    row = db.execute(select(_CASES.c.seal_head, _CASES.c.seal_length).where(_CASES.c.id == case_id)
                     .with_for_update(key_share=True)).first()
    return None if row is None else (row[0], row[1])


def append(db: Session | Connection, case_id: str, record_type: str,
           records: Iterable[tuple[Any, Mapping[str, Any]]]) -> None:
    """Seal ``records`` (``(id, column values)`` pairs, all of ``record_type``) as one entry of the case's seal."""
    listed = [[str(record_id), record_hash(record_type, {**values, "id": record_id})] for record_id, values in records]
    if listed:
        append_hashed(db, case_id, record_type, listed)


def append_hashed(db: Session | Connection, case_id: str, record_type: str, listed: list[list[str]]) -> None:
    current = lock(db, case_id)
    if current is None:
        raise LookupError(case_id)
    prev = current[0] or GENESIS_HASH
    seq = (current[1] or 0) + 1
    digest = entry_hash(case_id, seq, record_type, listed, prev)
    db.execute(insert(_SEAL).values(case_id=case_id, seq=seq, record_type=record_type, records=listed,
                                    prev_hash=prev, entry_hash=digest))
    db.execute(update(_CASES).where(_CASES.c.id == case_id).values(seal_head=digest, seal_length=seq))


def _records(db: Session | Connection, case_id: str) -> Iterator[tuple[str, str, str]]:
    """Every record of the case as stored now: (record_type, record_id, record_hash)."""
    for record_type, (table, fields) in RECORDS.items():
        columns = [table.c[name] for name in fields]
        where = table.c.id == case_id if record_type == CASE else table.c.case_id == case_id
        for row in db.execute(select(*columns).where(where).order_by(table.c.id)).mappings():
            yield record_type, str(row["id"]), record_hash(record_type, dict(row))


def seal_existing_cases(conn: Connection) -> int:
    """Seal every case as it stands (the upgrade to the sealed schema); returns how many."""
    case_ids = list(conn.execute(select(_CASES.c.id).order_by(_CASES.c.id)).scalars())
    for case_id in case_ids:
        grouped: dict[str, list[list[str]]] = {}
        for record_type, record_id, digest in _records(conn, case_id):
            grouped.setdefault(record_type, []).append([record_id, digest])
        for record_type in RECORDS:
            if record_type in grouped:
                append_hashed(conn, case_id, record_type, grouped[record_type])
    return len(case_ids)


def verify_case(db: Session | Connection, case_id: str, *, payloads: bool = True) -> CaseIntegrity:
    """Recompute the case's seal and every record it covers, and (``payloads``) re-hash every evidence payload."""
    head_row = db.execute(select(_CASES.c.seal_head, _CASES.c.seal_length).where(_CASES.c.id == case_id)).first()
    if head_row is None:
        return CaseIntegrity(case_id, False, GENESIS_HASH, 0, ("the case is gone",))
    problems: list[str] = []
    head, length = head_row[0], head_row[1]
    if head is None or length is None:
        problems.append("the case has no seal (its head and length were removed)")
        head, length = GENESIS_HASH, 0
    entries = db.execute(select(_SEAL).where(_SEAL.c.case_id == case_id).order_by(_SEAL.c.seq)).all()
    prev = GENESIS_HASH
    sealed: dict[tuple[str, str], str] = {}
    case_hash: str | None = None
    for expected, entry in enumerate(entries, start=1):
        if entry.seq != expected:
            problems.append(f"seal entry {expected} is missing")
            break
        if entry.prev_hash != prev or entry_hash(case_id, entry.seq, entry.record_type, entry.records,
                                                 prev) != entry.entry_hash:
            problems.append(f"seal entry {entry.seq} does not match its hash")
            break
        prev = entry.entry_hash
        for record_id, digest in entry.records:
            if entry.record_type == CASE:
                case_hash = digest
            else:
                sealed[(entry.record_type, record_id)] = digest
    if len(entries) != length or prev != head:
        problems.append(f"the seal has {len(entries)} entries ending in {prev[:12]}…, the case records {length} "
                        f"ending in {head[:12]}… (seal entries were removed or added)")
    counts: dict[str, int] = {}
    for record_type, record_id, digest in _records(db, case_id):
        counts[record_type] = counts.get(record_type, 0) + 1
        if record_type == CASE:
            if case_hash is None:
                problems.append("the case's own record is not sealed")
            elif digest != case_hash:
                problems.append("the case's verdict, status or summary was changed outside reclaim")
            continue
        expected_hash = sealed.pop((record_type, record_id), None)
        if expected_hash is None:
            problems.append(f"{WHAT[record_type]} ({record_type} {record_id}) was added outside reclaim")
        elif expected_hash != digest:
            problems.append(f"{WHAT[record_type]} ({record_type} {record_id}) was changed")
    for record_type, record_id in sealed:
        problems.append(f"{WHAT[record_type]} ({record_type} {record_id}) was deleted")
    evidence = _table(EvidenceRow)
    for ev in () if not payloads else db.execute(select(evidence.c.id, evidence.c.sha256, evidence.c.payload)
                         .where(evidence.c.case_id == case_id).order_by(evidence.c.id)
                         .execution_options(yield_per=50)):
        if sha256_hex(bytes(ev.payload)) != ev.sha256:
            problems.append(f"evidence {ev.id} does not match its SHA-256")
    return CaseIntegrity(case_id, not problems, head, length, tuple(problems[:MAX_PROBLEMS]), counts)
