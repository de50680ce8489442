"""A store written by an older reclaim upgrades in place when a newer one opens it.

``data/store-v1.sql`` is the dump of a store that reclaim's schema-1 code (main before issue 14) wrote: an
investigation with evidence, findings (one of the old kind "prevention"), a timeline, a not-collected record, a
verdict and a five-entry journal, and a sweep case with a checkpoint.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import JSON, MetaData, Table, create_engine, text

from reclaim.store import SCHEMA_VERSION, NewFinding, Store, StoreError, StoreUnavailable, _migrate
from reclaim.store._schema import Base
from tests.store.conftest import Backend

V1_DUMP = Path(__file__).parent / "data" / "store-v1.sql"
INVESTIGATION = "c-20261127-0001"


@pytest.fixture
def v1_store(tmp_path: Path) -> Path:
    path = tmp_path / "v1.db"
    con = sqlite3.connect(path)
    con.executescript(V1_DUMP.read_text(encoding="utf-8"))
    con.execute("PRAGMA journal_mode=WAL")
    con.close()
    return path


def _versions(path: Path) -> list[int]:
    con = sqlite3.connect(path)
    try:
        return [v for (v,) in con.execute("SELECT version FROM schema_version ORDER BY version")]
    finally:
        con.close()


def test_a_schema_1_store_upgrades_in_place(v1_store: Path) -> None:
    assert _versions(v1_store) == [1]
    with Store(v1_store) as store:
        findings = {f.check_id: f for f in store.findings(INVESTIGATION)}
        assert findings["mfa-not-required"].kind == "exposure"  # was "prevention"
        assert findings["rule-external-forward"].kind == "compromise"
        assert {f.scope for f in findings.values()} == {"user"}
        detail = store.case_detail(INVESTIGATION)
        assert detail.case.verdict == "compromised" and detail.chain.ok and detail.chain.length == 5
        assert all(e.hash_ok for e in detail.evidence) and len(detail.timeline) == 1
        assert store.get_checkpoint("c-20261127-0002", "contoso.com") is not None
        # and it takes the new fields
        store.add_findings(INVESTIGATION, [NewFinding("transport-rule-forward", "high", "forwards out",
                                                      scope="tenant")])
        assert {f.check_id: f.scope for f in store.findings(INVESTIGATION)}["transport-rule-forward"] == "tenant"
    assert _versions(v1_store)[-1] == SCHEMA_VERSION
    with Store(v1_store) as store:  # opening it again changes nothing
        assert len(store.findings(INVESTIGATION)) == 3
    assert _versions(v1_store)[-1] == SCHEMA_VERSION


def test_new_findings_take_kind_and_scope(tmp_path: Path) -> None:
    with Store(tmp_path / "cases.db") as store:
        case = store.create_case("investigate", "alice@contoso.com")
        store.add_findings(case.id, [
            NewFinding("rule-external-forward", "high", "t", scope="mailbox"),
            NewFinding("mfa-not-required", "high", "t", kind="exposure"),
            NewFinding("profile-changed-by-app", "info", "t", kind="context"),
            NewFinding("password-policy-weak", "medium", "t", kind="prevention"),  # the name before issue 14
        ])
        got = {f.check_id: (f.kind, f.scope) for f in store.findings(case.id)}
        assert got == {"rule-external-forward": ("compromise", "mailbox"), "mfa-not-required": ("exposure", "user"),
                       "profile-changed-by-app": ("context", "user"), "password-policy-weak": ("exposure", "user")}
        with pytest.raises(StoreError, match="finding scope"):
            store.add_findings(case.id, [NewFinding("x", "high", "t", scope="forest")])
        with pytest.raises(StoreError, match="finding kind"):
            store.add_findings(case.id, [NewFinding("x", "high", "t", kind="advice")])


# -- schema 2 (before Alembic and the case seal) ----------------------------------------------------------

V2_DUMP = Path(__file__).parent / "data" / "store-v2.sql"
V2_CASE = "c-20261201-0001"
V2_SWEEP = "c-20261201-0002"


@pytest.fixture
def v2_store(tmp_path: Path) -> Path:
    path = tmp_path / "v2.db"
    con = sqlite3.connect(path)
    con.executescript(V2_DUMP.read_text(encoding="utf-8"))
    con.close()
    return path


V2_TABLES = ("schema_version", "cases", "evidence", "not_collected", "findings", "timeline", "journal",
             "sweep_checkpoints")


@pytest.fixture
def v2_backend(backend: Backend) -> Backend:
    """The schema-2 store of ``data/store-v2.sql`` on either engine. On PostgreSQL: the baseline tables (what
    schema-2 code created there), no ``alembic_version``, and the dump's rows copied in."""
    if backend.path is not None:
        con = sqlite3.connect(backend.path)
        con.executescript(V2_DUMP.read_text(encoding="utf-8"))
        con.close()
        return backend
    source = sqlite3.connect(":memory:")
    source.executescript(V2_DUMP.read_text(encoding="utf-8"))
    engine = create_engine(backend.url)
    try:
        with engine.begin() as conn:
            config = _migrate._config()
            config.attributes["connection"] = conn
            command.upgrade(config, _migrate.BASELINE)
            conn.execute(text("DROP TABLE alembic_version"))
            conn.execute(text("DELETE FROM schema_version"))
            for name in V2_TABLES:
                table = Table(name, MetaData(), autoload_with=conn)
                cursor = source.execute(f"SELECT * FROM {name}")  # noqa: S608 (names from V2_TABLES)
                columns = [d[0] for d in cursor.description]
                rows = [{c: json.loads(v) if isinstance(table.c[c].type, JSON) and v is not None else v
                         for c, v in zip(columns, row, strict=True)} for row in cursor]
                conn.execute(table.insert(), rows)
                if "id" in columns and name != "cases":
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), max(id)) FROM {name}"))  # noqa: S608
    finally:
        engine.dispose()
        source.close()
    return backend


def test_a_schema_2_store_is_stamped_upgraded_and_sealed(v2_backend: Backend) -> None:
    def versions() -> list[int]:
        return [v for (v,) in v2_backend.sql("SELECT version FROM schema_version ORDER BY version")]

    def revision() -> list[str]:
        return [r for (r,) in v2_backend.sql("SELECT version_num FROM alembic_version")]

    assert versions() == [2]
    with v2_backend.store() as store:
        detail = store.case_detail(V2_CASE)
        assert detail.case.verdict == "compromised" and len(detail.findings) == 2 and len(detail.timeline) == 2
        assert detail.chain.ok and detail.chain.length == 5 and len(detail.evidence) == 5
        assert all(e.hash_ok for e in detail.evidence)
        integrity = store.verify_case(V2_CASE)
        assert integrity.ok, integrity.problems
        assert dict(integrity.records) == {"case": 1, "evidence": 5, "not_checked": 1, "finding": 2, "timeline": 2,
                                           "journal": 5}
        assert store.verify_case(V2_SWEEP).ok and store.get_checkpoint(V2_SWEEP, "contoso.com") is not None
        head = integrity.head
        # the upgraded store takes new records, each sealed on top of the upgrade's seal
        store.add_findings(V2_CASE, [NewFinding("transport-rule-forward", "high", "forwards out", scope="tenant")])
        store.append_journal(V2_CASE, action_id="block-sign-in", target="alice@contoso.com", step="planned")
        after = store.verify_case(V2_CASE)
        assert after.ok and after.length == integrity.length + 2 and after.head != head
        assert store.verify_chain(V2_CASE).length == 6
        assert store.create_case("investigate", "carol@contoso.com").id.startswith("c-")
    assert versions() == [2, *range(3, SCHEMA_VERSION + 1)] and revision() == [_migrate.head()]
    with v2_backend.store() as store:  # opening it again changes nothing
        assert store.verify_case(V2_CASE) == after
    assert versions() == [2, *range(3, SCHEMA_VERSION + 1)]
    # and what the upgrade sealed is guarded like the rest
    v2_backend.sql("UPDATE cases SET verdict = 'clean' WHERE id = :id", {"id": V2_CASE})
    with v2_backend.store() as store:
        assert not store.verify_case(V2_CASE).ok


def test_concurrent_openers_upgrade_once(v2_backend: Backend) -> None:
    """Several processes opening an old store at once: one upgrades (under the lock), the others wait and find
    it done; every case is sealed once."""
    children = [subprocess.Popen([sys.executable, "-c", "import sys; from reclaim.store import Store; "
                                  "Store(sys.argv[1]).close()", v2_backend.url], stderr=subprocess.PIPE, text=True)
                for _ in range(3)]
    for child in children:
        _, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
    assert [r for (r,) in v2_backend.sql("SELECT version_num FROM alembic_version")] == [_migrate.head()]
    with v2_backend.store() as store:
        assert store.verify_case(V2_CASE).ok and store.verify_case(V2_SWEEP).ok
    seal_per_case = v2_backend.sql("SELECT case_id, count(*) FROM seal GROUP BY case_id ORDER BY case_id")
    assert seal_per_case == [(V2_CASE, 6), (V2_SWEEP, 1)]


def test_the_upgrade_keeps_the_insert_only_triggers(v2_store: Path) -> None:
    Store(v2_store).close()
    con = sqlite3.connect(v2_store)
    try:
        triggers = {n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        assert triggers == {f"{t}_no_{op}" for t in ("evidence", "journal", "seal") for op in ("update", "delete")}
        with pytest.raises(sqlite3.IntegrityError, match="insert-only"):
            con.execute("DELETE FROM seal")
    finally:
        con.close()


def test_a_store_from_a_newer_reclaim_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cases.db"
    Store(path).close()
    con = sqlite3.connect(path)
    con.execute("UPDATE alembic_version SET version_num = '9999_future'")
    con.commit()
    con.close()
    with pytest.raises(StoreUnavailable, match="9999_future") as info:
        Store(path)
    assert "upgrade reclaim" in info.value.one_line()


def test_the_migrations_build_exactly_the_models(store: Store) -> None:
    """A store made by the migrations has the tables, columns, types and indexes of the ORM models."""
    with store._engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
