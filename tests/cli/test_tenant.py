"""``reclaim tenant add|list|remove|check`` and the shared connection helper: config file, tables, exit codes."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from reclaim.cli.common import resolve_settings, run_connected
from reclaim.cli.main import app
from reclaim.config import Config
from reclaim.emulator import Emulator
from reclaim.emulator.server import serve_in_thread
from reclaim.m365 import Connection
from tests.conftest import TenantClient
from tests.m365.tls import make_tls

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
READ_ONLY: dict[str, Any] = {"clientId": "22222222-0000-0000-0000-00000000000a", "clientSecret": "ro-secret",
             "permissions": ["User.Read.All", "MailboxSettings.Read", "Mail.ReadBasic.All", "AuditLog.Read.All",
                             "UserAuthenticationMethod.Read.All", "Directory.Read.All", "IdentityRiskyUser.Read.All",
                             "ExchangeMessageTrace.Read.All", "SecurityAlert.Read.All", "Exchange.ManageAsApp"],
             "roles": ["Global Reader"]}
FIXTURE: dict[str, Any] = {"tenant": {"id": TENANT, "domains": ["contoso.com"]},
                           "users": [{"id": "u1", "userPrincipalName": "alice@contoso.com", "mailbox": {}}]}

runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "conf" / "config.toml"
    monkeypatch.setenv("RECLAIM_CONFIG", str(path))
    for var in ("RECLAIM_TENANT", "RECLAIM_ENDPOINT", "RECLAIM_CLIENT_ID", "RECLAIM_CLIENT_SECRET"):
        monkeypatch.delenv(var, raising=False)
    return path


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, list(args), env=env)


# ---------------------------------------------------------------------------------------------- config
def test_add_list_remove_and_the_file_holds_no_secret(isolated: Path, tmp_path: Path) -> None:
    cert = tmp_path / "app.pem"
    cert.write_bytes(_pem(b"pfx-password"))
    r = invoke("tenant", "add", "contoso", "--tenant-id", TENANT, "--client-id", CLIENT, "--certificate", str(cert),
               "--certificate-password-env", "CONTOSO_CERT_PASSWORD")
    assert r.exit_code == 0, r.output
    assert "added tenant contoso (default)" in r.output
    r = invoke("tenant", "add", "fabrikam", "--tenant-id", "fabrikam.onmicrosoft.com", "--client-id", CLIENT,
               "--secret-env", "FABRIKAM_SECRET")
    assert r.exit_code == 0, r.output
    assert invoke("tenant", "add", "msi", "--tenant-id", TENANT, "--managed-identity").exit_code == 0
    r = invoke("tenant", "add", "admin", "--tenant-id", TENANT, "--client-id", CLIENT, "--device-code")
    assert r.exit_code == 0

    mode = stat.S_IMODE(isolated.stat().st_mode)
    assert mode == 0o600
    assert stat.S_IMODE(isolated.parent.stat().st_mode) == 0o700
    text = isolated.read_text()
    assert "not really" not in text and "FABRIKAM_SECRET" in text  # the variable's name, never a value

    listed = json.loads(invoke("tenant", "list", "--json").output)
    assert listed["default"] == "contoso"
    assert [t["name"] for t in listed["tenants"]] == ["admin", "contoso", "fabrikam", "msi"]
    table = invoke("tenant", "list").output
    assert "contoso (default)" in table and "$FABRIKAM_SECRET" in table and TENANT[:8] in table

    assert Config.load().resolve(None).name == "contoso"
    assert Config.load().resolve("fabrikam").tenant_id == "fabrikam.onmicrosoft.com"
    r = invoke("tenant", "remove", "contoso")
    assert r.exit_code == 0
    assert Config.load().default is None
    r = invoke("tenant", "remove", "contoso")
    assert r.exit_code == 2 and "no tenant named 'contoso'" in r.output


@pytest.mark.parametrize(("args", "message"), [
    (["--secret-env", "FOO", "--managed-identity"], "choose exactly one credential"),
    ([], "choose exactly one credential"),
    (["--secret-env", "abc~secret/value=="], "NAME of an environment variable"),
    (["--certificate", "/nonexistent.pem"], "certificate file not found"),
    (["--secret-env", "FOO", "--certificate-password-env", "BAR"], "goes with --certificate"),
])
def test_add_refuses_bad_input(args: list[str], message: str) -> None:
    r = invoke("tenant", "add", "t", "--tenant-id", TENANT, "--client-id", CLIENT, *args)
    assert r.exit_code == 2 and message in r.output
    assert "abc~secret" not in r.output or "NAME" in r.output


def test_duplicate_and_bad_ids_and_malformed_file(isolated: Path) -> None:
    assert invoke("tenant", "add", "t", "--tenant-id", TENANT, "--client-id", CLIENT,
                  "--secret-env", "S").exit_code == 0
    r = invoke("tenant", "add", "t", "--tenant-id", TENANT, "--client-id", CLIENT, "--secret-env", "S")
    assert r.exit_code == 2 and "already exists" in r.output and "--force" in r.output
    r = invoke("tenant", "add", "u", "--tenant-id", "not a tenant", "--client-id", CLIENT, "--secret-env", "S")
    assert r.exit_code == 2 and "neither a GUID nor a domain" in r.output
    isolated.write_text('[tenants.x]\ntenant_id = "contoso.com"\nauth = "secret"\nclient_secret = "oops"\n')
    r = invoke("tenant", "list")
    assert r.exit_code == 2 and "unknown key 'client_secret'" in r.output and "never go in the config" in r.output
    isolated.write_text("not = [toml")
    assert invoke("tenant", "list").exit_code == 2


def test_resolution_order(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("a", "b"):
        assert invoke("tenant", "add", name, "--tenant-id", TENANT, "--client-id", CLIENT,
                      "--secret-env", "S").exit_code == 0
    assert Config.load().resolve(None).name == "a"  # the first one added became the default
    monkeypatch.setenv("RECLAIM_TENANT", "b")
    assert Config.load().resolve(None).name == "b"
    assert Config.load().resolve("a").name == "a"
    settings = resolve_settings(None, None)
    assert settings.name == "b" and settings.endpoints.graph == "https://graph.microsoft.com/v1.0"


# ---------------------------------------------------------------------------------------------- check
def test_check_with_a_full_permission_app(serve: Callable[..., TenantClient]) -> None:
    c = serve(FIXTURE)
    r = invoke("tenant", "check", "--endpoint", c.base_url)
    assert r.exit_code == 0, r.output
    assert TENANT in r.output and "Exchange.ManageAsApp" in r.output
    for command in ("investigate", "remediate", "sweep", "hunt", "verify", "undo", "report"):
        assert command in r.output
    assert "blocked" not in r.output.split("command")[-1].split("ready: everything works")[0]
    data = json.loads(invoke("tenant", "check", "--endpoint", c.base_url, "--json").output)
    assert {x["command"]: x["state"] for x in data["commands"]} == {
        "investigate": "ready", "remediate": "ready", "sweep": "ready", "hunt": "ready", "verify": "ready",
        "undo": "ready", "report": "ready"}
    assert data["toGrant"] == {"permissions": [], "roles": []}
    assert all(p["ok"] for p in data["probes"])


def test_check_with_a_read_only_app(serve: Callable[..., TenantClient]) -> None:
    c = serve({**FIXTURE, "apps": [READ_ONLY]})
    env = {"RECLAIM_CLIENT_ID": READ_ONLY["clientId"], "RECLAIM_CLIENT_SECRET": READ_ONLY["clientSecret"]}
    r = invoke("tenant", "check", "--endpoint", c.base_url, "--json", env=env)
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    states = {x["command"]: x for x in data["commands"]}
    assert states["investigate"]["state"] == "partial"  # runs; hidden rules need Exchange Administrator
    assert states["remediate"]["state"] == "blocked"
    missing = json.dumps(states["remediate"]["missing"])
    assert "User.EnableDisableAccount.All" in missing and "MailboxSettings.ReadWrite" in missing
    assert "User Administrator" in missing
    assert data["roles"] == ["Global Reader"]
    assert states["verify"]["state"] == "partial" and states["undo"]["state"] == "blocked"
    assert "User.EnableDisableAccount.All" in data["toGrant"]["permissions"]
    assert "MailboxSettings.ReadWrite" in data["toGrant"]["permissions"]
    assert data["toGrant"]["roles"][:1] == ["Exchange Administrator"]

    table = invoke("tenant", "check", "--endpoint", c.base_url, env=env).output
    assert "blocked" in table and "partial" in table and "User.EnableDisableAccount.All" in table
    assert "to make every command ready, grant:" in table

    r = invoke("tenant", "check", "--endpoint", c.base_url, "--require", "investigate", env=env)
    assert r.exit_code == 0
    r = invoke("tenant", "check", "--endpoint", c.base_url, "--require", "remediate", env=env)
    assert r.exit_code == 3


def test_check_exit_3_when_unreachable_or_unauthenticated(serve: Callable[..., TenantClient]) -> None:
    r = invoke("tenant", "check", "--endpoint", "http://127.0.0.1:9")
    assert r.exit_code == 3
    assert r.output.count("\n") == 1 and r.output.startswith("error: cannot reach the token endpoint")
    c = serve(FIXTURE)
    r = invoke("tenant", "check", "--endpoint", c.base_url,
               env={"RECLAIM_CLIENT_ID": c.app["clientId"], "RECLAIM_CLIENT_SECRET": "wrong-secret"})
    assert r.exit_code == 3 and "AADSTS7000215" in r.output and "wrong-secret" not in r.output
    r = invoke("tenant", "check", "--endpoint", "http://10.1.2.3:80")
    assert r.exit_code == 2 and "refusing plain HTTP" in r.output


def test_an_access_denied_in_a_command_is_one_line_and_exit_3(serve: Callable[..., TenantClient],
                                                              capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    c = serve({**FIXTURE, "apps": [READ_ONLY]})
    monkeypatch.setenv("RECLAIM_CLIENT_ID", READ_ONLY["clientId"])
    monkeypatch.setenv("RECLAIM_CLIENT_SECRET", READ_ONLY["clientSecret"])
    settings = resolve_settings(None, c.base_url)

    async def block(conn: Connection) -> None:
        await conn.graph.request("PATCH", "/users/u1", json={"accountEnabled": False}, idempotent=True)

    with pytest.raises(typer.Exit) as caught:
        run_connected(settings, block)
    assert caught.value.exit_code == 3
    err = capsys.readouterr().err
    assert err.startswith("error: access denied to PATCH /users/u1")
    assert "User.EnableDisableAccount.All" in err and "reclaim tenant check" in err
    assert "Traceback" not in err


def test_console_script_maps_errors_to_exit_codes() -> None:
    script = Path(sys.executable).parent / "reclaim"
    proc = subprocess.run([str(script), "tenant", "check", "--endpoint", "http://127.0.0.1:9"], capture_output=True,
                          text=True, check=False, env={"PATH": "/usr/bin:/bin", "RECLAIM_CONFIG": "/nonexistent/x"})
    assert proc.returncode == 3 and proc.stderr.startswith("error: ") and proc.stdout == ""


# ---------------------------------------------------------------------------------------------- real credential path
@pytest.fixture
def https_emulator(tmp_path: Path) -> Iterator[tuple[Emulator, str, Path]]:
    tls = make_tls(tmp_path)
    emulator = Emulator({**FIXTURE, "apps": [{**READ_ONLY, "clientId": CLIENT}]})
    with serve_in_thread(emulator, ssl_certfile=str(tls.server_cert), ssl_keyfile=str(tls.server_key)) as url:
        yield emulator, url, tls.ca


def test_a_configured_tenant_checks_through_azure_identity(https_emulator: tuple[Emulator, str, Path]) -> None:
    emulator, url, ca = https_emulator
    r = invoke("tenant", "add", "lab", "--tenant-id", TENANT, "--client-id", CLIENT, "--secret-env", "LAB_SECRET",
               "--endpoint", url, "--ca-bundle", str(ca))
    assert r.exit_code == 0, r.output
    r = invoke("tenant", "check", "lab", "--json", env={"LAB_SECRET": READ_ONLY["clientSecret"]})
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["credential"] == "client secret from $LAB_SECRET" and data["tenantId"] == TENANT
    token_calls = [x for x in emulator.calls if x.path.endswith("/oauth2/v2.0/token")]
    assert token_calls and all(x.body.get("client_info") == "1" for x in token_calls)  # MSAL made them
    r = invoke("tenant", "check", "lab", env={"LAB_SECRET": ""})
    assert r.exit_code == 3 and "LAB_SECRET is not set" in r.output


def test_error_lines_cannot_carry_escape_sequences(capsys: pytest.CaptureFixture[str]) -> None:
    from reclaim.cli.common import fail
    from reclaim.m365 import ExchangeError

    with pytest.raises(typer.Exit) as caught:
        fail(ExchangeError("rule '\x1b]0;pwned\x07\x1b[2J' not found", cmdlet="Get-InboxRule"))
    assert caught.value.exit_code == 3
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\\x1b]0;pwned" in err


def test_check_probes_the_mailbox_import_export_role(serve: Callable[..., TenantClient]) -> None:
    """An Exchange RBAC role no token carries: a probe on a mailbox that does not exist shows whether the app has
    Get-RecoverableItems (restore-deleted-mail's hard-deleted mail needs it)."""
    from reclaim.emulator.state import ALL_GRAPH_PERMISSIONS, DEFAULT_APP_ROLES

    without = {"clientId": "33333333-0000-0000-0000-00000000000b", "clientSecret": "s3",
               "permissions": list(ALL_GRAPH_PERMISSIONS), "roles": list(DEFAULT_APP_ROLES)}
    c = serve({**FIXTURE, "apps": [without]})
    env = {"RECLAIM_CLIENT_ID": without["clientId"], "RECLAIM_CLIENT_SECRET": without["clientSecret"]}
    data = json.loads(invoke("tenant", "check", "--endpoint", c.base_url, "--json", env=env).output)
    probe = next(p for p in data["probes"] if "Get-RecoverableItems" in p["name"])
    assert not probe["ok"] and "New-ManagementRoleAssignment" in probe["detail"]
    states = {x["command"]: x for x in data["commands"]}
    assert states["undo"]["state"] == "partial" and "Mailbox Import Export" in json.dumps(states["undo"])
    full = serve(FIXTURE)  # the default app holds the role
    data = json.loads(invoke("tenant", "check", "--endpoint", full.base_url, "--json").output)
    assert next(p for p in data["probes"] if "Get-RecoverableItems" in p["name"])["ok"]
    assert {x["command"]: x["state"] for x in data["commands"]}["undo"] == "ready"
    assert not any(c.path.endswith("/InvokeCommand") and "alice" in json.dumps(c.body) for c in full.emulator.calls)


def _pem(password: bytes | None = None) -> bytes:
    """A self-signed certificate and its private key, as one PEM (the key encrypted when ``password``)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "reclaim test app")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption) + \
        cert.public_bytes(serialization.Encoding.PEM)


def test_add_checks_what_check_would_refuse(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN PRIVATE KEY-----\nnot really\n-----END PRIVATE KEY-----\n")
    r = invoke("tenant", "add", "t", "--tenant-id", TENANT, "--client-id", CLIENT, "--certificate", str(garbage))
    assert r.exit_code == 2 and "no certificate in this PEM file" in r.output, r.output
    junk = tmp_path / "junk.pfx"
    junk.write_bytes(b"\x00\x01 not a pfx")
    r = invoke("tenant", "add", "t", "--tenant-id", TENANT, "--client-id", CLIENT, "--certificate", str(junk))
    assert r.exit_code == 2 and "neither a PEM file nor a PFX" in r.output
    good = tmp_path / "app.pem"
    good.write_bytes(_pem())
    r = invoke("tenant", "add", "t", "--tenant-id", TENANT, "--client-id", CLIENT, "--certificate", str(good),
               "--endpoint", "http://127.0.0.1:9")
    assert r.exit_code == 2 and "needs an https:// endpoint" in r.output
    r = invoke("tenant", "add", "All", "--tenant-id", TENANT, "--client-id", CLIENT, "--certificate", str(good))
    assert r.exit_code == 2 and "is reserved" in r.output
    assert invoke("tenant", "add", "t", "--tenant-id", TENANT, "--client-id", CLIENT, "--certificate",
                  str(good)).exit_code == 0
    # the practice tenant's own app id is not a GUID: its authority (the emulator) accepts it
    from reclaim.m365.connection import EMULATOR_CLIENT_ID

    r = invoke("tenant", "add", "practice", "--tenant-id", TENANT, "--client-id", EMULATOR_CLIENT_ID,
               "--secret-env", "PRACTICE_SECRET", "--endpoint", "http://127.0.0.1:9")
    assert r.exit_code == 0, r.output
    r = invoke("tenant", "add", "real", "--tenant-id", TENANT, "--client-id", EMULATOR_CLIENT_ID,
               "--secret-env", "PRACTICE_SECRET")
    assert r.exit_code == 2 and "is not a GUID" in r.output
