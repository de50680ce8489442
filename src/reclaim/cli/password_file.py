"""``--password-file``: the one file the generated password may go to.

- Created with ``O_CREAT | O_EXCL | O_NOFOLLOW`` and mode 0600. A path that already exists is used only when it
  is *ours*: a regular file (not a link: ``O_NOFOLLOW`` and one hard link), owned by this user, readable by
  nobody else. Anything else (another user's file, a symbolic link, a world-readable file) is refused before
  anything is sent: the other user could read the password.
- Space is reserved (the file is filled with placeholder bytes) and flushed to disk when the sink is made, before
  the tenant is touched: a full disk fails then, not after the reset. The descriptor stays open, so the password
  is written through it (never through the path again) over the reserved bytes, then truncated and flushed.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from reclaim.errors import BadInput

#: bytes reserved for the password and its newline (a generated password has 20 characters)
RESERVE = 256
_FLAGS = os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


class PasswordFile:
    def __init__(self, path: Path, *, reserve: int = RESERVE) -> None:
        self.path = path
        self.fd, self.created = _open_ours(path)
        try:
            # reserve the space and flush it: a full disk fails here, before the tenant changes
            os.ftruncate(self.fd, 0)
            _write_all(self.fd, b"\n" * reserve)
            os.fsync(self.fd)
        except OSError as exc:
            self.close()
            if self.created:
                path.unlink(missing_ok=True)
            raise BadInput(f"cannot reserve space for the password in {path}: {exc.strerror}",
                           hint="free some space or choose another --password-file; nothing was changed") from None

    def write(self, upn: str, password: str) -> str:
        data = f"{password}\n".encode()
        os.lseek(self.fd, 0, os.SEEK_SET)
        _write_all(self.fd, data)
        os.ftruncate(self.fd, len(data))
        os.fsync(self.fd)
        self.close()
        return f"file {self.path}"

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _open_ours(path: Path) -> tuple[int, bool]:
    try:
        return os.open(path, _FLAGS | os.O_CREAT | os.O_EXCL, 0o600), True
    except FileExistsError:
        pass
    except OSError as exc:
        raise BadInput(f"cannot create the password file {path}: {exc.strerror}",
                       hint="choose a writable path that is not a symbolic link; nothing was changed") from None
    try:
        fd = os.open(path, (_FLAGS & ~os.O_WRONLY) | os.O_RDWR)  # read too: is an earlier password in it?
    except OSError as exc:  # ELOOP: a symbolic link
        raise BadInput(f"the password file {path} exists and cannot be used ({exc.strerror})",
                       hint="choose a new path: the file is never followed through a link; nothing was "
                            "changed") from None
    info = os.fstat(fd)
    why = _not_ours(info) or _holds_a_password(fd, info)
    if why is not None:
        os.close(fd)
        raise BadInput(f"the password file {path} exists and is not ours ({why})",
                       hint="choose a new path (reclaim creates it with mode 0600); nothing was changed")
    return fd, False


def _not_ours(info: os.stat_result) -> str | None:
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if info.st_uid != os.geteuid():
        return f"owned by uid {info.st_uid}"
    if info.st_nlink != 1:
        return f"{info.st_nlink} hard links"
    if info.st_mode & 0o077:
        return f"mode {oct(info.st_mode & 0o777)}: others can read it"
    return None


def _holds_a_password(fd: int, info: os.stat_result) -> str | None:
    """A file of ours with anything but our placeholder in it may hold an earlier password: never clobbered."""
    if info.st_size == 0:
        return None
    content = os.pread(fd, min(info.st_size, RESERVE * 4), 0) if info.st_size <= RESERVE * 4 else b"x"
    return None if not content.strip(b"\n") else "it is not empty: it may hold an earlier password"


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def file_sink(path: Path, *, reserve: int = RESERVE) -> Callable[[str, str], str]:
    """A password sink writing to ``path`` (see the module); fails now, before the tenant changes."""
    return PasswordFile(path, reserve=reserve).write
