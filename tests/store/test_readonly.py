"""A case store on read-only media: ``cases show``, ``report`` and ``verify --offline`` read it, nothing writes it.

The store's directory and file are made read-only (``chmod a-w``) and the commands run in a child process. As
root, permission bits do not bind (CAP_DAC_OVERRIDE), so the child then runs without capabilities (``setpriv``),
as any user would: the files are as read-only to it as on a write-protected medium.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reclaim.store import Store
from tests.store.test_seal import make_case
from tests.store.test_upgrade import V2_CASE, V2_DUMP

ENTRY = "from reclaim.cli.main import run; run()"


def _unprivileged() -> list[str]:
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot make a read-only directory binding")
    return [setpriv, "--bounding-set=-all", "--inh-caps=-all", "--"]


def reclaim(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home / "data"), "NO_COLOR": "1",
           "COLUMNS": "200"}
    env.pop("RECLAIM_DB", None)
    return subprocess.run([*_unprivileged(), sys.executable, "-c", ENTRY, *args], capture_output=True, text=True,
                          env=env, timeout=120, check=False)


def python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*_unprivileged(), sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=120, check=False)


def _read_only(directory: Path) -> Iterator[None]:
    for item in directory.iterdir():
        item.chmod(0o444)
    directory.chmod(0o555)
    try:
        yield
    finally:
        directory.chmod(0o755)
        for item in directory.iterdir():
            item.chmod(0o644)


@pytest.fixture
def media(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    directory = tmp_path / "media"
    directory.mkdir()
    with Store(directory / "cases.db") as store:
        case_id = make_case(store)
    assert sorted(p.name for p in directory.iterdir()) == ["cases.db"], "closed cleanly: no WAL left beside it"
    snapshot = {p.name: p.read_bytes() for p in directory.iterdir()}
    for _ in _read_only(directory):
        yield directory / "cases.db", case_id
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == snapshot, "nothing was written"


def test_the_child_really_cannot_write(media: tuple[Path, str]) -> None:
    db, _ = media
    probe = python("import os, sys; print(os.access(sys.argv[1], os.W_OK), os.access(sys.argv[2], os.W_OK))",
                   str(db.parent), str(db))
    assert probe.stdout.split() == ["False", "False"], probe.stderr


def test_cases_show_report_and_verify_offline_read_it(media: tuple[Path, str], tmp_path: Path) -> None:
    db, case_id = media
    shown = reclaim("cases", "show", case_id, "--db", str(db), home=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "case: intact" in shown.stdout and "rule-external-forward" in shown.stdout
    listed = reclaim("cases", "list", "--db", str(db), "--json", home=tmp_path)
    assert listed.returncode == 0 and case_id in {c["id"] for c in json.loads(listed.stdout)}
    report = reclaim("report", case_id, "--format", "json", "--db", str(db), home=tmp_path)
    assert report.returncode == 0, report.stderr
    assert json.loads(report.stdout)["seal"]["state"] == "intact"
    verified = reclaim("verify", "--offline", case_id, "--db", str(db), home=tmp_path)
    assert verified.returncode == 0 and "intact" in verified.stdout, verified.stderr


def test_a_write_is_refused_in_one_line(media: tuple[Path, str]) -> None:
    db, case_id = media
    attempt = python(
        "import sys\n"
        "from reclaim.store import Store, StoreError\n"
        "store = Store(sys.argv[1])\n"
        "print('read-only' if store.read_only else 'writable')\n"
        "try:\n"
        "    store.set_verdict(sys.argv[2], 'clean')\n"
        "except StoreError as exc:\n"
        "    print(type(exc).__name__, exc.exit_code, exc.one_line())\n", str(db), case_id)
    lines = attempt.stdout.splitlines()
    assert lines[0] == "read-only", attempt.stderr
    assert lines[1].startswith("StoreUnavailable 2 ") and "readonly" in lines[1].replace("-", "").replace(" ", "")


def test_an_old_store_on_read_only_media_is_not_upgraded(tmp_path: Path) -> None:
    directory = tmp_path / "old"
    directory.mkdir()
    con = sqlite3.connect(directory / "v2.db")
    con.executescript(V2_DUMP.read_text(encoding="utf-8"))
    con.close()
    for _ in _read_only(directory):
        shown = reclaim("cases", "show", V2_CASE, "--db", str(directory / "v2.db"), home=tmp_path)
        assert shown.returncode == 2 and "Traceback" not in shown.stderr
        assert "needs an upgrade" in shown.stderr and "read-only" in shown.stderr
        assert len(shown.stderr.strip().splitlines()) <= 2  # the line and its hint
