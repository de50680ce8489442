"""The case seal: every record of a case is covered, and each way of altering a case in the database is found.

The tamper cases are those of issue 17 (deleting the last journal entries or the whole journal, deleting or
downgrading findings with the verdict set to clean, deleting the timeline or the not-checked records, rewriting
evidence together with its hash), plus edits of the seal itself. Each runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest

from reclaim.store import NewEvidence, NewFinding, NewTimelineEvent, Store, StoreError
from tests.store.conftest import Backend

T0 = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)


def make_case(store: Store) -> str:
    """An investigated and remediated case with one record of every kind, and a second case beside it."""
    case = store.create_case("investigate", "alice@contoso.com", tenant="contoso.com", created_at=T0)
    ev = store.add_evidence(case.id, "inboxRules", "graph", {"method": "GET", "url": "/users/alice/messageRules"},
                            {"value": [{"id": "r1", "forwardTo": "x@evil.example"}]}, T0)
    store.add_evidence_many(case.id, [NewEvidence("signIns", "graph", {"method": "GET", "url": f"/signIns?p={i}"},
                                                  {"value": [{"id": f"s{i}"}]}, T0) for i in range(3)])
    store.add_findings(case.id, [
        NewFinding("rule-external-forward", "high", "rule forwards outside", evidence_ids=(ev.id,)),
        NewFinding("mfa-not-required", "medium", "MFA not required", kind="exposure"),
    ])
    store.add_timeline(case.id, [NewTimelineEvent(T0, "ruleCreated", "rule r1 created", evidence_id=ev.id),
                                 NewTimelineEvent(T0, "signIn", "sign-in from 203.0.113.7")])
    store.record_not_collected(case.id, "messageTrace", "missing_permission", "needs ReportingWebService.Read.All")
    store.set_verdict(case.id, "compromised", status="complete")
    for step in ("planned", "applying", "applied", "verified"):
        store.append_journal(case.id, action_id="disable-inbox-rule", target="r1", step=step)
    other = store.create_case("investigate", "bob@contoso.com", tenant="contoso.com")
    store.set_verdict(other.id, "clean")
    return case.id


@pytest.fixture
def case_id(store: Store) -> str:
    return make_case(store)


def altered(store: Store, case_id: str) -> tuple[str, ...]:
    integrity = store.verify_case(case_id)
    detail = store.case_detail(case_id)
    assert not integrity.ok and integrity.state == "altered" and integrity.problems
    assert not detail.intact and not detail.integrity.ok, "case_detail (cases show, report) sees it too"
    assert not store.verify_chain(case_id).ok, "verify (online) sees it too"
    return integrity.problems


def test_an_untouched_case_is_intact(store: Store, case_id: str) -> None:
    integrity = store.verify_case(case_id)
    assert integrity.ok and integrity.state == "intact" and integrity.problems == ()
    assert dict(integrity.records) == {"case": 1, "evidence": 4, "finding": 2, "timeline": 2, "not_checked": 1,
                                       "journal": 4}
    # one seal entry per write: create, evidence, batch, findings, timeline, not-checked, verdict, 4 journal
    assert integrity.length == 11
    detail = store.case_detail(case_id)
    assert detail.intact and detail.integrity == integrity and store.verify_chain(case_id).ok


def test_the_head_moves_with_every_write_and_is_stored_on_the_case(store: Store, case_id: str,
                                                                   backend: Backend) -> None:
    before = store.verify_case(case_id)
    store.add_findings(case_id, [NewFinding("late", "low", "t")])
    after = store.verify_case(case_id)
    assert after.ok and after.length == before.length + 1 and after.head != before.head
    assert backend.sql("SELECT seal_head, seal_length FROM cases WHERE id = :id", {"id": case_id}) == [
        (after.head, after.length)]


def test_deleting_the_last_journal_entries(store: Store, case_id: str, backend: Backend) -> None:
    backend.sql("DELETE FROM journal WHERE case_id = :id AND seq > 2", {"id": case_id})
    assert store.verify_chain(case_id).ok is False
    problems = altered(store, case_id)
    assert sum("journal entry" in p and "was deleted" in p for p in problems) == 2


def test_deleting_the_whole_journal(store: Store, case_id: str, backend: Backend) -> None:
    backend.sql("DELETE FROM journal WHERE case_id = :id", {"id": case_id})
    problems = altered(store, case_id)
    assert sum("journal entry" in p and "was deleted" in p for p in problems) == 4


def test_deleting_findings_and_setting_the_verdict_to_clean(store: Store, case_id: str, backend: Backend) -> None:
    backend.sql("DELETE FROM findings WHERE case_id = :id", {"id": case_id})
    backend.sql("UPDATE cases SET verdict = 'clean' WHERE id = :id", {"id": case_id})
    problems = altered(store, case_id)
    assert any("verdict" in p for p in problems)
    assert sum("a finding" in p and "was deleted" in p for p in problems) == 2


def test_downgrading_a_finding_and_the_verdict(store: Store, case_id: str, backend: Backend) -> None:
    backend.sql("UPDATE findings SET severity = 'info', severity_rank = 0 WHERE case_id = :id", {"id": case_id})
    backend.sql("UPDATE cases SET verdict = 'clean' WHERE id = :id", {"id": case_id})
    problems = altered(store, case_id)
    assert sum("a finding" in p and "was changed" in p for p in problems) == 2
    assert any("verdict" in p for p in problems)


def test_deleting_the_timeline(store: Store, case_id: str, backend: Backend) -> None:
    backend.sql("DELETE FROM timeline WHERE case_id = :id", {"id": case_id})
    assert sum("timeline event" in p for p in altered(store, case_id)) == 2


def test_deleting_the_not_checked_records(store: Store, case_id: str, backend: Backend) -> None:
    backend.sql("DELETE FROM not_collected WHERE case_id = :id", {"id": case_id})
    assert any("not-checked record" in p and "deleted" in p for p in altered(store, case_id))


def test_rewriting_evidence_together_with_its_hash(store: Store, case_id: str, backend: Backend) -> None:
    forged = json.dumps({"value": []}).encode()
    first = min(e.id for e in store.evidence(case_id))
    backend.sql("UPDATE evidence SET payload = :p, sha256 = :h, size = :n WHERE id = :id",
                {"p": forged, "h": hashlib.sha256(forged).hexdigest(), "n": len(forged), "id": first})
    assert all(e.hash_ok for e in store.evidence(case_id)), "the payload matches its (forged) SHA-256"
    assert any(f"evidence {first}) was changed" in p for p in altered(store, case_id))


def test_rewriting_an_evidence_payload_alone(store: Store, case_id: str, backend: Backend) -> None:
    first = min(e.id for e in store.evidence(case_id))
    backend.sql("UPDATE evidence SET payload = :p WHERE id = :id", {"p": b"{}", "id": first})
    assert any(f"evidence {first} does not match its SHA-256" in p for p in altered(store, case_id))


def test_adding_a_record_outside_reclaim(store: Store, case_id: str, backend: Backend) -> None:
    backend.sql("INSERT INTO timeline (case_id, time, kind, summary) VALUES (:id, :t, 'note', 'planted')",
                {"id": case_id, "t": "2026-11-27T07:00:00.000000Z"}, triggers=True)
    assert any("added outside reclaim" in p for p in altered(store, case_id))


def test_cutting_the_seal_short(store: Store, case_id: str, backend: Backend) -> None:
    """The last seal entries removed and the case's head rewound to match: the records they covered are unsealed."""
    head, length = backend.sql("SELECT prev_hash, seq - 1 FROM seal WHERE case_id = :id ORDER BY seq DESC",
                               {"id": case_id})[1]
    backend.sql("DELETE FROM seal WHERE case_id = :id AND seq > :n", {"id": case_id, "n": length})
    backend.sql("UPDATE cases SET seal_head = :h, seal_length = :n WHERE id = :id",
                {"h": head, "n": length, "id": case_id})
    assert any("journal entry" in p and "added outside reclaim" in p for p in altered(store, case_id))


@pytest.mark.parametrize("edit", [
    "DELETE FROM seal WHERE case_id = :id AND seq = 3",
    "UPDATE seal SET records = '[]' WHERE case_id = :id AND seq = 2",
    "UPDATE cases SET seal_head = NULL, seal_length = NULL WHERE id = :id",
    "UPDATE cases SET seal_length = seal_length + 1 WHERE id = :id",
])
def test_edits_of_the_seal_itself(store: Store, case_id: str, backend: Backend, edit: str) -> None:
    backend.sql(edit, {"id": case_id})
    altered(store, case_id)


def test_the_other_case_is_untouched_by_tampering_with_one(store: Store, case_id: str, backend: Backend) -> None:
    backend.sql("DELETE FROM findings WHERE case_id = :id", {"id": case_id})
    others = [c.case.id for c in store.list_cases() if c.case.id != case_id]
    assert others and all(store.verify_case(other).ok for other in others)


def test_the_seal_is_insert_only_in_the_database(store: Store, case_id: str, backend: Backend) -> None:
    with pytest.raises(Exception, match="insert-only"):
        backend.sql("DELETE FROM seal WHERE case_id = :id", {"id": case_id}, triggers=True)
    assert store.verify_case(case_id).ok


def test_a_failed_write_leaves_no_seal_entry(store: Store, case_id: str) -> None:
    before = store.verify_case(case_id)
    with pytest.raises(StoreError, match="evidence"):
        store.add_findings(case_id, [NewFinding("x", "high", "t", evidence_ids=(999_999,))])
    assert store.verify_case(case_id) == before
