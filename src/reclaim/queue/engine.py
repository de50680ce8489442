"""Where the job queue lives, and the procrastinate app over it."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from reclaim.errors import BadInput

if TYPE_CHECKING:
    import procrastinate

QUEUE_ENV = "RECLAIM_QUEUE_URL"
#: pg_advisory_lock key under which the first worker (or enqueuer) creates procrastinate's tables
_SCHEMA_LOCK = 0x7265636C61696D  # "reclaim"


class QueueUnavailable(BadInput):
    """No usable job queue (no PostgreSQL URL, procrastinate not installed): exit 2 with what to do."""


def libpq_url(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL (``postgresql+psycopg://...``) as the libpq URL procrastinate takes."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise QueueUnavailable(f"not a database URL: {url!r}",
                               hint="give postgresql://USER@HOST:PORT/DB") from exc
    if parsed.get_backend_name() != "postgresql":
        raise QueueUnavailable(f"the job queue needs PostgreSQL, not {parsed.get_backend_name()}",
                               hint=f"set {QUEUE_ENV}=postgresql://USER@HOST:PORT/DB")
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def queue_url(explicit: str | None, store_url: str | None) -> str:
    """``--queue-url``, else ``RECLAIM_QUEUE_URL``, else the case store's URL when it is PostgreSQL."""
    value = explicit or os.environ.get(QUEUE_ENV) or None
    if value is None and store_url and store_url.startswith("postgresql"):
        value = store_url
    if value is None:
        raise QueueUnavailable("no job queue configured: jobs live in PostgreSQL",
                               hint=f"set {QUEUE_ENV}=postgresql://USER@HOST:PORT/DB (or --queue-url)")
    return libpq_url(value)


def queue_app(conninfo: str | None = None, *, connector: object | None = None) -> procrastinate.App:
    """The procrastinate app with reclaim's tasks, over PostgreSQL (``conninfo``) or a given connector
    (procrastinate's ``InMemoryConnector`` in unit tests)."""
    try:
        import procrastinate
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise QueueUnavailable("the job queue needs procrastinate", hint="pip install 'reclaim[team]'") from exc
    from reclaim.queue.tasks import blueprint

    if connector is None:
        if conninfo is None:
            raise QueueUnavailable("no job queue configured", hint=f"set {QUEUE_ENV}")
        connector = procrastinate.PsycopgConnector(conninfo=conninfo, min_size=1, max_size=4)
    app = procrastinate.App(connector=connector)  # type: ignore[arg-type]
    app.add_tasks_from(blueprint(), namespace="reclaim")
    return app


async def ensure_schema(conninfo: str) -> bool:
    """Create procrastinate's tables once, in one transaction under an advisory lock (several workers may
    start together). True when this call created them."""
    import psycopg
    from procrastinate.schema import SchemaManager

    async with await psycopg.AsyncConnection.connect(conninfo) as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        cursor = await conn.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")
        row = await cursor.fetchone()
        if row is not None and row[0]:
            return False
        schema = SchemaManager.get_schema()
        await conn.execute(schema.encode())
        return True
