"""The errors a person sees, and the exit codes of DESIGN.md.

::

    ReclaimError                  exit code carried by the class
    ├── BadInput          (2)     bad usage or bad input: a file, an argument, a fixture
    ├── CannotConnect     (3)     cannot authenticate, reach the tenant, or lacks a permission
    └── Interrupted       (4)     stopped part-way; resumable

Anything else that escapes a command is a bug in reclaim: exit 70 (``EXIT_INTERNAL``, BSD's EX_SOFTWARE), one
line naming the log file that holds the traceback (``reclaim.cli.crash``).

Each carries one line saying what happened and, in ``hint``, what to do about it. The CLI prints
``error: <message>`` and the hint, never a traceback.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_CONNECT = 3
EXIT_INTERRUPTED = 4
#: an internal error (a bug): sysexits.h EX_SOFTWARE, apart from every outcome a script acts on
EXIT_INTERNAL = 70


class ReclaimError(Exception):
    exit_code: int = EXIT_USAGE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class BadInput(ReclaimError):
    exit_code = EXIT_USAGE


class CannotConnect(ReclaimError):
    exit_code = EXIT_CONNECT


class Interrupted(ReclaimError):
    exit_code = EXIT_INTERRUPTED
