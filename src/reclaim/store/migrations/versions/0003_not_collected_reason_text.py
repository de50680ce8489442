"""A not-checked record's reason is text of any length.

The reason was ``String(64)``; sweeps record reasons such as "the term 'Get-AdminAuditLogConfig' is not
recognized ..." (250+ characters). SQLite never enforced the length, PostgreSQL refuses the insert, so a sweep
that met such a reason failed on a PostgreSQL store.

Revision ID: 0003
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("not_collected") as batch:
        batch.alter_column("reason", type_=sa.Text(), existing_type=sa.String(length=64), existing_nullable=False)
    op.bulk_insert(sa.table("schema_version", sa.column("version", sa.Integer()), sa.column("applied_at", sa.String())),
                   [{"version": 4, "applied_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}])


def downgrade() -> None:
    raise NotImplementedError("the case store is never downgraded (evidence is kept)")
