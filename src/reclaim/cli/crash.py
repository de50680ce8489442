"""Internal errors: the traceback goes to a log file, the terminal gets one line naming it (exit 70).

The log lives in ``$RECLAIM_HOME/logs`` when ``RECLAIM_HOME`` is set, else in the user's log directory
(``platformdirs.user_log_dir("reclaim")``, e.g. ``~/.local/state/reclaim/log``). It is written with mode 0600 and
scrubbed of the run's secrets (the generated password, tokens, the client secret): an exception's message can
quote an answer of the service, and the command line can hold anything.
"""

from __future__ import annotations

import os
import platform
import traceback
from datetime import UTC, datetime
from pathlib import Path

from reclaim.text import cut, scrub, visible_line

__all__ = ["crash_line", "log_dir", "write_crash_log"]


def log_dir() -> Path:
    home = os.environ.get("RECLAIM_HOME", "").strip()
    if home:
        return Path(home).expanduser() / "logs"
    import platformdirs

    return Path(platformdirs.user_log_dir("reclaim"))


def write_crash_log(exc: BaseException, argv: list[str]) -> Path:
    """Write ``exc``'s traceback (and the command, the version, the platform) to a new 0600 file; its path."""
    from reclaim import __version__

    folder = log_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"crash-{stamp}-{os.getpid()}.log"
    text = "".join([
        f"reclaim {__version__} internal error at {stamp}\n",
        f"command: {' '.join(argv)}\n",
        f"python {platform.python_version()} on {platform.platform()}\n\n",
        *traceback.format_exception(exc),
    ])
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as out:
        out.write(scrub(text))
    return path


def crash_line(exc: BaseException, argv: list[str]) -> str:
    """The one line for the terminal (the log written first; if it cannot be, the line says why)."""
    what = type(exc).__name__
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    summary = visible_line(cut(f"{what}: {detail}" if detail else what, 200))
    try:
        path = write_crash_log(exc, argv)
    except OSError as err:
        return (f"internal error in reclaim ({summary}); the details could not be written to {log_dir()} "
                f"({err.strerror or type(err).__name__}) — please report it with the command you ran")
    return f"internal error in reclaim ({summary}); details in {path} — please report it with that file"
