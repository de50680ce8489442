"""A bug escaping a command: one line on stderr naming a log file that holds the traceback, exit 70."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

import reclaim.cli.main as main
from reclaim.errors import EXIT_INTERNAL
from reclaim.text import forget_secrets, remember_secret

SECRET = "Kp7+mQ#x=Rt9@vW2^nZ_"


def _crash(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> None:
    def app(**_: object) -> None:
        raise exc

    monkeypatch.setattr(main, "app", app)
    monkeypatch.setattr(sys, "argv", ["reclaim", "investigate", "alice@contoso.com"])


def _run() -> int:
    with pytest.raises(SystemExit) as stopped:
        main.run()
    return int(stopped.value.code or 0)


def test_an_internal_error_is_one_line_naming_its_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("RECLAIM_HOME", str(tmp_path / "home"))
    forget_secrets()
    remember_secret(SECRET)
    try:
        _crash(monkeypatch, KeyError(f"value \x1b[2J echoed {SECRET}"))
        assert _run() == EXIT_INTERNAL
    finally:
        forget_secrets()
    out, err = capsys.readouterr()
    assert out == ""
    (line,) = err.strip().splitlines()
    assert line.startswith("error: internal error in reclaim (KeyError: ")
    assert "Traceback" not in err and "\x1b" not in err and SECRET not in err
    (log,) = (tmp_path / "home" / "logs").glob("crash-*.log")
    assert f"details in {log}" in line
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "KeyError" in text
    assert "command: reclaim investigate alice@contoso.com" in text
    assert SECRET not in text and "[redacted]" in text
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_a_log_that_cannot_be_written_still_gives_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("RECLAIM_HOME", str(blocker))
    _crash(monkeypatch, ZeroDivisionError("division by zero"))
    assert _run() == EXIT_INTERNAL
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: internal error in reclaim (ZeroDivisionError: division by zero); the details "
                           f"could not be written to {blocker / 'logs'}")


def test_reclaim_errors_and_interrupts_keep_their_codes(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from reclaim.errors import BadInput

    _crash(monkeypatch, BadInput("no such file", hint="check the path"))
    assert _run() == 2
    _crash(monkeypatch, KeyboardInterrupt())
    assert _run() == 4
    assert "internal error" not in capsys.readouterr().err


@pytest.mark.skipif(sys.platform != "linux", reason="the XDG layout is Linux's")
def test_the_default_log_folder_is_the_users_log_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from reclaim.cli.crash import log_dir

    monkeypatch.delenv("RECLAIM_HOME", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert log_dir() == tmp_path / "state" / "reclaim" / "log"
