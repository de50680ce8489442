"""Options and helpers every command that talks to a tenant shares.

::

    @app.command()
    def investigate(user: str, tenant: str | None = TENANT_OPTION, endpoint: str | None = ENDPOINT_OPTION) -> None:
        settings = resolve_settings(tenant, endpoint)
        result = run_connected(settings, lambda conn: core.investigate(conn, user))

``run_connected`` runs the coroutine once (``asyncio.run``) on an open ``Connection`` and turns every
reclaim error into one line on stderr and the exit code of DESIGN.md (3: cannot authenticate, reach
the tenant, or lacks a permission).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn, TypeVar

import typer

from reclaim.cli.console import err_console, visible
from reclaim.config import TENANT_ENV, Config
from reclaim.errors import EXIT_CONNECT, EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_OK, BadInput, ReclaimError

if TYPE_CHECKING:
    from reclaim.m365 import Connection, ConnectionSettings

__all__ = [
    "DB_ENV",
    "DB_OPTION",
    "ENDPOINT_ENV",
    "ENDPOINT_OPTION",
    "STRICT_OPTION",
    "TENANT_OPTION",
    "check_upn",
    "fail",
    "reclaim_errors",
    "resolve_settings",
    "run_connected",
    "strict_exit",
]

T = TypeVar("T")

ENDPOINT_ENV = "RECLAIM_ENDPOINT"
#: For an emulator (``--endpoint``): use this app instead of the practice tenant's well-known one;
#: its secret comes from ``RECLAIM_CLIENT_SECRET``.
CLIENT_ID_ENV = "RECLAIM_CLIENT_ID"
CLIENT_SECRET_ENV = "RECLAIM_CLIENT_SECRET"  # noqa: S105 - the name of an env var, not a secret

#: ``reclaim.store.ENV_VAR``, named here so that declaring ``--db`` does not import the store (SQLAlchemy).
DB_ENV = "RECLAIM_DB"
DB_HELP = (f"Case store: a file path or a SQLAlchemy URL (default: ${DB_ENV}, else reclaim.db in the user data "
           "directory).")

DB_OPTION: str | None = typer.Option(None, "--db", envvar=DB_ENV, metavar="STORE", help=DB_HELP)
STRICT_OPTION: bool = typer.Option(
    False, "--strict", help="A complete result or exit 3: anything not checked or not collected (a permission, "
                            "a licence, an unreadable or oversized answer) turns exit 0 or 1 into 3.")
TENANT_OPTION: str | None = typer.Option(
    None, "--tenant", envvar=TENANT_ENV, show_envvar=True,
    metavar="NAME", help="A tenant from `reclaim tenant list` (default: the configured default).")
ENDPOINT_OPTION: str | None = typer.Option(
    None, "--endpoint", envvar=ENDPOINT_ENV, show_envvar=True,
    metavar="URL",
    help="Base URL of an emulator serving token, Graph and Exchange endpoints (e.g. the practice tenant).")


#: user@domain: no whitespace or control characters, none of the characters that end or re-route a URL path
#: (``/ \\ ? %``) or quote in a command line, one @, a domain of DNS labels. ``#`` stays (guests: ``#EXT#``).
_UPN = re.compile(r"^[^\s\x00-\x1f\x7f-\x9f@/\\?%\"<>,;:]{1,113}@(?=.{1,253}$)"
                  r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def check_upn(user: str) -> str:
    """``user`` if it can be a user principal name, else ``BadInput`` (exit 2) before anything is sent."""
    if not _UPN.match(user):
        raise BadInput(f"{user!r} is not a user principal name", hint="for example alice@contoso.com")
    return user


def fail(exc: ReclaimError) -> NoReturn:
    """Print ``error: <one line>`` on stderr and exit with the error's code."""
    # The message can quote the service, which can quote attacker-controlled names: no escape sequences.
    err_console.print(f"error: {visible(exc.one_line())}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(exc.exit_code)


@contextmanager
def reclaim_errors() -> Iterator[None]:
    """Map reclaim's errors (and Ctrl-C) to one line and an exit code, inside a command."""
    try:
        yield
    except ReclaimError as exc:
        fail(exc)
    except KeyboardInterrupt:
        err_console.print("interrupted", markup=False)
        raise typer.Exit(EXIT_INTERRUPTED) from None


def resolve_settings(tenant: str | None, endpoint: str | None) -> ConnectionSettings:
    """Which tenant to talk to, from ``--tenant`` / ``--endpoint`` (and their env vars).

    - ``--endpoint`` alone: the emulator at that URL with its well-known app, or ``RECLAIM_CLIENT_ID`` /
      ``RECLAIM_CLIENT_SECRET``;
    - ``--tenant`` (or ``RECLAIM_TENANT``, or the configured default): that tenant's credential, at the
      real Microsoft endpoints, or under ``--endpoint`` when both are given.
    """
    from reclaim.m365 import ConnectionSettings

    with reclaim_errors():
        if endpoint and not tenant:
            client_id = os.environ.get(CLIENT_ID_ENV) or None
            secret = os.environ.get(CLIENT_SECRET_ENV) if client_id else None
            if client_id and not secret:
                fail(ReclaimError(f"{CLIENT_ID_ENV} is set but {CLIENT_SECRET_ENV} is not",
                                  hint="set both, or neither to use the practice tenant's own app"))
            return ConnectionSettings.for_endpoint(endpoint, client_id=client_id, client_secret=secret)
        entry = Config.load().resolve(tenant)
        return entry.settings(endpoint=endpoint)
    raise AssertionError("unreachable")  # pragma: no cover - reclaim_errors always exits or returns


def run_connected(settings: ConnectionSettings, work: Callable[[Connection], Awaitable[T]]) -> T:
    """Open a connection, run ``work`` on it, close it; errors become one line and an exit code."""
    import asyncio  # here, like reclaim.m365: `reclaim --help` needs neither

    from reclaim.m365 import Connection

    # azure-identity logs each failed attempt as a warning; the error reclaim raises says it once.
    logging.getLogger("azure.identity").setLevel(logging.ERROR)
    logging.getLogger("azure.core").setLevel(logging.ERROR)

    async def main() -> T:
        async with Connection.open(settings) as connection:
            return await work(connection)

    with reclaim_errors():
        return asyncio.run(main())
    raise AssertionError("unreachable")  # pragma: no cover


def strict_exit(code: int, gaps: Sequence[str], *, strict: bool) -> int:
    """``code``, or 3 under ``--strict`` when ``gaps`` (what was not checked or not collected) is not empty and
    the result would otherwise be 0 or 1: a script tells "clean, every check ran" from "clean, but X and Y could
    not run". Says so in one line on stderr (stdout may be a JSON document)."""
    if not strict or not gaps or code not in (EXIT_OK, EXIT_FINDINGS):
        return code
    unique = sorted(set(gaps))
    shown = ", ".join(unique[:6]) + (f" and {len(unique) - 6} more" if len(unique) > 6 else "")
    err_console.print(f"strict: exit {EXIT_CONNECT} instead of {code}: not everything was checked "
                      f"({visible(shown)})", markup=False, highlight=False, soft_wrap=True)
    return EXIT_CONNECT
