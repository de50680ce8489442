"""A store written by an older reclaim upgrades in place when a newer one opens it.

``data/store-v1.sql`` is the dump of a store that reclaim's schema-1 code (main before issue 14) wrote: an
investigation with evidence, findings (one of the old kind "prevention"), a timeline, a not-collected record, a
verdict and a five-entry journal, and a sweep case with a checkpoint.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from reclaim.store import SCHEMA_VERSION, NewFinding, Store, StoreError

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
