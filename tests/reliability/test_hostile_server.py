"""A service that misbehaves is never read as "nothing there" (issue 17): the practice tenant behind a layer that
answers chosen requests wrongly (``tests/reliability/hostile_server.py``), driven through the CLI.

Each case asserts the honest outcome (the affected check is listed under "not checked" with the reason, never a
silent "clean"), that the run finishes (generous caps through the ``RECLAIM_*`` limits; no timing assertion), and
that no secret of the run (the generated password, the access tokens, the client secret) reaches any output.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from reclaim.cli.main import app
from reclaim.emulator import Emulator
from reclaim.emulator.server import serve_in_thread
from reclaim.text import forget_secrets
from tests.reliability.hostile_server import Hostile, Request
from tests.reliability.support import quiet_fixture

ALICE = "alice.wu@contoso.com"


@dataclass
class Tenant:
    emulator: Emulator
    hostile: Hostile
    url: str
    home: Path

    def env(self, **extra: str) -> dict[str, str]:
        return {"RECLAIM_ENDPOINT": self.url, "RECLAIM_DB": str(self.home / "cases.db"),
                "RECLAIM_CONFIG": str(self.home / "config.toml"), "RECLAIM_HOME": str(self.home / "state"),
                "RECLAIM_OPERATOR": "hostile-test", "COLUMNS": "200", **extra}

    def run(self, *args: str, **env: str) -> Result:
        return CliRunner().invoke(app, list(args), env=self.env(**env))

    def files(self) -> list[Path]:
        return sorted(p for p in self.home.rglob("*") if p.is_file())


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Tenant]:
    for var in [v for v in os.environ if v.startswith("RECLAIM_")]:
        monkeypatch.delenv(var)
    forget_secrets()
    emulator = Emulator(quiet_fixture("bec-classic"))
    hostile = Hostile(emulator.app)
    emulator.app = hostile  # type: ignore[assignment]
    with serve_in_thread(emulator) as url:
        yield Tenant(emulator, hostile, url, tmp_path)
    forget_secrets()


def _dotnet(text: str) -> str:
    """``text`` as the inside of a JSON string written by System.Text.Json's default encoder (Graph's)."""
    out = []
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif char in "\"'+<>&`" or not 0x20 <= ord(char) <= 0x7E:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return "".join(out)


def _case(stdout: str) -> str:
    for word in stdout.replace("(", " ").replace(")", " ").split():
        if word.startswith("c-") and word[2:10].isdigit():
            return word
    raise AssertionError(f"no case id in {stdout[:300]!r}")


def _db_bytes(home: Path) -> bytes:
    """The case store and its WAL / journal files, as written."""
    return b"".join(p.read_bytes() for p in sorted(home.glob("cases.db*")))


# ---------------------------------------------------------------------------------------------- our secrets
def test_a_400_echoing_the_new_password_never_shows_it(tenant: Tenant) -> None:
    sent: list[str] = []

    def echo(request: Request) -> Any:
        body = request.json()
        sent.append(body["passwordProfile"]["password"])
        # the request body repeated in the message, once as Python writes JSON, once as .NET does
        raw = request.body.decode()
        return {"error": {"code": "Request_BadRequest", "message": f"Invalid value in request body: {raw}",
                          "innerError": {"details": _dotnet(raw)}}}

    rule = tenant.hostile.answer("PATCH", r"^/v1\.0/users/[^/]+$", 400, echo,
                                 when=lambda r: b"passwordProfile" in r.body)
    investigated = tenant.run("investigate", ALICE)
    assert investigated.exit_code == 1, investigated.stdout + investigated.stderr
    case = _case(investigated.stdout)
    done = tenant.run("remediate", ALICE, "--apply", "--yes", "--password-file", str(tenant.home / "pw.txt"),
                      "--json")
    assert rule.hits >= 1 and sent, done.stdout + done.stderr
    password = sent[0]
    assert done.exit_code != 0 and "Traceback" not in done.stderr
    assert "[redacted]" in done.stdout + done.stderr  # the echo was shown, without the password
    report = tenant.run("report", case, "--format", "all", "--out", str(tenant.home / "reports"))
    assert report.exit_code == 0, report.stdout + report.stderr
    shown = tenant.run("cases", "show", case)
    outputs = {"remediate": done.stdout + done.stderr, "report": report.stdout + report.stderr,
               "cases show": shown.stdout + shown.stderr}
    reports = {p.name: p.read_text() for p in (tenant.home / "reports").iterdir()}
    assert {p.rsplit(".", 1)[-1] for p in reports} >= {"html", "json"}
    journal = _journal_text(tenant.home / "cases.db")
    assert "reset-password" in journal
    for form in {password, json.dumps(password)[1:-1], _dotnet(password)}:
        assert form not in json.dumps(outputs), form
        assert not [name for name, text in reports.items() if form in text], form
        assert form not in journal
        assert form.encode() not in _db_bytes(tenant.home)
    assert not [p for p in tenant.files() if password.encode() in p.read_bytes()]


def _journal_text(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")]
        rows = [repr(row) for t in tables for row in conn.execute(f'select * from "{t}"')]  # noqa: S608
    return "\n".join(rows)
