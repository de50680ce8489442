"""The case store: cases, immutable evidence, findings, timeline, a hash-chained journal, sweep checkpoints.

ROADtools-style: gather into a database, analyse from it. SQLite by default
(``platformdirs.user_data_dir("reclaim")/reclaim.db``), any SQLAlchemy URL through ``--db`` / ``RECLAIM_DB``
(a plain file path is accepted too); PostgreSQL (``postgresql+psycopg://user@host/db``, the ``postgresql``
extra) for several engineers and workers on several machines. The schema comes from Alembic migrations
(:mod:`reclaim.store.migrations`): an older store upgrades in place when a newer reclaim opens it. A SQLite file
reclaim can read but not write (read-only media) is opened read-only::

    store = Store("cases.db")
    with store.transaction():                       # all or nothing
        case = store.create_case("investigate", "alice@contoso.com", tenant="contoso.com")
        ev = store.add_evidence(case.id, "inboxRules", "graph", {"method": "GET", "url": url}, raw, collected_at)
        store.add_findings(case.id, [NewFinding("rule-external-forward", "high", "...", evidence_ids=(ev.id,))])
        store.set_verdict(case.id, "compromised")

Case ids are ``c-YYYYMMDD-NNNN``: the UTC day the case was opened and a per-day counter (sortable, short
enough to type, allocated under the database's write lock; on other databases a unique key and a retry).

Integrity:

- Evidence: the payload's SHA-256 is computed when stored; :meth:`Evidence.verify` and
  :meth:`Store.get_evidence` re-hash it on read, ``Store.evidence(case)`` re-hashes every item.
- Journal: per case, ``seq`` 1, 2, 3 …; ``entry_hash = SHA-256(canonical_json(body))`` where ``body`` is every
  field of the entry (case, seq, action, target, step, before-state evidence id *and its SHA-256*, request,
  result, verify, operator, timestamps as ISO 8601 UTC with microseconds) plus ``prev_hash``, the previous
  entry's hash (64 zeros for the first). :meth:`Store.verify_chain` recomputes it all and re-hashes the cited
  snapshots. Canonical JSON: sorted keys, ``(",", ":")`` separators, UTF-8 without ``\\u`` escapes, no NaN.
- The case seal (:mod:`reclaim.store._seal`): every write to a case appends to a per-case hash chain over its
  verdict / status / summary, evidence (with each payload's SHA-256), not-checked records, findings, timeline and
  journal; the case row records the head and length. :meth:`Store.verify_case` re-computes it: a record
  deleted, added or changed, the journal cut short, evidence rewritten together with its hash all make the case
  "altered". The seal head, printed in the report and the evidence bundle, is the anchor against someone who
  rewrites the whole store consistently.
- Insert-only: evidence, journal and seal rows refuse UPDATE/DELETE (mapper events, a session hook, triggers
  in SQLite and PostgreSQL). Someone with the database can still drop the triggers; the seal then shows what
  changed.
- Concurrent writers: every write to a case locks the case row (PostgreSQL ``FOR NO KEY UPDATE``; SQLite's
  write lock), so the journal and the seal stay single chains across processes and machines;
  ``append_journal(after_seq=N)`` appends only if the journal still ends at N (:class:`JournalConflict`
  otherwise), so of two workers that read the same journal only one claims a step.
- Secrets: journal ``request`` / ``result`` / ``verify`` and evidence ``request`` refuse values under keys like
  password, newPassword, secret, clientSecret, token, Authorization (unless :data:`REDACTED`) and any
  bearer token or JWT.
"""

from reclaim.store._canonical import GENESIS_HASH, REDACTED, canonical_json, is_secret_key, refuse_secrets, sha256_hex
from reclaim.store._engine import ENV_VAR, default_db_path, resolve_url
from reclaim.store._schema import SCHEMA_VERSION
from reclaim.store._store import Store, chain_status, journal_body, journal_hash
from reclaim.store.errors import (
    CaseNotFound,
    EvidenceNotFound,
    EvidenceTampered,
    ImmutableRecord,
    JournalConflict,
    SecretRefused,
    StoreError,
    StoreUnavailable,
)
from reclaim.store.models import (
    SEVERITIES,
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

__all__ = [
    "ENV_VAR",
    "GENESIS_HASH",
    "REDACTED",
    "SCHEMA_VERSION",
    "SEVERITIES",
    "Case",
    "CaseDetail",
    "CaseIntegrity",
    "CaseListItem",
    "CaseNotFound",
    "ChainStatus",
    "Evidence",
    "EvidenceInfo",
    "EvidenceNotFound",
    "EvidenceTampered",
    "Finding",
    "ImmutableRecord",
    "JournalConflict",
    "JournalEntry",
    "NewEvidence",
    "NewFinding",
    "NewTimelineEvent",
    "NotCollected",
    "SecretRefused",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "SweepCheckpoint",
    "TimelineEvent",
    "canonical_json",
    "chain_status",
    "default_db_path",
    "is_secret_key",
    "journal_body",
    "journal_hash",
    "refuse_secrets",
    "resolve_url",
    "sha256_hex",
]
