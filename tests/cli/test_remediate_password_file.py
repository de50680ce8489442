"""``--password-file``: created O_EXCL | O_NOFOLLOW with mode 0600; an existing file is used only when it is ours;
space reserved and flushed before the tenant changes; a re-run names the file that holds the password instead of
leaving an empty new one; a password that could not be delivered is made again by the next run."""

from __future__ import annotations

import errno
import json
import os
import resource
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reclaim.cli.main import app
from reclaim.cli.password_file import PasswordFile, file_sink
from reclaim.errors import BadInput
from reclaim.m365 import Connection
from reclaim.remediate import RunReport, State, apply_plan, plan_for_case
from reclaim.store import Store
from tests.remediate.helpers import Practice, practice, tenant_view, writes

ALICE = "alice.wu@contoso.com"


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Practice]:
    with practice("bec-classic", [ALICE], tmp_path_factory.mktemp("pwfile"), throttling=False) as p:
        yield p


def _env(p: Practice, db: Path) -> dict[str, str]:
    return {"RECLAIM_ENDPOINT": p.url, "RECLAIM_DB": str(db), "RECLAIM_OPERATOR": "t", "COLUMNS": "250"}


def test_new_file_is_exclusive_0600_and_written_over_the_reservation(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    sink = PasswordFile(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600" and path.stat().st_size > 0  # reserved and flushed
    assert sink.write(ALICE, "Secret-Password-1234") == f"file {path}"
    assert path.read_text() == "Secret-Password-1234\n"


def test_files_that_are_not_ours_are_refused(tmp_path: Path) -> None:
    other = tmp_path / "world-readable"
    other.write_text("hello")
    other.chmod(0o644)
    with pytest.raises(BadInput, match="others can read it"):
        file_sink(other)
    assert other.read_text() == "hello"
    target = tmp_path / "target"
    target.write_text("x")
    target.chmod(0o600)
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(BadInput, match="cannot be used"):
        file_sink(link)
    hard = tmp_path / "hard"
    os.link(target, hard)
    with pytest.raises(BadInput, match="hard links"):
        file_sink(hard)
    assert target.read_text() == "x"
    if os.geteuid() == 0:  # as root the test can make a file another user owns
        theirs = tmp_path / "theirs"
        theirs.write_text("")
        theirs.chmod(0o600)
        os.chown(theirs, 65534, 65534)
        with pytest.raises(BadInput, match="owned by uid 65534"):
            file_sink(theirs)
    ours = tmp_path / "ours"
    ours.write_text("")
    ours.chmod(0o600)
    file_sink(ours)("u", "Another-Password-99")
    assert ours.read_text() == "Another-Password-99\n"


def test_no_space_fails_before_anything_is_sent(tmp_path: Path) -> None:
    """A file-size limit stands in for a full disk: the reservation fails, the sink is never made."""
    old = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (100, old[1]))
    try:
        with pytest.raises(BadInput, match="cannot reserve space for the password"):
            PasswordFile(tmp_path / "pw", reserve=4096)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old)
        signal.signal(signal.SIGXFSZ, handler)
    assert not (tmp_path / "pw").exists()  # the file it created is removed again


def test_cli_refuses_a_file_that_is_not_ours_and_names_the_earlier_file(tenant: Practice, tmp_path: Path) -> None:
    db = tenant.fresh(tmp_path)
    before = tenant_view(tenant.emulator, ALICE)
    foreign = tmp_path / "foreign"
    foreign.write_text("")
    foreign.chmod(0o644)
    tenant.emulator.calls.clear()
    refused = CliRunner().invoke(app, ["remediate", ALICE, "--apply", "--yes", "--password-file", str(foreign)],
                                 env=_env(tenant, db))
    assert refused.exit_code == 2 and "is not ours" in refused.output and "Traceback" not in refused.output
    assert not writes(tenant.emulator) and tenant_view(tenant.emulator, ALICE) == before
    first = tmp_path / "first"
    done = CliRunner().invoke(app, ["remediate", ALICE, "--apply", "--yes", "--password-file", str(first)],
                              env=_env(tenant, db))
    assert done.exit_code == 0, done.output
    second = tmp_path / "second"
    again = CliRunner().invoke(app, ["remediate", ALICE, "--apply", "--yes", "--password-file", str(second)],
                               env=_env(tenant, db))
    assert again.exit_code == 0, again.output
    assert f"the password went to file {first}" in again.output
    assert not second.exists()  # no empty new file beside the real one


def test_an_undelivered_password_is_made_again(tenant: Practice, tmp_path: Path) -> None:
    db = tenant.fresh(tmp_path)

    def full(upn: str, password: str) -> str:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with Store(str(db)) as store:
        plan = plan_for_case(store, tenant.cases[ALICE])

        def run(sink: object) -> RunReport:
            async def work(conn: Connection) -> RunReport:
                return await apply_plan(conn, store, plan, password_sink=sink, operator="t")  # type: ignore[arg-type]

            return tenant.run(work)

        failed = run(full)
        reset = next(o for o in failed.outcomes if o.step.action == "reset-password")
        assert reset.state is State.FAILED and "could not be delivered" in reset.detail
        assert failed.exit_code == 1
        tenant.emulator.calls.clear()
        delivered = len(tenant.passwords)
        again = run(tenant.sink)
        reset = next(o for o in again.outcomes if o.step.action == "reset-password")
        assert reset.state is State.HELD and again.password_delivery == "terminal"
        # made again (a new password, now delivered), not "already holds"
        assert sum(1 for c in tenant.emulator.calls if c.method == "PATCH" and isinstance(c.body, dict)
                   and "passwordProfile" in c.body) == 1
        assert len(tenant.passwords) == delivered + 1
        assert json.dumps(again.to_json()).count("could not be delivered") == 0


def test_a_file_holding_a_password_is_never_clobbered(tmp_path: Path) -> None:
    held = tmp_path / "held"
    file_sink(held)("u", "Earlier-Password-123")
    with pytest.raises(BadInput, match="may hold an earlier password"):
        file_sink(held)
    assert held.read_text() == "Earlier-Password-123\n"
    reserved = tmp_path / "reserved"
    PasswordFile(reserved).close()  # a run stopped before the reset: only our placeholder, reused
    file_sink(reserved)("u", "Later-Password-456")
    assert reserved.read_text() == "Later-Password-456\n"
