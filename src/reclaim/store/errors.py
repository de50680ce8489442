"""The case store's errors.

::

    BadInput (reclaim.errors, exit 2)
    └── StoreError                 anything the case store refuses or cannot do
        ├── StoreUnavailable       the database cannot be opened, read or written (bad URL, not a database)
        ├── CaseNotFound           no case with that id
        ├── EvidenceNotFound       no evidence with that id (in that case)
        ├── ImmutableRecord        an update or delete of evidence or a journal entry was attempted
        ├── EvidenceTampered       a stored payload no longer matches its SHA-256
        ├── JournalConflict        another writer appended to the journal since it was read (``after_seq``)
        └── SecretRefused          a value under a secret-looking key (password, token, ...) was to be stored

They are ``BadInput`` so the CLI prints one line and exits 2: the store is input to every command that
reads a case.
"""

from __future__ import annotations

from reclaim.errors import BadInput


class StoreError(BadInput):
    """The case store refused an operation or could not perform it."""


class StoreUnavailable(StoreError):
    """The database cannot be opened, read or written."""


class CaseNotFound(StoreError):
    def __init__(self, case_id: str) -> None:
        super().__init__(f"no case {case_id!r} in the case store",
                         hint="`reclaim cases list` shows the cases; --db selects another store")
        self.case_id = case_id


class EvidenceNotFound(StoreError):
    def __init__(self, evidence_id: int) -> None:
        super().__init__(f"no evidence {evidence_id} in the case store")
        self.evidence_id = evidence_id


class ImmutableRecord(StoreError):
    """Evidence and journal entries are insert-only."""


class EvidenceTampered(StoreError):
    def __init__(self, evidence_id: int, expected: str, actual: str) -> None:
        super().__init__(f"evidence {evidence_id} does not match its SHA-256 (stored {expected[:12]}…, "
                         f"payload hashes to {actual[:12]}…)",
                         hint="the case store was modified outside reclaim; do not rely on this evidence")
        self.evidence_id = evidence_id
        self.expected = expected
        self.actual = actual


class JournalConflict(StoreError):
    """``append_journal(after_seq=N)`` found the journal no longer ending at entry N: another writer got there
    first. Read the journal again and decide again (the step may be done already)."""

    def __init__(self, case_id: str, expected: int, actual: int) -> None:
        super().__init__(f"the journal of {case_id} ends at entry {actual}, not {expected}: another writer "
                         "appended to it", hint="read the journal again before deciding what to do")
        self.case_id = case_id
        self.expected = expected
        self.actual = actual


class SecretRefused(StoreError):
    def __init__(self, path: str) -> None:
        super().__init__(f"refusing to store a secret-looking value at {path}",
                         hint="redact it first (replace the value with reclaim.store.REDACTED)")
        self.path = path
