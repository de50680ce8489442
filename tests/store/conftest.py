"""The case store's suite runs on SQLite and on PostgreSQL.

``backend`` (and ``store`` built on it) is parametrised over both engines. PostgreSQL needs a server named by
``RECLAIM_TEST_POSTGRES_URL`` (``eval "$(.ci/postgres start)"`` starts a throwaway one); without it the
PostgreSQL cases skip with the reason, except under CI (``CI=true``), where a missing server is a failure.
Each PostgreSQL test gets its own schema (dropped afterwards), so tests never see each other's cases.

:class:`Backend` also gives the raw access of someone who has the database and its credentials: SQL with the
insert-only triggers off (SQLite: dropped; PostgreSQL: ``session_replication_role = replica``).
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from reclaim.store import Store

PG_ENV = "RECLAIM_TEST_POSTGRES_URL"
#: what raw SQL raises when the database refuses it (sqlite3's own errors, or SQLAlchemy's around psycopg's)
RAW_ERRORS = (sqlite3.Error, DBAPIError)
ENGINES = ("sqlite", "postgresql")


def postgres_url() -> str:
    """The test server's URL, or skip (fail under CI=true) when there is none."""
    url = os.environ.get(PG_ENV, "").strip()
    if not url:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {PG_ENV} is not set: .ci/run must start PostgreSQL (.ci/postgres start)")
        pytest.skip(f"no PostgreSQL server: set {PG_ENV} (eval \"$(.ci/postgres start)\") to run the store suite "
                    "on PostgreSQL too")
    return url


class Backend:
    """One empty case store location on one engine, and raw SQL against it."""

    def __init__(self, name: str, url: str, path: Path | None) -> None:
        self.name = name
        self.url = url  # what Store() takes
        self.path = path  # the SQLite file (None on PostgreSQL)

    def store(self) -> Store:
        return Store(self.url)

    def sql(self, statement: str, params: dict[str, Any] | None = None, *, triggers: bool = False) -> list[Any]:
        """Run one statement as someone with the database would (the insert-only triggers off unless
        ``triggers``); returns the rows it returned."""
        if self.path is not None:
            con = sqlite3.connect(self.path, isolation_level=None)
            try:
                if not triggers:
                    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
                        con.execute(f"DROP TRIGGER {name}")
                cursor = con.execute(statement, params or {})
                return cursor.fetchall()
            finally:
                con.close()
        engine = create_engine(self.url)
        try:
            with engine.begin() as conn:
                if not triggers:
                    conn.execute(text("SET LOCAL session_replication_role = replica"))
                result = conn.execute(text(statement), params or {})
                return list(result.all()) if result.returns_rows else []
        finally:
            engine.dispose()


@pytest.fixture(params=ENGINES)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        path = tmp_path / "cases.db"
        yield Backend("sqlite", str(path), path)
        return
    base = make_url(postgres_url())
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        url = base.update_query_dict({"options": f"-csearch_path={schema}"})
        yield Backend("postgresql", url.render_as_string(hide_password=False), None)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def store(backend: Backend) -> Iterator[Store]:
    with backend.store() as s:
        yield s
