"""Insert-only tables, enforced inside the database (SQLite triggers, a PostgreSQL trigger function)."""

from __future__ import annotations

from alembic import op


def insert_only(table: str) -> None:
    """Refuse UPDATE and DELETE on ``table`` in the database itself, whatever the writer (idempotent)."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{table} is insert-only'); END")
    elif dialect == "postgresql":
        op.execute("CREATE OR REPLACE FUNCTION reclaim_insert_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   "BEGIN RAISE EXCEPTION '% is insert-only', TG_TABLE_NAME "
                   "USING ERRCODE = 'integrity_constraint_violation'; "
                   "END $$")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_insert_only ON {table}")
        op.execute(f"CREATE TRIGGER {table}_insert_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION reclaim_insert_only()")
