"""The case store: cases, immutable evidence, findings, timeline, a hash-chained journal, sweep checkpoints.

ROADtools-style: gather into a database, analyse from it. SQLite by default
(``platformdirs.user_data_dir("reclaim")/reclaim.db``), any SQLAlchemy URL through ``--db`` / ``RECLAIM_DB``
(a plain file path is accepted too)::

    store = Store("cases.db")
    with store.transaction():                       # all or nothing
        case = store.create_case("investigate", "alice@contoso.com", tenant="contoso.com")
        ev = store.add_evidence(case.id, "inboxRules", "graph", {"method": "GET", "url": url}, raw, collected_at)
        store.add_findings(case.id, [NewFinding("rule-external-forward", "high", "...", evidence_ids=(ev.id,))])
        store.set_verdict(case.id, "compromised")

Case ids are ``c-YYYYMMDD-NNNN``: the UTC day the case was opened and a per-day counter (sortable, short
enough to type, allocated under the database's write lock).
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
    SecretRefused,
    StoreError,
    StoreUnavailable,
)
from reclaim.store.models import (
    SEVERITIES,
    Case,
    CaseDetail,
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
    "CaseListItem",
    "CaseNotFound",
    "ChainStatus",
    "Evidence",
    "EvidenceInfo",
    "EvidenceNotFound",
    "EvidenceTampered",
    "Finding",
    "ImmutableRecord",
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
