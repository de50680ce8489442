"""The case seal: one hash chain per case over its evidence, findings, verdict, timeline, not-checked records and
journal, with its head and length on the case row (truncation and deletion become visible).

Cases that exist when the store upgrades are sealed as they stand (their evidence hashes and journal chain keep
being checked as before; what was altered before the upgrade cannot be told apart now).

Revision ID: 0002
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from reclaim.store.migrations import triggers

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seal",
        sa.Column("case_id", sa.String(length=32), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("record_type", sa.String(length=16), nullable=False),
        sa.Column("records", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "seq"),
    )
    op.add_column("cases", sa.Column("seal_head", sa.String(length=64), nullable=True))
    op.add_column("cases", sa.Column("seal_length", sa.Integer(), nullable=True))
    for table in ("evidence", "journal", "seal"):  # evidence and journal: stores made on PostgreSQL before 0001
        triggers.insert_only(table)
    from reclaim.store._seal import seal_existing_cases

    seal_existing_cases(op.get_bind())
    op.bulk_insert(sa.table("schema_version", sa.column("version", sa.Integer()), sa.column("applied_at", sa.String())),
                   [{"version": 3, "applied_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}])


def downgrade() -> None:
    raise NotImplementedError("the case store is never downgraded (evidence is kept)")
