"""Where the case store lives and how its database connection is configured.

SQLite (the default) is configured for crash safety:

- ``journal_mode=WAL``: a writer never blocks readers, and a process killed mid-transaction leaves the
  database as of the last commit (the uncommitted tail of the WAL is ignored on the next open).
- ``synchronous=FULL``: each commit is fsync'ed to the WAL before it returns. ``NORMAL`` would already be
  safe against a killed process, but could lose the last commits on power loss or an OS crash; the
  journal's promise ("the state before a change is stored before the change is made") must survive
  those too, and writes are few (sweeps commit in batches), so the extra fsync costs little.
- ``foreign_keys=ON`` and a 30 s busy timeout (parallel writers wait rather than fail).
- Write transactions start with ``BEGIN IMMEDIATE`` so two writers serialise at the start instead of
  one failing with "database is locked" when it upgrades its read lock.
- The file is created 0600 before SQLite opens it (SQLite gives its -wal and -shm files the database
  file's mode), the default directory 0700.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.pool import ConnectionPoolEntry

from reclaim.store.errors import StoreUnavailable

ENV_VAR = "RECLAIM_DB"
BUSY_TIMEOUT_S = 30.0
WRITE_OPTION = "reclaim_write"


def default_db_path() -> Path:
    return Path(platformdirs.user_data_dir("reclaim")) / "reclaim.db"


def resolve_url(value: str | os.PathLike[str] | None = None) -> URL:
    """``--db`` / ``RECLAIM_DB`` / the default, as a SQLAlchemy URL. A value without ``://`` is a file path."""
    if value is None:
        value = os.environ.get(ENV_VAR) or None
    if value is None:
        return _sqlite_file_url(default_db_path())
    text = os.fspath(value)
    if not text.strip():
        raise StoreUnavailable("empty case store location", hint="give a file path or a SQLAlchemy URL")
    if "://" not in text:
        return _sqlite_file_url(Path(text).expanduser())
    try:
        return make_url(text)
    except ArgumentError as exc:
        raise StoreUnavailable(f"not a database URL: {text!r}",
                               hint="use a file path or a SQLAlchemy URL such as sqlite:///cases.db") from exc


def _sqlite_file_url(path: Path) -> URL:
    return URL.create("sqlite", database=str(path.absolute()))


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL, or None for other databases and in-memory SQLite."""
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def describe(url: URL) -> str:
    """The URL with any password hidden, for messages."""
    return url.render_as_string(hide_password=True)


def prepare_sqlite_file(path: Path, *, create: bool, default_location: bool) -> None:
    """Create the database file 0600 (and the default directory 0700) before SQLite opens it."""
    if path.exists():
        if path.is_dir():
            raise StoreUnavailable(f"the case store {path} is a directory", hint="give a file path")
        return
    if not create:
        raise StoreUnavailable(f"no case store at {path}", hint="check --db / RECLAIM_DB")
    parent = path.parent
    if not parent.exists():
        try:
            parent.mkdir(mode=0o700, parents=True)
        except OSError as exc:
            raise StoreUnavailable(f"cannot create the directory {parent}: {exc.strerror}") from exc
        if default_location:
            parent.chmod(0o700)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return  # another process created it first
    except OSError as exc:
        raise StoreUnavailable(f"cannot create the case store {path}: {exc.strerror}") from exc
    os.close(fd)
    path.chmod(0o600)  # in case a umask took bits away that 0600 needs


def tighten_sqlite_files(path: Path) -> None:
    """Make the database and its -wal / -shm files 0600 when reclaim can (they hold evidence)."""
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            if candidate.exists() and candidate.stat().st_mode & 0o077:
                candidate.chmod(0o600)
        except PermissionError:
            continue  # someone else's file, readable to us: leave its mode to its owner


def sqlite_read_only(path: Path) -> bool:
    """True when reclaim may read the SQLite file but not write it or its directory (read-only media, a copy
    handed over for review): such a store is opened read-only rather than refused."""
    return path.is_file() and (not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK))


def read_only_sqlite_url(path: Path) -> URL:
    """``mode=ro``; ``immutable=1`` too when the directory is not writable (SQLite could not create the WAL
    index beside it) and no WAL is left over to be read."""
    wal = Path(f"{path}-wal")
    immutable = not os.access(path.parent, os.W_OK) and not (wal.exists() and wal.stat().st_size > 0)
    params = "mode=ro&immutable=1" if immutable else "mode=ro"
    return URL.create("sqlite", database=f"file:{path.absolute()}?{params}", query={"uri": "true"})


def make_engine(url: URL, *, read_only: bool = False) -> Engine:
    try:
        if url.get_backend_name() == "sqlite":
            engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})
            _configure_sqlite(engine, read_only=read_only)
        else:
            engine = create_engine(url, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        hint = ("install the PostgreSQL driver: pip install 'reclaim[postgresql]' (psycopg 3; URL "
                "postgresql+psycopg://user@host/db)" if url.get_backend_name() == "postgresql"
                else "use a file path or a SQLAlchemy URL whose driver is installed")
        raise StoreUnavailable(f"cannot use the case store {describe(url)}: {exc}", hint=hint) from exc
    return engine


def _configure_sqlite(engine: Engine, *, read_only: bool = False) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN (pysqlite's own would always be deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if not read_only:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
