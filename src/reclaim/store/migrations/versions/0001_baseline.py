"""Baseline: the case store as schema version 2 created it (cases, evidence, not-collected, findings with scope,
timeline, hash-chained journal, sweep checkpoints), insert-only evidence and journal enforced by triggers.

Stores created before Alembic (a ``schema_version`` table, no ``alembic_version``) are stamped at this revision
after their own schema-1 → 2 step, then upgraded from here.

Revision ID: 0001
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from reclaim.store.migrations import triggers

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cases',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.String(length=27), nullable=False),
    sa.Column('updated_at', sa.String(length=27), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=320), nullable=False),
    sa.Column('subject_key', sa.String(length=320), nullable=False),
    sa.Column('tenant', sa.String(length=256), nullable=True),
    sa.Column('verdict', sa.String(length=16), nullable=True),
    sa.Column('since', sa.String(length=27), nullable=True),
    sa.Column('until', sa.String(length=27), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('operator', sa.String(length=256), nullable=True),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_cases_created_at'), 'cases', ['created_at'], unique=False)
    op.create_index('ix_cases_subject_kind', 'cases', ['subject_key', 'kind', 'created_at'], unique=False)
    op.create_table('schema_version',
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('applied_at', sa.String(length=27), nullable=False),
    sa.PrimaryKeyConstraint('version')
    )
    op.create_table('evidence',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('request', sa.JSON(), nullable=False),
    sa.Column('collected_at', sa.String(length=27), nullable=False),
    sa.Column('stored_at', sa.String(length=27), nullable=False),
    sa.Column('content_type', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_evidence_case_id'), 'evidence', ['case_id'], unique=False)
    op.create_table('findings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=32), nullable=False),
    sa.Column('check_id', sa.String(length=64), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('severity_rank', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('scope', sa.String(length=16), server_default='user', nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('artifact_type', sa.String(length=64), nullable=True),
    sa.Column('artifact_id', sa.String(length=512), nullable=True),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('evidence_ids', sa.JSON(), nullable=False),
    sa.Column('user', sa.String(length=320), nullable=True),
    sa.Column('recorded_at', sa.String(length=27), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_findings_case_id'), 'findings', ['case_id'], unique=False)
    op.create_table('not_collected',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('subject', sa.String(length=320), nullable=True),
    sa.Column('recorded_at', sa.String(length=27), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_not_collected_case_id'), 'not_collected', ['case_id'], unique=False)
    op.create_table('sweep_checkpoints',
    sa.Column('case_id', sa.String(length=32), nullable=False),
    sa.Column('tenant', sa.String(length=256), nullable=False),
    sa.Column('cursor', sa.Text(), nullable=True),
    sa.Column('mailboxes_done', sa.Integer(), nullable=False),
    sa.Column('results_pointer', sa.Text(), nullable=True),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.String(length=27), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('case_id', 'tenant')
    )
    op.create_table('journal',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=32), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=512), nullable=False),
    sa.Column('step', sa.String(length=16), nullable=False),
    sa.Column('before_evidence_id', sa.Integer(), nullable=True),
    sa.Column('before_evidence_sha256', sa.String(length=64), nullable=True),
    sa.Column('request', sa.JSON(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('verify', sa.JSON(), nullable=True),
    sa.Column('operator', sa.String(length=256), nullable=True),
    sa.Column('started_at', sa.String(length=27), nullable=True),
    sa.Column('recorded_at', sa.String(length=27), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['before_evidence_id'], ['evidence.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'seq', name='uq_journal_case_seq')
    )
    op.create_table('timeline',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=32), nullable=False),
    sa.Column('time', sa.String(length=27), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('artifact_type', sa.String(length=64), nullable=True),
    sa.Column('artifact_id', sa.String(length=512), nullable=True),
    sa.Column('source', sa.String(length=64), nullable=True),
    sa.Column('evidence_id', sa.Integer(), nullable=True),
    sa.Column('user', sa.String(length=320), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['evidence_id'], ['evidence.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_timeline_case_id'), 'timeline', ['case_id'], unique=False)

    op.bulk_insert(sa.table("schema_version", sa.column("version", sa.Integer()), sa.column("applied_at", sa.String())),
                   [{"version": 2, "applied_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}])
    for table in ("evidence", "journal"):
        triggers.insert_only(table)


def downgrade() -> None:
    raise NotImplementedError("the case store is never downgraded (evidence is kept)")
