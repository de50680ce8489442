"""Writers in several processes (machines, on PostgreSQL) share one case: never the same step applied twice.

A worker decides from the journal it read that a step is still to do and claims it with
``append_journal(..., step="applying", after_seq=<the last entry it read>)``: the store appends only if the
journal still ends there, under the case row's lock, so of two workers that read the same journal one claims
the step and the other gets :class:`JournalConflict`, reads again and finds it taken.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections import Counter

import pytest

from reclaim.store import JournalConflict, Store
from tests.store.conftest import Backend

STEPS = 40
WORKER = textwrap.dedent("""
    import sys
    from reclaim.store import JournalConflict, Store

    url, case_id, me, steps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    store0 = Store(url)  # connected and migrated before the start
    sys.stdin.readline()  # both start together
    claimed = conflicts = 0
    with store0 as store:
        for k in range(steps):
            target = f"step-{k}"
            while True:
                journal = store.journal(case_id)
                if any(e.target == target and e.step == "applying" for e in journal):
                    break  # another worker has it
                last = journal[-1].seq if journal else 0
                try:
                    store.append_journal(case_id, action_id="disable-inbox-rule", target=target, step="applying",
                                         operator=me, after_seq=last)
                except JournalConflict:
                    conflicts += 1
                    continue
                # the "request" would go out here, exactly once per step
                store.append_journal(case_id, action_id="disable-inbox-rule", target=target, step="applied",
                                     operator=me, result={"by": me})
                claimed += 1
                break
    print(claimed, conflicts)
""")


def test_after_seq_claims_once(store: Store) -> None:
    case = store.create_case("investigate", "alice@contoso.com")
    store.append_journal(case.id, action_id="a", target="t", step="applying", after_seq=0)
    with pytest.raises(JournalConflict, match="ends at entry 1, not 0") as info:
        store.append_journal(case.id, action_id="a", target="t", step="applying", after_seq=0)
    assert info.value.exit_code == 2 and len(store.journal(case.id)) == 1
    store.append_journal(case.id, action_id="a", target="t", step="applied", after_seq=1)
    assert [e.seq for e in store.journal(case.id)] == [1, 2] and store.verify_case(case.id).ok


def test_two_processes_never_apply_the_same_step_twice(backend: Backend) -> None:
    with backend.store() as store:
        case_id = store.create_case("investigate", "alice@contoso.com").id
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, backend.url, case_id, name, str(STEPS)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for name in ("w1", "w2")]
    try:
        for w in workers:
            assert w.stdin is not None
            w.stdin.write("go\n")
            w.stdin.flush()
        results = [w.communicate(timeout=300) for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    for w, (_, err) in zip(workers, results, strict=True):
        assert w.returncode == 0, err
    claimed = [int(out.split()[0]) for out, _ in results]
    with backend.store() as store:
        journal = store.journal(case_id)
        applying = Counter(e.target for e in journal if e.step == "applying")
        applied = Counter(e.target for e in journal if e.step == "applied")
        assert applying == applied == Counter({f"step-{k}": 1 for k in range(STEPS)})
        assert sum(claimed) == STEPS
        # each step was applied by the worker that claimed it
        by = {e.target: e.operator for e in journal if e.step == "applying"}
        assert all(e.result == {"by": by[e.target]} for e in journal if e.step == "applied")
        assert store.verify_chain(case_id).ok and store.verify_case(case_id).ok
