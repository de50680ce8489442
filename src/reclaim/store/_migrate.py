"""Bringing a case store's schema up to date with Alembic (:mod:`reclaim.store.migrations`).

Opening a store reads its revision (one small query). Only when it is behind does the Store take the write
lock (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction-scoped advisory lock, so several machines opening
the same store at once upgrade it once), read the revision again under the lock and upgrade, all in one
transaction (DDL is transactional on both engines: a failed or killed upgrade leaves the old schema).

Stores made before Alembic have a ``schema_version`` table and no ``alembic_version``: a schema-1 store gets its
own step to 2 first, then both are stamped at the baseline revision ``0001`` and upgraded from there. A store
whose revision this reclaim does not know was written by a newer reclaim and is refused, as is an upgrade of a
store opened read-only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, insert, inspect, select, text

from reclaim.store._schema import SCHEMA_VERSION, SchemaVersionRow
from reclaim.store.errors import StoreUnavailable

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

BASELINE = "0001"
# pg_advisory_xact_lock key: the first 8 bytes of "reclaim\0" (any constant shared by every reclaim)
ADVISORY_LOCK_KEY = 0x7265636C61696D00


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", "reclaim.store:migrations")
    return config


@lru_cache(maxsize=1)
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head() -> str:
    """The newest revision this reclaim knows."""
    revision = _script().get_current_head()
    assert revision is not None
    return revision


def _state(conn: Connection) -> tuple[str | None, int | None]:
    """(Alembic revision, pre-Alembic schema version) of the store behind ``conn``; (None, None) when empty."""
    tables = set(inspect(conn).get_table_names())
    revision = MigrationContext.configure(conn).get_current_revision() if "alembic_version" in tables else None
    version = None
    if SchemaVersionRow.__tablename__ in tables:
        version = conn.execute(select(func.max(SchemaVersionRow.version))).scalar_one_or_none()
    return revision, version


def _known(revision: str) -> bool:
    return any(script.revision == revision for script in _script().walk_revisions())


def _refuse_newer(location: str, revision: str | None, version: int | None) -> None:
    if (revision is not None and not _known(revision)) or (version is not None and version > SCHEMA_VERSION):
        raise StoreUnavailable(f"the case store {location} has schema version {version} (revision {revision}); "
                               f"this reclaim understands up to {SCHEMA_VERSION} (revision {head()})",
                               hint="upgrade reclaim")


def ensure_schema(engine: Engine, write_engine: Engine, *, location: str, read_only: bool) -> None:
    """Create or upgrade the schema of the store (see the module's docstring)."""
    with engine.connect() as conn:
        revision, version = _state(conn)
    _refuse_newer(location, revision, version)
    if revision == head():
        return
    if read_only:
        raise StoreUnavailable(f"the case store {location} needs an upgrade (schema {version} → {SCHEMA_VERSION}) "
                               "but is read-only",
                               hint="open a writable copy once to upgrade it, or read it with the reclaim that "
                                    "wrote it")
    with write_engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        revision, version = _state(conn)  # under the lock: another process may have upgraded it meanwhile
        _refuse_newer(location, revision, version)
        if revision == head():
            return
        config = _config()
        config.attributes["connection"] = conn
        if revision is None and version is not None:
            if version < 2:
                _upgrade_to_2(conn)
            command.stamp(config, BASELINE)
        command.upgrade(config, "head")


def _upgrade_to_2(conn: Connection) -> None:
    """Pre-Alembic step: findings get a scope (user, mailbox, tenant; existing ones were all about the case's user
    or mailbox: user) and the kind "prevention" is now "exposure"."""
    conn.execute(text("ALTER TABLE findings ADD COLUMN scope VARCHAR(16) DEFAULT 'user' NOT NULL"))
    conn.execute(text("UPDATE findings SET kind = 'exposure' WHERE kind = 'prevention'"))
    conn.execute(insert(SchemaVersionRow).values(version=2, applied_at=datetime.now(UTC)))
