"""One remediation per user at a time: a lease in the case store.

``remediate --apply``, ``undo`` and ``restore-access`` hold the user's lease while they write to the tenant.
A second run on the same user, from any process using the same store, is refused at once with who holds the
lease and since when (exit 2): it never writes alongside the first (doubled writes, two password resets, a
"delivered" password the account no longer has).

The lease is one row per user in ``remediation_leases``, a table of this module's own metadata created in the
store's database (SQLite or PostgreSQL), taken with an ``INSERT`` that the primary key makes atomic on both.
It expires ``ttl`` seconds after its last renewal (a thread renews it while the run lasts), so a lease whose
holder died on another machine frees itself; one whose holder process is gone on this machine is taken over at
once.

Limits: the lease covers runs that share a store. Two stores (two operators with their own SQLite files) do
not see each other's leases; there the tenant is the witness: before a one-way step (the password reset, the
session revocation) the runner re-reads what the plan was made from and stops when someone changed it since
the investigation (see ``Action.witness``). Two runs on two stores that read in the same instant can still
both write; Microsoft 365 offers no lock an app could take on a user without changing the user.
"""

from __future__ import annotations

import getpass
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError, SQLAlchemyError

from reclaim.errors import BadInput
from reclaim.store import Store, StoreError

TTL_SECONDS = 120.0

_metadata = MetaData()
LEASES = Table(
    "remediation_leases", _metadata,
    Column("subject", String(320), primary_key=True),
    Column("holder", String(64), nullable=False),
    Column("operator", String(256)),
    Column("host", String(255)),
    Column("pid", Integer),
    Column("case_id", String(64)),
    Column("command", String(32)),
    Column("acquired_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
)


class LeaseBusy(BadInput):
    """Another run holds the user's lease."""


@dataclass(frozen=True)
class Holder:
    operator: str | None
    host: str | None
    pid: int | None
    case_id: str | None
    command: str | None
    acquired_at: float
    expires_at: float

    def text(self) -> str:
        since = datetime.fromtimestamp(self.acquired_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return (f"{self.command or 'a run'} by {self.operator or 'someone'} on {self.host or '?'} (pid {self.pid}), "
                f"case {self.case_id}, since {since}")


def _engine(store: Store) -> Engine:
    connect_args = {"timeout": 30} if store.url.get_backend_name() == "sqlite" else {}
    engine = create_engine(store.url, connect_args=connect_args)
    try:
        _metadata.create_all(engine, checkfirst=True)
    except (OperationalError, ProgrammingError):
        # another process created it between the check and the CREATE: fine if it is there now
        if not inspect(engine).has_table(LEASES.name):
            raise
    return engine


def _alive_here(host: str | None, pid: int | None) -> bool:
    """False only when the holder ran on this machine and its process is gone."""
    if host != socket.gethostname() or not pid:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Lease:
    def __init__(self, store: Store, subject: str, *, case_id: str, command: str, operator: str | None = None,
                 ttl: float = TTL_SECONDS) -> None:
        self.subject = subject.casefold()
        self.case_id = case_id
        self.command = command
        self.operator = operator or getpass.getuser()
        self.ttl = ttl
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{time.time_ns()}"
        try:
            self.engine = _engine(store)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot take the remediation lease in {store.location}: {exc}") from exc
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def current(self) -> Holder | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(LEASES).where(LEASES.c.subject == self.subject)).mappings().first()
        if row is None:
            return None
        return Holder(row["operator"], row["host"], row["pid"], row["case_id"], row["command"],
                      row["acquired_at"], row["expires_at"])

    def acquire(self) -> None:
        """Take the lease, or raise :class:`LeaseBusy` naming its holder."""
        for _ in range(3):
            now = time.time()
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(LEASES).values(
                        subject=self.subject, holder=self.holder, operator=self.operator, host=socket.gethostname(),
                        pid=os.getpid(), case_id=self.case_id, command=self.command, acquired_at=now,
                        expires_at=now + self.ttl))
                return
            except IntegrityError:
                pass
            with self.engine.connect() as conn:
                row = conn.execute(select(LEASES).where(LEASES.c.subject == self.subject)).mappings().first()
            if row is None:
                continue
            if row["expires_at"] > now and _alive_here(row["host"], row["pid"]):
                holder = Holder(row["operator"], row["host"], row["pid"], row["case_id"], row["command"],
                                row["acquired_at"], row["expires_at"])
                raise LeaseBusy(f"another remediation of {self.subject} is running: {holder.text()}; nothing was "
                                "sent", hint="wait until it ends (or, if it was killed on another machine, until "
                                             f"its lease expires at {_utc(row['expires_at'])}), then run again")
            with self.engine.begin() as conn:  # expired, or its process is gone: take it over (compare-and-delete)
                conn.execute(delete(LEASES).where(LEASES.c.subject == self.subject,
                                                  LEASES.c.holder == row["holder"]))
        raise LeaseBusy(f"the remediation lease of {self.subject} is contended", hint="run again")

    def renew(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(LEASES).where(LEASES.c.subject == self.subject, LEASES.c.holder == self.holder)
                         .values(expires_at=time.time() + self.ttl))

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(LEASES).where(LEASES.c.subject == self.subject, LEASES.c.holder == self.holder))
        finally:
            self.engine.dispose()

    def _keep(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                self.renew()
            except SQLAlchemyError:  # the store is busy or gone: the next renewal tries again before expiry
                continue

    def start(self) -> None:
        """Take the lease and keep renewing it until :meth:`release`."""
        self.acquire()
        self._thread = threading.Thread(target=self._keep, name=f"lease {self.subject}", daemon=True)
        self._thread.start()

    @contextmanager
    def held(self) -> Iterator[Lease]:
        self.start()
        try:
            yield self
        finally:
            self.release()


def _utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@contextmanager
def user_lease(store: Store, subject: str, *, case_id: str, command: str,
               operator: str | None = None) -> Iterator[Lease]:
    """Hold ``subject``'s remediation lease for the ``with`` block (refused with :class:`LeaseBusy`)."""
    with Lease(store, subject, case_id=case_id, command=command, operator=operator).held() as lease:
        yield lease
