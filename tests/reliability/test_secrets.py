"""Secrets: after a full demo run and a remediation through the console script, every file reclaim wrote (case
store with its WAL, reports, password file, config, anything under HOME / XDG dirs) and the emulator's call log
are scanned: the generated password and the access tokens appear nowhere but the one password request (and the
0600 file the operator asked for); client secrets never appear in output or error messages; sensitive files are
0600."""

from __future__ import annotations

import copy
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

import reclaim.emulator
from reclaim.cli.main import app
from reclaim.emulator import Emulator
from reclaim.emulator.app import CallRecord
from reclaim.emulator.server import serve_in_thread
from tests.reliability.support import quiet_fixture

RECLAIM = str(Path(sys.executable).with_name("reclaim"))
ALICE = "alice.wu@contoso.com"
APP_ID = "5e1f7c2a-9b3d-4e6f-8a1b-2c3d4e5f6a7b"
APP_SECRET = "Sup3r-Secret~Value.Never-Shown_42"  # the app's real client secret (in the emulator's fixture)
WRONG_SECRET = "Wr0ng~Secret.Value_Typed-By-Mistake"
PERMISSIONS = ["User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "AuditLog.Read.All",
               "MailboxSettings.ReadWrite", "Mail.Read", "MailboxSettings.Read", "IdentityRiskyUser.ReadWrite.All",
               "IdentityRiskEvent.Read.All", "UserAuthenticationMethod.ReadWrite.All", "Policy.Read.All",
               "DelegatedPermissionGrant.ReadWrite.All", "Application.Read.All", "AuditLogsQuery.Read.All",
               "User-PasswordProfile.ReadWrite.All", "SecurityAlert.Read.All", "Reports.Read.All",
               "User.EnableDisableAccount.All", "Exchange.ManageAsApp", "Mail.ReadBasic.All",
               "User.RevokeSessions.All", "Policy.ReadWrite.ConditionalAccess", "SecurityEvents.Read.All",
               "ThreatHunting.Read.All", "Organization.Read.All"]


class RecordingEmulator(Emulator):
    """An emulator that keeps every access token it issues (to look for them afterwards)."""

    instances: ClassVar[list[RecordingEmulator]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tokens: list[str] = []
        issue = self.issuer.issue

        def recording(**kw: Any) -> str:
            token = issue(**kw)
            self.tokens.append(token)
            return token

        self.issuer.issue = recording  # type: ignore[method-assign]
        RecordingEmulator.instances.append(self)


def _files(*roots: Path) -> Iterator[Path]:
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                yield path


def _where(secret: str, files: list[Path], calls: list[CallRecord], *texts: str) -> list[str]:
    found = [str(p) for p in files if secret.encode() in p.read_bytes()]
    found += [f"call {c.method} {c.path}" for c in calls if secret in repr(c.to_json())]
    found += [f"output {i}" for i, t in enumerate(texts) if secret in t]
    return found


def _private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME and the XDG dirs in a temporary folder: every cache or config reclaim could write lands there."""
    root = tmp_path / "home"
    root.mkdir()
    for var, sub in (("HOME", ""), ("XDG_CONFIG_HOME", ".config"), ("XDG_DATA_HOME", ".local/share"),
                     ("XDG_CACHE_HOME", ".cache"), ("XDG_STATE_HOME", ".local/state")):
        monkeypatch.setenv(var, str(root / sub))
    for var in [v for v in os.environ if v.startswith("RECLAIM_")]:
        monkeypatch.delenv(var)
    return root


def test_demo_leaves_the_password_and_tokens_nowhere(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    RecordingEmulator.instances.clear()
    monkeypatch.setattr(reclaim.emulator, "Emulator", RecordingEmulator)
    out = home / "demo"
    result = CliRunner().invoke(app, ["demo", "--out", str(out)], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.stdout + result.stderr
    (emulator,) = RecordingEmulator.instances
    files = list(_files(home))
    password_files = [p for p in files if p.name.endswith(".password.txt")]
    assert len(password_files) == 1, files
    password = password_files[0].read_text().strip()
    assert len(password) >= 16
    # the password: in its 0600 file and the one request that set it, nowhere else
    where = _where(password, files, emulator.calls, result.stdout, result.stderr)
    assert where == [str(password_files[0]), f"call PATCH /v1.0/users/{_user_id(emulator)}"], where
    # the access tokens: nowhere at all (the call log redacts the Authorization header)
    assert emulator.tokens
    for token in emulator.tokens:
        assert not _where(token, files, emulator.calls, result.stdout, result.stderr)
        assert not _where(token.split(".")[2], files, emulator.calls)  # not even the signature
    # sensitive files: private
    assert all(_private(p) for p in files if p.name.startswith(("cases.db", "report-")) or p == password_files[0]), \
        {str(p): oct(p.stat().st_mode) for p in files}


def _user_id(emulator: Emulator) -> str:
    user = emulator.state.find_user(ALICE)
    assert user is not None
    return str(user["id"])


@pytest.fixture
def tenant() -> Iterator[tuple[RecordingEmulator, str]]:
    fixture = copy.deepcopy(quiet_fixture("bec-classic"))
    fixture["apps"] = [*fixture.get("apps", []), {"clientId": APP_ID, "clientSecret": APP_SECRET,
                                                  "permissions": PERMISSIONS,
                                                  "roles": ["Exchange Administrator", "Privileged Authentication "
                                                            "Administrator", "Security Administrator",
                                                            "User Administrator", "Global Administrator"]}]
    emulator = RecordingEmulator(fixture)
    with serve_in_thread(emulator) as url:
        yield emulator, url


def _run(home: Path, url: str, secret: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECLAIM_")}
    env.update({"RECLAIM_ENDPOINT": url, "RECLAIM_CLIENT_ID": APP_ID, "RECLAIM_CLIENT_SECRET": secret,
                "RECLAIM_DB": str(home / "cases.db"), "RECLAIM_CONFIG": str(home / "config.toml"),
                "RECLAIM_OPERATOR": "secrets-test", "COLUMNS": "160"})
    return subprocess.run([RECLAIM, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def test_a_wrong_client_secret_is_never_shown(home: Path, tenant: tuple[RecordingEmulator, str]) -> None:
    emulator, url = tenant
    for args in (["investigate", ALICE], ["remediate", ALICE, "--apply", "--yes"], ["sweep", "--no-progress"],
                 ["hunt", "--ioc", "ip:192.0.2.7"]):
        done = _run(home, url, WRONG_SECRET, *args)
        assert done.returncode == 3, (args, done.stdout, done.stderr)
        assert WRONG_SECRET not in done.stdout + done.stderr and APP_SECRET not in done.stdout + done.stderr
        assert "Traceback" not in done.stderr
        assert "secret is wrong" in done.stdout + done.stderr  # it says what is wrong, without the value
        if args[0] != "sweep":  # a sweep reports each tenant's failure in its table instead
            errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
            assert len(errors) == 1 and done.stderr.strip().splitlines()[-1] == errors[0], done.stderr
    files = list(_files(home))
    assert not _where(WRONG_SECRET, files, emulator.calls)


def test_remediation_through_the_console_script(home: Path, tenant: tuple[RecordingEmulator, str]) -> None:
    emulator, url = tenant
    pw = home / "alice.password"
    investigated = _run(home, url, APP_SECRET, "investigate", ALICE)
    assert investigated.returncode == 1, investigated.stderr
    done = _run(home, url, APP_SECRET, "remediate", ALICE, "--apply", "--yes", "--password-file", str(pw))
    assert done.returncode in (0, 1), done.stdout + done.stderr
    report = _run(home, url, APP_SECRET, "report", _case(investigated.stdout), "--format", "all", "--out",
                  str(home / "reports"))
    assert report.returncode == 0, report.stderr
    shown = _run(home, url, APP_SECRET, "cases", "show", _case(investigated.stdout))  # with the journal
    assert shown.returncode in (0, 1), shown.stderr
    outputs = (investigated.stdout, investigated.stderr, done.stdout, done.stderr, report.stdout, report.stderr,
               shown.stdout, shown.stderr)
    files = list(_files(home))
    password = pw.read_text().strip()
    assert _private(pw)
    where = _where(password, files, emulator.calls, *outputs)
    assert where == [str(pw), f"call PATCH /v1.0/users/{_user_id(emulator)}"], where
    for token in emulator.tokens:
        assert not _where(token, files, emulator.calls, *outputs)
    assert not _where(APP_SECRET, files, emulator.calls, *outputs)
    private = [p for p in files if p.name.startswith("cases.db") or p.parent.name == "reports"]
    assert private and all(_private(p) for p in private), {str(p): oct(p.stat().st_mode) for p in private}


def _case(stdout: str) -> str:
    for word in stdout.split():
        if word.startswith("c-") and word[2:10].isdigit():
            return word
    raise AssertionError(f"no case id in {stdout[:200]!r}")


def test_tenant_add_keeps_only_where_the_secret_comes_from(home: Path) -> None:
    config = home / "reclaim-config" / "config.toml"  # its folder made by reclaim
    env = {"RECLAIM_CONFIG": str(config), "FABRIKAM_SECRET": APP_SECRET}
    added = CliRunner().invoke(app, ["tenant", "add", "fabrikam", "--tenant-id", "fabrikam.com", "--client-id",
                                     APP_ID, "--secret-env", "FABRIKAM_SECRET"], env=env)
    assert added.exit_code == 0, added.stdout + added.stderr
    assert APP_SECRET not in config.read_text() and "FABRIKAM_SECRET" in config.read_text()
    assert _private(config) and stat.S_IMODE(config.parent.stat().st_mode) & 0o077 == 0
    # a secret typed where the variable's name goes is refused, and not echoed back
    refused = CliRunner().invoke(app, ["tenant", "add", "other", "--tenant-id", "fabrikam.com", "--client-id",
                                       APP_ID, "--secret-env", APP_SECRET], env=env)
    assert refused.exit_code == 2
    assert APP_SECRET not in refused.stdout + refused.stderr, refused.stderr
    assert APP_SECRET not in config.read_text()


def test_a_wrong_secret_through_azure_identity_is_never_shown(home: Path, tmp_path: Path) -> None:
    """The real-tenant code path (a configured tenant, azure-identity / MSAL over HTTPS) with a wrong secret."""
    from tests.m365.tls import make_tls

    (tmp_path / "tls").mkdir()
    tls = make_tls(tmp_path / "tls")
    emulator = Emulator({"tenant": {"id": "11111111-2222-3333-4444-555555555555", "domains": ["contoso.com"]},
                         "apps": [{"clientId": APP_ID, "clientSecret": APP_SECRET, "permissions": ["User.Read.All"],
                                   "roles": []}],
                         "users": [{"id": "u1", "userPrincipalName": ALICE, "mailbox": {}}]})
    with serve_in_thread(emulator, ssl_certfile=str(tls.server_cert), ssl_keyfile=str(tls.server_key)) as url:
        config = home / "cfg" / "config.toml"
        env = {k: v for k, v in os.environ.items() if not k.startswith("RECLAIM_")}
        env.update({"RECLAIM_CONFIG": str(config), "CONTOSO_SECRET": WRONG_SECRET, "COLUMNS": "200",
                    "RECLAIM_DB": str(home / "cases.db")})
        added = subprocess.run([RECLAIM, "tenant", "add", "contoso", "--tenant-id", "contoso.com", "--client-id",
                                APP_ID, "--secret-env", "CONTOSO_SECRET", "--endpoint", url, "--ca-bundle",
                                str(tls.ca)], env=env, capture_output=True, text=True, timeout=60, check=False)
        assert added.returncode == 0, added.stderr
        for args in (["investigate", ALICE], ["tenant", "check"]):
            done = subprocess.run([RECLAIM, *args, "--tenant", "contoso"] if args[0] == "investigate"
                                  else [RECLAIM, *args, "contoso"], env=env, capture_output=True, text=True,
                                  timeout=120, check=False)
            assert done.returncode == 3, (args, done.stdout[-500:], done.stderr[-500:])
            assert WRONG_SECRET not in done.stdout + done.stderr and APP_SECRET not in done.stdout + done.stderr
            assert "Traceback" not in done.stderr
    assert WRONG_SECRET not in config.read_text()
    assert not _where(WRONG_SECRET, list(_files(home)), emulator.calls)
