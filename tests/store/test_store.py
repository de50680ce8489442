"""The case store: cases, immutable evidence, findings, journal chain, secrets, transactions, locations."""

from __future__ import annotations

import hashlib
import itertools
import json
import sqlite3
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reclaim.store import (
    GENESIS_HASH,
    REDACTED,
    SCHEMA_VERSION,
    CaseNotFound,
    EvidenceTampered,
    ImmutableRecord,
    NewEvidence,
    NewFinding,
    NewTimelineEvent,
    SecretRefused,
    Store,
    StoreError,
    StoreUnavailable,
)
from reclaim.store._schema import EvidenceRow, JournalRow
from tests.store.conftest import RAW_ERRORS, Backend

T0 = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
URL = "https://graph.microsoft.com/v1.0/users/alice@contoso.com/mailFolders/inbox/messageRules"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "cases.db"


def raw(db_path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection: what someone with the file and a SQLite shell can do."""
    return sqlite3.connect(db_path, isolation_level=None)


# -- cases ------------------------------------------------------------------------------------------------


def test_case_ids_are_per_day_counters_that_sort(store: Store) -> None:
    a = store.create_case("investigate", "alice@contoso.com", created_at=T0)
    b = store.create_case("investigate", "bob@contoso.com", created_at=T0 + timedelta(minutes=1))
    c = store.create_case("sweep", "contoso.com", created_at=T0 + timedelta(days=1))
    assert (a.id, b.id, c.id) == ("c-20261127-0001", "c-20261127-0002", "c-20261128-0001")
    assert [i.case.id for i in store.list_cases()] == [c.id, b.id, a.id]


def test_case_round_trip_and_filters(store: Store) -> None:
    case = store.create_case("investigate", "Alice@Contoso.com", tenant="contoso.com", since=T0 - timedelta(days=30),
                             until=T0, operator="admin@contoso.com", summary={"users": 1})
    store.create_case("sweep", "contoso.com", tenant="contoso.com")
    got = store.get_case(case.id)
    assert got == case
    assert got.since == T0 - timedelta(days=30) and got.since.tzinfo is not None
    assert [i.case.id for i in store.list_cases(kind="investigate")] == [case.id]
    assert [i.case.id for i in store.list_cases(subject="alice@contoso.com")] == [case.id]
    assert store.latest_case_for("ALICE@contoso.com").id == case.id  # type: ignore[union-attr]
    assert store.latest_case_for("alice@contoso.com", "sweep") is None
    done = store.set_verdict(case.id, "compromised", status="complete", summary={"findings": 2})
    assert (done.verdict, done.status, done.summary) == ("compromised", "complete", {"findings": 2})
    with pytest.raises(StoreError, match="verdict"):
        store.set_verdict(case.id, "pwned")
    with pytest.raises(StoreError, match="case kind"):
        store.create_case("remediate", "alice@contoso.com")


def test_latest_case_is_the_newest(store: Store) -> None:
    store.create_case("investigate", "alice@contoso.com", created_at=T0)
    newer = store.create_case("investigate", "alice@contoso.com", created_at=T0 + timedelta(hours=1))
    assert store.latest_case_for("alice@contoso.com") == newer


def test_unknown_case_is_one_clear_error(store: Store) -> None:
    with pytest.raises(CaseNotFound) as info:
        store.case_detail("c-20990101-0001")
    assert info.value.exit_code == 2 and "c-20990101-0001" in info.value.one_line()
    with pytest.raises(CaseNotFound):
        store.add_evidence("c-20990101-0001", "user", "graph", {}, b"{}", T0)


def test_findings_counts_and_order(store: Store) -> None:
    case = store.create_case("investigate", "alice@contoso.com")
    ev = store.add_evidence(case.id, "inboxRules", "graph", {"method": "GET", "url": URL}, b'{"value":[]}', T0)
    n = store.add_findings(case.id, [
        NewFinding("rule-delete", "low", "deletes mail"),
        NewFinding("rule-external-forward", "high", "forwards outside", artifact_type="inboxRule",
                   artifact_id="AQAAAJ5dZqA=", evidence={"to": "x@evil.example"}, evidence_ids=(ev.id,)),
        NewFinding("mfa-not-required", "medium", "MFA is not required", kind="exposure"),
    ])
    assert n == 3
    findings = store.findings(case.id)
    assert [f.severity for f in findings] == ["high", "medium", "low"]
    assert findings[0].evidence_ids == (ev.id,) and findings[0].evidence == {"to": "x@evil.example"}
    assert [f.check_id for f in store.findings(case.id, min_severity="medium")] == [
        "rule-external-forward", "mfa-not-required"]
    (item,) = store.list_cases()
    assert (item.findings_medium_or_above, item.findings_total) == (2, 3)


def test_findings_must_rest_on_evidence_of_the_same_case(store: Store) -> None:
    a = store.create_case("investigate", "alice@contoso.com")
    b = store.create_case("investigate", "bob@contoso.com")
    ev_b = store.add_evidence(b.id, "user", "graph", {}, b"{}", T0)
    with pytest.raises(StoreError, match="not in case"):
        store.add_findings(a.id, [NewFinding("x", "high", "t", evidence_ids=(ev_b.id,))])
    with pytest.raises(StoreError, match="severity"):
        store.add_findings(a.id, [NewFinding("x", "severe", "t")])
    assert store.findings(a.id) == []


def test_timeline_and_not_collected(store: Store) -> None:
    case = store.create_case("investigate", "alice@contoso.com")
    store.add_timeline(case.id, [NewTimelineEvent(T0 + timedelta(hours=2), "rule-created", "rule 'x' created"),
                                 NewTimelineEvent(T0, "sign-in", "sign-in from 192.0.2.7", source="graph")])
    assert [e.kind for e in store.timeline(case.id)] == ["sign-in", "rule-created"]
    nc = store.record_not_collected(case.id, "messageTrace", "missing_permission", "needs ReportingWebService.Read.All")
    assert store.not_collected(case.id) == [nc]


# -- evidence -------------------------------------------------------------------------------------------


def test_evidence_is_stored_exactly_as_received(store: Store) -> None:
    case = store.create_case("investigate", "alice@contoso.com")
    payload = b'{"value": [{"displayName": "\xc3\xa9\xe2\x80\xae"}]}\r\n\xff'  # not even valid UTF-8 at the end
    ev = store.add_evidence(case.id, "inboxRules", "graph", {"method": "GET", "url": URL}, payload, T0)
    got = store.get_evidence(ev.id)
    assert got.payload == payload
    assert got.sha256 == hashlib.sha256(payload).hexdigest() and got.verify()
    assert got.collected_at == T0 and got.request == {"method": "GET", "url": URL}


def test_json_payloads_are_stored_canonically(store: Store) -> None:
    case = store.create_case("investigate", "alice@contoso.com")
    a = store.add_evidence(case.id, "mailbox", "exchange", {"cmdlet": "Get-Mailbox", "parameters": {"Identity": "a"}},
                           {"b": 1, "a": "ü"}, T0)
    b = store.add_evidence(case.id, "mailbox", "exchange", {"cmdlet": "Get-Mailbox"}, {"a": "ü", "b": 1}, T0)
    assert a.payload == '{"a":"ü","b":1}'.encode() and a.sha256 == b.sha256
    assert a.content_type == "application/json" and a.json() == {"a": "ü", "b": 1}


def test_evidence_refuses_orm_updates_and_deletes(store: Store, backend: Backend) -> None:
    case = store.create_case("investigate", "alice@contoso.com")
    ev = store.add_evidence(case.id, "user", "graph", {}, b"{}", T0)
    engine = create_engine(store.url)
    try:
        with Session(engine) as session:
            row = session.get(EvidenceRow, ev.id)
            assert row is not None
            row.payload = b'{"tampered": true}'
            with pytest.raises(ImmutableRecord):
                session.flush()
            session.rollback()
            session.delete(session.get(EvidenceRow, ev.id))
            with pytest.raises(ImmutableRecord):
                session.flush()
            session.rollback()
            # A bulk UPDATE through another session bypasses the mapper events; the database trigger refuses it.
            with pytest.raises(IntegrityError, match="insert-only"):
                session.execute(update(EvidenceRow).values(payload=b"x"))
    finally:
        engine.dispose()
    # Through the store's own sessions the statement is refused before it reaches the database.
    with pytest.raises(ImmutableRecord), store._session(write=True) as session:
        session.execute(update(JournalRow).values(step="applied"))
    assert store.get_evidence(ev.id).payload == b"{}"


def test_tampered_evidence_is_detected_on_read(store: Store, backend: Backend) -> None:
    case = store.create_case("investigate", "alice@contoso.com")
    ev = store.add_evidence(case.id, "inboxRules", "graph", {"method": "GET", "url": URL}, b'{"value":[1]}', T0)
    good = store.add_evidence(case.id, "user", "graph", {}, b"{}", T0)
    with pytest.raises(RAW_ERRORS, match="insert-only"):
        backend.sql("UPDATE evidence SET payload = :p WHERE id = :id", {"p": b"\x00", "id": ev.id}, triggers=True)
    backend.sql("UPDATE evidence SET payload = :p WHERE id = :id", {"p": b'{"value":[]}', "id": ev.id})
    with pytest.raises(EvidenceTampered) as info:
        store.get_evidence(ev.id)
    assert info.value.expected == ev.sha256
    assert not store.get_evidence(ev.id, verify=False).verify()
    assert store.get_evidence(good.id).verify()
    assert {e.id: e.hash_ok for e in store.evidence(case.id)} == {ev.id: False, good.id: True}


def test_batched_evidence_from_a_generator(store: Store) -> None:
    case = store.create_case("sweep", "contoso.com")
    items = (NewEvidence("inboxRules", "graph", {"method": "GET", "url": f"/users/{i}/messageRules"},
                         {"value": [], "i": i}, T0) for i in range(1234))
    ids = store.add_evidence_many(case.id, items, batch_size=100)
    assert len(ids) == 1234 and ids == sorted(ids) and len(set(ids)) == 1234
    last = store.get_evidence(ids[-1])
    assert last.json() == {"value": [], "i": 1233} and last.request["url"] == "/users/1233/messageRules"


def test_batched_inserts_keep_memory_flat(store: Store) -> None:
    import tracemalloc

    case = store.create_case("sweep", "contoso.com")
    payload = b"x" * 8192
    items = (NewEvidence("inboxRules", "graph", {"url": f"/users/{i}/messageRules"}, payload, T0) for i in range(3000))
    tracemalloc.start()
    try:
        ids = store.add_evidence_many(case.id, items, batch_size=200)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(ids) == 3000
    assert peak < 8_000_000, peak  # 24 MB of payloads went through; about one batch is held at a time


# -- secrets --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("request_body", [
    {"passwordProfile": {"password": "Xk3!correct-horse", "forceChangePasswordNextSignIn": True}},
    {"newPassword": "hunter2"},
    {"client_secret": "s3cr3t"},
    {"headers": {"Authorization": "Bearer abc"}},
    {"access_token": "abc"},
    {"refreshToken": "abc"},
    {"items": [{"ok": 1}, {"Password": 12345678}]},
    {"note": "Bearer eyJhbGciOi"},
    {"copy": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"},
])
def test_journal_refuses_secrets(store: Store, request_body: dict[str, object]) -> None:
    case = store.create_case("investigate", "alice@contoso.com")
    with pytest.raises(SecretRefused):
        store.append_journal(case.id, action_id="reset-password", target="alice", step="applied",
                             request=request_body)
    with pytest.raises(SecretRefused):
        store.append_journal(case.id, action_id="reset-password", target="alice", step="verified",
                             verify=request_body)
    with pytest.raises(SecretRefused):
        store.add_evidence(case.id, "user", "graph", request_body, b"{}", T0)
    assert store.journal(case.id) == [] and store.evidence(case.id) == []


def test_redacted_and_harmless_keys_are_stored(store: Store) -> None:
    case = store.create_case("investigate", "alice@contoso.com")
    request = {"method": "PATCH", "url": "/users/alice", "body": {
        "passwordProfile": {"password": REDACTED, "forceChangePasswordNextSignIn": True},
        "passwordPolicies": "DisablePasswordExpiration", "tokenType": "Bearer", "$skiptoken": "X'123'",
        "clientSecret": None}}
    entry = store.append_journal(case.id, action_id="reset-password", target="alice", step="applied",
                                 request=request, result={"status": 204})
    assert entry.request == request


# -- journal --------------------------------------------------------------------------------------------


def _journal_of_five(store: Store) -> str:
    case = store.create_case("investigate", "alice@contoso.com")
    snap = store.add_evidence(case.id, "user", "graph", {"method": "GET", "url": "/users/alice"}, b'{"a":1}', T0)
    for step in ("planned", "snapshot", "applying", "applied", "verified"):
        store.append_journal(case.id, action_id="block-sign-in", target="alice@contoso.com", step=step,
                             operator="admin@contoso.com", before_evidence_id=snap.id if step != "planned" else None,
                             request={"method": "PATCH", "body": {"accountEnabled": False}},
                             result={"status": 204} if step == "applied" else None,
                             verify={"held": True} if step == "verified" else None, started_at=T0)
    return case.id


def test_journal_chain_links_and_hashes(store: Store) -> None:
    case_id = _journal_of_five(store)
    entries = store.journal(case_id)
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.entry_hash for a, b in itertools.pairwise(entries))
    # The documented scheme, recomputed independently: SHA-256 of sorted-key compact UTF-8 JSON incl. prev_hash.
    e = entries[3]
    body = {"case_id": e.case_id, "seq": e.seq, "action_id": e.action_id, "target": e.target, "step": e.step,
            "before_evidence_id": e.before_evidence_id, "before_evidence_sha256": e.before_evidence_sha256,
            "request": e.request, "result": e.result, "verify": e.verify,
            "operator": e.operator, "started_at": "2026-11-27T07:00:00.000000Z",
            "recorded_at": e.recorded_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "prev_hash": e.prev_hash}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert hashlib.sha256(canonical).hexdigest() == e.entry_hash
    status = store.verify_chain(case_id)
    assert status.ok and status.length == 5 and status.head_hash == entries[-1].entry_hash
    assert status.first_bad_seq is None
    assert store.verify_chain(store.create_case("investigate", "bob@contoso.com").id).head_hash == GENESIS_HASH


def test_journal_entries_cannot_be_changed_through_the_database(store: Store, backend: Backend) -> None:
    case_id = _journal_of_five(store)
    with pytest.raises(RAW_ERRORS, match="insert-only"):
        backend.sql("UPDATE journal SET step = 'skipped' WHERE seq = 3", triggers=True)
    with pytest.raises(RAW_ERRORS, match="insert-only"):
        backend.sql("DELETE FROM journal WHERE seq = 5", triggers=True)
    assert store.verify_chain(case_id).ok


@pytest.mark.parametrize(("tamper", "bad_seq", "reason"), [
    ("UPDATE journal SET result = '{\"status\": 500}' WHERE seq = 4", 4, "content"),
    ("UPDATE journal SET target = 'mallory@contoso.com' WHERE seq = 1", 1, "content"),
    ("UPDATE journal SET prev_hash = '" + "1" * 64 + "' WHERE seq = 3", 3, "previous"),
    ("DELETE FROM journal WHERE seq = 2", 2, "missing"),
])
def test_journal_tampering_is_found_at_the_right_entry(store: Store, backend: Backend, tamper: str, bad_seq: int,
                                                       reason: str) -> None:
    case_id = _journal_of_five(store)
    backend.sql(tamper)
    status = store.verify_chain(case_id)
    assert not status.ok and status.first_bad_seq == bad_seq
    assert reason in (status.reason or "")


def test_rewritten_entry_with_recomputed_hash_breaks_the_next_link(store: Store, backend: Backend) -> None:
    case_id = _journal_of_five(store)
    entry = store.journal(case_id)[1]
    from dataclasses import replace

    from reclaim.store import journal_hash
    forged = replace(entry, step="skipped")
    backend.sql("UPDATE journal SET step = 'skipped', entry_hash = :h WHERE seq = 2", {"h": journal_hash(forged)})
    status = store.verify_chain(case_id)
    assert not status.ok and status.first_bad_seq == 3


def test_a_rewritten_snapshot_breaks_the_chain(store: Store, backend: Backend) -> None:
    """Payload and SHA-256 rewritten together pass the evidence's own check, not the journal's."""
    case_id = _journal_of_five(store)
    (snapshot,) = store.evidence(case_id)
    forged = b'{"a":2}'
    backend.sql("UPDATE evidence SET payload = :p, sha256 = :h WHERE id = :id",
                {"p": forged, "h": hashlib.sha256(forged).hexdigest(), "id": snapshot.id})
    assert store.get_evidence(snapshot.id).verify()
    status = store.verify_chain(case_id)
    assert not status.ok and status.first_bad_seq == 2 and "replaced" in (status.reason or "")
    detail = store.case_detail(case_id)
    assert detail.chain == status


def test_journal_rejects_unknown_steps_and_foreign_evidence(store: Store) -> None:
    a = store.create_case("investigate", "alice@contoso.com")
    b = store.create_case("investigate", "bob@contoso.com")
    ev_b = store.add_evidence(b.id, "user", "graph", {}, b"{}", T0)
    with pytest.raises(StoreError, match="journal step"):
        store.append_journal(a.id, action_id="x", target="t", step="done")
    with pytest.raises(StoreError, match="not in"):
        store.append_journal(a.id, action_id="x", target="t", step="snapshot", before_evidence_id=ev_b.id)


def test_concurrent_writers_get_distinct_case_ids(backend: Backend) -> None:
    backend.store().close()
    made: list[str] = []

    def writer() -> None:
        with backend.store() as s:
            made.extend(s.create_case("investigate", "alice@contoso.com").id for _ in range(10))

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 40 and len(set(made)) == 40


def test_concurrent_appends_keep_one_chain(backend: Backend) -> None:
    with backend.store() as first:
        case_id = first.create_case("investigate", "alice@contoso.com").id
    errors: list[StoreError] = []

    def writer(n: int) -> None:
        try:
            with backend.store() as s:
                for i in range(15):
                    s.append_journal(case_id, action_id=f"a{n}", target=str(i), step="applied")
        except StoreError as exc:  # "database is locked" would land here; asserted on below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with backend.store() as s:
        status = s.verify_chain(case_id)
        assert s.verify_case(case_id).ok
    assert status.ok and status.length == 60


# -- transactions ---------------------------------------------------------------------------------------


class Boom(Exception):
    pass


def test_an_exception_inside_a_transaction_leaves_nothing(store: Store) -> None:
    with pytest.raises(Boom), store.transaction():
        case = store.create_case("investigate", "alice@contoso.com")
        ev = store.add_evidence(case.id, "user", "graph", {}, b"{}", T0)
        store.add_findings(case.id, [NewFinding("x", "high", "t", evidence_ids=(ev.id,))])
        store.append_journal(case.id, action_id="x", target="t", step="planned")
        assert store.get_case(case.id).id == case.id  # visible inside
        raise Boom
    assert store.list_cases() == []
    with pytest.raises(CaseNotFound):
        store.get_case(case.id)
    # The id is free again.
    assert store.create_case("investigate", "alice@contoso.com").id == case.id


def test_a_store_error_inside_a_transaction_rolls_back_everything(store: Store) -> None:
    with pytest.raises(SecretRefused), store.transaction():
        case = store.create_case("investigate", "alice@contoso.com")
        store.append_journal(case.id, action_id="reset-password", target="a", step="applied",
                             request={"password": "plain"})
    assert store.list_cases() == []


def test_each_method_is_atomic_inside_a_transaction(store: Store) -> None:
    with store.transaction():
        case = store.create_case("investigate", "alice@contoso.com")
        findings = [NewFinding("a", "high", "first batch")] * 3 + [NewFinding("b", "nope", "bad severity")]
        with pytest.raises(StoreError, match="severity"):
            store.add_findings(case.id, findings, batch_size=3)  # the first batch was already inserted
        store.add_findings(case.id, [NewFinding("c", "low", "t")])
    assert [f.check_id for f in store.findings(case.id)] == ["c"]


def test_nested_transaction_is_a_savepoint(store: Store) -> None:
    with store.transaction():
        case = store.create_case("investigate", "alice@contoso.com")
        try:
            with store.transaction():
                store.add_evidence(case.id, "user", "graph", {}, b"{}", T0)
                raise Boom
        except Boom:
            pass
        store.record_not_collected(case.id, "user", "throttled")
    assert store.evidence(case.id) == [] and len(store.not_collected(case.id)) == 1


# -- checkpoints ----------------------------------------------------------------------------------------


def test_sweep_checkpoints(store: Store) -> None:
    case = store.create_case("sweep", "contoso.com", tenant="contoso.com")
    assert store.get_checkpoint(case.id, "contoso.com") is None
    store.put_checkpoint(case.id, "contoso.com", cursor="https://graph/users?$skiptoken=1", mailboxes_done=100)
    with store.transaction():
        store.add_findings(case.id, [NewFinding("rule-delete", "medium", "t", user="u199@contoso.com")])
        cp = store.put_checkpoint(case.id, "contoso.com", cursor="https://graph/users?$skiptoken=2",
                                  mailboxes_done=200, results_pointer="finding:1", state={"deep": False})
    assert store.get_checkpoint(case.id, "contoso.com") == cp
    assert cp.mailboxes_done == 200 and cp.state == {"deep": False}
    store.put_checkpoint(case.id, "fabrikam.com", cursor=None, mailboxes_done=0)
    assert [c.tenant for c in store.checkpoints(case.id)] == ["contoso.com", "fabrikam.com"]


# -- where the store lives ------------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_default_location_permissions_and_pragmas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECLAIM_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    with Store() as store:
        store.create_case("investigate", "alice@contoso.com")
        path = tmp_path / "xdg" / "reclaim" / "reclaim.db"
        assert store.url.database == str(path)
        assert _mode(path.parent) == 0o700
        for name in ("reclaim.db", "reclaim.db-wal", "reclaim.db-shm"):
            assert _mode(path.parent / name) == 0o600, name
        with store._engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
            assert conn.execute(text("SELECT max(version) FROM schema_version")).scalar() == SCHEMA_VERSION


def test_permissions_hold_with_a_permissive_umask(tmp_path: Path) -> None:
    import os

    old = os.umask(0)
    try:
        with Store(tmp_path / "open" / "cases.db") as store:
            store.create_case("investigate", "alice@contoso.com")
            for name in ("cases.db", "cases.db-wal", "cases.db-shm"):  # the WAL is removed on the last close
                assert _mode(tmp_path / "open" / name) == 0o600, name
    finally:
        os.umask(old)
    assert _mode(tmp_path / "open") == 0o700


def test_path_url_and_environment_name_the_same_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "cases.db"
    with Store(str(path)) as s:
        case = s.create_case("investigate", "alice@contoso.com")
    for where in (path, f"sqlite:///{path}"):
        with Store(where) as s:
            assert s.get_case(case.id) == case
    monkeypatch.setenv("RECLAIM_DB", str(path))
    with Store() as s:
        assert s.get_case(case.id) == case
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RECLAIM_DB")
    with Store("cases.db") as s:  # relative paths are relative to the working directory
        assert s.get_case(case.id) == case


def test_in_memory_store(tmp_path: Path) -> None:
    with Store("sqlite://") as s:
        case = s.create_case("hunt", "contoso.com")
        assert s.get_case(case.id) == case


@pytest.mark.parametrize(("location", "message"), [
    ("nosuchdialect://x", "cannot use the case store"),
    ("   ", "empty"),
    ("sqlite+nosuchdriver:///x.db", "cannot use the case store"),
])
def test_bad_locations_are_one_line_errors(location: str, message: str, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreUnavailable, match=message) as info:
        Store(location)
    assert info.value.exit_code == 2 and "\n" not in info.value.one_line()
    assert list(tmp_path.iterdir()) == [], "a refused store leaves no file behind"


def test_unreadable_files_are_one_line_errors(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database at all, just some bytes" * 100)
    with pytest.raises(StoreUnavailable, match="not a database"):
        Store(garbage)
    with pytest.raises(StoreUnavailable, match="no case store"):
        Store(tmp_path / "missing.db", create=False)
    assert not (tmp_path / "missing.db").exists()
    with pytest.raises(StoreUnavailable, match="directory"):
        Store(tmp_path)


def test_a_newer_schema_is_refused(db_path: Path) -> None:
    Store(db_path).close()
    con = raw(db_path)
    con.execute("INSERT INTO schema_version VALUES (?, ?)", (SCHEMA_VERSION + 1, "2027-01-01T00:00:00.000000Z"))
    con.close()
    with pytest.raises(StoreUnavailable, match=f"schema version {SCHEMA_VERSION + 1}") as info:
        Store(db_path)
    assert "upgrade reclaim" in info.value.one_line()


def test_a_missing_postgresql_driver_names_the_extra(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match="cannot use the case store") as info:
        Store("postgresql+nosuchdriver://reclaim@127.0.0.1/cases")
    assert "reclaim[postgresql]" in info.value.one_line()
